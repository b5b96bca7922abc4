/**
 * `tyk-otel-pump dead-letters list|show|replay|purge`: the operator's view of a receiver's dead-letter
 * list. The receiver's factory opens the list (`ReceiverFactory.openDeadLetters`) with the receiver's own
 * connection settings, so the command works wherever the receiver does (standalone, Sentinel, Cluster).
 *
 * - `list`: a table (or JSON lines) of time, reason, source list, format, size and the decode error;
 * - `show N`: entry N's bytes as far as they can be read (secrets masked);
 * - `replay [N…]`: puts the selected entries back where the receiver reads them (`tyk_redis`: their source
 *   lists; `redis_stream`: the stream, for the dead letter's consumer group only) so a running agent
 *   delivers them again; entries this version still cannot decode are left in place and reported;
 * - `purge [N…]`: removes the selected entries (`--all` is required to purge without any selection).
 * Selection: entry numbers, `--reason R`, `--since T` (an ISO time, or a duration such as `2h` ago),
 * `--limit N` (oldest first).
 */
import { parseArgs } from 'node:util';
import type { DeadLetterEntry, DeadLetterStore, ReceiverFactory } from '../component.js';
import { parseDuration } from '../config/schema.js';
import { CONFIG_OPTION, loadConfig, type Command, type Io } from './io.js';

/** Usage line of the command. */
export const DEAD_LETTERS_USAGE =
  'dead-letters list|show N|replay [N...]|purge [N...] [--config FILE] [--receiver ID] [--limit N] [--reason R] [--since T] [--json] [--all]';

const SUBCOMMANDS = new Set(['list', 'show', 'replay', 'purge']);

/** Runs the command; resolves with the exit code (0 ok, 1 failure or entries left, 2 usage). */
export async function runDeadLetters(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      ...CONFIG_OPTION,
      receiver: { type: 'string' },
      limit: { type: 'string' },
      reason: { type: 'string', multiple: true },
      since: { type: 'string' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  const usage = (msg: string): number => {
    io.err(`dead-letters: ${msg}\nusage: tyk-otel-pump ${DEAD_LETTERS_USAGE}`);
    return 2;
  };
  if (sub === undefined || !SUBCOMMANDS.has(sub)) return usage(sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`);
  const indexes = rest.map(Number);
  if (indexes.some((n) => !Number.isInteger(n) || n < 0)) return usage(`entry numbers must be integers ≥ 0 (got ${rest.join(' ')})`);
  if (sub === 'show' && indexes.length !== 1) return usage('show takes exactly one entry number');
  if (sub === 'list' && indexes.length > 0) return usage('list takes no entry numbers (use --limit, --reason, --since)');
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) return usage(`--limit must be a positive integer (got ${values.limit})`);
  let sinceMs: number | undefined;
  if (values.since !== undefined) {
    const ago = parseDuration(values.since);
    sinceMs = ago !== undefined ? Date.now() - ago : Date.parse(values.since);
    if (Number.isNaN(sinceMs)) return usage(`--since must be an ISO time or a duration such as 2h (got ${values.since})`);
  }
  if (sub === 'purge' && indexes.length === 0 && values.reason === undefined && sinceMs === undefined && limit === undefined && !values.all) {
    return usage('purge needs entry numbers, --reason, --since or --limit (or --all to empty the list)');
  }

  const store = await openStore(values.config, values.receiver, io);
  if (!store) return 1;
  try {
    const all = await store.list();
    const wanted = new Set(indexes);
    let selected = all.filter((e) =>
      (wanted.size === 0 || wanted.has(e.index))
      && (values.reason === undefined || values.reason.includes(e.reason))
      && (sinceMs === undefined || Date.parse(e.time) >= sinceMs));
    if (limit !== undefined) selected = selected.slice(0, limit);
    for (const n of indexes) if (!all.some((e) => e.index === n)) io.err(`dead-letters: no entry ${n} in ${store.describe} (${all.length} entries)`);
    switch (sub) {
      case 'list': return list(selected, all.length, store, values.json, io);
      case 'show': return show(selected[0], store, values.json, io);
      case 'replay': return await replay(selected, store, values.json, io);
      default: return await purge(selected, store, values.json, io);
    }
  } catch (err) {
    io.err(`dead-letters: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

async function openStore(file: string, receiverId: string | undefined, io: Io): Promise<DeadLetterStore | undefined> {
  const config = await loadConfig(file, io);
  if (!config) return undefined;
  const receivers = [...config.components.values()].filter((c) => c.kind === 'receiver' && (c.factory as ReceiverFactory).openDeadLetters);
  const entry = receiverId === undefined ? receivers[0] : receivers.find((c) => c.id === receiverId);
  if (!entry) {
    io.err(receiverId === undefined
      ? `dead-letters: ${file} has no receiver with a dead-letter list`
      : `dead-letters: no receiver "${receiverId}" with a dead-letter list in ${file} (have: ${receivers.map((r) => r.id).join(', ') || 'none'})`);
    return undefined;
  }
  if (receiverId === undefined && receivers.length > 1) io.err(`dead-letters: using receiver ${entry.id} (of ${receivers.map((r) => r.id).join(', ')}; choose with --receiver)`);
  return (entry.factory as ReceiverFactory).openDeadLetters!(entry.config, config.dir);
}

function summary(e: DeadLetterEntry): Record<string, unknown> {
  return { index: e.index, time: e.time, reason: e.reason, source: e.source, format: e.format, size_bytes: e.sizeBytes, error: e.error, receiver: e.receiver, instance: e.instance };
}

function list(entries: readonly DeadLetterEntry[], total: number, store: DeadLetterStore, json: boolean, io: Io): number {
  if (json) {
    for (const e of entries) io.out(JSON.stringify(summary(e)));
    return 0;
  }
  io.out(`${store.describe}: ${total} entr${total === 1 ? 'y' : 'ies'}${entries.length !== total ? `, ${entries.length} selected` : ''}`);
  if (entries.length === 0) return 0;
  const rows = [['#', 'time', 'reason', 'source', 'format', 'bytes', 'error'], ...entries.map((e) => [
    String(e.index), e.time, e.reason, e.source, e.format, String(e.sizeBytes), e.error.length > 80 ? `${e.error.slice(0, 79)}…` : e.error,
  ])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  return 0;
}

function show(e: DeadLetterEntry | undefined, store: DeadLetterStore, json: boolean, io: Io): number {
  if (!e) return 1;
  const dump = store.dump(e);
  if (json) {
    io.out(JSON.stringify({ ...summary(e), dump: dump.split('\n') }));
    return 0;
  }
  for (const [k, v] of Object.entries(summary(e))) io.out(`${k}: ${String(v)}`);
  io.out(dump);
  return 0;
}

async function replay(entries: readonly DeadLetterEntry[], store: DeadLetterStore, json: boolean, io: Io): Promise<number> {
  let replayed = 0, left = 0, gone = 0;
  for (const e of entries) {
    const still = store.check(e);
    let outcome: string;
    if (still !== undefined) {
      left++;
      outcome = 'left';
    } else if (await store.replay(e)) {
      replayed++;
      outcome = 'replayed';
    } else {
      gone++;
      outcome = 'gone';
    }
    if (json) io.out(JSON.stringify({ index: e.index, outcome, source: e.source, ...(still ? { error: still } : {}) }));
    else if (outcome === 'left') io.out(`#${e.index} left in place: still undecodable by this version (${still})`);
    else if (outcome === 'gone') io.out(`#${e.index} was no longer in the list (replayed or purged meanwhile)`);
  }
  if (!json) io.out(`replayed ${replayed} entr${replayed === 1 ? 'y' : 'ies'} (${store.describe}); ${left} left in place; ${gone} gone`);
  return left > 0 ? 1 : 0;
}

async function purge(entries: readonly DeadLetterEntry[], store: DeadLetterStore, json: boolean, io: Io): Promise<number> {
  let purged = 0;
  for (const e of entries) {
    const ok = await store.purge(e);
    if (ok) purged++;
    if (json) io.out(JSON.stringify({ index: e.index, outcome: ok ? 'purged' : 'gone' }));
  }
  if (!json) io.out(`purged ${purged} entr${purged === 1 ? 'y' : 'ies'} from ${store.describe}`);
  return 0;
}

/** The `dead-letters` command. */
export const deadLettersCommand: Command = {
  summary: 'list, show, replay or purge the records a receiver could not decode or deliver (tyk_redis, redis_stream)',
  usage: DEAD_LETTERS_USAGE,
  run: runDeadLetters,
};
