/**
 * The PostgreSQL connection settings shared by the SQL exporters (`sql`, `sql_aggregate`): a Tyk-style
 * `connection_string` or discrete fields, TLS, pool size and timeouts. Components spread
 * {@link postgresConnectionShape} into their own strict schema, so every exporter reads the same keys.
 */
import { z } from 'zod';
import { duration, secret } from '../../src/config/schema.js';
import { isKnownZone } from './zone.js';

/** TLS modes, named as libpq's `sslmode` (the connection string's `sslmode` is used when this is unset). */
export const TLS_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** One of {@link TLS_MODES}. */
export type TlsMode = (typeof TLS_MODES)[number];

const tlsSchema = z
  .strictObject({
    mode: z
      .enum(TLS_MODES, { error: `must be one of ${TLS_MODES.join(', ')}` })
      .optional()
      .describe('disable, require (encrypted, server certificate not checked), verify-ca (checked against ca_file), verify-full (checked, and its name must match the host). Unset: the connection string\'s sslmode, else disable.'),
    ca_file: z.string().default('').describe('PEM file of the CA(s) that signed the server certificate (relative to the config file). Empty: the system CAs.'),
    cert_file: z.string().default('').describe('PEM client certificate, for servers that require certificate authentication.'),
    key_file: z.string().default('').describe('PEM private key of cert_file.'),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === '') !== (t.key_file === '')) {
      ctx.addIssue({ code: 'custom', message: 'must be set together with cert_file / key_file', path: [t.cert_file === '' ? 'cert_file' : 'key_file'], input: '' });
    }
  })
  .describe('TLS to the server.');

/** Parses the key=value form (`host=h port=5432 password='a b'`); undefined when malformed. */
function parseKeywordDsn(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/y;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    out.set((m[1] ?? '').toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
    pos = re.lastIndex;
  }
  return out;
}

/** Parses a `postgres://` URL or a key=value connection string into libpq keywords; undefined when malformed. */
export function parseConnectionString(text: string): Map<string, string> | undefined {
  const t = text.trim();
  if (t === '') return new Map();
  if (/^postgres(ql)?:\/\//i.test(t)) {
    let url: URL;
    try {
      url = new URL(t);
    } catch {
      return undefined;
    }
    const out = new Map<string, string>();
    if (url.hostname !== '') out.set('host', decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')));
    if (url.port !== '') out.set('port', url.port);
    if (url.username !== '') out.set('user', decodeURIComponent(url.username));
    if (url.password !== '') out.set('password', decodeURIComponent(url.password));
    const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (db !== '') out.set('dbname', db);
    for (const [k, v] of url.searchParams) out.set(k.toLowerCase(), v);
    return out;
  }
  return parseKeywordDsn(t);
}

/**
 * The connection keys, to spread into a component's `z.strictObject({...})`. Discrete fields override what
 * the connection string says.
 */
export const postgresConnectionShape = {
  connection_string: secret()
    .default('')
    // The value is never shown: it holds the password.
    .refine((s) => parseConnectionString(s) !== undefined, { message: 'must be a postgres:// URL or key=value pairs (host=… port=… user=… password=… dbname=… sslmode=…)' })
    .describe('As Tyk Pump\'s meta.connection_string: postgres://user:password@host:5432/db?sslmode=require, or the key=value form (host=… port=… user=… password=… dbname=… sslmode=…). Masked in every printout; prefer ${env:…}.'),
  host: z.string().default('').describe('Server host; overrides the connection string. Empty (and no connection string): 127.0.0.1.'),
  port: z.number({ error: 'must be a port number' }).int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').optional().describe('Server port; overrides the connection string (default 5432).'),
  database: z.string().default('').describe('Database name; overrides the connection string (default: the user name, as libpq).'),
  user: z.string().default('').describe('User name; overrides the connection string (default postgres).'),
  password: secret().default('').describe('Password; overrides the connection string.'),
  schema: z
    .string({ error: 'must be a schema name' })
    .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a plain identifier (letters, digits, _ and $)')
    .default('public')
    .describe('Schema of the tables. Tyk Dashboard reads public (sharded reads look only there): change it only for tests or a staging copy.'),
  tls: tlsSchema.prefault({}),
  pool_size: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be 1 or more').max(100, 'must be at most 100').default(4).describe('Most connections held open to the server.'),
  connect_timeout: duration({ min: 100 }).prefault('10s').describe('How long one connection attempt may take.'),
  statement_timeout: duration({ min: 100 }).prefault('60s').describe('PostgreSQL statement_timeout of every session: a statement running longer is cancelled and the batch retried.'),
} as const;

/** The resolved connection settings, as a component config holds them. */
export interface PostgresConnectionConfig {
  readonly connection_string: string;
  readonly host: string;
  readonly port?: number | undefined;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly schema: string;
  readonly tls: { readonly mode?: TlsMode | undefined; readonly ca_file: string; readonly cert_file: string; readonly key_file: string };
  readonly pool_size: number;
  readonly connect_timeout: number;
  readonly statement_timeout: number;
}

/** `time_zone`: the zone of shard dates and aggregate buckets (shared with `sql_aggregate`). */
export const timeZoneField = z
  .string({ error: 'must be a time zone name such as UTC or Europe/Berlin' })
  .default('UTC')
  .refine((z) => isKnownZone(z), { message: 'must be a time zone name such as UTC or Europe/Berlin' })
  .describe('Zone of the shard date (tyk_analytics_YYYYMMDD) and of hour buckets. Tyk Pump uses its own process zone for msgpack records (UTC in a container): set the same zone as the pump you replace. Protobuf records carry the gateway\'s zone, which wins, as in Tyk.');

/** `batch_marker_retention`: how long exactly-once markers are kept (shared with `sql_aggregate`). */
export const markerRetentionField = duration({ min: 60_000 })
  .prefault('7d')
  .describe('How long the exactly-once markers (table tyk_otel_pump_batches) are kept. A chunk re-delivered later than this would be written again; re-deliveries come within seconds to minutes.');
