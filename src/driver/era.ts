/**
 * Kernel eras: an old (or patched) kernel's version of some kernel or KVM routines, written
 * outside the package and checked with any design (`vmamirror check --era FILE`). An era is a
 * library of kernel code (`{ kind: 'kernel' }`: its steps cite `file.c:function` and are held to
 * the kernel's lock discipline) whose routines replace the current ones by name
 * (`lib.replace('mmu_notifier_invalidate_range_start', myVersion)`, src/world/registry.ts): every
 * caller — fault paths, exit, the OOM reaper, KVM — runs the replacement, and nothing is copied
 * but the routine that changed.
 *
 * A design checked under an era is a design of its own, named `design@era` in every output (a
 * schedule names it, so `replay --era FILE` runs it again). A driver may also use an era by
 * listing its library among the libraries its own library uses: then the driver always runs on it.
 */
import { Library } from '../world/registry.js';
import type { MirrorVariant } from '../mirror/device.js';
import { checkState, DriverError } from './define.js';
import type { World } from '../world/world.js';
import type { StructDef } from '../world/layout.js';

/**
 * A kind of kernel object an era has and today's kernel does not (v5.3's `struct hmm` with its
 * semaphores, a counter an old routine kept): `count` objects of `struct` in every world a design
 * runs in on the era, all fields 0, then set up by `init` (after the kernel's own set-up, before
 * any device's .mmap and any actor). `struct` is made with `defineStruct` and declares what
 * protects every field; the era's routines reach the objects with `w.obj(struct, i)`.
 */
export interface EraState {
  readonly struct: StructDef;
  readonly count: number;
  init?(w: World): void;
}

/** An era, as `defineEra` checked it. */
export interface Era {
  readonly name: string;
  readonly summary: string;
  /** Its routines and their replacements (`library.replace`). */
  readonly library: Library;
  /** Its own kernel objects. */
  readonly state: readonly EraState[];
}

/** What an era module describes. */
export interface EraSpec {
  /** Lower-case letters, digits and dashes: the suffix of the designs it runs (`interval@NAME`). */
  readonly name: string;
  /** One sentence: which kernel, and what differs. */
  readonly summary: string;
  /** `new Library(name, [KERNEL], { kind: 'kernel' })` (add `KVM_LIB` to replace KVM routines), with its `replace` calls made. */
  readonly library: Library;
  /** Its own kernel objects, if it has any (see `EraState`). */
  readonly state?: readonly EraState[];
}

const made = new WeakSet<object>();
const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Whether `x` was made by this package's `defineEra`. */
export function isEra(x: unknown): x is Era {
  return typeof x === 'object' && x !== null && made.has(x);
}

/** Checks `spec` and returns it as an era `--era` can apply; a mistake is a `DriverError`. */
export function defineEra(spec: EraSpec): Era {
  const bad = (what: string): never => {
    throw new DriverError(`defineEra: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null) bad('expected an object { name, summary, library }');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) bad(`name: expected lower-case letters, digits and dashes, got ${JSON.stringify(spec.name)}`);
  const at = `era "${spec.name}"`;
  if (typeof spec.summary !== 'string' || !spec.summary.trim()) bad(`${at}: summary: expected one sentence saying which kernel and what differs`);
  const lib = spec.library;
  if (!(lib instanceof Library)) bad(`${at}: library: expected a Library made with \`new Library(name, [KERNEL], { kind: 'kernel' })\` of this vmamirror`);
  if (lib.cites?.kind !== 'kernel') bad(`${at}: library ${lib.name}: expected the citation policy { kind: 'kernel' } (an era is kernel code, cited file.c:function)`);
  if (lib.replacements.length === 0) bad(`${at}: library ${lib.name} replaces no routine; expected ${lib.name}.replace('kernel_routine_name', yourVersion) for each routine the era changes`);
  const state = checkEraState(at, spec.state, bad);
  const era: Era = Object.freeze({ name: spec.name, summary: spec.summary, library: lib, state });
  made.add(era);
  return era;
}

/** The objects of `state` as `checkState` (define.ts) checks a driver's, with counts per world, not per device. */
function checkEraState(at: string, state: unknown, bad: (what: string) => never): EraState[] {
  if (state === undefined) return [];
  if (!Array.isArray(state)) bad(`${at}: state: expected a list of { struct, count, init? }`);
  (state as unknown[]).forEach((x, i) => {
    if (typeof x === 'object' && x !== null && 'lifetime' in x) bad(`${at}: state[${i}]: lifetime: an era's objects live as long as the world (a freed object is a driver's: defineDriver)`);
  });
  // The same checks as a driver's objects (struct, protections, count, init); init takes only the world.
  return checkState(at, state, bad, 'in every world').map((st) => Object.freeze({ struct: st.struct, count: st.count, ...(st.init && { init: (w: World) => st.init!(w, 0) }) }));
}

/** `design` run on `era`: named `design@era`; its model holds the era's library, so the era's replacements apply, and its worlds the era's objects. */
export function withEra(design: MirrorVariant, era: Era): MirrorVariant {
  // A library of its own that uses both: the model is the closure of its roots (registry.ts).
  const library = new Library(`${design.library.name}-on-${era.library.name}`, [design.library, era.library], design.library.cites);
  return Object.freeze({ ...design, name: `${design.name}@${era.name}`, base: design.base ?? design.name, library, ...(era.state.length && { eraState: era.state }) });
}
