/**
 * What the Tyk-compatible Prometheus tests share: the gateway's analytics fixtures (every record format),
 * a strict parser of the text exposition format, and Tyk's API-key obfuscation written out from its rule
 * (tyk-pump `pumps/prometheus.go`), independently of the code under test.
 */
import assert from 'node:assert/strict';
import { loadFixtures, type Fixture } from './fixtures.js';

/** Every analytics fixture (msgpack, legacy v4, pump 1.8, protobuf); no uptime records. */
export function analyticsFixtures(): Fixture[] {
  return [
    ...loadFixtures('gateway-msgpack.jsonl'),
    ...loadFixtures('gateway-legacy-v4.jsonl'),
    ...loadFixtures('gateway-pump18.jsonl'),
    ...loadFixtures('gateway-protobuf.jsonl'),
  ];
}

/** The HTTP records among `fixtures`: network-stats records (code -1) are not requests. */
export function httpFixtures(fixtures: readonly Fixture[]): Fixture[] {
  return fixtures.filter((f) => f.expected['response_code'] !== -1);
}

/** One sample of a scrape. */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * Parses the Prometheus text format 0.0.4 (label values unescaped). Strict: a line that is not a sample or
 * a comment, or a label set with anything left over, fails the test.
 */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let consumed = 0;
    for (let l = re.exec(body); l; l = re.exec(body)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    assert.equal(consumed, body.length, `unparsable labels: ${line}`);
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Tyk's `obfuscate_api_keys`: `****` + the last 4 bytes, `--` for a key of 4 bytes or fewer. */
export function tykObfuscated(key: string): string {
  const b = Buffer.from(key, 'utf8');
  return b.length <= 4 ? '--' : `****${b.subarray(b.length - 4).toString('utf8')}`;
}

/**
 * The sum of the samples in a scrape whose line starts with `prefix` (a name, or a name and `{` to exclude
 * longer names) and contains every one of `labels` (`exporter="file"`).
 */
export function sumSamples(scrape: string, prefix: string, labels: readonly string[] = []): number {
  let total = 0;
  for (const line of scrape.split('\n')) {
    if (line.startsWith(prefix) && labels.every((l) => line.includes(l))) total += Number(line.split(' ').pop());
  }
  return total;
}
