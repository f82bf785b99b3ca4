/**
 * `defineDriver`: a mirror design (a secondary MMU), checked as it is made. What it returns is a
 * `MirrorVariant`; the built-in designs in src/mirror/ are made by it too (the mirror device is
 * the first driver), and `vmamirror check --driver FILE` runs one written outside the package
 * (src/driver/load.ts). Every mistake it can see before a run is a `DriverError`: one sentence
 * saying what was expected.
 */
import { Library } from '../world/registry.js';
import { Routine, type AnyRoutine } from '../world/routine.js';
import type { World } from '../world/world.js';
import type { MirrorVariant } from '../mirror/device.js';
import { KERNEL } from '../kernel/library.js';
import { KVM_LIB } from '../kvm/library.js';
import { WORKLOAD_LIB } from '../scenario/workload.js';
import { structById, structByName, type StructDef } from '../world/layout.js';
import { Verdicts, type Property } from '../engine/verdict.js';
import { PROPERTIES } from '../check/properties.js';
import { UNBALANCED, type Balanced } from '../check/balance.js';
import { declareLifetime, SRCU, SRCU_LIB } from '../kernel/lifetime.js';
import { DEV_PAGEMAP } from '../kernel/memremap.js';
import { tableState, type DeviceTable } from '../layers/table.js';
import { declareOperations, type DriverOperation } from './operations.js';

/** A driver that cannot be used: what was wrong and what was expected, in one sentence. */
export class DriverError extends Error {
  override readonly name = 'DriverError';
}

/**
 * A kind of object the driver keeps (its per-device struct, a job, a counter block): `count`
 * objects of `struct` per mirror device — device `dev`'s are indices `dev * count` to
 * `dev * count + count - 1` (every scenario has one device, dev 0) — added to every world the
 * driver runs in, all fields 0, then set up by `init` (after the device's .mmap, before any actor
 * runs). `struct` is made with `defineStruct` and declares what protects every field.
 */
export interface DriverState {
  readonly struct: StructDef;
  readonly count: number;
  /**
   * Its kref field, if its objects are freed while the actors run (src/kernel/lifetime.ts): an
   * object is live while the field is not 0 (`krefInit` in `init`, `kzalloc`, `krefGet`,
   * `krefPut`), and a step that takes `w.obj` of a freed one is a kernel BUG, use after free.
   */
  readonly lifetime?: string;
  init?(w: World, dev: number): void;
}

/** What a driver module describes: the `MirrorVariant` fields a design writes (see src/mirror/device.ts). */
export interface DriverSpec {
  /** The name `--variant` and schedules pick it by: lower-case letters, digits and dashes, not a built-in design's. */
  readonly name: string;
  /** One sentence: what this design is. */
  readonly summary: string;
  /** Races of the reference catalogue it reproduces (default none: a design meant to be correct). */
  readonly reproduces?: readonly string[];
  /** Flags of the device VMA in the introspector (`VM_PFNMAP | VM_IO | …`). */
  readonly vmaFlags: number;
  /** vm_ops->fault: a routine (of `library`, or of a driver library it uses) with params (vma, vpn, write), returning a `VM_FAULT_*`. */
  readonly fault: AnyRoutine;
  /** vm_ops->pfn_mkwrite (optional): a routine (likewise) with params (vma, vpn). */
  readonly pfnMkwrite?: AnyRoutine;
  /**
   * vm_ops->may_split (optional): `false` refuses every split of the device VMA, so a munmap or
   * mprotect of part of it fails with -EINVAL; without it a split goes ahead and the driver's
   * fault path and invalidate callback must handle the two VMAs it leaves.
   */
  readonly maySplit?: boolean;
  /** The driver's own `Library`, declared `{ kind: 'driver', sources: [...] }` and using `KERNEL`. */
  readonly library: Library;
  /**
   * The driver's routines, fault path first (what `explain` prints): of `library`, or of a driver
   * library it lists among its uses — a design built on another's (raw-clear on interval's fault path).
   */
  readonly routines: readonly AnyRoutine[];
  /** What it needs from the topology: an interval notifier, a classic mmu_notifier, a v5.3 hmm_mirror. */
  readonly needs: { readonly intervalNotifier?: boolean; readonly mmuNotifier?: boolean; readonly hmm?: boolean };
  /** The device's .mmap: subscribe to the source (e.g. `attachInterval(w, dev, install, invalidate)`). */
  attach(w: World, dev: number): void;
  /** Mutants of this design that are valid designs too, by mutant id, each with the reason. */
  readonly acceptedMutants?: Readonly<Record<string, string>>;
  /** Its own objects, counters and flags (see `DriverState`). */
  readonly state?: readonly DriverState[];
  /** Its own properties, checked after the built-in ones, against the same API (`check(w)` → message or undefined). */
  readonly properties?: readonly Property[];
  /** Fields of its state structs that must be 0 once every actor has finished: the `unbalanced` property (src/check/balance.ts). */
  readonly balanced?: readonly Balanced[];
  /** Its device translation tables (`defineTable`): secondary layers checked by their kind (docs/tables.md). */
  readonly tables?: readonly DeviceTable[];
  /** Operations scenario files name (`{ op: device, call: NAME, page, write }`): its jobs, ioctls, workers. */
  readonly operations?: readonly DriverOperation[];
}

const made = new WeakSet<object>();

/** Whether `x` was made by this package's `defineDriver` (a copy of vmamirror loaded twice would not be). */
export function isDriver(x: unknown): x is MirrorVariant {
  return typeof x === 'object' && x !== null && made.has(x);
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
/** How many structs are defined so far: they are numbered as they are defined. */
function structCount(): number {
  let n = 0;
  while (structById(n)) n++;
  return n;
}
/** The package's structs a driver may have objects of: an srcu_struct of its own, a dev_pagemap it embeds (lib/test_hmm.c: dmirror_chunk.pagemap). */
const SHARED_STRUCTS: readonly StructDef[] = [SRCU, DEV_PAGEMAP];
const PROTECTION = /^(lock|lock-word|lock-readers|read-holds):.+$|^(lock-word|atomic|lockless|rcu|stable|private|ghost)$/;

/**
 * What the package's own designs hold, registered by src/mirror/variants.ts once they are all made
 * (they are made by `defineDriver` too, so the checks against them cannot run before): no other
 * driver may take their names or their libraries' names, and the structs defined by then — the
 * kernel's, KVM's, the mirror device's — are the package's own, which no driver may list as state.
 * Until then, the structs defined when this module ran.
 */
const builtIn = { names: [] as readonly string[], libraries: [KERNEL, SRCU_LIB, KVM_LIB, WORKLOAD_LIB] as readonly Library[], structs: structCount(), registered: false };

/** Registers the built-in designs (src/mirror/variants.ts, once). */
export function registerBuiltInDesigns(designs: readonly MirrorVariant[]): void {
  if (builtIn.registered) throw new Error('the built-in designs are registered once');
  builtIn.names = designs.map((d) => d.name);
  builtIn.libraries = [...new Set([...builtIn.libraries, ...designs.flatMap((d) => [d.library, ...d.library.uses])])];
  builtIn.structs = structCount();
  builtIn.registered = true;
}

/** The driver libraries `lib` uses, itself first (a design may build on another's routines, as raw-clear on interval's fault path). */
function driverLibraries(lib: Library): Library[] {
  const found: Library[] = [];
  const visit = (l: Library) => {
    if (found.includes(l) || l.cites?.kind !== 'driver') return;
    found.push(l);
    l.uses.forEach(visit);
  };
  visit(lib);
  return found;
}

/** Checks `spec` and returns it as a design `vmamirror check --driver` can run; a mistake is a `DriverError`. */
export function defineDriver(spec: DriverSpec): MirrorVariant {
  const bad = (what: string): never => {
    throw new DriverError(`defineDriver: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null) bad('expected an object { name, summary, vmaFlags, fault, library, routines, needs, attach }');
  const name = spec.name;
  if (typeof name !== 'string' || !NAME.test(name)) bad(`name: expected lower-case letters, digits and dashes, got ${JSON.stringify(name)}`);
  const at = `driver "${name}"`;
  if (builtIn.names.includes(name)) bad(`${at}: the name is a built-in design's (${builtIn.names.join(', ')}); choose another`);
  if (typeof spec.summary !== 'string' || !spec.summary.trim()) bad(`${at}: summary: expected one sentence saying what the design is`);
  if (!Number.isSafeInteger(spec.vmaFlags) || spec.vmaFlags < 0) bad(`${at}: vmaFlags: expected the device VMA's flags (VM_PFNMAP | VM_IO | …)`);
  const lib = spec.library;
  if (!(lib instanceof Library)) bad(`${at}: library: expected a Library made with \`new Library(name, [KERNEL], { kind: 'driver', sources: [...] })\` of this vmamirror`);
  if (lib.cites?.kind !== 'driver') bad(`${at}: library ${lib.name}: expected the citation policy { kind: 'driver', sources: [...] } (it makes its steps driver code)`);
  const clash = builtIn.libraries.find((l) => l.name === lib.name);
  if (clash) bad(`${at}: library name "${lib.name}" is taken by a built-in library; choose another`);
  const mayRun = driverLibraries(lib);
  const mine = (what: string, r: unknown, params: number): void => {
    if (!(r instanceof Routine)) bad(`${at}: ${what}: expected a routine defined with ${lib.name}.routine({...})`);
    const routine = r as AnyRoutine;
    if (!mayRun.includes(routine.library))
      bad(`${at}: ${what}: routine ${routine.name} is of library ${routine.library.name}, not of the driver's library ${lib.name} (or of a driver library it uses)`);
    if (params && routine.params.length !== params) bad(`${at}: ${what}: routine ${routine.name} takes ${routine.params.length} params; expected ${params}`);
  };
  if (spec.fault === undefined) bad(`${at}: fault: missing; expected vm_ops->fault, a routine of ${lib.name} with params (vma, vpn, write)`);
  mine('fault', spec.fault, 3);
  if (spec.pfnMkwrite !== undefined) mine('pfnMkwrite', spec.pfnMkwrite, 2);
  if (spec.maySplit !== undefined && typeof spec.maySplit !== 'boolean') bad(`${at}: maySplit: expected false (vm_ops->may_split refuses every split) or true, got ${JSON.stringify(spec.maySplit)}`);
  if (!Array.isArray(spec.routines) || spec.routines.length === 0) bad(`${at}: routines: expected the driver's routines, fault path first`);
  spec.routines.forEach((r, i) => {
    mine(`routines[${i}]`, r, 0);
  });
  for (const r of [spec.fault, spec.pfnMkwrite]) if (r && !spec.routines.includes(r)) bad(`${at}: routines: expected it to list ${r.name}`);
  for (const r of lib.routines) {
    for (const l of [KERNEL, SRCU_LIB, KVM_LIB, WORKLOAD_LIB]) {
      if (l.routines.some((k) => k.name === r.name)) bad(`${at}: routine ${r.name}: the name is a routine of library ${l.name}; choose another`);
    }
  }
  const needs = spec.needs;
  if (typeof needs !== 'object' || needs === null) bad(`${at}: needs: expected { intervalNotifier?, mmuNotifier?, hmm? }`);
  for (const [k, v] of Object.entries(needs)) {
    if (!['intervalNotifier', 'mmuNotifier', 'hmm'].includes(k) || typeof v !== 'boolean') bad(`${at}: needs.${k}: expected intervalNotifier, mmuNotifier or hmm, true or false`);
  }
  if (typeof spec.attach !== 'function') bad(`${at}: attach: expected the device's .mmap, a function (w, dev) that subscribes to the source`);
  const reproduces = spec.reproduces ?? [];
  if (!Array.isArray(reproduces) || reproduces.some((x) => typeof x !== 'string')) bad(`${at}: reproduces: expected a list of race names`);
  const accepted = spec.acceptedMutants;
  if (accepted !== undefined && (typeof accepted !== 'object' || accepted === null || Object.values(accepted).some((x) => typeof x !== 'string'))) {
    bad(`${at}: acceptedMutants: expected { 'category@routine:label': 'why it is a valid design too' }`);
  }
  const own = checkState(at, spec.state, bad);
  const state = [...own, ...tableState(at, spec.tables, own, bad)];
  declareOperations(at, lib, spec.operations, bad);
  const structs = state.map((st) => st.struct);
  const properties = checkProperties(at, spec.properties, spec.balanced !== undefined, bad);
  const balanced = checkBalanced(at, spec.balanced, structs, bad);
  const driver: MirrorVariant = Object.freeze({
    name,
    summary: spec.summary,
    reproduces: [...reproduces],
    vmaFlags: spec.vmaFlags,
    fault: spec.fault,
    ...(spec.pfnMkwrite && { pfnMkwrite: spec.pfnMkwrite }),
    ...(spec.maySplit !== undefined && { maySplit: spec.maySplit }),
    library: lib,
    routines: [...spec.routines],
    needs: { ...needs },
    attach: (w: World, dev: number) => spec.attach(w, dev),
    ...(accepted && { acceptedMutants: { ...accepted } }),
    ...(state.length && { state }),
    ...(properties.length && { properties }),
    ...(balanced.length && { balanced }),
  });
  made.add(driver);
  return driver;
}

type Bad = (what: string) => never;

/** Checks a list of objects' kinds (a driver's, or an era's: `per` says what `count` counts, default per device). */
export function checkState(at: string, state: unknown, bad: Bad, per = 'per device'): DriverState[] {
  if (state === undefined) return [];
  if (!Array.isArray(state)) bad(`${at}: state: expected a list of { struct, count, init? }`);
  const seen = new Set<StructDef>();
  return (state as unknown[]).map((x, i) => {
    const where = `${at}: state[${i}]`;
    if (typeof x !== 'object' || x === null) bad(`${where}: expected { struct, count, init? }`);
    const { struct, count, init, lifetime } = x as DriverState;
    if (typeof struct !== 'object' || struct === null || structById(struct.id) !== struct) bad(`${where}: struct: expected a struct made with defineStruct of this vmamirror`);
    if (struct.id < builtIn.structs && !SHARED_STRUCTS.includes(struct)) bad(`${where}: struct ${struct.name} is the package's own; define the driver's objects with defineStruct`);
    if (structByName(struct.name) !== struct) bad(`${where}: struct name "${struct.name}" is taken by another struct; choose another`);
    if (seen.has(struct)) bad(`${where}: struct ${struct.name} is listed twice`);
    seen.add(struct);
    for (const f of struct.fields) {
      const p = struct.protect[f];
      if (p === undefined)
        bad(`${where}: struct ${struct.name}: field ${f} declares no protection; say what protects it ('lock:driver', 'atomic', 'lockless', 'stable', 'private', …: docs/modelling.md)`);
      if (!PROTECTION.test(p)) bad(`${where}: struct ${struct.name}: field ${f}: unknown protection ${JSON.stringify(p)}`);
    }
    if (!Number.isSafeInteger(count) || count < 1) bad(`${where}: count: expected the number of ${struct.name} objects ${per} (at least 1)`);
    if (init !== undefined && typeof init !== 'function') bad(`${where}: init: expected a function that sets up the objects`);
    if (lifetime !== undefined) {
      if (!struct.fields.includes(lifetime) || struct.protect[lifetime] !== 'atomic')
        bad(`${where}: lifetime: expected the kref field of ${struct.name}, declared 'atomic', got ${JSON.stringify(lifetime)}`);
      declareLifetime(struct, lifetime);
    }
    return Object.freeze({ struct, count, ...(lifetime !== undefined && { lifetime }), ...(init && { init: (w: World, dev: number) => init(w, dev) }) });
  });
}

function checkProperties(at: string, properties: unknown, balanced: boolean, bad: Bad): Property[] {
  if (properties === undefined) return [];
  if (!Array.isArray(properties)) bad(`${at}: properties: expected a list of { name, description, check(w) }`);
  const taken = new Set([...new Verdicts(PROPERTIES).list().map((c) => c.name), ...(balanced ? [UNBALANCED] : [])]);
  return (properties as unknown[]).map((p, i) => {
    const where = `${at}: properties[${i}]`;
    if (typeof p !== 'object' || p === null) bad(`${where}: expected { name, description, check(w) }`);
    const { name, description, check } = p as Property;
    if (typeof name !== 'string' || !NAME.test(name)) bad(`${where}: name: expected lower-case letters, digits and dashes, got ${JSON.stringify(name)}`);
    if (taken.has(name)) bad(`${where}: name "${name}" is already a check's; choose another`);
    taken.add(name);
    if (typeof description !== 'string' || !description.trim()) bad(`${where} (${name}): description: expected one sentence saying what must hold`);
    if (typeof check !== 'function') bad(`${where} (${name}): check: expected a function (w) returning a message when the property fails, else undefined`);
    return Object.freeze({ name, description, check: (w: World) => check.call(p, w) });
  });
}

function checkBalanced(at: string, balanced: unknown, structs: readonly StructDef[], bad: Bad): Balanced[] {
  if (balanced === undefined) return [];
  if (!Array.isArray(balanced)) bad(`${at}: balanced: expected a list of { struct, field, why?, subscription? }`);
  return (balanced as unknown[]).map((b, i) => {
    const where = `${at}: balanced[${i}]`;
    if (typeof b !== 'object' || b === null) bad(`${where}: expected { struct, field, why?, subscription? }`);
    const { struct, field, why, subscription } = b as Balanced;
    if (!structs.includes(struct)) bad(`${where}: struct: expected one of the driver's state structs (${structs.map((s) => s.name).join(', ') || 'it declares none'})`);
    if (!struct.fields.includes(field)) bad(`${where}: field: struct ${struct.name} has no field ${JSON.stringify(field)} (fields: ${struct.fields.join(', ')})`);
    if (why !== undefined && typeof why !== 'string') bad(`${where}: why: expected what pairs the counter, as text`);
    if (subscription !== undefined && !struct.fields.includes(subscription)) {
      bad(`${where}: subscription: expected the field of ${struct.name} that refers to its mmu_notifier, got ${JSON.stringify(subscription)}`);
    }
    return Object.freeze({ struct, field, ...(why !== undefined && { why }), ...(subscription !== undefined && { subscription }) });
  });
}
