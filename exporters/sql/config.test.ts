/**
 * Connection settings of the SQL exporters: Tyk's connection string in both forms, discrete fields
 * winning over it, and a malformed string refused without its password in the message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { factories } from '../../src/factories.js';
import { resolveTarget } from '../../internal/postgres/pool.js';
import { sqlConfigSchema } from './config.js';

describe('sql exporter connection settings', () => {
  it('reads a postgres:// URL and the key=value form; discrete fields win', () => {
    const url = resolveTarget(sqlConfigSchema.parse({ connection_string: 'postgres://tyk:p%40ss@db.internal:6543/analytics?sslmode=require' }));
    assert.deepEqual({ ...url }, { host: 'db.internal', port: 6543, database: 'analytics', user: 'tyk', password: 'p@ss', sslmode: 'require', describe: 'tyk@db.internal:6543/analytics' });
    const kv = resolveTarget(sqlConfigSchema.parse({ connection_string: "host=pg port=5433 user=u password='a b\\'c' dbname=d sslmode=verify-full", database: 'other' }));
    assert.deepEqual({ ...kv }, { host: 'pg', port: 5433, database: 'other', user: 'u', password: "a b'c", sslmode: 'verify-full', describe: 'u@pg:5433/other' });
    const none = resolveTarget(sqlConfigSchema.parse({}));
    assert.deepEqual([none.host, none.port, none.user, none.database, none.sslmode], ['127.0.0.1', 5432, 'postgres', 'postgres', 'disable']);
  });

  it('refuses a malformed connection string without echoing it, and out-of-range settings', () => {
    const yaml = `receivers: { tyk_redis: {} }
exporters:
  sql: { connection_string: "host=db password=s3cret pw", batch_size: 2000 }
  sql_aggregate: { time_zone: Mars/Olympus, tls: { cert_file: a.pem } }
service: { pipelines: { records: { receivers: [tyk_redis], exporters: [sql, sql_aggregate] } } }
`;
    const r = loadConfigText(yaml, 'c.yaml', factories, {});
    const lines = r.problems.map((p) => `${p.path}: ${p.message}${p.got === undefined ? '' : ` (got ${p.got})`}`);
    assert.ok(lines.includes('exporters::sql::connection_string: must be a postgres:// URL or key=value pairs (host=… port=… user=… password=… dbname=… sslmode=…) (got <redacted>)'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::sql::batch_size: must be at most 1260')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::sql_aggregate::time_zone: must be a time zone name')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('exporters::sql_aggregate::tls::key_file: must be set together')), lines.join('\n'));
    assert.ok(!lines.join('\n').includes('s3cret'));
  });
});
