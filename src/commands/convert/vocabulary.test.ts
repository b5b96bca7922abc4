/** The names the converter reads from the component schemas are the components' exported lists. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { SLI_METRICS, TYK_PUMP_METRICS } from '../../../processors/sli/config.js';
import { TYK_TAGS as DOGSTATSD_TAGS } from '../../../exporters/dogstatsd/config.js';
import { TYK_FIELDS, TYK_TAGS as STATSD_TAGS } from '../../../exporters/statsd/config.js';
import { schemaEnum, sliNativeMetrics, tykDogstatsdTags, tykPrometheusFamilies, tykStatsdFields, tykStatsdTags } from './vocabulary.js';

it('reads the sli, dogstatsd and statsd names from their schemas', () => {
  assert.deepEqual([...sliNativeMetrics()], [...SLI_METRICS]);
  assert.deepEqual([...tykPrometheusFamilies()], [...TYK_PUMP_METRICS]);
  assert.deepEqual([...tykDogstatsdTags()], [...DOGSTATSD_TAGS]);
  assert.deepEqual([...tykStatsdFields()], [...TYK_FIELDS]);
  assert.deepEqual([...tykStatsdTags()].sort(), [...new Set([...STATSD_TAGS, 'method'])].sort());
});

it('says so when a path holds no enum', () => {
  assert.throws(() => schemaEnum('processor', 'sli', ['buckets']), /no enum at buckets/);
  assert.throws(() => schemaEnum('exporter', 'nope', ['x']), /no exporter of type nope/);
});
