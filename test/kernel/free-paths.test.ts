/**
 * Every step whose code can reach the page allocator's free path declares the free in its
 * footprint. The footprint tables are recorded from what the test suite runs (`npm run
 * footprints`), so a path no test reaches — an allocation that fails after a concurrent zap left
 * the migration's reference the last, a prealloc a vanished pin left unused, a large folio's last
 * put under the thp layer — is missing, and a deep search that reaches it stops with a model error
 * (ladder-5 did). This test reads the model's source with the TypeScript parser: the helpers that
 * can free a page, to a fixed point from `freePage`, and each routine's steps that call one of
 * them — routines defined with a literal name and those a factory makes (defineRmapUnmap), every
 * step the libraries registered being one the scan read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import '../../src/index.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { WORKLOAD_LIB } from '../../src/scenario/workload.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import type { Library } from '../../src/world/registry.js';
import { ROOT } from '../helpers/cli.js';

/** Steps that call a freeing helper on a page whose last reference is never theirs, and why. */
const NEVER_LAST: Record<string, string> = {
  'shrink_folio_list:removeMapping': "drops the page or swap cache's reference; reclaim's isolation reference outlives the step",
  // copy_pte_range's loop ends (endCopy) by putting an unused prealloc; these never hold one there.
  'copy_page_range:copy': 'the loop starts before any prealloc (one is taken only after -EAGAIN, then the loop goes on at again)',
  'copy_page_range:copyPage': 'copy_present_page takes the prealloc over (*prealloc = NULL) before the loop goes on',
  'copy_page_range:prealloc': 'ends the loop only when the allocation failed: nothing to put',
};

/**
 * Steps whose freed page is never a page of a large folio, and why. Large folios are made only by
 * do_huge_pmd_anonymous_page (huge.ts allocFolio: anonymous, PMD-mapped); the paths the thp layer
 * does not model refuse a page of one where they first take it (huge.ts refuseLargeFolio: reclaim's
 * isolation, migrate_pages', migrate_vma's collection, make_device_exclusive's GUP), so what their
 * later steps put is an order-0 page. `refusedAt` names the steps that refuse for such an entry:
 * the test checks they still call refuseLargeFolio, so teaching one of them large folios fails here
 * until its steps declare the large free.
 */
const NEVER_LARGE_GROUPS: readonly { readonly steps: readonly string[]; readonly why: string; readonly refusedAt?: readonly string[] }[] = [
  {
    steps: ['shrink_folio_list:free', 'shrink_folio_list:putback', 'try_to_unmap:unmap', 'try_to_unmap:put'],
    why: 'reclaim (try_to_unmap’s one caller) refuses a large folio where it isolates it',
    refusedAt: ['shrink_folio_list:isolate'],
  },
  {
    steps: ['migrate_pages:allocDst', 'migrate_pages:putDst', 'migrate_pages:putSrc', 'migrate_pages:undoPutSrc', 'migrate_pages:undoPutDst'],
    why: 'migrate_pages refuses a large source where it isolates it; its destination is alloc_page’s order-0 page',
    refusedAt: ['migrate_pages:isolate'],
  },
  {
    steps: ['migrate_vma_setup:trylock', 'migrate_vma_setup:putFolio', 'migrate_vma_setup:restorePut', 'migrate_vma_finalize:putUnused', 'migrate_vma_finalize:putSrc', 'migrate_vma_finalize:putDst'],
    why: 'migrate_vma refuses a present page of a large folio where it collects it; a device-private source and the driver’s destination are order-0 pages',
    refusedAt: ['migrate_vma_setup:collect'],
  },
  {
    steps: ['try_to_migrate:unmap', 'try_to_migrate:put'],
    why: 'its callers, migrate_pages and migrate_vma_unmap, refuse a large folio first',
    refusedAt: ['migrate_pages:isolate', 'migrate_vma_setup:collect'],
  },
  {
    steps: ['make_device_exclusive:got', 'make_device_exclusive:failPut', 'remove_device_exclusive_entry:put'],
    why: 'make_device_exclusive refuses a large folio before it puts or installs anything (a device-exclusive entry’s page is one it took)',
    refusedAt: ['make_device_exclusive:got'],
  },
  {
    steps: ['shmem_fault:putRetry', 'shmem_fault:alloc', 'shmem_fault:unalloc', 'shmem_fault:putErr', 'shmem_fault:put', 'shmem_undo_range:remove', 'shmem_undo_range:put'],
    why: 'a shmem folio is an order-0 page: file THPs are not modelled (huge.ts)',
  },
  {
    steps: ['do_swap_page:release'],
    why: 'a swap-cache page (only reclaim, which refuses large folios, adds one) or its own alloc_page',
    refusedAt: ['shrink_folio_list:isolate'],
  },
  { steps: ['do_swap_page:migratedPut'], why: 'a device-private page: memremap_pages took its frame off the free lists allocFolio takes from' },
  { steps: ['do_anonymous_page:ptLock'], why: 'puts its own new page (alloc_page, order 0) when the pte changed meanwhile' },
  { steps: ['copy_page_range:next', 'copy_page_range:again'], why: 'puts the unused prealloc (alloc_page, order 0)' },
  { steps: ['wp_page_copy:put'], why: 'the old folio’s reference it drops is never the last (do_wp_page’s own, put at putOld, outlives it); else it puts its unused order-0 copy' },
];
const NEVER_LARGE = new Map(NEVER_LARGE_GROUPS.flatMap((g) => g.steps.map((k) => [k, g] as const)));

function sources(dir: string): Source[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.includes('footprints'))
    .map((f) => join(ROOT, dir, f))
    .map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

/** The names a function body calls (plain identifiers: the model's helpers are module functions). */
function callees(node: ts.Node): Set<string> {
  const names = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) names.add(n.expression.text);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return names;
}

/** A step (`routine:label`) and the helpers it calls (`file#name`). */
interface Step {
  readonly key: string;
  readonly calls: Set<string>;
}

/** A step's label, the helpers its run calls, and the parameters of its factory it calls through (`1`, `0.replace`). */
interface StepText {
  readonly label: string;
  readonly calls: Set<string>;
  readonly through: Set<string>;
}

/** `X.routine({ … })`'s argument, if `n` is such a call. */
function routineSpec(n: ts.Node): ts.ObjectLiteralExpression | undefined {
  if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'routine' && n.arguments[0] && ts.isObjectLiteralExpression(n.arguments[0]))
    return n.arguments[0];
  return undefined;
}

/** Property `name` of an object literal: its value, or the shorthand or method itself. */
function prop(o: ts.ObjectLiteralExpression, name: string): ts.Node | undefined {
  const p = o.properties.find((x) => x.name?.getText() === name);
  return p && ts.isPropertyAssignment(p) ? p.initializer : p;
}

/** The identifier a routine's `name` is taken from (`name`, `name: n`), or the `spec.name` access. */
function nameSource(n: ts.Node): ts.Identifier | ts.PropertyAccessExpression | undefined {
  if (ts.isShorthandPropertyAssignment(n)) return n.name;
  if (ts.isIdentifier(n) || (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression))) return n;
  return undefined;
}

/**
 * A routine factory: a function that defines a routine named by one of its parameters, either the
 * parameter itself (`function defineAging(name, …) { return KVM_LIB.routine({ name, … }) }`) or a
 * member of it (`function defineRmapUnmap(spec) { … routine({ name: spec.name, … }) }`). Each call
 * of it makes one routine with the factory's steps, which also run what they call through its
 * parameters (`spec.replace(…)`): the argument's code.
 */
interface Factory {
  readonly nameArg: number;
  readonly nameMember: string | undefined;
  readonly steps: StepText[];
}

/** A source file of the scan: its path and its text. */
interface Source {
  readonly file: string;
  readonly text: string;
}

/** What a file imports by name (`import { a as b } from './x.js'`: b → x.ts's a) and re-exports (`export { a } from`, `export * from`). */
interface Links {
  readonly imports: Map<string, { readonly from: string; readonly name: string }>;
  readonly reexports: { readonly from: string; readonly names: Map<string, string> | undefined }[];
}

/** The file a relative module specifier names from `file` (`./page.js` → page.ts), as the compiled imports name it. */
function target(file: string, spec: string): string | undefined {
  return spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : undefined;
}

function linksOf(sf: ts.SourceFile): Links {
  const links: Links = { imports: new Map(), reexports: [] };
  for (const st of sf.statements) {
    const from = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? target(sf.fileName, st.moduleSpecifier.text) : undefined;
    if (!from) continue;
    const named = ts.isImportDeclaration(st) ? st.importClause?.namedBindings : undefined;
    if (named && ts.isNamedImports(named)) for (const e of named.elements) links.imports.set(e.name.text, { from, name: (e.propertyName ?? e.name).text });
    if (ts.isExportDeclaration(st)) {
      const names = st.exportClause && ts.isNamedExports(st.exportClause) ? new Map(st.exportClause.elements.map((e) => [e.name.text, (e.propertyName ?? e.name).text])) : undefined;
      links.reexports.push({ from, names });
    }
  }
  return links;
}

/** A helper's key: its file (from the root) and its name, so two files' helpers of one name stay two. */
const helperKey = (file: string, name: string): string => `${relative(ROOT, file)}#${name}`;
const helperName = (key: string): string => key.slice(key.lastIndexOf('#') + 1);

/**
 * Reads the model's source: the helpers (functions declared by name, keyed by file and name) and
 * the helpers they call, and every routine's steps — defined with a literal name, or made by a
 * factory — keyed `routine:label`, with the helpers they call. A call names the helper of its own
 * file, else the one its file imports under that name (through re-exports), else the one helper of
 * that name in the scanned files; two such helpers make the scan fail, naming both files.
 */
function parse(sources: readonly Source[]): { helpers: Map<string, Set<string>>; steps: Step[] } {
  const steps: Step[] = [];
  const sfs = sources.map((s) => ts.createSourceFile(s.file, s.text, ts.ScriptTarget.ES2022, true));
  // Each file's helpers by name: the functions it declares, at any depth (a step may call a closure).
  const bodies = new Map<string, Map<string, ts.Node>>(sfs.map((sf) => [sf.fileName, new Map()]));
  const links = new Map(sfs.map((sf) => [sf.fileName, linksOf(sf)]));
  const declare = (n: ts.Node, name: string, body: ts.Node): void => {
    const file = n.getSourceFile().fileName;
    const own = bodies.get(file)!;
    if (own.has(name)) throw new Error(`${relative(ROOT, file)} declares two functions ${name}: the scan cannot tell which a call means`);
    own.set(name, body);
  };
  /** The helper `name` that `file` declares or exports (a re-export followed), if any. */
  const exported = (file: string, name: string, seen = new Set<string>()): string | undefined => {
    if (seen.has(file) || !bodies.has(file)) return undefined;
    seen.add(file);
    if (bodies.get(file)!.has(name)) return helperKey(file, name);
    for (const r of links.get(file)!.reexports) {
      const inner = r.names ? r.names.get(name) : name;
      const found = inner === undefined ? undefined : exported(r.from, inner, seen);
      if (found) return found;
    }
    return undefined;
  };
  /** The helper a call of `name` in `file` runs, if it is one (see parse). */
  const helperOf = (file: string, name: string): string | undefined => {
    if (bodies.get(file)!.has(name)) return helperKey(file, name);
    const imported = links.get(file)!.imports.get(name);
    if (imported) return exported(imported.from, imported.name);
    const owners = [...bodies].filter(([, own]) => own.has(name)).map(([f]) => f);
    if (owners.length > 1) throw new Error(`${relative(ROOT, file)} calls ${name}, which it neither declares nor imports, and ${owners.map((f) => relative(ROOT, f)).join(' and ')} each declare one`);
    return owners.length ? helperKey(owners[0], name) : undefined;
  };
  /** The helpers `node` (in its file) calls. */
  const calledBy = (node: ts.Node, names: Iterable<string> = callees(node)): Set<string> => {
    const file = node.getSourceFile().fileName;
    return new Set([...names].map((n) => helperOf(file, n)).filter((k) => k !== undefined));
  };
  // Object literals bound to a name, for `steps: { ...devicePrivateSteps, … }`.
  const objects = new Map<string, ts.ObjectLiteralExpression>();
  const each = (visit: (n: ts.Node) => void): void => {
    const walk = (n: ts.Node): void => {
      visit(n);
      ts.forEachChild(n, walk);
    };
    sfs.forEach(walk);
  };
  each((n) => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isObjectLiteralExpression(n.initializer)) objects.set(n.name.text, n.initializer);
  });

  /** The steps of `steps: { label: { run: … }, ...more }`; a spread adds what it may (`...(spec.flushEach && { flush })`: the registry says whether it does). */
  const stepsOf = (body: ts.ObjectLiteralExpression, params: readonly string[]): StepText[] => {
    const out: StepText[] = [];
    const add = (o: ts.ObjectLiteralExpression): void => {
      for (const p of o.properties) {
        if (ts.isPropertyAssignment(p)) out.push({ label: p.name.getText(), calls: calledBy(p.initializer), through: through(p.initializer, params) });
        else if (ts.isSpreadAssignment(p)) {
          const visit = (n: ts.Node): void => {
            if (ts.isObjectLiteralExpression(n)) add(n);
            else if (ts.isIdentifier(n) && objects.has(n.text)) add(objects.get(n.text)!);
            else ts.forEachChild(n, visit);
          };
          visit(p.expression);
        }
      }
    };
    add(body);
    return out;
  };

  each((n) => {
    if (ts.isFunctionDeclaration(n) && n.name && n.body) declare(n, n.name.text, n.body);
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer)))
      declare(n, n.name.text, n.initializer);
  });
  const helpers = new Map([...bodies].flatMap(([file, own]) => [...own].map(([name, body]) => [helperKey(file, name), calledBy(body)] as const)));

  const factories = new Map<string, Factory>();
  each((n) => {
    const spec = routineSpec(n);
    const name = spec && prop(spec, 'name');
    const body = spec && prop(spec, 'steps');
    if (!name || !body || !ts.isObjectLiteralExpression(body)) return;
    if (ts.isStringLiteral(name)) {
      for (const s of stepsOf(body, [])) steps.push({ key: `${name.text}:${s.label}`, calls: s.calls });
      return;
    }
    const src = nameSource(name);
    const f = ts.findAncestor(n, ts.isFunctionDeclaration);
    const params = f?.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : '')) ?? [];
    const nameArg = src ? params.indexOf(ts.isIdentifier(src) ? src.text : (src.expression as ts.Identifier).text) : -1;
    if (f?.name && src && nameArg >= 0) factories.set(f.name.text, { nameArg, nameMember: ts.isIdentifier(src) ? undefined : src.name.text, steps: stepsOf(body, params) });
  });

  // Each call of a factory: its routine's steps, with the code they run through the arguments.
  each((n) => {
    const f = ts.isCallExpression(n) && ts.isIdentifier(n.expression) ? factories.get(n.expression.text) : undefined;
    if (!f || !ts.isCallExpression(n)) return;
    const arg = n.arguments[f.nameArg];
    const name = !arg ? undefined : f.nameMember === undefined ? arg : ts.isObjectLiteralExpression(arg) ? prop(arg, f.nameMember) : undefined;
    if (!name || !ts.isStringLiteral(name)) return; // the coverage test names a routine the scan could not name
    for (const s of f.steps) {
      const calls = new Set(s.calls);
      for (const t of s.through) {
        const [i, member] = t.split('.');
        const a = n.arguments[Number(i)];
        const code = a && member !== undefined && ts.isObjectLiteralExpression(a) ? (prop(a, member) ?? a) : a;
        // A function passed by name, or code: what it calls, in the calling file.
        if (code) for (const c of calledBy(code, ts.isIdentifier(code) ? [code.text] : undefined)) calls.add(c);
      }
      steps.push({ key: `${name.text}:${s.label}`, calls });
    }
  });
  return { helpers, steps };
}

/** The parameters (by index) a node calls through: `op(…)` → `1`, `spec.replace(…)` → `0.replace`. */
function through(node: ts.Node, params: readonly string[]): Set<string> {
  const out = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const e = n.expression;
      if (ts.isIdentifier(e) && params.includes(e.text)) out.add(`${params.indexOf(e.text)}`);
      if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && params.includes(e.expression.text)) out.add(`${params.indexOf(e.expression.text)}.${e.name.text}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return out;
}

/** The one helper of `name` (its key); the scan fails if there is none or more than one. */
function named(helpers: ReadonlyMap<string, unknown>, name: string): string {
  const keys = [...helpers.keys()].filter((k) => helperName(k) === name);
  if (keys.length !== 1) throw new Error(`expected one helper ${name}, found ${keys.length ? keys.join(' and ') : 'none'}`);
  return keys[0];
}

/** The helpers that can free a page: freePage, and whatever calls one of them, to a fixed point. */
function freeing(helpers: ReadonlyMap<string, Set<string>>): Set<string> {
  const frees = new Set([named(helpers, 'freePage')]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [key, calls] of helpers) {
      if (!frees.has(key) && [...calls].some((c) => frees.has(c))) {
        frees.add(key);
        grew = true;
      }
    }
  }
  return frees;
}

describe('steps that can free a page declare it', () => {
  const { helpers, steps } = parse([...sources('src/kernel'), ...sources('src/kvm'), ...sources('src/mirror'), ...sources('src/scenario')]);
  const frees = freeing(helpers);
  const libraries: Library[] = [KERNEL, KVM_LIB, WORKLOAD_LIB, ...new Set(VARIANTS.flatMap((v) => [v.library, ...v.library.uses]))];
  // The steps the libraries registered (what runs), each read from the source by the scan.
  const registered = new Set(libraries.flatMap((l) => l.routines.flatMap((r) => r.labels.map((label) => `${r.name}:${label}`))));
  // Two libraries may each define a routine of one name (two designs' mirror_fault): a key's steps together.
  const scanned = new Map<string, Step>();
  for (const s of steps.filter((x) => registered.has(x.key))) scanned.set(s.key, { key: s.key, calls: new Set([...(scanned.get(s.key)?.calls ?? []), ...s.calls]) });
  const freeingSteps = [...scanned.values()].filter((s) => [...s.calls].some((c) => frees.has(c)));
  const footprintOf = (key: string) => libraries.map((l) => l.footprints?.[key]).find((f) => f !== undefined);

  it('reads every registered step, those a factory made included (the scan sees the model)', () => {
    expect([...registered].filter((k) => !scanned.has(k))).toEqual([]);
    expect([...frees].map(helperName)).toEqual(expect.arrayContaining(['freePage', 'putPage', 'putPageRefs', 'folioPut', 'tlbFinishOne']));
    const keys = freeingSteps.map((s) => s.key);
    expect(keys).toEqual(expect.arrayContaining(['migrate_pages:allocDst', 'zap_page_range_single:finish', 'unmap_mapping_range_vma:finish', 'copy_page_range:again']));
    // defineRmapUnmap's steps, one routine per call of the factory.
    expect(keys).toEqual(expect.arrayContaining(['try_to_unmap:unmap', 'try_to_unmap:put', 'try_to_migrate:unmap', 'try_to_migrate:put']));
    expect(keys.length).toBeGreaterThan(30);
  });

  /** What a step's footprint lacks of `need` (`writes page.free`, `reads page.locked`); `page.*` covers every page field. */
  const lacking = (key: string, need: readonly string[]): string[] => {
    const fp = footprintOf(key);
    if (!fp) return []; // a library without footprints is audited against nothing
    const writes = new Set(fp.writes ?? []);
    const reads = new Set([...(fp.reads ?? []), ...writes]);
    return need.filter((n) => {
      const [how, field] = n.split(' ');
      return !(how === 'writes' ? writes : reads).has(field) && !writes.has('page.*');
    });
  };

  /** The freeing steps (but `exempt`) whose footprint lacks some of `need`, with what each lacks. */
  const missing = (need: readonly string[], exempt: (key: string) => boolean): string[] =>
    freeingSteps
      .filter((s) => !exempt(s.key))
      .map((s) => [s.key, lacking(s.key, need)] as const)
      .filter(([, lacks]) => lacks.length)
      .map(([key, lacks]) => `${key}: ${lacks.join(', ')}`);

  it('every such step declares page.free, PG_locked and the mapcount that free_pages_prepare reads', () => {
    expect(missing(['writes page.free', 'reads page.locked', 'reads page.mapcount'], (k) => k in NEVER_LAST)).toEqual([]);
  });

  it('with the thp layer, what freeing a large folio touches: the tails’ compound_head, the head’s order and entire mapcount', () => {
    // page.ts freePage of a large folio: each tail's head cleared, the head's order cleared and its
    // entire mapcount checked. Reads of head and order come with the refcount (structs.ts PAGE `via`).
    expect(missing(['writes page.head', 'writes page.order', 'reads page.entireMapcount'], (k) => k in NEVER_LAST || NEVER_LARGE.has(k))).toEqual([]);
  });

  it('the steps exempted from the large free are freeing steps, and the refusals they rest on are still there', () => {
    const keys = new Set(freeingSteps.map((s) => s.key));
    expect([...NEVER_LARGE.keys()].filter((k) => !keys.has(k))).toEqual([]);
    const refusals = [...new Set(NEVER_LARGE_GROUPS.flatMap((g) => g.refusedAt ?? []))];
    const refuse = named(helpers, 'refuseLargeFolio');
    expect(refusals.filter((k) => !scanned.get(k)?.calls.has(refuse))).toEqual([]);
  });
});

describe('the scan tells two files’ helpers of one name apart', () => {
  // Two files each declare a helper `put`: a.ts's frees the page, b.ts's does not. Routine a_put
  // (in a.ts) calls its own; c_put (in c.ts) calls b.ts's, imported through a re-export.
  const at = (name: string) => join(ROOT, 'in-memory', name);
  const routine = (name: string, call: string) => `export const R = LIB.routine({ name: '${name}', steps: { put: { run: (w) => ${call} } } });`;
  const files: Source[] = [
    { file: at('page.ts'), text: 'export function freePage(w, p) { w.free(p); }' },
    { file: at('a.ts'), text: `import { freePage } from './page.js';\nfunction put(w, p) { freePage(w, p); }\n${routine('a_put', 'put(w, 1)')}` },
    { file: at('b.ts'), text: 'export function put(w, p) { w.count(p); }' },
    { file: at('index.ts'), text: "export * from './b.js';" },
    { file: at('c.ts'), text: `import { put } from './index.js';\n${routine('c_put', 'put(w, 1)')}` },
  ];
  const { helpers, steps } = parse(files);
  const frees = freeing(helpers);
  const calls = (key: string) => [...steps.find((s) => s.key === key)!.calls];

  it('a call runs the helper of its own file, else the one it imports', () => {
    expect(calls('a_put:put')).toEqual(['in-memory/a.ts#put']);
    expect(calls('c_put:put')).toEqual(['in-memory/b.ts#put']);
    expect([...frees].sort()).toEqual(['in-memory/a.ts#put', 'in-memory/page.ts#freePage']);
  });

  it('keyed by bare name, as the scan was, one body serves both calls: here the wrong one for a_put', () => {
    // The old map: one entry per name, the last file's.
    const byName = new Map([...helpers].map(([k, called]) => [helperName(k), new Set([...called].map(helperName))]));
    expect(byName.get('put')).toEqual(new Set());
    expect(calls('a_put:put').map(helperName)).toEqual(calls('c_put:put').map(helperName));
  });

  it('a name a file neither declares nor imports, declared by two files, fails the scan naming both', () => {
    const caller = { file: at('d.ts'), text: routine('d_put', 'put(w, 1)') };
    expect(() => parse([...files, caller])).toThrow('in-memory/d.ts calls put, which it neither declares nor imports, and in-memory/a.ts and in-memory/b.ts each declare one');
  });
});
