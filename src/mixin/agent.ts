/**
 * The Agent dashboard: the agent's own health from its self-telemetry — records drained, refused and
 * dropped per reason, backlog and drain lag per Redis list, exporter throughput, failures and queues,
 * at-least-once chunks in flight, memory.
 */
import type { Dashboard, Panel } from '@grafana/schema';
import { dashboard, labelVariable, panel, row } from './grafana.js';
import { LABELS, type MetricNames } from './names.js';

const RATE = '$__rate_interval';
const SEL = '{instance=~"$instance"}';

function by(labels: readonly string[], expr: string): string {
  return `sum by (${labels.join(', ')}) (${expr})`;
}

/** The Agent dashboard. */
export function agentDashboard(m: MetricNames): Dashboard {
  const a = m.agent;
  const rate = (metric: string) => `rate(${metric}${SEL}[${RATE}])`;
  const panels: Panel[] = [
    panel({
      kind: 'stat', title: 'Ready (every agent)', w: 4, h: 4, unit: 'short', min: 0, max: 1, thresholds: [[0, 'red'], [1, 'green']],
      description: 'What /ready answers: 1 when every component of every selected agent is ready.',
      targets: [{ expr: `min(${a.ready}${SEL})` }],
    }),
    panel({ kind: 'stat', title: 'Agents up', w: 4, h: 4, unit: 'short', targets: [{ expr: `sum(up${SEL} and on (instance, job) ${a.rss}${SEL})` }] }),
    panel({ kind: 'stat', title: 'Records drained/s', w: 4, h: 4, unit: 'short', targets: [{ expr: `sum(${rate(a.receiverAccepted)})` }] }),
    panel({ kind: 'stat', title: 'Backlog (records)', w: 6, h: 4, unit: 'short', thresholds: [[10_000, 'orange'], [100_000, 'red']], targets: [{ expr: `sum(${a.backlog}${SEL})` }] }),
    panel({ kind: 'stat', title: 'Oldest record lag', w: 6, h: 4, unit: 's', thresholds: [[30, 'orange'], [300, 'red']], targets: [{ expr: `max(${a.lag}{instance=~"$instance", ${LABELS.record}="oldest"})` }] }),
    row('Drain'),
    panel({ kind: 'timeseries', title: 'Records drained/s by receiver', unit: 'short', targets: [{ expr: by([LABELS.receiver], rate(a.receiverAccepted)), legend: `{{${LABELS.receiver}}}` }] }),
    panel({
      kind: 'timeseries', title: 'Refused, dead-lettered and dropped records/s by reason', unit: 'short',
      targets: [
        { expr: by([LABELS.receiver, LABELS.reason], rate(a.receiverRefused)), legend: `refused {{${LABELS.receiver}}} {{${LABELS.reason}}}` },
        { expr: by([LABELS.receiver, LABELS.reason], rate(a.deadLettered)), legend: `dead-lettered {{${LABELS.receiver}}} {{${LABELS.reason}}}` },
        { expr: by([LABELS.processor, LABELS.reason], rate(a.processorDropped)), legend: `dropped {{${LABELS.processor}}} {{${LABELS.reason}}}` },
        { expr: by([LABELS.receiver, LABELS.reason], rate(a.receiverDropped)), legend: `lost {{${LABELS.receiver}}} {{${LABELS.reason}}}` },
      ],
    }),
    panel({ kind: 'timeseries', title: 'Backlog per list', unit: 'short', targets: [{ expr: by([LABELS.key], `${a.backlog}${SEL}`), legend: `{{${LABELS.key}}}` }] }),
    panel({
      kind: 'timeseries', title: 'Drain lag per list (age of the oldest record claimed)', unit: 's',
      targets: [{ expr: `max by (${LABELS.key}) (${a.lag}{instance=~"$instance", ${LABELS.record}="oldest"})`, legend: `{{${LABELS.key}}}` }],
    }),
    panel({ kind: 'timeseries', title: 'Component readiness (1 ready, 0 not)', unit: 'short', min: 0, max: 1, targets: [{ expr: `min by (${LABELS.component}) (${a.componentReady}${SEL})`, legend: `{{${LABELS.component}}}` }] }),
    panel({ kind: 'timeseries', title: 'At-least-once chunks in flight', unit: 'short', targets: [{ expr: by([LABELS.receiver], `${a.unacked}${SEL}`), legend: `{{${LABELS.receiver}}}` }] }),
    row('Exporters'),
    panel({
      kind: 'timeseries', title: 'Exporter items/s: accepted and sent', unit: 'short',
      targets: [
        { expr: by([LABELS.exporter, LABELS.signal], rate(a.exporterAccepted)), legend: `accepted {{${LABELS.exporter}}} {{${LABELS.signal}}}` },
        { expr: by([LABELS.exporter, LABELS.signal], rate(a.exporterSent)), legend: `sent {{${LABELS.exporter}}} {{${LABELS.signal}}}` },
      ],
    }),
    panel({
      kind: 'timeseries', title: 'Exporter send failures and drops/s by reason', unit: 'short',
      targets: [
        { expr: by([LABELS.exporter, LABELS.reason], rate(a.exporterFailed)), legend: `failed {{${LABELS.exporter}}} {{${LABELS.reason}}}` },
        { expr: by([LABELS.exporter, LABELS.reason], rate(a.exporterDropped)), legend: `dropped {{${LABELS.exporter}}} {{${LABELS.reason}}}` },
      ],
    }),
    panel({ kind: 'timeseries', title: 'Exporter queue size', unit: 'short', targets: [{ expr: by([LABELS.exporter], `${a.exporterQueue}${SEL}`), legend: `{{${LABELS.exporter}}}` }] }),
    row('Process'),
    panel({
      kind: 'timeseries', title: 'Memory', unit: 'bytes',
      targets: [{ expr: `${a.rss}${SEL}`, legend: 'RSS {{instance}}' }, { expr: `${a.heap}${SEL}`, legend: 'heap used {{instance}}' }],
    }),
  ];
  return dashboard({
    uid: 'tyk-otel-pump-agent',
    title: 'tyk-otel-pump agent',
    description: "The agent's own health: drain, backlog and lag per Redis list, refusals and drops per reason, exporters, memory.",
    tags: ['tyk', 'tyk-otel-pump', 'agent'],
    variables: [labelVariable('instance', 'Instance', a.rss, 'instance')],
    panels,
  });
}
