/**
 * `npm run bench -- otlp-logs`: the `otlp_http` exporter's protobuf logs bodies, our encoder
 * (`exporters/otlp_http/logs-proto.ts`) against the library serializer it replaced
 * (`ProtobufLogsSerializer` of `@opentelemetry/otlp-transformer` on `ReadableLogRecord`s, as encode.ts
 * built them), on the same batches; then what gzip costs on those bodies at each level.
 *
 * Batches of 1 000 log entries (the exporter's default `max_batch_items`), each built fresh — gateway
 * fixture bytes decoded with what `audit_log` reads, then `audit_log` — so that no string is hashed or
 * flattened by an earlier round; only the encoding is timed (CPU time of the process, `process.cpuUsage`).
 * Data sets: the fixture cycle (every generation's msgpack fixtures, network-stats records included, as the
 * pipeline bench pushes them), the same with `include_raw: true`, and a diverse set where every record has
 * its own path, client address and key tag (values the encoder's cache cannot hold).
 *
 * Each (encoder, set) runs in its own child process (peak RSS is its own: the child's `maxRSS`, which
 * includes the decoding both encoders share); rounds are interleaved and the best of each is reported;
 * each child prints a SHA-256 of every body it made, and equal hashes mean the two encoders sent the same
 * bytes. `BENCH_N` records per child (default 200 000), `BENCH_ROUNDS` (default 3).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { AnalyticsRecord, LogEntry, TykRecord } from '../../src/model.js';
import { VERSION } from '../../src/version.js';
import { compileErrorDefinition } from '../../src/error-definition.js';
import { msToHrTime } from '../../internal/metrics/identity.js';
import { decodeAnalytics } from '../../internal/tyk-wire/decode.js';
import { projection } from '../../internal/tyk-wire/projection.js';
import { httpLog, networkLog } from '../../processors/audit_log/audit_log.js';
import { auditLogReads } from '../../processors/audit_log/index.js';
import { auditLogConfigSchema } from '../../processors/audit_log/config.js';
import { LogsProtoEncoder } from '../../exporters/otlp_http/logs-proto.js';
import { loadFixtures } from '../helpers/fixtures.js';

const N = Number(process.env['BENCH_N'] ?? 200_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 1000;
const ENCODERS = ['library', 'ours'] as const;
type Encoder = (typeof ENCODERS)[number];
const SETS = ['fixtures', 'fixtures include_raw', 'diverse'] as const;
type DataSet = (typeof SETS)[number];
const RESOURCE = Object.freeze({ 'service.name': 'tyk-gateway' });
const SCOPE = 'tyk-otel-pump/audit_log';
const TRACE_ID = /^[0-9a-f]{32}$/;

/** What a child reports. */
interface Result {
  readonly encoder: Encoder;
  readonly set: DataSet;
  readonly records: number;
  readonly cpuUsPerRecord: number;
  readonly recordsPerSecond: number;
  readonly bytesPerRecord: number;
  readonly startRssMiB: number;
  readonly peakRssMiB: number;
  readonly sha256: string;
}

/** A string laid out as the decoder gives it (flat), not as the concatenation that made it. */
function flat(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** Batches of fresh log entries, built on demand (decode + audit_log), `BATCH` at a time. */
function batches(set: DataSet): () => LogEntry[] {
  const bytes = (['gateway-msgpack.jsonl', 'gateway-legacy-v4.jsonl', 'gateway-pump18.jsonl'] as const).flatMap((f) => loadFixtures(f)).map((f) => f.bytes);
  const config = auditLogConfigSchema.parse({ include_raw: set === 'fixtures include_raw' });
  const decodeOptions = { projection: projection(auditLogReads(config)) };
  const o = { errorDefinition: compileErrorDefinition(), includeRaw: config.include_raw, includeTags: config.include_tags };
  let next = 0;
  return () => {
    const out: LogEntry[] = [];
    for (let i = 0; i < BATCH; i++, next++) {
      let r = decodeAnalytics(bytes[next % bytes.length] as Buffer, 'msgpack', decodeOptions) as TykRecord as AnalyticsRecord;
      if (set === 'diverse' && r.kind === 'http') {
        const path = flat(`${r.rawPath || r.path}/${next}`);
        r = { ...r, path, rawPath: path, ipAddress: flat(`10.${(next >> 16) & 255}.${(next >> 8) & 255}.${next & 255}`), tags: [...r.tags.filter((t) => !t.startsWith('key-')), flat(`key-${(next * 2654435761 >>> 0).toString(16)}`)] };
      }
      out.push(r.kind === 'http' ? httpLog(r, o) : networkLog(r, o));
    }
    return out;
  };
}

/** The library path exactly as encode.ts took it before: `ReadableLogRecord`s, then `serializeRequest`. */
function libraryEncoder(): (logs: LogEntry[], now: number) => Uint8Array {
  const resource = resourceFromAttributes({ ...RESOURCE });
  const scope = { name: SCOPE, version: VERSION };
  return (logs, now) => {
    const observed = msToHrTime(now);
    const records = logs.map((e): ReadableLogRecord => ({
      hrTime: msToHrTime(e.timestampMs, e.timestampNs), hrTimeObserved: observed, severityNumber: e.severityNumber,
      severityText: e.severityText, body: e.body, attributes: e.attributes as ReadableLogRecord['attributes'], droppedAttributesCount: 0,
      resource, instrumentationScope: scope,
      spanContext: e.traceId !== undefined && TRACE_ID.test(e.traceId) ? { traceId: e.traceId, spanId: '', traceFlags: 0 } : undefined,
    }));
    return ProtobufLogsSerializer.serializeRequest(records) ?? new Uint8Array(0);
  };
}

function oursEncoder(): (logs: LogEntry[], now: number) => Uint8Array {
  const enc = new LogsProtoEncoder();
  const head = { resource: RESOURCE, scopeName: SCOPE, scopeVersion: VERSION };
  let last: Buffer | undefined;
  return (logs, now) => {
    // The exporter recycles a body once gzipped; here once hashed (the next call).
    if (last) enc.recycle(last);
    last = enc.encode(head, logs, 0, logs.length, now);
    return last;
  };
}

function child(encoder: Encoder, set: DataSet): Result {
  const next = batches(set);
  const encode = encoder === 'library' ? libraryEncoder() : oursEncoder();
  const hash = createHash('sha256');
  const NOW = Date.UTC(2026, 11, 3, 12);
  // Warm-up (JIT, caches): a few batches, not counted.
  for (let i = 0; i < 5; i++) encode(next(), NOW);
  const startRssMiB = process.memoryUsage.rss() / 1048576;
  let cpu = 0;
  let wall = 0;
  let bytes = 0;
  let records = 0;
  while (records < N) {
    const logs = next();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const body = encode(logs, NOW);
    const c = process.cpuUsage(c0);
    wall += performance.now() - t0;
    cpu += c.user + c.system;
    hash.update(body);
    bytes += body.length;
    records += logs.length;
  }
  return {
    encoder, set, records, cpuUsPerRecord: cpu / records, recordsPerSecond: records / (wall / 1000), bytesPerRecord: bytes / records,
    startRssMiB, peakRssMiB: process.resourceUsage().maxRSS / 1024, sha256: hash.digest('hex').slice(0, 16),
  };
}

/** gzip of our bodies at each level, in this process: CPU per record, bytes per record. */
function gzipLevels(): string[] {
  const lines: string[] = [];
  for (const set of SETS) {
    const next = batches(set);
    const encode = oursEncoder();
    const bodies = Array.from({ length: 20 }, () => Buffer.from(encode(next(), Date.UTC(2026, 11, 3, 12))));
    const raw = bodies.reduce((a, b) => a + b.length, 0);
    const row: string[] = [];
    for (const level of [1, 3, 6, 9]) {
      for (const b of bodies.slice(0, 3)) gzipSync(b, { level });
      let best = Infinity;
      let out = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const c0 = process.cpuUsage();
        out = 0;
        for (const b of bodies) out += gzipSync(b, { level }).length;
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / (bodies.length * BATCH));
      }
      row.push(`level ${level}${level === 6 ? ' (zlib default)' : ''}: ${best.toFixed(2)} µs CPU/rec, ${(out / (bodies.length * BATCH)).toFixed(1)} B/rec (${(raw / out).toFixed(1)}×)`);
    }
    lines.push(`${set.padEnd(22)} ${(raw / (bodies.length * BATCH)).toFixed(0)} B/rec raw; ${row.join('; ')}`);
  }
  return lines;
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  process.stdout.write(JSON.stringify(child(args[1] as Encoder, args[2] as DataSet)));
} else {
  const self = fileURLToPath(import.meta.url);
  const load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  console.log(`otlp-logs bench: ${N} records per child in batches of ${BATCH}, best of ${ROUNDS} interleaved rounds; ${load}`);
  const results: Result[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const set of SETS) {
      for (const encoder of ENCODERS) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', encoder, set], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (r.status !== 0) throw new Error(`${encoder} ${set} failed:\n${r.stderr}`);
        results.push(JSON.parse(r.stdout) as Result);
      }
    }
  }
  for (const set of SETS) {
    const best = (e: Encoder) => results.filter((r) => r.set === set && r.encoder === e).reduce((a, b) => (b.cpuUsPerRecord < a.cpuUsPerRecord ? b : a));
    const lib = best('library');
    const ours = best('ours');
    console.log(`\n${set}`);
    for (const r of [lib, ours]) {
      console.log(`${r.encoder.padEnd(8)} ${Math.round(r.recordsPerSecond).toString().padStart(9)} rec/s  ${r.cpuUsPerRecord.toFixed(2).padStart(6)} µs CPU/rec  ${r.bytesPerRecord.toFixed(0)} B/rec  peak RSS ${r.peakRssMiB.toFixed(0)} MiB (${r.startRssMiB.toFixed(0)} after warm-up)  sha256 ${r.sha256}`);
    }
    const same = results.filter((r) => r.set === set).every((r) => r.sha256 === lib.sha256);
    console.log(`RATIO library/ours: ${(lib.cpuUsPerRecord / ours.cpuUsPerRecord).toFixed(2)}× less CPU per record; bodies ${same ? 'byte-identical' : 'DIFFER'}`);
    if (!same) process.exitCode = 1;
  }
  console.log('\ngzip of our bodies (zlib, synchronous, this process):');
  for (const l of gzipLevels()) console.log(l);
}
