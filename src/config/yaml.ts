/**
 * Config text → plain data, with YAML mistakes as config problems. One mistake often makes the parser
 * report dozens of follow-on errors (an unquoted `${env:…}` holding `{` inside a flow map gave 55), so
 * only the first error is reported, with its line and column. An alias bomb (aliases that expand to
 * millions of nodes) is refused as a problem, not thrown.
 */
import { parseDocument } from 'yaml';
import type { ConfigProblem } from '../errors.js';

/** Result: the data when the text is valid YAML, else exactly one problem. */
export type YamlResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: ConfigProblem };

/** Parses config YAML (duplicate keys are errors). */
export function parseConfigYaml(text: string): YamlResult {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const message = (first.message.split('\n')[0] ?? first.message).replace(/ at line \d+, column \d+:?$/, '');
    const line = pos ? (text.split('\n')[pos.line - 1] ?? '') : '';
    // The usual cause of a cascade: `${env:…}` unquoted in a flow collection, where `{`/`}`/`,` are syntax.
    const hint = /\$\{/.test(line) && /[{[]/.test(line) ? ' (quote a value that uses ${…} inside { } or [ ])' : '';
    return { ok: false, problem: { path: pos ? `line ${pos.line}, column ${pos.col}` : '', message: `invalid YAML: ${message}${hint}` } };
  }
  try {
    return { ok: true, value: doc.toJS() ?? {} };
  } catch (err) {
    // yaml throws a ReferenceError once aliases expand beyond its limit (maxAliasCount).
    const excessive = err instanceof ReferenceError && /alias/i.test(err.message);
    const message = excessive ? 'aliases (*name) expand to too many nodes; refusing to expand them' : (err as Error).message;
    return { ok: false, problem: { path: '', message: `invalid YAML: ${message}` } };
  }
}
