/**
 * A YAML document under construction, with a comment per converted piece saying where it came from.
 * Values are plain objects; comments are attached to keys when the document is rendered.
 */
import { Document, isMap, isScalar, isSeq, type Pair, type YAMLMap } from 'yaml';

/** A config being built: the value tree plus comments keyed by path. */
export class OutDoc {
  readonly root: Record<string, unknown> = {};
  private readonly notes: { readonly path: readonly string[]; readonly text: string }[] = [];
  private header = '';

  /** Sets `root[path…] = value`, creating the maps on the way; `comment` goes above the last key. */
  set(path: readonly string[], value: unknown, comment?: string): void {
    let node = this.root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null || typeof next !== 'object') node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
    if (comment !== undefined) this.comment(path, comment);
  }

  /** Whether a value is set at `path`. */
  has(path: readonly string[]): boolean {
    let node: unknown = this.root;
    for (const key of path) {
      if (node === null || typeof node !== 'object') return false;
      node = (node as Record<string, unknown>)[key];
    }
    return node !== undefined;
  }

  /** Puts a comment above the key at `path` (several comments on one key are joined). */
  comment(path: readonly string[], text: string): void {
    this.notes.push({ path, text });
  }

  /** The comment block at the top of the file. */
  setHeader(text: string): void {
    this.header = text;
  }

  /** Renders the YAML text. Lists of scalars are written inline. */
  render(): string {
    const doc = new Document(this.root, { aliasDuplicateObjects: false });
    flowScalarLists(doc.contents);
    const byPath = new Map<string, { path: readonly string[]; lines: string[] }>();
    for (const n of this.notes) {
      const k = n.path.join('\u0000');
      const entry = byPath.get(k) ?? { path: n.path, lines: [] };
      entry.lines.push(n.text);
      byPath.set(k, entry);
    }
    for (const { path, lines } of byPath.values()) {
      const pair = pairAt(doc, path);
      if (pair && isScalar(pair.key)) pair.key.commentBefore = lines.map((l) => ` ${l}`).join('\n');
    }
    if (this.header !== '') doc.commentBefore = this.header.split('\n').map((l) => ` ${l}`).join('\n');
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }
}

function pairAt(doc: Document, path: readonly string[]): Pair | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  return (parent as YAMLMap).items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === path[path.length - 1]) as Pair | undefined;
}

function flowScalarLists(node: unknown): void {
  if (isMap(node)) {
    for (const p of node.items) flowScalarLists(p.value);
  } else if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) node.flow = true;
    else for (const i of node.items) flowScalarLists(i);
  }
}
