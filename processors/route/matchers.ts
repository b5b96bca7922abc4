/**
 * The route processor's user-defined matching: the router built from `routes` lists (literal segments
 * beat `{param}` beats a final `*`), compiled `patterns`, and the bounded two-generation cache of
 * templated paths.
 */
/** A node of the user-route trie. */
export interface TrieNode {
  readonly literals: Map<string, TrieNode>;
  param: TrieNode | undefined;
  /** Route of a final `*` at this node. */
  rest: string | undefined;
  /** Route ending at this node. */
  end: string | undefined;
}

export function node(): TrieNode {
  return { literals: new Map(), param: undefined, rest: undefined, end: undefined };
}

export function segmentsOf(path: string): string[] {
  const segs = path.split('/');
  segs.shift(); // before the leading '/'
  if (segs.length > 0 && segs[segs.length - 1] === '') segs.pop(); // a trailing slash does not matter
  return segs;
}

/** Compiles user routes (validated by the config) into a trie; the first of duplicate routes wins. */
export function buildRouteTrie(routes: readonly string[]): TrieNode | undefined {
  if (routes.length === 0) return undefined;
  const root = node();
  for (const route of routes) {
    let cur = root;
    const segs = segmentsOf(route);
    let rest = false;
    for (const s of segs) {
      if (s === '*') {
        cur.rest ??= route;
        rest = true;
        break;
      }
      if (s.length >= 2 && s.startsWith('{') && s.endsWith('}')) {
        cur.param ??= node();
        cur = cur.param;
      } else {
        let next = cur.literals.get(s);
        if (!next) {
          next = node();
          cur.literals.set(s, next);
        }
        cur = next;
      }
    }
    if (!rest) cur.end ??= route;
  }
  return root;
}

/** Matches path segments against the trie: literal beats `{param}` beats `*`, segment by segment. */
export function matchRouteTrie(n: TrieNode, segs: readonly string[], i = 0): string | undefined {
  if (i === segs.length) return n.end ?? n.rest;
  const s = segs[i] as string;
  const lit = n.literals.get(s);
  if (lit) {
    const r = matchRouteTrie(lit, segs, i + 1);
    if (r !== undefined) return r;
  }
  if (n.param && s !== '') {
    const r = matchRouteTrie(n.param, segs, i + 1);
    if (r !== undefined) return r;
  }
  return n.rest;
}

/** A compiled regex rule. */
export interface PatternRule {
  readonly re: RegExp;
  readonly template: string;
}

export function compilePatterns(list: readonly { regex: string; template: string }[]): PatternRule[] {
  return list.map((p) => ({ re: new RegExp(p.regex), template: p.template }));
}

/** Expands `$1`…`$9` and `$<name>` in a pattern template. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  if (!template.includes('$')) return template;
  return template.replace(/\$(?:(\d)|<([^>]+)>)/g, (_all, d: string | undefined, name: string | undefined) =>
    name !== undefined ? (m.groups?.[name] ?? '') : (m[Number(d)] ?? ''),
  );
}

/** One cached result for (api, path). */
export interface CacheEntry {
  /** The listen path the result was computed with. */
  readonly lp: string;
  readonly route: string;
  /** Whether the path started with the listen path (false: the listen path was put back in front). */
  readonly matched: boolean;
  /** From a user `routes` entry (never capped). */
  readonly declared: boolean;
}

/** A bounded map: two generations of at most `size / 2` entries each; a hit in the old one is promoted. */
export class TwoGenerationCache<V> {
  private cur = new Map<string, V>();
  private prev = new Map<string, V>();
  private readonly half: number;

  constructor(size: number) {
    this.half = Math.max(1, Math.floor(size / 2));
  }

  get(key: string): V | undefined {
    const v = this.cur.get(key);
    if (v !== undefined) return v;
    const old = this.prev.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, v: V): void {
    if (this.cur.size >= this.half) {
      this.prev = this.cur;
      this.cur = new Map();
    }
    this.cur.set(key, v);
  }

  get size(): number {
    return this.cur.size + this.prev.size;
  }
}

