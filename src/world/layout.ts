/**
 * The flat layout of a world: every object of a scenario gets a fixed run of int32 slots in one
 * `Int32Array`. The layout is static for a scenario (it is not part of the state); the state is
 * only the array. Object identity is its index in its region, so two states are equal exactly
 * when their arrays are, whatever the order in which the objects were created or written.
 *
 * Slots 0 and 1 hold the fingerprint lanes (see hash.ts) and are excluded from equality.
 */

import type { Model } from './registry.js';
import { ModelError } from './errors.js';

/** First slot that holds model data; slots before it are the fingerprint lanes. */
export const DATA_START = 2;

/** The first data slot where two states of one layout differ, or -1 (the fingerprint lanes before DATA_START are not compared). */
export function firstDifference(x: Int32Array, y: Int32Array): number {
  for (let o = DATA_START; o < x.length; o++) if (x[o] !== y[o]) return o;
  return -1;
}

let nextStructId = 0;

/**
 * What protects a field — the rule every access must follow (checked by the lock-discipline work
 * on top of these declarations, and printed by `explain`):
 *   - `lock:NAME`  held by the accessing actor (`lock:mm.ptl`, `lock:mm.mmap_lock`, `lock:kvm.mmu_lock`);
 *   - `atomic`     an atomic or bit operation (refcounts, PG_locked), each access one step;
 *   - `lockless`   READ_ONCE/WRITE_ONCE by design (page contents, flags read racily and rechecked);
 *   - `rcu`        readers under (S)RCU, writers serialised otherwise;
 *   - `stable`     written only while the object is private to one actor (at creation), then read-only;
 *   - `private`    belongs to one actor (its task, an on-stack struct);
 *   - `lock-word:NAME`     the field is the owner word of a lock of class NAME (holds `w.self`);
 *   - `lock-readers:NAME`  the reader count of a reader/writer lock of class NAME;
 *   - `read-holds:NAME`    in a struct with one object per actor: how many locks of class NAME the
 *                          actor holds for read (reader counts do not name their readers);
 *   - `ghost`      model instrumentation the kernel does not have (allocation generations).
 * The lock discipline (discipline.ts) reads these: which accesses a step may combine, and which
 * locks an actor holds (the lock words of a class that name it).
 */
export type Protection = `lock:${string}` | `lock-word:${string}` | `lock-readers:${string}` | `read-holds:${string}` | 'lock-word' | 'atomic' | 'lockless' | 'rcu' | 'stable' | 'private' | 'ghost';

/** A kind of object: a fixed list of int32 fields, with what protects each. Defined once per module, used by any layout. */
export interface StructDef<F extends string = string> {
  readonly id: number;
  readonly name: string;
  readonly fields: readonly F[];
  /** What protects each field (product structs declare every field; test structs may omit it). */
  readonly protect: Readonly<Partial<Record<F, Protection>>>;
  /**
   * The fields are bits of ONE machine word (a pte: pfn, present, write… are one `pte_t`): reading
   * or writing several of them is one access for the lock discipline (discipline.ts). Ghost fields
   * are not part of the word.
   */
  readonly word: boolean;
  /** The fields that hold values of a counter domain (see `CounterDomain`), and which. */
  readonly counters: Readonly<Partial<Record<F, CounterDomain>>>;
  /**
   * Fields reached only through others: an access to the key reads the listed fields first (a
   * folio's reference count is found through the page's compound head). A declared footprint that
   * names the key is taken to name them as reads too.
   */
  readonly via: Readonly<Partial<Record<F, readonly F[]>>>;
}

/**
 * A domain of counter values — sequence numbers, generations — that only grow and are never looked
 * at for their size: the code that holds them copies them, writes 0 (none), adds or subtracts 1,
 * and compares them for equality and order, with 0, and (`parity`) tests their lowest bit. Nothing
 * else: no other constant, no sign, no width, no arithmetic beyond ±1. Every slot that may hold
 * such a value declares the domain (a struct field with `counters`, a routine local with its
 * routine's `counters`), so that an explorer may rename the values live in a state to the
 * smallest ones that keep all those comparisons (src/engine/counters.ts): an unbounded counter
 * then leaves finitely many states. A use outside that list (a sign test, a start value near a
 * wrap) makes the renaming unsound: such a scenario keeps the domain concrete (`concreteCounters`).
 */
export interface CounterDomain {
  readonly name: string;
  /** Whether the code tests the lowest bit (an odd sequence is an open epoch). */
  readonly parity: boolean;
  /** What the values count, for messages and `--help`. */
  readonly description: string;
}

/** Every counter domain defined in this process, by name. */
const counterDomains = new Map<string, CounterDomain>();

export function defineCounterDomain(name: string, description: string, opts: { readonly parity?: boolean } = {}): CounterDomain {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new ModelError(`counter domain "${name}": expected lower-case letters, digits and dashes`);
  if (counterDomains.has(name)) throw new ModelError(`counter domain ${name} defined twice`);
  const d: CounterDomain = { name, description, parity: opts.parity ?? false };
  counterDomains.set(name, d);
  return d;
}

/** The counter domains defined so far (the kernel's, KVM's, a driver's), in definition order. */
export function allCounterDomains(): readonly CounterDomain[] {
  return [...counterDomains.values()];
}

/**
 * A pool of interchangeable rows: the objects of one struct from `reserved` on (a swap slot, a page
 * frame), named by number wherever the model keeps one — in declared struct fields and in declared
 * routine locals, each with how it encodes the number. A row is free while its `free` field holds
 * `freeValue`; an allocator takes a free row. An explorer may renumber the rows (move each row's
 * fields, rewrite every name) to a canonical numbering (src/engine/symmetry.ts), which is exact
 * only while the model is symmetric in the rows: no code names a row by a constant, compares two
 * rows' numbers for order, or finds a row other than through a declared name — and, since the
 * model's allocators take the lowest free row, no allocation happens while a free row is still
 * named (the explorer checks this one on every transition).
 */
export interface RowDomain {
  readonly name: string;
  readonly description: string;
  readonly struct: StructDef;
  /** Rows below this are not in the pool (slot 0, the swap header; pfn 0, "no page"). */
  readonly reserved: number;
  readonly free: { readonly field: string; readonly value: number };
  /** Struct fields that hold a row's name. */
  readonly fields: readonly RowName[];
  /** Routine params and locals that hold a row's name, by routine and local name; a replacement routine inherits its original's by local name. */
  readonly locals: readonly RowLocal[];
}

/** How a slot holds a row's number: `index` the number itself, `ref` the number + 1 (src/kernel/ref.ts); values ≤ 0 name no row. */
export type RowEncoding = 'index' | 'ref';

export interface RowName {
  readonly struct: StructDef;
  readonly field: string;
  readonly encoding: RowEncoding;
}

export interface RowLocal {
  readonly routine: string;
  readonly local: string;
  readonly encoding: RowEncoding;
  /** The local holds a name only when this other local of the frame has one of the `mask` bits set (a tagged value). */
  readonly when?: { readonly local: string; readonly mask: number };
}

const rowDomains = new Map<string, RowDomain>();

export function defineRowDomain(d: RowDomain): RowDomain {
  if (rowDomains.has(d.name)) throw new ModelError(`row domain ${d.name} defined twice`);
  const fieldOf = (s: StructDef, f: string) => {
    if (!s.fields.includes(f)) throw new ModelError(`row domain ${d.name}: struct ${s.name} has no field ${f}`);
  };
  fieldOf(d.struct, d.free.field);
  for (const n of d.fields) fieldOf(n.struct, n.field);
  // A stored 0 names no row: an `index` name of a pool that starts at row 0 could never name it.
  const index = [...d.fields, ...d.locals].find((n) => n.encoding === 'index');
  if (d.reserved < 1 && index)
    throw new ModelError(
      `row domain ${d.name}: ${'struct' in index ? `${index.struct.name}.${index.field}` : `${index.routine}.${index.local}`} names rows by index, but row 0 is in the pool (reserved ${d.reserved}) and a stored 0 names no row; reserve row 0 or encode the name as ref (the number + 1)`,
    );
  rowDomains.set(d.name, d);
  return d;
}

/** The row domains defined so far, in definition order. */
export function allRowDomains(): readonly RowDomain[] {
  return [...rowDomains.values()];
}

/**
 * Where a model keeps actor numbers besides the actors' own slots and call frames, so that an
 * explorer may permute interchangeable actors (a scenario's `symmetric:` groups; src/engine/
 * actor-symmetry.ts): rows of a struct kept per actor (an actor's vCPU, its struct hmm_range),
 * which move with their actor, and struct fields and routine locals that hold an actor's number,
 * which are rewritten. The fields of the layout that hold `w.self` are declared by their
 * protection already (`lock-word`: the number + 1), and a struct with a `read-holds` field has one
 * object per actor: neither is repeated here. The permutation is exact only while no code finds
 * an actor other than through these names, or compares two actors' numbers for order: what the
 * explorer cannot see is checked by the tests that compare the symmetric search with the concrete
 * one (test/engine/actor-symmetry.test.ts).
 */
export interface ActorNames {
  readonly name: string;
  /** Structs with one object per actor, in actor order (an actor's struct hmm_range, on its stack). */
  readonly rows?: readonly StructDef[];
  readonly fields?: readonly ActorField[];
  readonly locals?: readonly ActorLocal[];
}

/** How a slot holds actor numbers: `index` the number, `ref` the number + 1 (`w.self`; ≤ 0 none), `bits` bit a set for actor a. */
export type ActorEncoding = 'index' | 'ref' | 'bits';

export interface ActorField {
  readonly struct: StructDef;
  readonly field: string;
  readonly encoding: ActorEncoding;
}

export interface ActorLocal {
  readonly routine: string;
  readonly local: string;
  readonly encoding: ActorEncoding;
  /** The local holds a name only when this other local of the frame holds `value` (a parameter with two forms). */
  readonly when?: { readonly local: string; readonly value: number };
  /** The local holds no name while its frame is about to run this step, the one that sets it (until then it is 0, which is no actor). */
  readonly setBy?: string;
}

const actorNames = new Map<string, ActorNames>();

export function defineActorNames(d: ActorNames): ActorNames {
  if (actorNames.has(d.name)) throw new ModelError(`actor names ${d.name} defined twice`);
  for (const f of d.fields ?? []) if (!f.struct.fields.includes(f.field)) throw new ModelError(`actor names ${d.name}: struct ${f.struct.name} has no field ${f.field}`);
  actorNames.set(d.name, d);
  return d;
}

/** The actor names declared so far, in definition order. */
export function allActorNames(): readonly ActorNames[] {
  return [...actorNames.values()];
}

export function defineStruct<const F extends string>(
  name: string,
  fields: readonly F[],
  protect: Readonly<Partial<Record<F, Protection>>> = {} as Partial<Record<F, Protection>>,
  opts: { readonly word?: boolean; readonly counters?: Readonly<Partial<Record<F, CounterDomain>>>; readonly via?: Readonly<Partial<Record<F, readonly F[]>>> } = {},
): StructDef<F> {
  for (const f of Object.keys(protect)) {
    if (!fields.includes(f as F)) throw new ModelError(`struct ${name}: protection for ${f}, which is not a field`);
  }
  const counters = opts.counters ?? ({} as Partial<Record<F, CounterDomain>>);
  for (const f of Object.keys(counters)) {
    if (!fields.includes(f as F)) throw new ModelError(`struct ${name}: counter domain for ${f}, which is not a field`);
  }
  const via = opts.via ?? ({} as Partial<Record<F, readonly F[]>>);
  for (const [f, through] of Object.entries(via) as [string, readonly F[]][]) {
    if (!fields.includes(f as F) || through.some((t) => !fields.includes(t))) throw new ModelError(`struct ${name}: via for ${f} names a field the struct lacks`);
  }
  const def: StructDef<F> = { id: nextStructId++, name, fields, protect, word: opts.word ?? false, counters, via };
  structs.push(def);
  return def;
}

/** Every struct defined in this process, by id: only to name fields in messages and records. */
const structs: StructDef[] = [];

export function structById(id: number): StructDef | undefined {
  return structs[id];
}

export function structByName(name: string): StructDef | undefined {
  return structs.find((d) => d.name === name);
}

/** One region: `count` objects of one struct, laid out back to back from `base`. */
export interface Region {
  readonly def: StructDef;
  readonly count: number;
  readonly base: number;
  readonly stride: number;
  /** Optional human names of the objects (e.g. mm names), used by dumps and traces. */
  readonly names: readonly string[] | undefined;
}

/**
 * What an actor is for the termination check (src/engine/termination.ts):
 *   - `adversary`: core-mm operations (reclaim, migration, munmap, fork, exit...): they run a finite
 *     program and may keep invalidating what the others do while they run;
 *   - `client`: must complete (a fault, an ioctl, a device access) once the adversaries have stopped;
 *   - `daemon`: loops for ever (a vCPU, a worker); never expected to finish.
 */
export type ActorRole = 'adversary' | 'client' | 'daemon';

/** Per-actor slots besides the stack: [sp, nonblock depth, result of the bottom frame]. */
export const ACTOR_SP = 0;
export const ACTOR_NONBLOCK = 1;
export const ACTOR_RESULT = 2;
export const ACTOR_SLOTS = 3;

/** Call frames of actors: a fixed-depth stack per actor, each frame [routine+1, pc, result, locals…]. */
export const CALL_ROUTINE = 0;
export const CALL_PC = 1;
export const CALL_RESULT = 2;
export const CALL_LOCALS = 3;

export class Layout {
  readonly regions: Region[] = [];
  /** Static sizes layers need to index their objects (e.g. pages per mm); not part of the state. */
  readonly dims: Record<string, number> = Object.create(null);
  /** Static program data of a scenario (e.g. each actor's list of operations); never part of the state. */
  readonly statics: Record<string, unknown> = Object.create(null);
  private readonly byStruct = new Map<number, Region>();
  /** The routines this layout's worlds run (set, and the layout sealed, by `addStacks`). */
  model: Model | undefined;
  /** Number of actors, their names, stack depth and locals per frame. */
  actorNames: readonly string[] = [];
  /** Each actor's role (default: every actor a client). */
  roles: readonly ActorRole[] = [];
  stackDepth = 0;
  maxLocals = 0;
  callStride = 0;
  callBase = 0;
  /** Per actor ACTOR_SLOTS slots: [sp, nonblock, result] (see World). */
  actorBase = 0;
  size = DATA_START;
  private sealed = false;

  /** Adds a region of `count` objects of `def`; a struct may have one region per layout. */
  add(def: StructDef, count: number, names?: readonly string[]): Region {
    if (this.sealed) throw new ModelError(`layout is sealed; cannot add region ${def.name}`);
    if (this.byStruct.has(def.id)) throw new ModelError(`layout already has a region for struct ${def.name}`);
    if (names && names.length !== count) throw new ModelError(`region ${def.name}: ${names.length} names for ${count} objects`);
    const region: Region = { def, count, base: this.size, stride: def.fields.length, names };
    this.size += count * def.fields.length;
    this.regions.push(region);
    this.byStruct.set(def.id, region);
    return region;
  }

  /**
   * Adds the actors' call stacks and seals the layout with the model whose routines its worlds
   * run: every frame has room for the locals of the model's largest routine.
   */
  addStacks(actorNames: readonly string[], stackDepth: number, model: Model, roles?: readonly ActorRole[]): void {
    if (this.sealed) throw new ModelError('layout is sealed');
    if (roles && roles.length !== actorNames.length) throw new ModelError(`${roles.length} roles for ${actorNames.length} actors`);
    this.model = model;
    this.actorNames = actorNames;
    this.roles = roles ?? actorNames.map(() => 'client');
    this.stackDepth = stackDepth;
    this.maxLocals = model.maxLocals;
    this.callStride = CALL_LOCALS + model.maxLocals;
    this.actorBase = this.size;
    this.size += actorNames.length * ACTOR_SLOTS;
    this.callBase = this.size;
    this.size += actorNames.length * stackDepth * this.callStride;
    this.sealed = true;
  }

  region(def: StructDef): Region {
    const r = this.byStruct.get(def.id);
    if (!r) throw new ModelError(`layout has no region for struct ${def.name}`);
    return r;
  }

  has(def: StructDef): boolean {
    return this.byStruct.has(def.id);
  }

  /** Slot of field `field` of object `index` of struct `def`. */
  slot(def: StructDef, index: number, field: string): number {
    const r = this.region(def);
    const k = def.fields.indexOf(field);
    if (k < 0) throw new ModelError(`struct ${def.name} has no field ${field}`);
    if (index < 0 || index >= r.count) throw new ModelError(`${def.name}[${index}] out of range (0..${r.count - 1})`);
    return r.base + index * r.stride + k;
  }

  /** First of actor `a`'s own slots (index with ACTOR_SP, ACTOR_NONBLOCK, ACTOR_RESULT). */
  actorSlot(a: number): number {
    return this.actorBase + a * ACTOR_SLOTS;
  }

  /** Base slot of the call frame at `depth` of actor `actor`. */
  callSlot(actor: number, depth: number): number {
    return this.callBase + (actor * this.stackDepth + depth) * this.callStride;
  }

  /** Which object and field a slot belongs to, for traces; stack slots are described by the world. */
  describe(o: number): { region: Region; index: number; field: string } | undefined {
    for (const r of this.regions) {
      if (o >= r.base && o < r.base + r.count * r.stride) {
        const rel = o - r.base;
        const index = Math.floor(rel / r.stride);
        return { region: r, index, field: r.def.fields[rel % r.stride] };
      }
    }
    return undefined;
  }

  objectName(r: Region, index: number): string {
    return r.names ? r.names[index] : String(index);
  }
}
