/**
 * Tyk's `dogstatsd` (pump `pumps/dogstatsd.go`) and `statsd` (pump `pumps/statsd.go`) pumps → our
 * `dogstatsd` and `statsd` exporters with their Tyk-compatible metric switched on, fed by a records
 * pipeline of their own.
 */
import { tykDogstatsdTags, tykStatsdFields, tykStatsdTags } from './vocabulary.js';
import { Reader, pumpId, seconds, type Ctx } from './context.js';
import { addPipeline, pumpProcessors, pumpTimeout } from './common.js';
import type { EnvKey, PumpEntry } from './pump-conf.js';

/** Meta keys of the dogstatsd pump (`DogStatsdConf`). */
export const DOGSTATSD_META: readonly EnvKey[] = [
  { key: 'address', kind: 'string' },
  { key: 'namespace', kind: 'string' },
  { key: 'sample_rate', env: 'SAMPLERATE', kind: 'float' },
  { key: 'async_uds', env: 'ASYNCUDS', kind: 'bool' },
  { key: 'async_uds_write_timeout_seconds', env: 'ASYNCUDSWRITETIMEOUT', kind: 'int' },
  { key: 'buffered', kind: 'bool' },
  { key: 'buffered_max_messages', env: 'BUFFEREDMAXMESSAGES', kind: 'int' },
  { key: 'tags', kind: 'list' },
];

/** Meta keys of the statsd pump (`StatsdConf`). */
export const STATSD_META: readonly EnvKey[] = [
  { key: 'address', kind: 'string' },
  { key: 'fields', kind: 'list' },
  { key: 'tags', kind: 'list' },
  { key: 'separated_method', kind: 'bool' },
];

const NAMESPACE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/;

/** One StatsD pump's conversion under way: its exporter, the meta reader, and the pump's own processors. */
interface StatsdConversion {
  readonly type: 'dogstatsd' | 'statsd';
  /** `<type>/<pump>`. */
  readonly exporter: string;
  /** `exporters::<type>/<pump>`, the head of report lines. */
  readonly at: string;
  readonly m: Reader;
  /** The pump's filter/redact processors, in order. */
  readonly pre: readonly string[];
  /** The exporter config being built. */
  readonly out: Record<string, unknown>;
}

/** What both pumps start with: the pump's processors, then `meta.address` → `endpoint` (both clients default to localhost:8125). */
function begin(ctx: Ctx, p: PumpEntry, type: StatsdConversion['type'], unsetAddress: string): StatsdConversion {
  const exporter = `${type}/${pumpId(p)}`;
  const c: StatsdConversion = { type, exporter, at: `exporters::${exporter}`, m: new Reader(ctx, `pumps.${p.name}.meta`, p.meta), pre: pumpProcessors(ctx, p), out: {} };
  const address = c.m.str('address');
  if (address) {
    c.out['endpoint'] = address;
    ctx.report.mapped(c.m.src('address'), `${c.at}.endpoint`);
  } else ctx.report.approximated(`pumps.${p.name}.meta.address`, unsetAddress);
  return c;
}

/** What both pumps end with: `timeout` has nothing to time out, unread meta keys are reported, the exporter and its records pipeline are added. */
function finish(ctx: Ctx, p: PumpEntry, c: StatsdConversion, timeoutNote: (seconds: number) => string, comment: string): void {
  const timeout = pumpTimeout(ctx, p);
  if (timeout !== undefined) ctx.report.dropped(`pumps.${p.name}.timeout`, timeoutNote(timeout));
  c.m.dropUnread(`not a Tyk ${c.type} pump setting`);
  ctx.agent.set(['exporters', c.exporter], c.out, `from pumps.${p.name} (${c.type}): ${comment}`);
  addPipeline(ctx, p, 'records', c.pre, [c.exporter]);
}

/** Converts one dogstatsd pump. */
export function convertDogstatsd(ctx: Ctx, p: PumpEntry): void {
  const c = begin(ctx, p, 'dogstatsd', 'not set: localhost:8125, the Datadog client default');
  const { at, m, out } = c;
  const { report } = ctx;
  // Tyk appends "." to the namespace (default "default"); the exporter joins with "." itself.
  const ns = (m.str('namespace') ?? 'default').replace(/\.+$/, '');
  if (NAMESPACE.test(ns)) {
    out['namespace'] = ns;
    report.mapped(m.has('namespace') ? m.src('namespace') : `pumps.${p.name}.meta.namespace (default "default")`, `${at}.namespace: ${ns}.request_time as in Tyk Pump; our own metrics are named ${ns}.request.duration.* too`);
  } else {
    const clean = ns.replace(/[^A-Za-z0-9_.]/g, '_').replace(/^[^A-Za-z]+/, '') || 'tyk';
    out['namespace'] = clean;
    report.approximated(m.src('namespace'), `"${ns}" is not a valid namespace here (letters, digits, _ in dot-separated parts): ${clean}`);
  }
  const rate = m.num('sample_rate');
  if (rate !== undefined && rate > 0 && rate < 1) {
    out['sample_rate'] = rate;
    report.mapped(m.src('sample_rate'), `${at}.sample_rate`);
  }
  out['tyk_compatible'] = true;
  const dogTags = tykDogstatsdTags();
  const tags = m.list('tags') ?? [];
  const known = tags.filter((t) => dogTags.includes(t));
  if (known.length > 0) {
    out['tyk_tags'] = [...new Set(known)];
    report.mapped(m.src('tags'), `${at}.tyk_tags`);
  }
  for (const t of tags.filter((x) => !dogTags.includes(x))) {
    report.dropped(m.src('tags'), `"${t}" is not a Tyk dogstatsd tag (Tyk Pump fails every batch with "undefined tag")`);
  }
  if (m.has('async_uds') || m.has('async_uds_write_timeout_seconds')) {
    report.approximated(m.src('async_uds'), 'no write timeout to set: at most 32 datagrams are in flight (beyond that the pipeline waits and records stay in Redis); a missing socket is re-opened at most once per second and the datagrams in between are dropped and counted');
  }
  m.touch('async_uds', 'async_uds_write_timeout_seconds');
  const buffered = m.bool('buffered');
  const max = m.num('buffered_max_messages');
  if (buffered !== undefined || max !== undefined) {
    report.approximated(m.src('buffered'), 'lines are always packed into datagrams of up to max_packet_bytes (8192 on a Unix socket or loopback, else 1432) and sent every flush_interval; a message count is not a setting');
  }
  finish(ctx, p, c, () => 'nothing to time out: datagrams are sent without waiting for the Agent', "Tyk's <namespace>.request_time histogram (tyk_compatible) plus our distributions and counters");
}

/** Converts one statsd pump. */
export function convertStatsd(ctx: Ctx, p: PumpEntry): void {
  const c = begin(ctx, p, 'statsd', 'not set: localhost:8125');
  const { at, m, out } = c;
  const { report } = ctx;
  out['tyk_compatible'] = true;
  const tykFields = tykStatsdFields();
  const fields = m.list('fields') ?? [];
  const knownFields = [...new Set(fields.filter((f) => tykFields.includes(f)))];
  if (knownFields.length > 0) {
    out['tyk_fields'] = knownFields;
    report.mapped(m.src('fields'), `${at}.tyk_fields`);
  }
  for (const f of fields.filter((x) => !tykFields.includes(x))) {
    report.dropped(m.src('fields'), `"${f}": Tyk Pump sends only timing fields (${tykFields.join(', ')}) and silently ignores it too`);
  }
  const separated = m.bool('separated_method') ?? false;
  if (separated) {
    out['separated_method'] = true;
    report.mapped(m.src('separated_method'), `${at}.separated_method`);
  }
  const tags = m.list('tags') ?? [];
  const allowed = new Set<string>(tykStatsdTags().filter((t) => t !== 'method' || separated));
  const knownTags = tags.filter((t) => allowed.has(t));
  if (knownTags.length > 0) {
    out['tyk_tags'] = knownTags;
    report.mapped(m.src('tags'), `${at}.tyk_tags (in order)`);
  }
  for (const t of tags.filter((x) => !allowed.has(x))) {
    report.dropped(m.src('tags'), `"${t}" is not a Tyk statsd tag${t === 'method' ? ' without separated_method' : ''} (Tyk Pump writes null in its place)`);
  }
  finish(ctx, p, c, (t) => `nothing to time out: datagrams are sent without waiting (${seconds(t)} ignored)`, "Tyk's <field>.<tags…> timers (tyk_compatible) plus our timers and counters under tyk.");
}
