/**
 * The `filter` processor: keeps or drops whole records, with exactly Tyk Pump's filter rule order
 * (`analytics/analytics_filters.go` `ShouldFilter`), plus a record-kind selector evaluated first.
 *
 * Rule order (the first rule that applies drops the record; a record no rule drops is kept):
 *   0. kind ∉ `kinds`
 *   1. api_id ∈ `skip_api_ids`
 *   2. org_id ∈ `skip_org_ids`
 *   3. response_code ∈ `skip_response_codes`
 *   4. `api_ids` non-empty and api_id ∉ `api_ids`
 *   5. `org_ids` non-empty and org_id ∉ `org_ids`
 *   6. `response_codes` non-empty and response_code ∉ `response_codes`
 *
 * Uptime records carry api_id, org_id and response_code too, and the lists apply to them in the same way
 * (Tyk never filters uptime data, because it has no uptime filters; use `kinds` to keep uptime records
 * out of, or alone in, a pipeline).
 */
import type { BatchContext, ComponentContext, Consumer, Processor } from '../../src/component.js';
import type { RecordBatch, TykRecord } from '../../src/model.js';
import type { FilterConfig } from './config.js';

/** A compiled filter: `keep(record)` is false when a rule drops the record. */
export interface RecordFilter {
  keep(r: TykRecord): boolean;
  /** False when the config keeps every record (all lists empty, every kind), so batches pass through. */
  readonly active: boolean;
}

/** Compiles the config into Set lookups (O(1) per rule per record). */
export function compileFilter(config: FilterConfig): RecordFilter {
  const kinds = new Set<string>(config.kinds);
  const keepHttp = kinds.has('http');
  const keepNetwork = kinds.has('network');
  const keepUptime = kinds.has('uptime');
  const skipApi = config.skip_api_ids.length > 0 ? new Set(config.skip_api_ids) : undefined;
  const skipOrg = config.skip_org_ids.length > 0 ? new Set(config.skip_org_ids) : undefined;
  const skipCode = config.skip_response_codes.length > 0 ? new Set(config.skip_response_codes) : undefined;
  const onlyApi = config.api_ids.length > 0 ? new Set(config.api_ids) : undefined;
  const onlyOrg = config.org_ids.length > 0 ? new Set(config.org_ids) : undefined;
  const onlyCode = config.response_codes.length > 0 ? new Set(config.response_codes) : undefined;
  const active =
    !(keepHttp && keepNetwork && keepUptime) || !!(skipApi || skipOrg || skipCode || onlyApi || onlyOrg || onlyCode);
  return {
    active,
    keep(r: TykRecord): boolean {
      if (r.kind === 'http' ? !keepHttp : r.kind === 'network' ? !keepNetwork : !keepUptime) return false;
      if (skipApi?.has(r.apiId)) return false;
      if (skipOrg?.has(r.orgId)) return false;
      if (skipCode?.has(r.responseCode)) return false;
      if (onlyApi && !onlyApi.has(r.apiId)) return false;
      if (onlyOrg && !onlyOrg.has(r.orgId)) return false;
      if (onlyCode && !onlyCode.has(r.responseCode)) return false;
      return true;
    },
  };
}

/** records → records: forwards a new batch without the filtered records and counts them as dropped (`filtered`). */
export class FilterProcessor implements Processor<'records'> {
  private readonly filter: RecordFilter;

  constructor(
    private readonly ctx: ComponentContext,
    config: FilterConfig,
    private readonly next: Consumer<'records'>,
  ) {
    this.filter = compileFilter(config);
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  async consume(batch: RecordBatch, bctx: BatchContext): Promise<void> {
    this.ctx.telemetry.accepted(batch.length);
    let out: TykRecord[];
    if (!this.filter.active) {
      out = batch.slice();
    } else {
      out = [];
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as TykRecord;
        if (this.filter.keep(r)) out.push(r);
      }
      this.ctx.telemetry.dropped(batch.length - out.length, 'filtered');
    }
    // Nothing left: there is nothing to hand on, and the batch counts as accepted (the drops are counted).
    if (out.length === 0) return;
    await this.next.consume(out, bctx);
  }
}
