/**
 * The host-checker uptime record (tyk `gateway/host_checker_manager.go` `UptimeReportData`, always msgpack,
 * list `host-checker:tyk-uptime-analytics`).
 */
import type { UptimeRecord } from '../../src/model.js';
import { DecodeError } from '../../src/errors.js';
import { keyTable } from './key-table.js';
import { UPTIME_PLACEHOLDER } from './projection.js';
import { reader, topMapHeader } from './shared-reader.js';

const UPTIME_NAMES = [
  'URL', 'RequestTime', 'ResponseCode', 'TCPError', 'ServerError', 'Day', 'Month', 'Year', 'Hour', 'Minute',
  'TimeStamp', 'ExpireAt', 'APIID', 'OrgID',
] as const;
const UPTIME = keyTable(UPTIME_NAMES);

/** Decodes the uptime record at the shared reader (reset on the element). */
export function decodeMsgpackUptime(): UptimeRecord {
  const r = reader;
  const n = topMapHeader('uptime record');
  let url = '', requestTime = 0, responseCode = 0, tcpError = false, serverError = false;
  let day = 0, month = 0, year = 0, hour = 0, minute = 0;
  let timestampMs: number | null = null, timestampNs = 0, expireAtMs: number | null = null, expireAtNs = 0;
  let apiId = '', orgId = '';
  let known = 0;
  for (let i = 0, hint = 0; i < n; i++) {
    r.where = '';
    const k = r.key(UPTIME, hint);
    if (k === -1) {
      r.skip();
      continue;
    }
    hint = k + 1;
    known++;
    r.where = UPTIME_NAMES[k] as string;
    switch (k) {
      case 0: url = r.strCached(); break;
      case 1: requestTime = r.int(); break;
      case 2: responseCode = r.int(); break;
      case 3: tcpError = r.bool(); break;
      case 4: serverError = r.bool(); break;
      case 5: day = r.int(); break;
      case 6: month = r.int(); break;
      case 7: year = r.int(); break;
      case 8: hour = r.int(); break;
      case 9: minute = r.int(); break;
      case 10: r.readTime(); timestampMs = r.timeMs; timestampNs = r.timeNs; break;
      case 11: r.readTime(); expireAtMs = r.timeMs; expireAtNs = r.timeNs; break;
      case 12: apiId = r.strCached(); break;
      default: orgId = r.strCached(); break;
    }
  }
  if (known === 0) throw new DecodeError('not_a_record', `msgpack: a map of ${n} key(s) without any uptime record field`);
  return {
    kind: 'uptime', url, requestTime, responseCode, tcpError, serverError, day, month, year, hour, minute,
    timestampMs, timestampNs, expireAtMs, expireAtNs, apiId, orgId,
  };
}

/**
 * Checks the uptime record at the shared reader without building it (no pipeline reads a field): a map
 * with at least one uptime field, every value well-formed. Returns the shared placeholder.
 */
export function checkMsgpackUptime(): UptimeRecord {
  const r = reader;
  const n = topMapHeader('uptime record');
  let known = 0;
  for (let i = 0, hint = 0; i < n; i++) {
    r.where = '';
    const k = r.key(UPTIME, hint);
    if (k !== -1) {
      hint = k + 1;
      known++;
    }
    r.skip();
  }
  if (known === 0) throw new DecodeError('not_a_record', `msgpack: a map of ${n} key(s) without any uptime record field`);
  return UPTIME_PLACEHOLDER;
}
