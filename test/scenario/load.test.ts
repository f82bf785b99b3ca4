/**
 * Scenario files: valid YAML and JSON load to the catalogue's specs; each class of mistake is
 * reported as one ScenarioError with file:line:column, the path inside the file, what was found
 * and what was expected.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CATALOGUE, scenarioByName } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { loadScenarioFile, parseScenario, scenarioSchema, ScenarioError, SCHEMA_URL, type ScenarioFormat } from '../../src/scenario/load.js';
import { VARIANTS } from '../../src/mirror/variants.js';

const examples = new URL('../../examples/', import.meta.url);

/** The message of the ScenarioError that parsing throws. */
function errorOf(text: string, file: string, format: ScenarioFormat): string {
  try {
    parseScenario(text, file, format);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
}

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('valid scenario files', () => {
  it('examples/introspect.yaml loads to the catalogue entry', () => {
    const loaded = loadScenarioFile(new URL('introspect.yaml', examples).pathname);
    expect(loaded.format).toBe('yaml');
    expect(loaded.spec).toEqual(scenarioByName('introspect'));
    expect(loaded.variants).toEqual(VARIANTS);
  });

  it('examples/introspect-nested.json loads to the catalogue entry', () => {
    const loaded = loadScenarioFile(new URL('introspect-nested.json', examples).pathname);
    expect(loaded.format).toBe('json');
    expect(loaded.spec).toEqual(scenarioByName('introspect-nested'));
  });

  it('examples/dontneed-two-pages.yaml names its variants and builds for each', () => {
    const loaded = loadScenarioFile(new URL('dontneed-two-pages.yaml', examples).pathname);
    expect(loaded.spec.variants).toEqual(['interval', 'seed-2019-fixed']);
    expect(loaded.variants.map((v) => v.name)).toEqual(['interval', 'seed-2019-fixed']);
    for (const v of loaded.variants) expect(() => buildScenario(loaded.spec, v)).not.toThrow();
  });

  it.each(CATALOGUE.map((s) => [s.name, s] as const))('catalogue entry %s round-trips through YAML and JSON', (_, spec) => {
    expect(parseScenario(stringify(spec), `${spec.name}.yaml`, 'yaml').spec).toEqual(spec);
    expect(parseScenario(JSON.stringify(spec, null, 2), `${spec.name}.json`, 'json').spec).toEqual(spec);
  });

  it('a single `variant` is shorthand for a one-element `variants`', () => {
    const text = stringify({ ...scenarioByName('cow'), variant: 'seed-2019-literal' });
    const loaded = parseScenario(text, 'cow.yaml', 'yaml');
    expect(loaded.spec.variants).toEqual(['seed-2019-literal']);
    expect(loaded.variants.map((v) => v.name)).toEqual(['seed-2019-literal']);
  });

  it('accepts $schema and YAML conveniences (hex numbers, comments, flow and block styles, anchors)', () => {
    const text = yaml(
      '$schema: ../src/scenario/schema.json',
      'name: anchors',
      'description: ""',
      'pages: 2',
      'actors:',
      '  - name: a',
      '    ops: &ops',
      '      - { op: access, mm: source, page: 1, write: true, value: 0x7fffffff } # max int32',
      '  - name: b',
      '    ops: *ops',
    );
    const spec = parseScenario(text, 'anchors.yaml', 'yaml').spec;
    expect(spec.actors[1].ops).toEqual([{ op: 'access', mm: 'source', page: 1, write: true, value: 0x7fffffff }]);
    expect('$schema' in spec).toBe(false);
  });

  it('the shipped schema lists exactly the mirror variants', () => {
    const schema = scenarioSchema() as { $defs: { variantName: { enum: string[] } } };
    expect(schema.$defs.variantName.enum).toEqual(VARIANTS.map((v) => v.name));
    expect(SCHEMA_URL.pathname.endsWith('/scenario/schema.json')).toBe(true);
  });
});

describe('errors', () => {
  const good = stringify(scenarioByName('introspect'));

  it('malformed YAML: one message with the position', () => {
    expect(errorOf(yaml('name: x', 'actors: [', '  {op: access'), 'bad.yaml', 'yaml')).toBe(
      'bad.yaml:4:1: malformed YAML: flow map in block collection must be sufficiently indented and end with a }',
    );
    expect(errorOf(yaml('name: x', 'name: y'), 'dup.yaml', 'yaml')).toBe('dup.yaml:2:1: name: duplicate key; expected each key once in a mapping');
    expect(errorOf('', 'empty.yaml', 'yaml')).toBe('empty.yaml:1:1: empty document; expected a mapping (a scenario with name, description, pages and actors)');
  });

  it('malformed JSON: one message with the position', () => {
    expect(errorOf('{\n  "name": "x",\n  "pages": 1,\n}\n', 'bad.json', 'json')).toBe("bad.json:4:1: malformed JSON: unexpected '}'; expected a key in double quotes");
    expect(errorOf('{"name": "x"', 'cut.json', 'json')).toBe("cut.json:1:13: malformed JSON: unexpected end of file; expected ',' or '}'");
    expect(errorOf('{"name": "x", "name": "y"}', 'dup.json', 'json')).toBe('dup.json:1:15: name: duplicate key; expected each key once in an object');
    expect(errorOf('{"name": "a\tb"}', 'tab.json', 'json')).toBe('tab.json:1:12: malformed JSON: character U+0009 in string; expected it escaped (\\n, \\t, \\u00XX)');
  });

  it('YAML tags are refused: nothing in a file is executed or constructed', () => {
    expect(errorOf(good.replace('name: introspect', 'name: !!js/function "function () {}"'), 'tag.yaml', 'yaml')).toBe(
      'tag.yaml:1:21: name: tag !!js/function is not allowed; expected plain data (strings, numbers, true/false, null, lists, mappings) without tags',
    );
    expect(errorOf(good.replace('pages: 1', 'pages: !!binary AQ=='), 'bin.yaml', 'yaml')).toMatch(/^bin\.yaml:\d+:\d+: pages: tag !!binary is not allowed;/);
    expect(errorOf(good.replace('pages: 1', 'pages: !custom 1'), 'custom.yaml', 'yaml')).toMatch(/^custom\.yaml:\d+:\d+: pages: tag !custom is not allowed;/);
    expect(errorOf('a: &x [*x]\n', 'cycle.yaml', 'yaml')).toBe('cycle.yaml:1:8: a[0]: alias *x refers to a value that contains it; expected finite plain data');
  });

  it('unknown fields and operations', () => {
    const text = yaml(
      'name: typo',
      'description: d',
      'pages: 1',
      'actors:',
      '  - name: a',
      '    opz: []',
      '  - name: b',
      '    ops:',
      '      - { op: acess, mm: source, page: 0 }',
      '      - { op: reclaim, page: 0, mm: source }',
    );
    expect(errorOf(text, 'typo.yaml', 'yaml')).toBe(
      [
        'typo.yaml:5:5: actors[0]: missing required field "ops" (or "any": any sequence of operations, e.g. any: { ops: 2, pages: 1 })',
        'typo.yaml:6:5: actors[0].opz: unknown field; expected one of name, ops, any',
        'typo.yaml:9:15: actors[1].ops[0].op: unknown operation "acess"; expected one of access, guest-access, gpc-refresh, gpc-use, set-memslot, delete-memslot, move-memslot, device, reclaim, migrate, madvise-dontneed, munmap, mmap, mprotect-readonly, mprotect-readwrite, mprotect-none, fork, exit, oom-reap, memfd-access, ftruncate, punch-hole, enable-dirty-log, disable-dirty-log, get-dirty-log, age, pin, unpin',
        'typo.yaml:10:33: actors[1].ops[1].mm: unknown field for op "reclaim"; expected one of op, page',
      ].join('\n'),
    );
  });

  it('page out of range, and a page range running past the last page', () => {
    const text = yaml(
      'name: range',
      'description: d',
      'pages: 2',
      'actors:',
      '  - name: a',
      '    ops: [{ op: access, mm: source, page: 0 }]',
      '  - name: b',
      '    ops:',
      '      - { op: reclaim, page: 1 }',
      '      - { op: munmap, mm: source, page: 3 }',
      '      - { op: munmap, mm: source, page: 1, pages: 2 }',
    );
    expect(errorOf(text, 'range.yaml', 'yaml')).toBe(
      [
        'range.yaml:10:41: actors[1].ops[1].page: 3 is out of range; expected a page index 0..1 (pages: 2)',
        'range.yaml:11:51: actors[1].ops[2].pages: 2 pages from page 1 run past the last page; expected at most 1 (pages: 2)',
      ].join('\n'),
    );
    expect(errorOf(good.replace('page: 0\n', 'page: -1\n'), 'neg.yaml', 'yaml')).toMatch(/^neg\.yaml:\d+:\d+: actors\[0\]\.ops\[0\]\.page: -1 is out of range; expected page index 0 \(pages: 1\)$/);
  });

  it('unknown variant', () => {
    expect(errorOf(`${good}variants: [interval, seed-2019]\n`, 'v.yaml', 'yaml')).toBe(
      'v.yaml:25:22: variants[1]: "seed-2019" is not a mirror variant; expected one of interval, seed-2019-literal, seed-2019-fixed, start-only, raw-clear, anon-vma',
    );
    expect(errorOf(`${good}variant: interval\nvariants: [interval]\n`, 'both.yaml', 'yaml')).toBe('both.yaml:26:1: variants: found both "variant" and "variants"; expected one of them');
  });

  it('wrong types', () => {
    const json = JSON.stringify({ ...scenarioByName('munmap'), pages: '1', sourceKvm: 'yes', actors: [{ name: 'source', ops: { op: 'munmap' } }] }, null, 1);
    expect(errorOf(json, 'types.json', 'json')).toBe(
      [
        'types.json:4:11: pages: found "1"; expected an integer',
        'types.json:8:11: actors[0].ops: found an object; expected an array',
        'types.json:13:15: sourceKvm: found "yes"; expected true or false',
      ].join('\n'),
    );
    expect(errorOf('- name: x\n', 'list.yaml', 'yaml')).toBe('list.yaml:1:1: found a list; expected a mapping (a scenario with name, description, pages and actors)');
    expect(errorOf(good.replace('page: 0\n', 'page: 0.5\n'), 'frac.yaml', 'yaml')).toMatch(/^frac\.yaml:\d+:\d+: actors\[0\]\.ops\[0\]\.page: found 0\.5; expected an integer$/);
  });

  it('guest-access without the KVM', () => {
    const text = good.replace('sourceKvm: true\n', '');
    expect(errorOf(text, 'nokvm.yaml', 'yaml')).toBe('nokvm.yaml:11:13: actors[0].ops[0].vm: guest-access on the source KVM, which the scenario does not have; expected sourceKvm: true');
  });

  it('the child mm without a fork, and two forks', () => {
    const base = { name: 'kids', description: '', pages: 1 };
    const noFork = JSON.stringify({ ...base, actors: [{ name: 'a', ops: [{ op: 'exit', mm: 'child' }] }] });
    expect(errorOf(noFork, 'nofork.json', 'json')).toBe('nofork.json:1:90: actors[0].ops[0].mm: the child mm is used but no actor forks; expected a fork op (of source or introspector) in some actor');
    const twoForks = JSON.stringify({
      ...base,
      actors: [
        { name: 'a', ops: [{ op: 'fork', mm: 'source' }] },
        { name: 'b', ops: [{ op: 'fork', mm: 'introspector' }] },
      ],
    });
    expect(errorOf(twoForks, 'forks.json', 'json')).toBe('forks.json:1:121: actors[1].ops[0]: a second fork (the first is actors[0].ops[0]); expected at most one fork (there is one child mm)');
  });

  it('nothing of a process after its exit, and no thread of it in another actor (exit is the last mmput)', () => {
    const base = { name: 'ends', description: '', pages: 1 };
    const after = JSON.stringify({
      ...base,
      actors: [
        {
          name: 'a',
          ops: [
            { op: 'exit', mm: 'source' },
            { op: 'munmap', mm: 'source', page: 0 },
          ],
        },
      ],
    });
    expect(errorOf(after, 'after.json', 'json')).toMatch(
      /^after\.json:1:\d+: actors\[0\]\.ops\[1\]: munmap of source after its exit \(actors\[0\]\.ops\[0\]\); expected nothing of the process once it has exited$/,
    );
    const beside = JSON.stringify({
      ...base,
      actors: [
        { name: 'a', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
        { name: 'b', ops: [{ op: 'exit', mm: 'introspector' }] },
      ],
    });
    expect(errorOf(beside, 'beside.json', 'json')).toMatch(
      /^beside\.json:1:\d+: actors\[0\]\.ops\[0\]: access runs in a thread of introspector, which another actor exits \(actors\[1\]\.ops\[0\]: its last mmput, after every thread of it has gone\); expected introspector's operations in the exiting actor, before the exit$/,
    );
    // The OOM reaper is a kernel thread, and the source's exit beside the introspector's thread is the catalogue's exit.
    const fine = JSON.stringify({
      ...base,
      actors: [
        {
          name: 'a',
          ops: [
            { op: 'access', mm: 'introspector', page: 0 },
            { op: 'oom-reap', mm: 'source' },
          ],
        },
        { name: 'b', ops: [{ op: 'exit', mm: 'source' }] },
      ],
    });
    expect(parseScenario(fine, 'fine.json', 'json').spec.actors).toHaveLength(2);
  });

  it('a device file bound to the introspector', () => {
    const text = JSON.stringify({ name: 'dev', description: '', pages: 1, actors: [{ name: 'a', ops: [{ op: 'device', call: 'open', page: 0, mm: 'introspector' }] }] });
    expect(errorOf(text, 'dev.json', 'json')).toMatch(/^dev\.json:1:\d+: actors\[0\]\.ops\[0\]\.mm: a device file bound to the introspector; expected source \(the default\) or child$/);
  });

  it('empty and duplicate actors', () => {
    expect(errorOf(good.replace(/actors:[\s\S]*$/, 'actors: []\n'), 'none.yaml', 'yaml')).toBe('none.yaml:8:9: actors: found an empty list; expected at least 1 actor');
    expect(errorOf(good.replace('ops:\n      - op: migrate', 'ops: []\n    x:\n      - op: migrate'), 'noops.yaml', 'yaml')).toMatch(
      /^noops\.yaml:\d+:\d+: actors\[2\]\.ops: found an empty list; expected at least 1 operation\n/,
    );
    expect(errorOf(good.replace('name: kcompactd', 'name: intro'), 'dup.yaml', 'yaml')).toBe('dup.yaml:21:11: actors[2].name: "intro" is already the name of actors[1]; expected a unique actor name');
  });

  it('files: unknown extension, unreadable file, format from the extension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmamirror-load-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    expect(() => loadScenarioFile(join(dir, 'scenario.txt'))).toThrow(
      new ScenarioError(join(dir, 'scenario.txt'), [{ file: join(dir, 'scenario.txt'), path: '', message: 'unknown file type ".txt"; expected .yaml, .yml or .json' }]),
    );
    const missing = join(dir, 'missing.yaml');
    expect(() => loadScenarioFile(missing)).toThrow(`${missing}: cannot read the file (ENOENT); expected a readable scenario file`);
    const yml = join(dir, 'intro.yml');
    writeFileSync(yml, readFileSync(new URL('introspect.yaml', examples)));
    expect(loadScenarioFile(yml).spec).toEqual(scenarioByName('introspect'));
    const asJson = join(dir, 'intro.json');
    writeFileSync(asJson, good); // YAML in a .json file is malformed JSON
    expect(() => loadScenarioFile(asJson)).toThrow(`${asJson}:1:1: malformed JSON: unexpected 'n'; expected a value`);
  });

  it('missing fields of one mapping are listed together', () => {
    expect(errorOf('pages: x\n', 'x.yaml', 'yaml')).toBe(['x.yaml:1:1: missing required fields "name", "description", "actors"', 'x.yaml:1:8: pages: found "x"; expected an integer'].join('\n'));
    expect(errorOf(good.replace('op: migrate', 'op: munmap'), 'mm.yaml', 'yaml')).toMatch(/^mm\.yaml:\d+:\d+: actors\[2\]\.ops\[0\]: missing required field "mm" for op "munmap"$/);
  });

  it('every problem is listed, in file order, one per line', () => {
    const text = yaml('name: -bad', 'description: 3', 'pages: 65', 'actors: [{name: a, ops: [{op: fork, mm: child}]}]', 'colour: blue');
    expect(errorOf(text, 'many.yaml', 'yaml')).toBe(
      [
        "many.yaml:1:7: name: found \"-bad\"; expected a name of letters, digits, '_', '.' and '-', not starting with '.' or '-'",
        'many.yaml:2:14: description: found 3; expected a string',
        'many.yaml:3:8: pages: 65 is out of range; expected an integer 1..4',
        'many.yaml:4:41: actors[0].ops[0].mm: found "child"; expected one of source, introspector',
        'many.yaml:5:1: colour: unknown field; expected one of $schema, name, description, pages, sourceKvm, introspectorKvm, kvm, faults, layers, memory, actors, variant, variants, driver, drivers, expect, outcome, outcomes, exercises, concreteCounters, symmetric',
      ].join('\n'),
    );
  });
});
