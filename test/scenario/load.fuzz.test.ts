/**
 * Property-based tests of the scenario loader: catalogue entries serialised to YAML and JSON,
 * mutated structurally (fields deleted, duplicated, retyped, numbers out of range, unknown fields,
 * other words in enum slots, ops moved between actors) and textually (truncated, random characters
 * inserted, slices deleted, lines repeated),
 * plus arbitrary JSON values and random text. Whatever the input, the loader either returns a
 * spec that buildScenario accepts for each of its variants, or throws a ScenarioError whose every
 * line starts with the file name — never anything else.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { parseScenario, ScenarioError, type LoadedScenario, type ScenarioFormat } from '../../src/scenario/load.js';
import { readJson } from '../../src/scenario/source.js';
import { VARIANTS } from '../../src/mirror/variants.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const stats = { accepted: 0, rejected: 0, runs: 0, ms: 0 };

/** The property every document must satisfy. */
function check(text: string, file: string, format: ScenarioFormat): 'accepted' | 'rejected' {
  stats.runs++;
  let loaded: LoadedScenario;
  try {
    loaded = parseScenario(text, file, format);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw new Error(`loader threw a non-ScenarioError: ${e instanceof Error ? e.stack : String(e)}`);
    expect(e.message.startsWith(file)).toBe(true);
    for (const line of e.message.split('\n')) expect(line.startsWith(`${file}:`)).toBe(true);
    expect(e.problems.length).toBeGreaterThan(0);
    stats.rejected++;
    return 'rejected';
  }
  expect(loaded.variants.length).toBeGreaterThan(0);
  for (const v of loaded.variants) buildScenario(loaded.spec, v); // must not throw
  stats.accepted++;
  return 'accepted';
}

// ---------------------------------------------------------------------------------------------
// Structural mutations

const WORDS = [
  ...new Set([
    'access',
    'guest-access',
    'reclaim',
    'migrate',
    'madvise-dontneed',
    'munmap',
    'mprotect-readonly',
    'fork',
    'exit',
    'oom-reap',
    'source',
    'introspector',
    'child',
    'intro',
    'vcpu',
    'kswapd',
    '',
    ' ',
    '-x',
    'a b',
    '__proto__',
    'constructor',
    ...VARIANTS.map((v) => v.name),
    'seed-2019',
  ]),
];
const KEYS = [
  'name',
  'description',
  'pages',
  'sourceKvm',
  'introspectorKvm',
  'actors',
  'variants',
  'variant',
  '$schema',
  'ops',
  'op',
  'mm',
  'vm',
  'page',
  'write',
  'value',
  '__proto__',
  'constructor',
  'toString',
  'zz',
  '',
];
const INTERESTING_INTS = [-1, 0, 1, 2, 3, 63, 64, 65, 0.5, -0, 1e9, 2147483647, 2147483648, -2147483649, Number.MAX_SAFE_INTEGER + 2];

const mutation = fc.record({
  kind: fc.constantFrom('delete', 'duplicate', 'retype', 'number', 'word', 'add', 'flag', 'variants', 'swap'),
  at: fc.nat(),
  other: fc.nat(),
  int: fc.oneof(fc.integer({ min: -3, max: 70 }), fc.constantFrom(...INTERESTING_INTS)),
  word: fc.constantFrom(...WORDS),
  key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** Every (container, key) slot in the document, root first. */
function slots(doc: Json): [Json[] | Record<string, Json>, string | number][] {
  const out: [Json[] | Record<string, Json>, string | number][] = [];
  const walk = (v: Json) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) {
        out.push([v, i]);
        walk(x);
      }
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push([v, k]);
        walk(v[k]);
      }
    }
  };
  walk(doc);
  return out;
}

function containers(doc: Json): (Json[] | Record<string, Json>)[] {
  const out: (Json[] | Record<string, Json>)[] = [];
  const walk = (v: Json) => {
    if (v === null || typeof v !== 'object') return;
    out.push(v);
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
  };
  walk(doc);
  return out;
}

function set(c: Json[] | Record<string, Json>, k: string | number, v: Json): void {
  Object.defineProperty(c, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function mutate(doc: Json, m: Mutation): Json {
  const all = slots(doc);
  const pick = all.length ? all[m.at % all.length] : undefined;
  switch (m.kind) {
    case 'delete':
      if (!pick) return doc;
      if (Array.isArray(pick[0])) pick[0].splice(pick[1] as number, 1);
      else delete pick[0][pick[1]];
      return doc;
    case 'duplicate': {
      if (!pick) return doc;
      const [c, k] = pick;
      const v = structuredClone((c as Record<string, Json>)[k]);
      if (Array.isArray(c)) c.splice(k as number, 0, v);
      else {
        const other = all[m.other % all.length];
        set(other[0], other[1], v); // copy a value into another slot
      }
      return doc;
    }
    case 'retype':
      if (!pick) return m.value;
      set(pick[0], pick[1], m.value);
      return doc;
    case 'number': {
      const nums = all.filter(([c, k]) => typeof (c as Record<string, Json>)[k] === 'number');
      const p = nums.length ? nums[m.at % nums.length] : pick;
      if (p) set(p[0], p[1], m.int);
      return doc;
    }
    case 'word': {
      const strs = all.filter(([c, k]) => typeof (c as Record<string, Json>)[k] === 'string');
      const p = strs.length ? strs[m.at % strs.length] : pick;
      if (p) set(p[0], p[1], m.word);
      return doc;
    }
    case 'add': {
      const cs = containers(doc).filter((c) => !Array.isArray(c)) as Record<string, Json>[];
      if (cs.length) set(cs[m.at % cs.length], m.key, m.value);
      return doc;
    }
    case 'flag':
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) set(doc, m.at % 2 ? 'sourceKvm' : 'introspectorKvm', m.other % 3 !== 0);
      return doc;
    case 'variants':
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
        const names = [m.word, ...VARIANTS.map((v) => v.name)];
        if (m.other % 2) set(doc, 'variant', names[m.at % names.length]);
        else set(doc, 'variants', names.slice(m.at % names.length, (m.at % names.length) + 1 + (m.other % 3)));
      }
      return doc;
    case 'swap': {
      // Move an op to another actor (child uses without forks, guest-access without KVMs, ...).
      const ops = containers(doc).filter((c) => Array.isArray(c)) as Json[][];
      if (ops.length >= 2) {
        const from = ops[m.at % ops.length];
        const to = ops[m.other % ops.length];
        if (from.length) to.push(from.splice(0, 1)[0]);
      }
      return doc;
    }
  }
}

/**
 * A catalogue entry; three times in four with a one-line description, so that text mutations land
 * in the structure more often than in the prose (and YAML parsing, the main cost, stays cheap).
 */
const entry = fc.tuple(fc.constantFrom(...CATALOGUE), fc.nat(3)).map(([spec, k]) => (k === 0 ? spec : { ...spec, description: `${spec.name}: fuzzed` }));
const format = fc.constantFrom<ScenarioFormat>('yaml', 'json');

function serialise(doc: Json, fmt: ScenarioFormat, style: number): string {
  if (fmt === 'json') return JSON.stringify(doc, null, style % 3 === 0 ? undefined : style % 3);
  return stringify(doc, { collectionStyle: style % 3 === 0 ? 'flow' : 'any', lineWidth: style % 2 ? 0 : 80 });
}

/** A catalogue entry with 0–4 structural mutations, serialised. */
const mutatedDocument = fc.tuple(entry, fc.array(mutation, { maxLength: 4 }), format, fc.nat(5)).map(([spec, ms, fmt, style]) => {
  let doc = structuredClone(spec) as unknown as Json;
  for (const m of ms) doc = mutate(doc, m);
  return { text: serialise(doc, fmt, style), fmt };
});

// ---------------------------------------------------------------------------------------------
// Textual mutations

const SPECIAL = [...'{}[]:,"\'&*!|>-#%@`?\\ \t\n\r\u0000\ufeff\u2028\ud800x0.e+'];
const junk = fc.oneof(
  fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('!!js/function', '!!binary', '&a', '*a', '<<: ', '---\n', '...', '%YAML 1.1\n', '? ', '0x', '1e999', 'null', 'true'),
);
const textEdit = fc.record({
  kind: fc.constantFrom('truncate', 'insert', 'delete', 'replace', 'duplicate-line'),
  at: fc.nat(),
  len: fc.nat(40),
  junk,
});

const textMutated = fc.tuple(mutatedDocument, fc.array(textEdit, { minLength: 1, maxLength: 3 })).map(([{ text, fmt }, edits]) => {
  let t = text;
  for (const e of edits) {
    const at = t.length ? e.at % (t.length + 1) : 0;
    if (e.kind === 'truncate') t = t.slice(0, at);
    else if (e.kind === 'insert') t = t.slice(0, at) + e.junk + t.slice(at);
    else if (e.kind === 'delete') t = t.slice(0, at) + t.slice(at + e.len);
    else if (e.kind === 'replace') t = t.slice(0, at) + e.junk + t.slice(at + e.junk.length);
    else {
      // Repeat the line holding `at` (duplicate keys, duplicate list items, broken indentation).
      const start = t.lastIndexOf('\n', at - 1) + 1;
      const end = t.indexOf('\n', at);
      const line = t.slice(start, end < 0 ? t.length : end + 1);
      t = t.slice(0, start) + line + (line.endsWith('\n') ? '' : '\n') + t.slice(start);
    }
  }
  return { text: t, fmt };
});

// ---------------------------------------------------------------------------------------------
// Random documents

const randomDocument = fc.oneof(
  fc.tuple(fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>, format, fc.nat(5)).map(([v, fmt, style]) => ({ text: serialise(v, fmt, style), fmt })),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 200 }), format).map(([text, fmt]) => ({ text, fmt })),
  fc.tuple(fc.string({ unit: fc.constantFrom(...SPECIAL, 'a', 'name', 'pages', 'actors', 'ops', 'op'), maxLength: 60 }), format).map(([text, fmt]) => ({ text, fmt })),
);

// ---------------------------------------------------------------------------------------------

/** 10,000 documents through the loader, and 2,000 more through the JSON reader alone: about 10 s. */
const RUNS = { mutated: 4000, text: 3500, random: 2500, json: 2000 };
const TIMEOUT = 30_000;

describe('scenario loader fuzz', () => {
  const started = performance.now();
  afterAll(() => {
    stats.ms = performance.now() - started;
    console.log(
      `scenario loader fuzz: ${stats.runs} documents (${stats.accepted} accepted and built for their variants, ${stats.rejected} rejected with a ScenarioError) in ${(stats.ms / 1000).toFixed(1)} s`,
    );
  });

  it(
    'structurally mutated catalogue entries',
    () => {
      let accepted = 0;
      fc.assert(
        fc.property(mutatedDocument, ({ text, fmt }) => {
          if (check(text, `mutated.${fmt}`, fmt) === 'accepted') accepted++;
        }),
        { numRuns: RUNS.mutated },
      );
      expect(accepted).toBeGreaterThan(RUNS.mutated / 20); // not only rejections
    },
    TIMEOUT,
  );

  it(
    'textually mutated catalogue entries (truncated, characters inserted or deleted)',
    () => {
      fc.assert(
        fc.property(textMutated, ({ text, fmt }) => void check(text, `edited.${fmt}`, fmt)),
        { numRuns: RUNS.text },
      );
    },
    TIMEOUT,
  );

  it(
    'arbitrary JSON values and random text',
    () => {
      fc.assert(
        fc.property(randomDocument, ({ text, fmt }) => void check(text, `random.${fmt}`, fmt)),
        { numRuns: RUNS.random },
      );
    },
    TIMEOUT,
  );

  it(
    'the JSON reader accepts exactly what JSON.parse accepts (duplicate keys aside), with the same value',
    () => {
      const jsonText = fc.oneof(
        textMutated.filter((d) => d.fmt === 'json').map((d) => d.text),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.string({ unit: fc.constantFrom(...SPECIAL, '1', '"a"', 'true', 'nul', '\\u00e9', '\\x'), maxLength: 30 }),
      );
      fc.assert(
        fc.property(jsonText, (text) => {
          let expected: { ok: true; value: unknown } | { ok: false };
          try {
            expected = { ok: true, value: JSON.parse(text.replace(/^\ufeff/, '')) }; // the reader skips a byte-order mark
          } catch {
            expected = { ok: false };
          }
          const got = readJson(text);
          if (got.ok) {
            expect(expected.ok).toBe(true);
            // (not toStrictEqual: it compares `.constructor`, which a document may define as a key)
            expect(isDeepStrictEqual(got.data, (expected as { value: unknown }).value)).toBe(true);
          } else if (got.issues[0].message.startsWith('malformed JSON')) {
            expect(expected.ok).toBe(false);
          } else {
            expect(got.issues[0].message).toMatch(/^duplicate key/);
            expect(expected.ok).toBe(true);
          }
        }),
        { numRuns: RUNS.json },
      );
    },
    TIMEOUT,
  );
});
