/** A pino logger that records every line (parsed JSON) for assertions. */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';

/** A captured log line. */
export type LogLine = Record<string, unknown> & { level: string; msg?: string };

/** Creates a logger at `level` whose lines land in `lines` (and nowhere else). */
export function captureLogger(level = 'debug'): { logger: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const s = chunk.toString('utf8');
      chunks.push(s);
      for (const l of s.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const logger = pino({ level, formatters: { level: (label) => ({ level: label }) } }, stream);
  return { logger, lines, text: () => chunks.join('') };
}
