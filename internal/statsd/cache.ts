/**
 * The bounded caches in which the StatsD exporters keep their per-tag-set / per-name line parts and the
 * counters they sum between flushes.
 */
import type { AnalyticsRecord } from '../../src/model.js';
import { recordFieldKey, type RecordField } from '../../src/record-fields.js';

// A trie level: record field value → next level; the entry sits under TRIE_LEAF at the end of a walk.
type TrieNode = Map<unknown, unknown>;

const TRIE_LEAF: unique symbol = Symbol('leaf');

function trieChild(node: TrieNode, key: unknown): TrieNode {
  let child = node.get(key) as TrieNode | undefined;
  if (child === undefined) {
    child = new Map();
    node.set(key, child);
  }
  return child;
}

/** What a {@link RecordFieldTrie} is built from. */
export interface RecordFieldTrieOptions<E> {
  /** The fields whose values identify an entry, one trie level each. */
  readonly fields: readonly RecordField[];
  /** Entries held at most. */
  readonly limit: number;
  /** Builds the entry of a record seen first. */
  readonly make: (r: AnalyticsRecord) => E;
  /** Called before a full trie is emptied: send what the entries hold (their counters), log it. */
  readonly beforeClear: () => void;
}

/**
 * Cached entries (tag sets, names) found by a record's field values: one trie level per field, walked
 * with the record's own strings (already hashed by V8 when the decoder interned them) instead of building
 * and hashing a key string per record. When a new entry would exceed the limit, the trie is emptied (after
 * `beforeClear`) and starts over.
 */
export class RecordFieldTrie<E> {
  private root: TrieNode = new Map();
  private count = 0;

  constructor(private readonly options: RecordFieldTrieOptions<E>) {}

  /** The entry of `r`'s field values: the cached one, else a new one. */
  get(r: AnalyticsRecord): E {
    const fields = this.options.fields;
    let node = this.root;
    for (let i = 0; i < fields.length; i++) node = trieChild(node, recordFieldKey(r, fields[i] as RecordField));
    let e = node.get(TRIE_LEAF) as E | undefined;
    if (e === undefined) {
      if (this.count >= this.options.limit) {
        this.options.beforeClear();
        this.root = new Map();
        this.count = 0;
        return this.get(r);
      }
      e = this.options.make(r);
      node.set(TRIE_LEAF, e);
      this.count++;
    }
    return e;
  }
}

/**
 * The counters an exporter sums per cached tag set or name between flushes (which counter means what is
 * the exporter's business), and whether the entry is on its cache's list of changed entries.
 */
export interface CounterEntry {
  dirty: boolean;
  c0: number;
  c1: number;
  c2: number;
  c3: number;
}

/**
 * Counter entries by string key, bounded (`full` at `limit` entries; the caller empties `map` after
 * sending what the entries hold), plus the list of entries changed since the last {@link CounterCache.drain}
 * — entries reached another way (a {@link RecordFieldTrie}) can be put on that list too.
 */
export class CounterCache<E extends CounterEntry> {
  /** Entries by key. */
  readonly map = new Map<string, E>();
  private readonly changed: E[] = [];

  constructor(private readonly limit: number) {}

  /** Whether `map` holds `limit` entries. */
  get full(): boolean {
    return this.map.size >= this.limit;
  }

  /** Puts `e` on the list of changed entries (once until the next drain). */
  touch(e: E): void {
    if (!e.dirty) {
      e.dirty = true;
      this.changed.push(e);
    }
  }

  /** Hands every entry changed since the last drain to `emit`, then zeroes its counters. */
  drain(emit: (e: E) => void): void {
    const list = this.changed;
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as E;
      emit(e);
      e.c0 = e.c1 = e.c2 = e.c3 = 0;
      e.dirty = false;
    }
    list.length = 0;
  }
}
