/**
 * Reading scenario files into plain data with source positions: a strict JSON reader (RFC 8259,
 * written here because `JSON.parse` reports neither line:column nor duplicate keys) and a YAML
 * reader over the `yaml` library's core schema that turns the document tree into plain data
 * itself, so that nothing but strings, numbers, booleans, null, lists and mappings can come out
 * (no custom or explicit non-core tags, no merge keys, no cyclic aliases, bounded alias expansion).
 *
 * Both readers return the data and a table of where each value (and each mapping key) starts, by
 * path, or the problems found, each with its path and position.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
}

/** A step into a document: a mapping key or a list index. */
export type Segment = string | number;

export interface SourceIssue {
  readonly path: readonly Segment[];
  readonly pos?: Position;
  readonly message: string;
}

/** Where values and keys start, by path. */
export class SourceTable {
  private readonly values = new Map<string, Position>();
  private readonly keys = new Map<string, Position>();

  setValue(path: readonly Segment[], pos: Position): void {
    const k = pathKey(path);
    if (!this.values.has(k)) this.values.set(k, pos);
  }

  setKey(path: readonly Segment[], pos: Position): void {
    const k = pathKey(path);
    if (!this.keys.has(k)) this.keys.set(k, pos);
  }

  /**
   * The position of the value at `path` (or of its key, when `at` is 'key' and it has one); a
   * path with no entry (missing, or inside an expanded alias) falls back to its nearest ancestor.
   */
  locate(path: readonly Segment[], at: 'value' | 'key' = 'value'): Position | undefined {
    if (at === 'key') {
      const k = this.keys.get(pathKey(path));
      if (k) return k;
    }
    for (let n = path.length; n >= 0; n--) {
      const v = this.values.get(pathKey(path.slice(0, n)));
      if (v) return v;
    }
    return undefined;
  }
}

export type ReadResult = { readonly ok: true; readonly data: unknown; readonly table: SourceTable } | { readonly ok: false; readonly issues: readonly SourceIssue[] };

export function pathKey(path: readonly Segment[]): string {
  return JSON.stringify(path);
}

/** Deepest nesting either reader accepts (a scenario needs 5 levels). */
export const MAX_DEPTH = 64;
/** Most values a YAML document may expand to through aliases. */
export const MAX_NODES = 100_000;

/** Adds a property as an own data property (a `__proto__` key must not set the prototype). */
function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Offsets → 1-based line:column; a line ends at \n, \r\n or a lone \r. */
function lineIndex(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}

function showChar(c: string): string {
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${String.fromCodePoint(code)}'`;
}

// ---------------------------------------------------------------------------------------------
// JSON

class JsonFail {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const VALID_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * Strict JSON: accepts exactly what `JSON.parse` accepts (after an optional byte-order mark),
 * except that a key repeated in one object is an error rather than last-one-wins.
 */
export function readJson(text: string): ReadResult {
  const pos = lineIndex(text);
  const table = new SourceTable();
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const duplicates: SourceIssue[] = [];

  const ws = () => {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    }
  };
  const unexpected = (expected: string) =>
    new JsonFail(i, i >= n ? `unexpected end of file; expected ${expected}` : `unexpected ${showChar(String.fromCodePoint(text.codePointAt(i)!))}; expected ${expected}`);

  const string = (): string => {
    const start = i;
    let j = i + 1;
    for (;;) {
      if (j >= n) throw new JsonFail(start, "unterminated string; expected a closing '\"'");
      const c = text.charCodeAt(j);
      if (c === 0x22) break;
      if (c === 0x5c) {
        VALID_ESCAPE.lastIndex = j;
        if (!VALID_ESCAPE.test(text)) {
          throw new JsonFail(j, 'invalid escape in string; expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX');
        }
        j = VALID_ESCAPE.lastIndex;
        continue;
      }
      if (c < 0x20) throw new JsonFail(j, `${showChar(text[j])} in string; expected it escaped (\\n, \\t, \\u00XX)`);
      j++;
    }
    i = j + 1;
    return JSON.parse(text.slice(start, i)) as string;
  };

  const value = (path: Segment[], depth: number): unknown => {
    ws();
    if (depth > MAX_DEPTH) throw new JsonFail(i, `nesting deeper than ${MAX_DEPTH} levels`);
    table.setValue(path, pos(i));
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw unexpected('a key in double quotes');
        const keyAt = i;
        const key = string();
        const p = [...path, key];
        // A repeated key is reported once the whole text is known to be well-formed JSON.
        if (Object.hasOwn(obj, key)) duplicates.push({ path: p, pos: pos(keyAt), message: 'duplicate key; expected each key once in an object' });
        else table.setKey(p, pos(keyAt));
        ws();
        if (text[i] !== ':') throw unexpected("':'");
        i++;
        define(obj, key, value(p, depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        throw unexpected("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value([...path, arr.length], depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        throw unexpected("',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) throw new JsonFail(i, "invalid number; expected a digit after '-'");
      i = NUMBER.lastIndex;
      return Number(m[0]);
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    throw unexpected('a value');
  };

  try {
    const data = value([], 0);
    ws();
    if (i < n) throw unexpected('nothing after the end of the top-level value');
    if (duplicates.length > 0) return { ok: false, issues: duplicates };
    return { ok: true, data, table };
  } catch (e) {
    if (!(e instanceof JsonFail)) throw e;
    return { ok: false, issues: [{ path: [], pos: pos(e.offset), message: `malformed JSON: ${e.message}` }] };
  }
}

// ---------------------------------------------------------------------------------------------
// YAML

/** The core schema's tags: plain data only. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** `!!binary` rather than `tag:yaml.org,2002:binary`. */
function showTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

function yamlMessage(msg: string): string {
  const first = msg.split('\n')[0].trim();
  return /^[A-Z][a-z]/.test(first) ? first[0].toLowerCase() + first.slice(1) : first;
}

export function readYaml(text: string): ReadResult {
  const lc = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      version: '1.2',
      schema: 'core',
      merge: false,
      uniqueKeys: false, // reported below, with the key's path
      strict: true,
      prettyErrors: false,
      logLevel: 'silent',
      lineCounter: lc,
    });
  } catch (e) {
    return { ok: false, issues: [{ path: [], pos: { line: 1, column: 1 }, message: `malformed YAML: ${yamlMessage(e instanceof Error ? e.message : String(e))}` }] };
  }
  const at = (offset: number): Position => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const first = doc.errors[0] ?? doc.warnings.find((w) => w.code !== 'TAG_RESOLVE_FAILED');
  if (first) return { ok: false, issues: [{ path: [], pos: at(first.pos[0]), message: `malformed YAML: ${yamlMessage(first.message)}` }] };

  const table = new SourceTable();
  const issues: SourceIssue[] = [];
  let budget = MAX_NODES;
  const posOf = (node: Node | null | undefined): Position | undefined => (node?.range ? at(node.range[0]) : undefined);

  const convert = (node: unknown, path: Segment[], ancestors: readonly unknown[], record: boolean): unknown => {
    if (node === null || node === undefined) return null; // an empty value (`key:`)
    const where = posOf(node as Node);
    if (record && where) table.setValue(path, where);
    if (--budget < 0) {
      if (budget === -1) issues.push({ path, pos: where, message: `the document expands to more than ${MAX_NODES} values (through aliases); expected a small scenario` });
      return null;
    }
    if (ancestors.length > MAX_DEPTH) {
      issues.push({ path, pos: where, message: `nesting deeper than ${MAX_DEPTH} levels` });
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        issues.push({ path, pos: where, message: `alias *${node.source} has no anchor; expected an anchor &${node.source} before it` });
        return null;
      }
      if (ancestors.includes(target)) {
        issues.push({ path, pos: where, message: `alias *${node.source} refers to a value that contains it; expected finite plain data` });
        return null;
      }
      return convert(target, path, ancestors, false);
    }
    const tag = (node as { tag?: string }).tag;
    if (tag !== undefined && !CORE_TAGS.has(tag)) {
      issues.push({ path, pos: where, message: `tag ${showTag(tag)} is not allowed; expected plain data (strings, numbers, true/false, null, lists, mappings) without tags` });
      return null;
    }
    if (isScalar(node)) {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      issues.push({ path, pos: where, message: `unsupported value of type ${typeof v}; expected plain data` });
      return null;
    }
    const inner = [...ancestors, node];
    if (isSeq(node)) {
      return node.items.map((item, k) => {
        if (isPair(item)) {
          issues.push({ path: [...path, k], pos: posOf(item.key as Node) ?? where, message: 'a key: value pair inside a flow list; expected a list item' });
          return null;
        }
        return convert(item, [...path, k], inner, record);
      });
    }
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as unknown;
        const keyWhere = posOf(keyNode as Node) ?? where;
        let key: string;
        if (keyNode === null || keyNode === undefined) key = '';
        else if (isScalar(keyNode)) {
          const t = keyNode.tag;
          if (t !== undefined && !CORE_TAGS.has(t)) {
            issues.push({ path, pos: keyWhere, message: `tag ${showTag(t)} is not allowed; expected plain data (strings, numbers, true/false, null, lists, mappings) without tags` });
            continue;
          }
          key = keyNode.value === null ? '' : String(keyNode.value);
        } else {
          issues.push({ path, pos: keyWhere, message: 'a key that is a list, mapping or alias; expected a plain key' });
          continue;
        }
        const p = [...path, key];
        if (Object.hasOwn(obj, key)) {
          issues.push({ path: p, pos: keyWhere, message: 'duplicate key; expected each key once in a mapping' });
          continue;
        }
        if (record && keyWhere) table.setKey(p, keyWhere);
        define(obj, key, convert(pair.value, p, inner, record));
      }
      return obj;
    }
    issues.push({ path, pos: where, message: 'unsupported YAML node; expected plain data' });
    return null;
  };

  if (doc.contents === null)
    return { ok: false, issues: [{ path: [], pos: { line: 1, column: 1 }, message: 'empty document; expected a mapping (a scenario with name, description, pages and actors)' }] };
  const data = convert(doc.contents, [], [], true);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, data, table };
}
