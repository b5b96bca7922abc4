/** The converter's copies of names match what the components accept. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { SLI_METRICS, TYK_PUMP_METRICS } from '../../../processors/sli/config.js';
import { TYK_TAGS as DOGSTATSD_TAGS } from '../../../exporters/dogstatsd/config.js';
import { TYK_FIELDS, TYK_TAGS as STATSD_TAGS } from '../../../exporters/statsd/config.js';
import { SLI_NATIVE_METRICS, TYK_DOGSTATSD_TAGS, TYK_PROMETHEUS_FAMILIES, TYK_STATSD_FIELDS, TYK_STATSD_TAGS } from './vocabulary.js';

it('lists the same names as the sli, dogstatsd and statsd configs', () => {
  assert.deepEqual([...SLI_NATIVE_METRICS], [...SLI_METRICS]);
  assert.deepEqual([...TYK_PROMETHEUS_FAMILIES], [...TYK_PUMP_METRICS]);
  assert.deepEqual([...TYK_DOGSTATSD_TAGS], [...DOGSTATSD_TAGS]);
  assert.deepEqual([...TYK_STATSD_FIELDS], [...TYK_FIELDS]);
  assert.deepEqual([...TYK_STATSD_TAGS], [...STATSD_TAGS]);
});
