/**
 * Where StatsD / DogStatsD datagrams go: the endpoint forms both exporters accept, parsed once at
 * validation (no socket code here, so config schemas can import it).
 */
import { parseHostPort } from '../../src/config/schema.js';

/** Where datagrams go: UDP `host:port` or a Unix datagram socket path. */
export type StatsdEndpoint =
  | { readonly kind: 'udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'uds'; readonly path: string };

/**
 * Parses `host:port`, `udp://host:port` or (when `allowUnix`) `unix:///absolute/path`. Undefined when
 * malformed. An empty host or port 0 is refused: a sender needs a destination.
 */
export function parseStatsdEndpoint(text: string, allowUnix: boolean): StatsdEndpoint | undefined {
  const s = text.trim();
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    if (!allowUnix || !path.startsWith('/') || path.length < 2 || /[\0\n]/.test(path)) return undefined;
    return { kind: 'uds', path };
  }
  const hp = parseHostPort(s.startsWith('udp://') ? s.slice('udp://'.length) : s);
  if (!hp || hp.host === '' || hp.port === 0) return undefined;
  return { kind: 'udp', host: hp.host, port: hp.port };
}

/** Human form of an endpoint for logs. */
export function endpointText(e: StatsdEndpoint): string {
  return e.kind === 'uds' ? `unix://${e.path}` : `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}
