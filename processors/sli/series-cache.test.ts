import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { httpRecord } from '../../test/helpers/records.js';
import { HttpSeriesCache } from './series-cache.js';

describe('sli: the HTTP series lookup cache', () => {
  const all = { apiId: true, apiName: true, org: true, route: true };

  it('finds each (api, name, org, route, status/method) series, also past the small-array scan, and nothing else', () => {
    const cache = new HttpSeriesCache<{ live: boolean; id: string }>(all);
    const records = ['a', 'b'].flatMap((api) => ['/x', '/y'].map((route) => httpRecord({ apiId: api, apiName: `n-${api}`, orgId: 'o', route })));
    for (const r of records) for (let small = 0; small < 40; small++) cache.remember(r, small, { live: true, id: `${r.apiId}${r.route}#${small}` });
    for (const r of records) {
      for (let small = 0; small < 40; small++) assert.equal(cache.find(r, small)?.id, `${r.apiId}${r.route}#${small}`);
      assert.equal(cache.find(r, 40), undefined);
    }
    // Same route string, another API, name or org: another series.
    assert.equal(cache.find(httpRecord({ apiId: 'c', apiName: 'n-a', orgId: 'o', route: '/x' }), 1), undefined);
    assert.equal(cache.find(httpRecord({ apiId: 'a', apiName: 'other', orgId: 'o', route: '/x' }), 1), undefined);
    assert.equal(cache.find(httpRecord({ apiId: 'a', apiName: 'n-a', orgId: 'p', route: '/x' }), 1), undefined);
  });

  it('never returns an expired series, and prune drops them', () => {
    const cache = new HttpSeriesCache<{ live: boolean }>(all);
    const r = httpRecord({ apiId: 'a', route: '/x' });
    const s1 = { live: true };
    const s2 = { live: true };
    cache.remember(r, 1, s1);
    cache.remember(r, 2, s2);
    s1.live = false;
    assert.equal(cache.find(r, 1), undefined);
    cache.prune();
    assert.equal(cache.find(r, 1), undefined);
    assert.equal(cache.find(r, 2), s2);
    const s3 = { live: true };
    cache.remember(r, 1, s3);
    assert.equal(cache.find(r, 1), s3, 'a new series of a pruned key');
  });

  it('with the route not an attribute, records of one API share a series whatever their route', () => {
    const cache = new HttpSeriesCache<{ live: boolean }>({ ...all, route: false });
    const s = { live: true };
    cache.remember(httpRecord({ apiId: 'a', route: '/x' }), 3, s);
    assert.equal(cache.find(httpRecord({ apiId: 'a', route: '/y' }), 3), s);
    assert.equal(cache.find(httpRecord({ apiId: 'b', route: '/x' }), 3), undefined);
  });
});
