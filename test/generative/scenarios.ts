/**
 * Random small scenarios for the generative tests and `npm run fuzz`: operations × pages × actors
 * from the operation table (src/scenario/operations.ts), with the shapes the catalogue lacks —
 * several pages, several operations per actor, several actors, a fork and its child.
 *
 * A raw draw is made kernel-possible by `legalize`, which drops what no process could do (a second
 * fork, the child used before it exists, a process that runs on after its exit or exits twice, a
 * second OOM reap of one mm); fast-check shrinks the raw draw, so a shrunk scenario is legal too.
 */
import fc from 'fast-check';
import { Document, type YAMLMap } from 'yaml';
import { childFields, fieldsOf, operationNamed, type MmName, type Op } from '../../src/scenario/operations.js';
import type { ActorSpec, KernelLayer, ScenarioSpec } from '../../src/scenario/spec.js';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';

/** What a generated scenario may hold: at most this many pages, actors and operations per actor. */
export interface Size {
  readonly pages: number;
  readonly actors: number;
  readonly ops: number;
  /** Guest accesses through the source KVM as well (bigger worlds). */
  readonly kvm?: boolean;
  /** Kernel layers a scenario may switch on (any subset of these is drawn; none by default). */
  readonly layers?: readonly KernelLayer[];
}

/**
 * The layers generated scenarios draw from: those that change no operation's meaning. `thp` is
 * left out (reclaim, migration and fork of a large folio are refused as not modelled), and the
 * KVM layers need guest accesses on several vCPUs to matter.
 */
export const GENERATED_LAYERS: readonly KernelLayer[] = ['cpu-tlb', 'dirty-accessed', 'zero-page'];

export const SMALL: Size = { pages: 2, actors: 3, ops: 3 };

/** The operations a process's own threads run on its mm: none of them after the process exits. */
const PROCESS_OPS = new Set(['access', 'madvise-dontneed', 'munmap', 'mprotect-readonly', 'fork', 'exit']);

const MMS: readonly MmName[] = ['source', 'introspector', 'child'];

/** One operation drawn over `pages` pages (ranges end by the last page). */
function operation(pages: number, kvm: boolean): fc.Arbitrary<Op> {
  const page = fc.integer({ min: 0, max: pages - 1 });
  const mm = fc.constantFrom(...MMS);
  const range = fc.tuple(mm, page, fc.nat()).map(([m, p, n]) => ({ mm: m, page: p, ...(pages - p > 1 && n % 2 ? { pages: 1 + (n % (pages - p)) } : {}) }));
  const store = fc.tuple(fc.boolean(), fc.integer({ min: 0x200, max: 0x2ff })).map(([w, v]) => (w ? { write: true, value: v } : {}));
  const ops: fc.Arbitrary<Op>[] = [
    fc.tuple(mm, page, store).map(([m, p, s]) => ({ op: 'access', mm: m, page: p, ...s }) as Op),
    page.map((p) => ({ op: 'reclaim', page: p }) as Op),
    page.map((p) => ({ op: 'migrate', page: p }) as Op),
    range.map((r) => ({ op: 'madvise-dontneed', ...r }) as Op),
    range.map((r) => ({ op: 'munmap', ...r }) as Op),
    range.map((r) => ({ op: 'mprotect-readonly', ...r }) as Op),
    fc.constantFrom('source', 'introspector').map((m) => ({ op: 'fork', mm: m }) as Op),
    mm.map((m) => ({ op: 'exit', mm: m }) as Op),
    mm.map((m) => ({ op: 'oom-reap', mm: m }) as Op),
  ];
  if (kvm) ops.push(fc.tuple(page, store).map(([p, s]) => ({ op: 'guest-access', vm: 'source', page: p, ...s }) as Op));
  return fc.oneof(...ops);
}

/** The mm an operation runs on as one of the process's threads (a guest access: its vCPU thread, of the VMM's process), or undefined (a kernel daemon's). */
function processMm(op: Op): MmName | undefined {
  if (op.op === 'guest-access') return op.vm;
  if (!PROCESS_OPS.has(op.op)) return undefined;
  return namedMm(op);
}

/** The mm an operation names, if any. */
function namedMm(op: Op): MmName | undefined {
  return fieldsOf(op).find((f) => f.def.kind === 'mm' || f.def.kind === 'parent')?.value as MmName | undefined;
}

/**
 * `actors` with what no kernel could run dropped: a second fork; the child mm named before the
 * fork that creates it (in the forking actor) or with no fork at all; a process's own operations
 * after its exit (in the exiting actor) or in another actor (a last mmput has no other user); a
 * second exit or OOM reap of one mm. Actors left with no operation are dropped.
 */
export function legalize(name: string, pages: number, actors: readonly ActorSpec[]): ScenarioSpec {
  const forkAt = (() => {
    for (const [a, actor] of actors.entries()) {
      const i = actor.ops.findIndex((op) => operationNamed(op.op)!.createsChild);
      if (i >= 0) return { a, i };
    }
    return undefined;
  })();
  const exitOf = new Map<MmName, number>();
  const reaped = new Set<MmName>();
  let kept = actors.map((actor, a) =>
    actor.ops.filter((op, i) => {
      if (operationNamed(op.op)!.createsChild && (forkAt?.a !== a || forkAt.i !== i)) return false;
      if (childFields(op).length > 0 && (!forkAt || (forkAt.a === a && i < forkAt.i))) return false;
      const mm = namedMm(op);
      if (op.op === 'exit' && mm) {
        if (exitOf.has(mm)) return false;
        exitOf.set(mm, a);
      }
      if (op.op === 'oom-reap' && mm) {
        if (reaped.has(mm)) return false;
        reaped.add(mm);
      }
      return true;
    }),
  );
  // A process exits with its last mmput: no thread of it runs anything after, anywhere.
  kept = kept.map((ops, a) => {
    let gone = new Set<MmName>();
    return ops.filter((op) => {
      const mm = processMm(op);
      const ok = mm === undefined || (!gone.has(mm) && (exitOf.get(mm) ?? a) === a);
      if (op.op === 'exit' && mm) gone = new Set([...gone, mm]);
      return ok;
    });
  });
  // A fork dropped above (its process exited first) takes the child's operations with it.
  const forks = kept.some((ops) => ops.some((op) => operationNamed(op.op)!.createsChild));
  if (!forks) kept = kept.map((ops) => ops.filter((op) => childFields(op).length === 0));
  const out = kept.flatMap((ops, a): ActorSpec[] => (actors[a].any ? [actors[a]] : ops.length ? [{ name: actors[a].name, ops }] : []));
  const kvm = out.some((x) => x.ops.some((op) => op.op === 'guest-access'));
  return { name, description: 'generated', pages, ...(kvm && { sourceKvm: true }), actors: out };
}

/**
 * The `any` adversary a generated scenario may add (src/scenario/operations.ts AnyOps): one
 * operation on page 0, chosen from those a thread may run whatever the others do — not exit or
 * OOM reap (another actor may still be a thread of the mm), and on one page no mirror split.
 */
const ANY_ADVERSARY: ActorSpec = { name: 'any', ops: [], any: { ops: 1, pages: 1, of: ['reclaim', 'migrate', 'madvise-dontneed', 'munmap', 'mprotect-readonly'] } };

/** A raw draw: pages, then actors of operations over them, and sometimes an `any` adversary among them. */
export function rawScenario(size: Size = SMALL, actors?: { min: number; max: number }): fc.Arbitrary<{ pages: number; actors: ActorSpec[] }> {
  return fc.integer({ min: 1, max: size.pages }).chain((pages) =>
    fc
      .tuple(fc.array(fc.array(operation(pages, size.kvm ?? false), { minLength: 1, maxLength: size.ops }), { minLength: actors?.min ?? 1, maxLength: actors?.max ?? size.actors }), fc.nat())
      .map(([lists, any]) => {
        // One draw in four (with room for it) puts the adversary in place of an actor.
        const at = any % 4 === 0 && lists.length > 1 ? (any >> 2) % lists.length : -1;
        return { pages, actors: lists.map((ops, i) => (i === at ? ANY_ADVERSARY : { name: `a${i}`, ops })) };
      }),
  );
}

/** Legal scenarios of `size` with at least one actor (after legalize). */
export function scenarios(size: Size = SMALL, actors?: { min: number; max: number }): fc.Arbitrary<ScenarioSpec> {
  const drawn = rawScenario(size, actors)
    .map((r) => legalize('generated', r.pages, r.actors))
    .filter((s) => s.actors.length >= (actors?.min ?? 1));
  if (!size.layers?.length) return drawn;
  return fc.tuple(drawn, fc.subarray([...size.layers])).map(([s, layers]): ScenarioSpec => (layers.length ? { ...s, layers } : s));
}

/**
 * `base` with more: each actor's operations followed by up to `size.ops` more, up to `size.actors`
 * more actors, and up to `size.pages` pages in all (never fewer than `base`'s). The base's own
 * operations are kept in order (legalize drops only what follows them where an added one is
 * illegal, never theirs — checked by the caller with `contains`), and each base actor starts when
 * it did.
 */
export function supersetOf(base: ScenarioSpec, size: Size = SMALL): fc.Arbitrary<ScenarioSpec> {
  return fc.integer({ min: base.pages, max: Math.max(base.pages, size.pages) }).chain((pages) =>
    fc
      .tuple(
        fc.tuple(...base.actors.map(() => fc.array(operation(pages, size.kvm ?? false), { maxLength: size.ops }))),
        fc.array(fc.array(operation(pages, size.kvm ?? false), { minLength: 1, maxLength: size.ops }), { maxLength: size.actors }),
      )
      .map(([more, extra]) => {
        // An added operation on the child mm would make a base actor a thread of the child, started
        // only once the fork returns (build.ts childActorsOf): fewer interleavings, not more.
        const namesChild = (ops: readonly Op[]) => ops.some((op) => childFields(op).length > 0);
        const added = (a: ActorSpec, i: number) => (namesChild(a.ops) ? more[i] : more[i].filter((op) => childFields(op).length === 0));
        const actors = [...base.actors.map((a, i) => ({ name: a.name, ops: [...a.ops, ...added(a, i)] })), ...extra.map((ops, i) => ({ name: `extra${i}`, ops }))];
        return { ...legalize(`${base.name}-plus`, pages, actors), ...(base.sourceKvm && { sourceKvm: true }), ...(base.introspectorKvm && { introspectorKvm: true }) };
      }),
  );
}

/** Whether `big` runs everything `small` does: each of small's actors is a prefix of big's actor of the same name. */
export function contains(big: ScenarioSpec, small: ScenarioSpec): boolean {
  return small.actors.every((a) => {
    const b = big.actors.find((x) => x.name === a.name);
    return b !== undefined && a.ops.every((op, i) => JSON.stringify(b.ops[i]) === JSON.stringify(op));
  });
}

/**
 * A scenario as a file ready to commit (the format of examples/*.yaml, loaded by
 * src/scenario/load.ts), with what the generator found in its description.
 */
export function scenarioYaml(spec: ScenarioSpec, finding: string, variants?: readonly string[]): string {
  const doc = {
    name: spec.name,
    description: `Found by the generative test (test/generative): ${finding}`,
    pages: spec.pages,
    ...(spec.sourceKvm && { sourceKvm: true }),
    ...(spec.introspectorKvm && { introspectorKvm: true }),
    ...(spec.layers?.length && { layers: [...spec.layers] }),
    ...(variants && { variants: [...variants] }),
    actors: spec.actors.map((a) => (a.any ? { name: a.name, any: { ...a.any } } : { name: a.name, ops: a.ops.map((op) => ({ ...op })) })),
  };
  const yaml = new Document(doc);
  // One operation a line, as the shipped examples write them.
  spec.actors.forEach((a, i) => {
    if (a.any) (yaml.getIn(['actors', i, 'any'], true) as YAMLMap).flow = true;
    for (const j of a.ops.keys()) (yaml.getIn(['actors', i, 'ops', j], true) as YAMLMap).flow = true;
  });
  return `# yaml-language-server: $schema=../src/scenario/schema.json\n${yaml.toString({ lineWidth: 100 })}`;
}

/** A generated scenario with its first actor twice (`NAME-twin`), the two declared interchangeable; undefined when the loader refuses that. */
export function withTwin(spec: ScenarioSpec): ScenarioSpec | undefined {
  const [first] = spec.actors;
  const text = scenarioYaml({ ...spec, name: 'twins', actors: [...spec.actors, { ...first, name: `${first.name}-twin` }] }, 'twins');
  try {
    return parseScenario(`${text}symmetric: [[${first.name}, ${first.name}-twin]]\n`, 'twins.yaml', 'yaml').spec;
  } catch (e) {
    if (e instanceof ScenarioError) return undefined;
    throw e;
  }
}
