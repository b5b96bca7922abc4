/**
 * The `file` exporter: Tyk JSON lines and RFC 4180 CSV of real decoded fixture records, one write per
 * batch, size rotation, logs as JSON lines, CSV-for-logs refused at validation, relative paths, and the
 * real receiver → file path end to end through Redis.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { allFixtures, loadFixtures, pushFixtures } from '../../test/helpers/fixtures.js';
import { httpRecord } from '../../test/helpers/records.js';
import { testRedis, type TestRedis } from '../../test/helpers/redis.js';
import { startAgent, waitFor, type RunningAgent } from '../../test/helpers/agent.js';
import { tracked } from '../../test/helpers/records.js';
import { silentLogger } from '../../src/logger.js';
import { HttpServers } from '../../src/http-server.js';
import { SelfTelemetry } from '../../src/telemetry.js';
import { loadConfigText } from '../../src/config/load.js';
import { factories } from '../../src/factories.js';
import type { ComponentContext } from '../../src/component.js';
import type { AnalyticsRecord, LogsBatch, TykRecord } from '../../src/model.js';
import { ShuttingDownError, StartError } from '../../src/errors.js';
import { toTykJson } from '../../src/tyk-json.js';
import { decodeFixture } from '../../test/helpers/decoded-fixtures.js';
import { componentContext } from '../../test/helpers/context.js';
import { fileConfigSchema } from './config.js';
import { FileExporter } from './file.js';
import { TextSink } from './sink.js';
import { ANALYTICS_CSV_COLUMNS, UPTIME_CSV_COLUMNS } from './format.js';

function decoded(): TykRecord[] {
  return allFixtures().map(decodeFixture);
}

let telemetry: SelfTelemetry;
let http: HttpServers;

function context(dir: string): ComponentContext {
  return componentContext({ id: 'file', telemetry: telemetry.forComponent('exporter', 'file'), http, instanceId: 'file-test', configDir: dir });
}

/** A minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF), for reading our output back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c;
      i++;
      continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    assert.notEqual(c, '\n', `bare LF outside quotes at ${i}`);
    field += c;
    i++;
  }
  assert.equal(field, '', 'the last row ends with CRLF');
  return rows;
}

/** The cell we expect for a flattened Tyk JSON value. */
function expectedCell(obj: Record<string, unknown>, column: string): string {
  let v: unknown = obj;
  for (const k of column.split('.')) v = (v as Record<string, unknown> | null)?.[k];
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(';');
  return JSON.stringify(v);
}

describe('file exporter', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-exporter-'));
    telemetry = new SelfTelemetry('file-test');
    http = new HttpServers(silentLogger());
  });

  after(async () => {
    await http.close();
    await telemetry.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('json: every fixture record as one line of exactly its Tyk JSON, one write per batch, settled once written', async () => {
    const records = decoded();
    const exp = new FileExporter(context(dir), fileConfigSchema.parse({ path: 'out/records.jsonl' }));
    await exp.start();
    const original = TextSink.prototype.write;
    let writes = 0;
    TextSink.prototype.write = function (this: TextSink, ...args: Parameters<TextSink['write']>) {
      writes++;
      return original.apply(this, args);
    };
    try {
      for (let i = 0; i < records.length; i += 250) {
        const err = await tracked((ctx) => exp.consumeRecords(records.slice(i, i + 250), ctx));
        assert.equal(err, undefined);
      }
    } finally {
      TextSink.prototype.write = original;
    }
    assert.equal(writes, Math.ceil(records.length / 250));
    // Delivery settled: the bytes are in the file before shutdown.
    const before = (await readFile(join(dir, 'out/records.jsonl'), 'utf8')).split('\n');
    assert.equal(before.length, records.length + 1);
    await exp.shutdown();
    await exp.shutdown();
    const lines = (await readFile(join(dir, 'out/records.jsonl'), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, records.length);
    for (const [i, line] of lines.entries()) assert.deepEqual(JSON.parse(line), toTykJson(records[i]!), `line ${i + 1}`);
    // A few fields as Tyk names them, against the fixtures' expected values directly.
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    const fx = allFixtures()[0]!.expected;
    for (const k of ['api_id', 'timestamp', 'expireAt', 'latency', 'tags', 'response_code']) assert.deepEqual(first[k], fx[k], k);
    await assert.rejects(exp.consumeRecords(records.slice(0, 1), { chunkId: undefined, defer: () => () => undefined }), ShuttingDownError);
  });

  it('csv: header + one RFC 4180 row per record, nested fields flattened, uptime to its own file', async () => {
    const records = decoded();
    const tricky = httpRecord({ userAgent: 'agent, "quoted"\r\nnext line', path: '/a,b', tags: ['x', 'y;z'] });
    const exp = new FileExporter(context(dir), fileConfigSchema.parse({ path: 'records.csv', format: 'csv', uptime_path: 'uptime.csv' }));
    await exp.start();
    await exp.consumeRecords([...records, tricky], { chunkId: undefined, defer: () => () => undefined });
    await exp.shutdown();
    const rows = parseCsv(await readFile(join(dir, 'records.csv'), 'utf8'));
    assert.deepEqual(rows[0], [...ANALYTICS_CSV_COLUMNS]);
    assert.ok(rows[0]!.includes('latency.total') && rows[0]!.includes('geo.country.iso_code'));
    const analytics = [...records.filter((r) => r.kind !== 'uptime'), tricky] as AnalyticsRecord[];
    assert.equal(rows.length, analytics.length + 1);
    for (const [i, r] of analytics.entries()) {
      const obj = toTykJson(r);
      assert.deepEqual(rows[i + 1], ANALYTICS_CSV_COLUMNS.map((c) => expectedCell(obj, c)), `row ${i + 1}`);
    }
    const last = rows[rows.length - 1]!;
    assert.equal(last[ANALYTICS_CSV_COLUMNS.indexOf('user_agent')], 'agent, "quoted"\r\nnext line');
    assert.equal(last[ANALYTICS_CSV_COLUMNS.indexOf('tags')], 'x;y;z');
    const up = parseCsv(await readFile(join(dir, 'uptime.csv'), 'utf8'));
    assert.deepEqual(up[0], [...UPTIME_CSV_COLUMNS]);
    assert.equal(up.length, records.filter((r) => r.kind === 'uptime').length + 1);
  });

  it('csv without uptime_path skips uptime records, appends to an existing file without a second header', async () => {
    const records = decoded();
    const cfg = fileConfigSchema.parse({ path: 'append.csv', format: 'csv' });
    for (let run = 0; run < 2; run++) {
      const exp = new FileExporter(context(dir), cfg);
      await exp.start();
      await exp.consumeRecords(records, { chunkId: undefined, defer: () => () => undefined });
      await exp.shutdown();
    }
    const rows = parseCsv(await readFile(join(dir, 'append.csv'), 'utf8'));
    const n = records.filter((r) => r.kind !== 'uptime').length;
    assert.equal(rows.length, 1 + 2 * n);
    assert.equal(rows.filter((r) => r[0] === 'method').length, 1);
  });

  it('rotates by size, keeps max_backups numbered files, never splits a batch', async () => {
    const sub = join(dir, 'rot');
    await mkdir(sub);
    const records = decoded().filter((r) => r.kind !== 'uptime').slice(0, 200);
    const exp = new FileExporter(context(sub), fileConfigSchema.parse({ path: 'r.jsonl', rotation: { max_megabytes: 0.05, max_backups: 3 } }));
    await exp.start();
    const batches = 40;
    for (let i = 0; i < batches; i++) await exp.consumeRecords(records.slice((i * 5) % 200, ((i * 5) % 200) + 5), { chunkId: undefined, defer: () => () => undefined });
    await exp.shutdown();
    const files = (await readdir(sub)).sort();
    assert.deepEqual(files, ['r.jsonl', 'r.jsonl.1', 'r.jsonl.2', 'r.jsonl.3']);
    let lines = 0;
    for (const f of files) {
      const text = await readFile(join(sub, f), 'utf8');
      assert.ok(text.length <= 50_000 || text.split('\n').length - 1 <= 5, `${f} is ${text.length} bytes`);
      const n = text.trimEnd().split('\n').length;
      assert.equal(n % 5, 0, `${f} holds whole batches`);
      for (const l of text.trimEnd().split('\n')) JSON.parse(l);
      lines += n;
    }
    assert.ok(lines < batches * 5, 'older backups were deleted');
  });

  it('logs: one OTel-style JSON object per entry with resource and scope', async () => {
    const exp = new FileExporter(context(dir), fileConfigSchema.parse({ path: 'logs.jsonl' }));
    await exp.start();
    const batch: LogsBatch = {
      resource: { 'service.name': 'tyk-otel-pump', 'service.instance.id': 'i-1' },
      scope: 'tyk-otel-pump/audit_log',
      logs: [
        { timestampMs: Date.UTC(2026, 10, 26, 12), timestampNs: 74_150, severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'GET /orders/1 200', attributes: { 'http.response.status_code': 200 }, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
        { timestampMs: Date.UTC(2026, 10, 26, 12, 0, 1), timestampNs: 0, severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: { k: [1, 'a'] }, attributes: {} },
      ],
    };
    await exp.consumeLogs(batch, { chunkId: undefined, defer: () => () => undefined });
    await exp.shutdown();
    const lines = (await readFile(join(dir, 'logs.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], {
      timestamp: '2026-11-26T12:00:00.00007415Z', time_unix_nano: '1795694400000074150', severity_number: 9, severity_text: 'INFO',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', body: 'GET /orders/1 200', attributes: { 'http.response.status_code': 200 },
      resource: batch.resource, scope: { name: 'tyk-otel-pump/audit_log' },
    });
    assert.deepEqual(lines[1]!['body'], { k: [1, 'a'] });
    assert.equal('trace_id' in lines[1]!, false);
  });

  it('validation: csv for a logs pipeline is refused, rotation of stdout is refused', () => {
    const yaml = (format: string) => `
receivers:
  tyk_redis: {}
processors:
  audit_log: {}
exporters:
  file:
    path: out.jsonl
    format: ${format}
service:
  pipelines:
    logs:
      receivers: [tyk_redis]
      processors: [audit_log]
      exporters: [file]
`;
    const bad = loadConfigText(yaml('csv'), 'c.yaml', factories, {});
    assert.ok(bad.problems.some((p) => p.path === 'service::pipelines::logs::exporters[0]' && /must use format json for logs/.test(p.message)), JSON.stringify(bad.problems));
    const good = loadConfigText(yaml('json'), 'c.yaml', factories, {});
    assert.deepEqual(good.problems, []);
    const r = fileConfigSchema.safeParse({ path: '-', rotation: { max_megabytes: 1 } });
    assert.equal(r.success, false);
  });

  it('a path that cannot be opened fails start with a StartError', async () => {
    const exp = new FileExporter(context(dir), fileConfigSchema.parse({ path: '.' }));
    await assert.rejects(exp.start(), StartError);
    await exp.shutdown();
  });
});

describe('Redis → tyk_redis → file (real agent)', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let agent: RunningAgent | undefined;
  let dir: string;

  before(async () => {
    redis = await testRedis('file-e2e');
    dir = await mkdtemp(join(tmpdir(), 'file-e2e-'));
  });

  after(async () => {
    await agent?.stop();
    await redis?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every record of every fixture exactly once as its Tyk JSON', async () => {
    const fixtures = allFixtures();
    await pushFixtures(redis, fixtures, { uptimeKey: 'uptime' });
    agent = await startAgent(`
receivers:
  tyk_redis:
    endpoint: ${redis.url}
    key_prefix: ${redis.prefix}analytics-
    uptime_key: ${redis.prefix}uptime
    poll_interval: 100ms
exporters:
  file:
    path: out/all.jsonl
service:
  pipelines:
    records:
      receivers: [tyk_redis]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:0
`, { dir });
    const file = join(dir, 'out/all.jsonl');
    await waitFor('every record in the file', async () => {
      try {
        return (await readFile(file, 'utf8')).split('\n').length - 1 >= fixtures.length;
      } catch {
        return false;
      }
    }, 20_000);
    await agent.stop();
    agent = undefined;
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').sort();
    const want = decoded().map((r) => JSON.stringify(toTykJson(r))).sort();
    assert.equal(lines.length, want.length);
    assert.deepEqual(lines, want);
    assert.equal(loadFixtures('gateway-msgpack.jsonl').length + loadFixtures('uptime-msgpack.jsonl').length <= lines.length, true);
  });
});
