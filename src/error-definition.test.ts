import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileErrorDefinition, errorDefinitionSchema } from './error-definition.js';

describe('error definition', () => {
  it('default: 5xx bad, 1xx–4xx good; codes no valid response carries are bad; -1 (network records) never', () => {
    const d = compileErrorDefinition();
    for (const c of [100, 200, 204, 301, 404, 429, 499]) assert.deepEqual([d.isBad(c), d.errorType(c)], [false, undefined], String(c));
    for (const c of [500, 503, 599]) assert.deepEqual([d.isBad(c), d.errorType(c)], [true, String(c)], String(c));
    for (const c of [0, 1, 99, 600, 999, 1000, -2]) assert.deepEqual([d.isBad(c), d.errorType(c)], [true, String(c)], `out of range ${c}`);
    assert.deepEqual([d.isBad(-1), d.errorType(-1)], [false, undefined]);
  });

  it('classes, extra codes and exclusions apply inside 100–599; out-of-range codes stay bad', () => {
    const d = compileErrorDefinition(errorDefinitionSchema.parse({ status_classes: ['4xx'], status_codes: [302], exclude_status_codes: [404] }));
    assert.equal(d.isBad(404), false);
    assert.equal(d.isBad(403), true);
    assert.equal(d.isBad(302), true);
    assert.equal(d.isBad(503), false);
    assert.equal(d.errorType(999), '999');
  });
});
