/**
 * Prometheus alerting rules for the agent itself (`tyk-otel-pump rules --agent`): agent down, `/ready`
 * failing, a Redis backlog that keeps growing, drain lag, refused / dead-lettered / undeliverable records,
 * an exporter failing, dropping or with a nearly full queue. Every alert carries a `summary`, a
 * `description` and a `runbook` annotation (what to check, in order), plus `runbook_url` when a base URL
 * is given. Metric names come from {@link metricNames}, the same as the Agent dashboard's.
 */
import type { AlertingRule, RuleFile } from '../slo/rules.js';
import { promDuration } from '../slo/windows.js';
import { LABELS, type MetricNames } from './names.js';

/** Thresholds and selectors of the agent alerts. */
export interface AgentRulesOptions {
  /** Prometheus `job` of the agent's scrape (for `up`). */
  readonly job: string;
  /** How long the backlog must grow (and stay above {@link backlogRecords}) before alerting, ms. */
  readonly backlogGrowingMs: number;
  /** Backlog below this many records never alerts. */
  readonly backlogRecords: number;
  /** Age of the oldest record claimed above which the drain is lagging, seconds. */
  readonly drainLagSeconds: number;
  /** Share of failed send attempts above which an exporter is failing. */
  readonly exporterFailureRatio: number;
  /** Queue capacities by exporter id (from the config): alert at 90 % full. */
  readonly queueCapacities: Readonly<Record<string, number>>;
  /** Base of `runbook_url` (`<base>#<alert name lower case>`); none when undefined. */
  readonly runbookUrl?: string;
}

/** Defaults of {@link AgentRulesOptions}. */
export const DEFAULT_AGENT_RULES: AgentRulesOptions = {
  job: 'tyk-otel-pump',
  backlogGrowingMs: 10 * 60_000,
  backlogRecords: 1000,
  drainLagSeconds: 300,
  exporterFailureRatio: 0.1,
  queueCapacities: {},
};

type Severity = 'page' | 'ticket';

function alert(o: AgentRulesOptions, name: string, expr: string, forMs: number, severity: Severity, a: { summary: string; description: string; runbook: readonly string[] }): AlertingRule & { for: string } {
  const annotations: Record<string, string> = {
    summary: a.summary,
    description: a.description,
    runbook: a.runbook.map((step, i) => `${i + 1}. ${step}`).join('\n'),
  };
  if (o.runbookUrl !== undefined) annotations['runbook_url'] = `${o.runbookUrl}#${name.toLowerCase()}`;
  return { alert: name, expr, for: promDuration(forMs), labels: { severity }, annotations };
}

/** The agent alert rules, one group. */
export function agentRules(m: MetricNames, o: AgentRulesOptions = DEFAULT_AGENT_RULES): RuleFile {
  const a = m.agent;
  const growWindow = promDuration(o.backlogGrowingMs);
  const byExporter = `${LABELS.exporter}, instance`;
  const failed = `sum by (${byExporter}) (rate(${a.exporterFailed}[5m]))`;
  const sent = `sum by (${byExporter}) (rate(${a.exporterSent}[5m]))`;
  const rules: (AlertingRule & { for: string })[] = [
    alert(o, 'TykOtelPumpDown', `up{job="${o.job}"} == 0`, 2 * 60_000, 'page', {
      summary: 'tyk-otel-pump {{ $labels.instance }} is down',
      description: 'Prometheus could not scrape the agent at {{ $labels.instance }} for 2 minutes: Tyk analytics are piling up in Redis and no SLI metrics are produced.',
      runbook: [
        'Check the process or pod (systemctl status / kubectl get pods): crash-looping, OOM-killed, or not scheduled?',
        'Read its last log lines: an invalid config refuses to start (run `tyk-otel-pump validate`).',
        'If it runs, check that the telemetry address (service.telemetry.metrics.address) is reachable from Prometheus.',
      ],
    }),
    alert(o, 'TykOtelPumpNotReady', `${a.ready} == 0`, 5 * 60_000, 'page', {
      summary: 'tyk-otel-pump {{ $labels.instance }} reports not ready',
      description: '/ready has answered 503 for 5 minutes: at least one component is not ready ({{ $labels.instance }}).',
      runbook: [
        `Open /ready on the agent (or query ${a.componentReady} == 0) to see which component and why (its detail field).`,
        'tyk_redis not ready: Redis unreachable, wrong credentials, or no successful poll within max_poll_age.',
        'An exporter not ready: its destination is failing; see TykOtelPumpExporterFailing.',
      ],
    }),
    alert(o, 'TykOtelPumpBacklogGrowing', `deriv(${a.backlog}[${growWindow}]) > 0 and ${a.backlog} > ${o.backlogRecords}`, o.backlogGrowingMs, 'ticket', {
      summary: 'Redis list {{ $labels.key }} keeps growing',
      description: `The backlog of {{ $labels.key }} has grown for ${growWindow} and holds more than ${o.backlogRecords} records: the agents drain slower than the gateways write.`,
      runbook: [
        'Check the drain rate on the Agent dashboard: did it drop (exporter backpressure, Redis latency) or did gateway traffic rise?',
        'Backpressure: an exporter queue is full or its destination slow (see the exporter alerts).',
        'Traffic: run more agents on the same lists (they share them safely) or raise chunk_size.',
        'Redis memory is finite: a list that grows unbounded ends in evictions and lost analytics.',
      ],
    }),
    alert(o, 'TykOtelPumpDrainLagHigh', `max by (${LABELS.receiver}, ${LABELS.key}, instance) (${a.lag}{${LABELS.record}="oldest"}) > ${o.drainLagSeconds}`, 5 * 60_000, 'ticket', {
      summary: 'Records from {{ $labels.key }} are drained late',
      description: `The oldest record of the last chunk claimed from {{ $labels.key }} was more than ${o.drainLagSeconds} s old for 5 minutes: dashboards and SLOs see traffic late.`,
      runbook: [
        'Compare with TykOtelPumpBacklogGrowing: a growing backlog means the agents cannot keep up.',
        'A steady lag without backlog: check the clocks of the gateways and the agent (record time vs agent time).',
        'Check the poll_interval of the tyk_redis receiver.',
      ],
    }),
    alert(o, 'TykOtelPumpRecordsRefused', `sum by (${LABELS.receiver}, ${LABELS.reason}, instance) (increase(${a.receiverRefused}[10m])) > 0`, 0, 'ticket', {
      summary: '{{ $labels.receiver }} refused undecodable records ({{ $labels.reason }})',
      description: 'Records in Redis could not be decoded in the last 10 minutes; they were dead-lettered when dead_letter is enabled.',
      runbook: [
        'Read the dead-letter list (<key_prefix>tyk-otel-pump-dead-letter): each envelope has the reason and the raw bytes.',
        'A gateway version writing a format this agent does not know, or another writer on the analytics lists.',
        'Fixed? Push the envelopes back (see the receiver README) or trim the list.',
      ],
    }),
    alert(o, 'TykOtelPumpRecordsDeadLettered', `sum by (${LABELS.receiver}, ${LABELS.reason}, instance) (increase(${a.deadLettered}[10m])) > 0`, 0, 'ticket', {
      summary: '{{ $labels.receiver }} dead-lettered records ({{ $labels.reason }})',
      description: 'Undecodable records were pushed to the dead-letter list in the last 10 minutes.',
      runbook: [
        'Inspect the dead-letter list: the envelope names the source list and the decode error.',
        'The list is capped (dead_letter.max_length): older envelopes are trimmed.',
      ],
    }),
    alert(o, 'TykOtelPumpRecordsUndeliverable', `sum by (${LABELS.receiver}, ${LABELS.reason}, instance) (increase(${a.receiverDropped}[10m])) > 0`, 0, 'page', {
      summary: '{{ $labels.receiver }} lost records ({{ $labels.reason }})',
      description: 'Records were claimed from Redis but could not be delivered to every pipeline and were dropped in the last 10 minutes.',
      runbook: [
        'Check the exporter alerts: a permanently failing exporter makes the receiver drop (at_most_once) or retry (at_least_once).',
        'delivery_failed_permanently: a destination refused the data as invalid; read the exporter logs.',
      ],
    }),
    alert(o, 'TykOtelPumpExporterFailing', `${failed} / (${failed} + (${sent} or 0 * ${failed})) > ${o.exporterFailureRatio}`, 10 * 60_000, 'ticket', {
      summary: 'Exporter {{ $labels.exporter }} fails to send',
      description: `More than ${o.exporterFailureRatio * 100} % of the send attempts of {{ $labels.exporter }} failed over 10 minutes.`,
      runbook: [
        `See the reasons: sum by (reason) (rate(${a.exporterFailed}{exporter="{{ $labels.exporter }}"}[5m])).`,
        'Connection refused / timeout: the destination is down or unreachable (DNS, firewall, TLS).',
        '4xx: credentials (headers) or a payload the destination rejects; 5xx / 429: the destination is overloaded.',
      ],
    }),
    alert(o, 'TykOtelPumpExporterDropping', `sum by (${byExporter}, ${LABELS.reason}) (increase(${a.exporterDropped}[10m])) > 0`, 0, 'ticket', {
      summary: 'Exporter {{ $labels.exporter }} dropped items ({{ $labels.reason }})',
      description: 'The exporter lost items for good in the last 10 minutes (refused by the destination, undeliverable datagrams, lines too long). What it hands back as retryable is not counted here: see TykOtelPumpRecordsUndeliverable.',
      runbook: [
        'permanent_error / rejected_by_endpoint: the destination refuses the data; read the exporter logs.',
        'A socket error reason (statsd, dogstatsd): the StatsD agent is unreachable; UDP is never retried.',
        'line_too_long: raise max_packet_bytes or trim the tags.',
      ],
    }),
  ];
  for (const [exporter, capacity] of Object.entries(o.queueCapacities)) {
    const limit = Math.floor(capacity * 0.9);
    rules.push(
      alert(o, 'TykOtelPumpExporterQueueNearlyFull', `${a.exporterQueue}{${LABELS.exporter}="${exporter}"} >= ${limit}`, 5 * 60_000, 'ticket', {
        summary: 'Exporter {{ $labels.exporter }} queue is nearly full',
        description: `The sending queue of {{ $labels.exporter }} held at least ${limit} of ${capacity} items for 5 minutes: next comes backpressure on the drain, or spooling.`,
        runbook: [
          'Check TykOtelPumpExporterFailing: a failing destination fills the queue.',
          'A healthy but slow destination: raise num_consumers or queue_size.',
        ],
      }),
    );
  }
  return { groups: [{ name: 'tyk-otel-pump-agent', rules }] };
}
