/**
 * The gateway fixtures decoded by the real `tyk_redis` decoder, for processor and exporter tests that
 * want real records without a Redis round trip.
 */
import { withRoute, type TykRecord } from '../../src/model.js';
import { decodeAnalytics, decodeUptime } from '../../internal/tyk-wire/decode.js';
import { allFixtures, type Fixture } from './fixtures.js';

/** One fixture's record, decoded from its wire bytes. */
export function decodeFixture(f: Fixture): TykRecord {
  return f.format === 'uptime' ? decodeUptime(f.bytes) : decodeAnalytics(f.bytes, f.format === 'protobuf' ? 'protobuf' : 'msgpack');
}

/**
 * Every fixture decoded, every second HTTP record with its `route_template_hint` as route template (as
 * the route processor would set it): exporters see records with and without a route.
 */
export function decodedFixturesHalfRouted(): TykRecord[] {
  const out: TykRecord[] = [];
  let i = 0;
  for (const f of allFixtures()) {
    const r = decodeFixture(f);
    const hint = f.expected['route_template_hint'];
    out.push(r.kind === 'http' && i++ % 2 === 0 && typeof hint === 'string' ? withRoute(r, hint) : r);
  }
  return out;
}
