/**
 * Redis endpoints as users write them: a `redis://` / `rediss://` URL (with optional ACL user, password
 * and `/db`) or a bare `host:port`. Shown masked by `maskCredentials` (`src/config/schema.ts`), the one rule
 * for every message and log line.
 */
import { parseHostPort } from '../../src/config/schema.js';

/** The parts of an `endpoint`. */
export interface ParsedEndpoint {
  readonly host: string;
  readonly port: number;
  /** `rediss://`. */
  readonly tls: boolean;
  readonly username: string;
  readonly password: string;
  /** The `/N` path of the URL, if any. */
  readonly database: number | undefined;
}

/** Parses `endpoint`: a `redis://` / `rediss://` URL or a bare `host:port`. Undefined when malformed. */
export function parseEndpoint(text: string): ParsedEndpoint | undefined {
  const trimmed = text.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    const hp = parseHostPort(trimmed);
    if (!hp || hp.host === '' || hp.port === 0) return undefined;
    return { host: hp.host, port: hp.port, tls: false, username: '', password: '', database: undefined };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  if (url.hostname === '') return undefined;
  const path = url.pathname.replace(/^\/+/, '');
  let database: number | undefined;
  if (path !== '') {
    if (!/^\d{1,5}$/.test(path)) return undefined;
    database = Number(path);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    return undefined;
  }
  return {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    tls: url.protocol === 'rediss:',
    username,
    password,
    database,
  };
}
