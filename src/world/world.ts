/**
 * The world: the handle through which steps read and write the state.
 *
 * The *state* is only `v`, an Int32Array laid out by a static `Layout` (plain data: cloning is
 * `slice`, equality is element-wise, the fingerprint sits in slots 0–1 and is updated on every
 * write). The World object around it holds nothing that belongs to the state: the layout, reusable
 * views, which actor is running, and an optional journal of writes for traces.
 */
import { hasLayer } from './layers.js';
import { zHi, zLo } from './hash.js';
import { ACTOR_NONBLOCK, ACTOR_RESULT, ACTOR_SLOTS, ACTOR_SP, CALL_LOCALS, CALL_PC, CALL_RESULT, CALL_ROUTINE, DATA_START, type Layout, type StructDef } from './layout.js';
import { CALLED, RETURNED, type AnyRoutine } from './routine.js';
import type { Model } from './registry.js';
import { processRecorder } from './footprint-recorder.js';
import {
  accessMask,
  compileFootprint,
  fieldIndex,
  fieldName,
  MAY_READ,
  MAY_WRITE,
  observedOf,
  slotFieldKeys,
  type CompiledFootprint,
  type FieldIndex,
  type FootprintRecord,
  type Observed,
} from './footprint.js';
import { ModelError, ScheduleError } from './errors.js';
import { FREE, GUARDED, Protections, StepDiscipline, withinClasses } from './discipline.js';
import type { Mutation } from './mutation.js';
import type { LockOrder } from './lock-order.js';

/** One step's lock-discipline rules, compiled for a layout (World.beginAudit). */
interface StepRules {
  readonly within: number[];
  readonly lockless: ReadonlySet<number>;
  /** Kernel code: an unguarded access is a model error, not the code's bug. */
  readonly strict: boolean;
  /**
   * The step is the hardware's (cited `hw: …`): its `lockless` fields may also be written without
   * their lock, as the MMU sets a pte's accessed and dirty bits with a locked read-modify-write of
   * the entry, which software under the lock sees before or after (ptep_get_and_clear is atomic).
   */
  readonly hardware: boolean;
  /** Its compiled footprint and slot table, once the step has been audited against them (`compiledOf`; not while only recording). */
  audit: StepAudit | undefined;
}

/** An audited step's compiled footprint (undefined where its library declares none) and its slot table (built from the footprint's mask over field numbers). */
interface StepAudit {
  readonly fp: CompiledFootprint | undefined;
  readonly slots: Uint8Array;
}

/** Bits of `World.watch`. */
const WATCH_TRACK = 1;
const WATCH_AUDIT = 2;
/** A property declaring its reads (a local assertion) is being checked against them. */
const WATCH_PROPERTY = 4;

/**
 * Bits of an audited step's per-slot table (`World.auditSlots`, built by `slotTable`). Most
 * accesses are permitted and cost the lock discipline nothing: their bit is clear, and the access
 * is audited with one byte test.
 */
/** A read of the slot takes the audit's slow path: its footprint does not declare the field, or the lock discipline looks at it. */
const SLOW_READ = 1;
const SLOW_WRITE = 2;
/** The slot is guarded by a lock class (discipline.ts GUARDED) and the step may read it: nothing to check while the actor is known to hold the class. */
const GUARDED_READ = 4;
const GUARDED_WRITE = 8;
/** The step's declared footprint does not allow the access (set only with SLOW_READ / SLOW_WRITE): `auditAccess` refuses it without looking the field up in the mask. */
const DENIED_READ = 16;
const DENIED_WRITE = 32;

/** Fields of every actor (thread) besides its call stack. */
export interface ActorFields {
  /** Number of frames on the stack; 0 when the actor has finished. */
  sp: number;
  /** Depth of non-blockable context (e.g. inside a nonblock invalidate_range_start); sleeping there is a bug. */
  nonblock: number;
}

/** A typed view of one object: its fields as numeric properties over the world's current state. */
export type View<F extends string> = { [K in F]: number } & { readonly $index: number };

export class World {
  v: Int32Array;
  /** Index of the actor whose step is running. */
  actor = -1;
  /** Routine of the frame whose step is running (resolves resume labels of `call`), and the step's index in it. */
  private current: AnyRoutine | undefined;
  /** The label index of the running step in `current`. */
  private pc = -1;
  /**
   * Mutation testing (mutation.ts): the plan of a mutant run, set by the scenario builder; null in
   * normal runs. Not state: what a mutant must remember across steps is in ghost fields.
   */
  mutation: Mutation | null = null;
  /** The routine whose step is running (undefined before the first step). */
  get running(): AnyRoutine | undefined {
    return this.current;
  }
  /** `routine:label` of the running step, '' before the first (builds a string: for hooks and messages, not hot paths). */
  get site(): string {
    return this.current ? this.current.where(this.pc) : '';
  }
  /**
   * The lock-order graph of the exploration (lock-order.ts), null when not recorded: an
   * observation of the run beside the state, never part of it. The model's lock primitives
   * record into it; the hot path pays one test of this field.
   */
  lockOrder: LockOrder | null = null;
  /**
   * Set by a step that makes a blocking lock acquire (locks.ts), taken or not; the explorer clears
   * it before a step and reads it after. The kernel's locks serve their waiters fairly (queued
   * spinlocks and rwlocks, the handoff of mutexes, rwsems and the folio lock), so the termination
   * check treats such a step under strong fairness: an actor that can take the lock again and
   * again must eventually take it (termination.ts). Not state: an observation of the step.
   */
  fairAcquire = false;
  /** When non-null, every write appends (slot, old, new). */
  journal: number[] | null = null;
  /**
   * Undo log (the explorer's): while `undoing`, every write pushes (slot, old value), so a step can
   * be taken back with `undoTo(mark)` instead of copying whole states around.
   */
  undoing = false;
  private undoLog = new Int32Array(1 << 12);
  private undoTop = 0;
  /**
   * Footprint tracking (the explorer's step merging): while `tracking`, any read or write of a slot
   * outside the running actor's own call frames and actor slots sets `touchedShared`.
   */
  get tracking(): boolean {
    return (this.watch & WATCH_TRACK) !== 0;
  }
  set tracking(on: boolean) {
    this.watch = on ? this.watch | WATCH_TRACK : this.watch & ~WATCH_TRACK;
  }
  touchedShared = false;
  /**
   * `tracking` and `auditing` as bits of one field: every field access (`get`, `set`, the views'
   * accessors) tests this one word, and only when it is non-zero takes the slow path (`watched`).
   */
  watch = 0;
  private ownLo = 0;
  private ownHi = 0;
  private ownActorSlot = 0;
  /**
   * Branching inside a step (`choose`): the alternative the running step is to take, set by the
   * driver before the step (the explorer tries each), or drawn by `chooser` when one is set (a
   * random walk). After the step, `choices` is how many alternatives it offered (0: it did not
   * branch) and `chosen` the one it took.
   */
  choice = 0;
  chooser: ((n: number) => number) | null = null;
  choices = 0;
  chosen = 0;
  /** Set by a step that takes a retry edge with `w.retry(label)`: it waits for another actor (a yield). */
  yielded = false;
  /**
   * Audit: while `audit` (or `recorder`) is set, every step is checked against the lock
   * discipline (discipline.ts: at most one unprotected shared access per step; a kernel step
   * reads a lock-protected field without its lock only where it declares it `lockless`), and every
   * step of a routine whose library declares footprints against its declaration (footprint.ts);
   * while `recorder` is set, what every step does is recorded. `auditing` is on only inside a step.
   */
  audit = false;
  recorder: FootprintRecord | null = null;
  get auditing(): boolean {
    return (this.watch & WATCH_AUDIT) !== 0;
  }
  set auditing(on: boolean) {
    this.watch = on ? this.watch | WATCH_AUDIT : this.watch & ~WATCH_AUDIT;
  }
  /** Whether audited steps are also held to the lock discipline (discipline.ts). */
  lockDiscipline = true;
  /** Whether the running step is held to it: audited (not only recorded), with the discipline on. */
  private disciplineOn = false;
  private auditFp: CompiledFootprint | undefined;
  private auditSeen: Observed | undefined;
  private slotKeys: Int32Array | undefined;
  private fields: FieldIndex | undefined;
  /** The audited step's per-slot table (`SLOW_*`, `GUARDED_*` bits, one byte per slot of the layout). */
  private auditSlots: Uint8Array = new Uint8Array(0);
  /** Slot tables by the footprint mask they were built from ('' for a step that declares none): steps with one footprint share one. */
  private readonly slotTables = new Map<string, Uint8Array>();
  private prot: Protections | undefined;
  private discipline: StepDiscipline | undefined;
  /** `routine:label` of the audited step (the running one, `site`), for messages. */
  private get stepWhere(): string {
    return this.site || '?';
  }
  /** The audited step: its key (routine id * 256 + pc), whether it is kernel code (strict), its declared lockless fields. */
  private stepKey = 0;
  private stepStrict = false;
  private stepLockless: ReadonlySet<number> = new Set();
  private stepHardware = false;
  /** Per routine id: each step's rules (arrays by id, not Maps: looked up at every audited step). */
  private readonly stepRules: StepRules[][] = [];
  /** Kernel BUGs (model assertions) raised by the running step. */
  bugs: string[] = [];
  /** Whether a step is running (set by the runner around `run`): `objChecks` apply only then. */
  stepping = false;
  /**
   * Per struct id, what to check when a running step takes a view of one of its objects, e.g. that
   * the object has not been freed (src/kernel/lifetime.ts). Not state; properties are not steps.
   */
  readonly objChecks: (((w: World, index: number) => void) | undefined)[] = [];
  /** Per struct id, one persistent view per object. */
  private readonly views: View<string>[][] = [];

  /** The sealed registry of the routines this world runs (the layout's). */
  readonly model: Model;

  constructor(readonly layout: Layout) {
    if (!layout.model) throw new ModelError('the layout has no stacks yet: call addStacks (which seals it with its model) before building a world');
    this.model = layout.model;
    this.recorder = processRecorder;
    this.v = new Int32Array(layout.size);
    for (const r of layout.regions) {
      const proto = viewPrototype(r.def);
      const list: View<string>[] = [];
      for (let i = 0; i < r.count; i++) {
        const view = Object.create(proto) as { $w: World; $b: number; $index: number };
        view.$w = this;
        view.$b = r.base + i * r.stride;
        view.$index = i;
        list.push(view as unknown as View<string>);
      }
      this.views[r.def.id] = list;
    }
  }

  get(o: number): number {
    if (this.watch !== 0) this.watched(o, false, 0);
    return this.v[o];
  }

  /** The slow path of an access while tracking or auditing: `x` is the value a write stores. */
  watched(o: number, write: boolean, x: number): void {
    if ((this.watch & WATCH_TRACK) !== 0) this.noteAccess(o);
    // Most accesses: permitted, and nothing for the lock discipline (one byte, see `slotTable`).
    if ((this.watch & WATCH_AUDIT) !== 0 && (this.auditSlots[o] & (write ? SLOW_WRITE : SLOW_READ)) !== 0) this.auditAccess(o, write, x);
    if ((this.watch & WATCH_PROPERTY) !== 0 && this.propertyStray < 0 && (write || this.propertyReads![o] === 0)) this.propertyStray = o;
  }

  private propertyReads: Uint8Array | undefined;
  private propertyStray = -1;

  /**
   * Checks a property's reads against its declaration (verdict.ts `Property.reads`) until
   * `endPropertyAudit`: `allowed` is 1 for every slot it may read; it may write nothing.
   */
  beginPropertyAudit(allowed: Uint8Array): void {
    this.propertyReads = allowed;
    this.propertyStray = -1;
    this.watch |= WATCH_PROPERTY;
  }

  /** Ends `beginPropertyAudit`: the first slot the property read (or wrote) outside its declaration, or -1. */
  endPropertyAudit(): number {
    this.watch &= ~WATCH_PROPERTY;
    this.propertyReads = undefined;
    return this.propertyStray;
  }

  /** Starts tracking whether the next steps of actor `a` touch anything but its own frames. */
  trackActor(a: number): void {
    const L = this.layout;
    this.ownLo = L.callSlot(a, 0);
    this.ownHi = this.ownLo + L.stackDepth * L.callStride;
    this.ownActorSlot = L.actorSlot(a);
    this.touchedShared = false;
    this.tracking = true;
  }

  noteAccess(o: number): void {
    if ((o < this.ownLo || o >= this.ownHi) && (o < this.ownActorSlot || o >= this.ownActorSlot + ACTOR_SLOTS)) this.touchedShared = true;
  }

  /** Writes slot `o`, keeping the fingerprint up to date. */
  set(o: number, x: number): void {
    const v = this.v;
    if (this.watch !== 0) this.watched(o, true, x);
    const old = v[o];
    if (old === x) return;
    x |= 0;
    if (this.undoing) this.pushUndo(o, old);
    v[o] = x;
    let lo = v[0];
    let hi = v[1];
    if (old !== 0) {
      lo ^= zLo(o, old);
      hi ^= zHi(o, old);
    }
    if (x !== 0) {
      lo ^= zLo(o, x);
      hi ^= zHi(o, x);
    }
    v[0] = lo;
    v[1] = hi;
    if (this.journal) this.journal.push(o, old, x);
  }

  private pushUndo(o: number, old: number): void {
    if (this.undoTop + 2 > this.undoLog.length) {
      const b = new Int32Array(this.undoLog.length * 2);
      b.set(this.undoLog);
      this.undoLog = b;
    }
    this.undoLog[this.undoTop++] = o;
    this.undoLog[this.undoTop++] = old;
  }

  /** A position in the undo log to come back to; the fingerprint lanes are saved with it. */
  undoMark(): number {
    const m = this.undoTop;
    this.pushUndo(0, this.v[0]);
    this.pushUndo(1, this.v[1]);
    return m;
  }

  /**
   * The OR of `mask` over the slots written since `mark` (the undo log's entries): for a transition
   * just taken, which local assertions it may have changed (verdict.ts `Verdicts.stateSince`).
   */
  writtenSince(mark: number, mask: Uint32Array): number {
    const log = this.undoLog;
    let bits = 0;
    for (let i = mark; i < this.undoTop; i += 2) bits |= mask[log[i]];
    return bits;
  }

  /** The undo log's entries, (slot, old value) pairs up to `undoLength`: which slots were written since a mark (the frontier's differences, bfs.ts). */
  get undoEntries(): Int32Array {
    return this.undoLog;
  }
  get undoLength(): number {
    return this.undoTop;
  }

  /** Forgets the undo log (nothing is taken back). */
  undoReset(): void {
    this.undoTop = 0;
  }

  /** Takes back every write since `mark` (fingerprint lanes included: they are slots 0–1). */
  undoTo(mark: number): void {
    const v = this.v;
    const log = this.undoLog;
    for (let i = this.undoTop - 2; i >= mark; i -= 2) v[log[i]] = log[i + 1];
    this.undoTop = mark;
  }

  /** The view of object `index` of struct `def`. */
  obj<F extends string>(def: StructDef<F>, index: number): View<F> {
    const list = this.views[def.id];
    if (!list) throw new ModelError(`world has no ${def.name} objects`);
    const view = list[index];
    if (!view) throw new ModelError(`${def.name}[${index}] does not exist (have ${list.length})`);
    if (this.objChecks.length !== 0 && this.stepping) this.objChecks[def.id]?.(this, index); // empty unless a struct has a lifetime
    return view as View<F>;
  }

  count(def: StructDef): number {
    return this.views[def.id]?.length ?? 0;
  }

  /**
   * A nondeterministic branch of the running step: returns which of `n` alternatives it takes
   * (0 is the default path: no fault injected). One `choose` per step; the driver explores every
   * alternative (exhaustive search), draws one (random walks) or follows the schedule (replay).
   * Reads nothing and writes nothing: the branch is part of the step, not of the state.
   */
  choose(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new ModelError(`choose(${n}): expected a positive number of alternatives`);
    if (this.choices !== 0) throw new ModelError('a step may branch (choose) only once; put a step boundary between two fault points');
    this.choices = n;
    const c = this.chooser ? this.chooser(n) : this.choice;
    if (c >= n) throw new ScheduleError(`choice ${c} out of range: the step offers ${n} alternatives`);
    this.chosen = c;
    return c;
  }

  /** Goes back to `label` on a retry edge, marking the step as a yield (it waits for another actor). Use as `return w.retry('again')`. */
  retry(label: string): string {
    this.yielded = true;
    return label;
  }

  // ---- footprint audit (footprint.ts) ----

  /** The lock-discipline tables of this world's layout (built on first use). */
  get protections(): Protections {
    this.prot ??= new Protections(this.layout);
    return this.prot;
  }

  /** Starts auditing the step at `pc` of `routine` (the runner calls it when `audit` or `recorder` is set). */
  beginAudit(routine: AnyRoutine, pc: number): void {
    const id = this.routineId(routine);
    const rules = (this.stepRules[id] ?? this.firstAudit(routine, id))[pc];
    this.discipline!.begin(rules.within);
    this.stepKey = id * 256 + pc;
    this.stepStrict = rules.strict;
    this.stepLockless = rules.lockless;
    this.stepHardware = rules.hardware;
    // Recording footprints alone (npm run footprints, with the step not audited) changes nothing else.
    this.disciplineOn = this.lockDiscipline && this.audit;
    this.auditing = true;
    if (this.recorder) {
      // Recording (re)writes the declarations: it does not check against the old ones.
      this.auditFp = undefined;
      this.auditSeen = this.observedStep(routine, pc);
      // Every access takes the slow path, which records it.
      this.auditSlots = this.slotTable(new Uint8Array(0));
      return;
    }
    const step = rules.audit ?? this.compiledOf(routine, id)[pc];
    this.auditFp = step.fp;
    this.auditSlots = step.slots;
    this.auditSeen = undefined;
  }

  /** The tables of the first audited step of `routine` (and of this world): its steps' rules. */
  private firstAudit(routine: AnyRoutine, id: number): StepRules[] {
    this.slotKeys ??= slotFieldKeys(this.layout);
    this.discipline ??= new StepDiscipline(this.protections);
    const rules = this.stepRulesOf(routine);
    this.stepRules[id] = rules;
    return rules;
  }

  /**
   * Each step's declared footprint of `routine`, compiled for this layout (undefined where its
   * library declares none), and its slot table; kept in the steps' rules (`StepRules.audit`).
   */
  private compiledOf(routine: AnyRoutine, id: number): StepAudit[] {
    this.fields ??= fieldIndex(this.layout);
    const fields = this.fields;
    const declared = routine.library.footprints;
    const table = routine.labels.map((label): StepAudit => {
      const where = `${routine.name}:${label}`;
      const fp = declared?.[where];
      if (!fp) return { fp: undefined, slots: this.slotTable(undefined) };
      const compiled = compileFootprint(this.layout, where, fp);
      return { fp: compiled, slots: this.slotTable(accessMask(compiled, fields)) };
    });
    if (declared) {
      const missing = routine.labels.filter((_, i) => !table[i].fp);
      if (missing.length) throw new ModelError(`library ${routine.library.name} declares footprints but not for ${missing.map((l) => `${routine.name}:${l}`).join(', ')}`);
    }
    const rules = this.stepRules[id];
    for (let pc = 0; pc < table.length; pc++) rules[pc].audit = table[pc];
    return table;
  }

  /**
   * The slot table of a step whose footprint compiles to `mask` (undefined: it declares none, so
   * any field may be accessed). An empty mask sends every access to the slow path (the recorder's,
   * which records them). A clear SLOW bit says exactly when `auditAccess` would do nothing: a call
   * frame or actor slot (field key 0), or a field the step may access that costs the lock
   * discipline nothing and says nothing about who holds a lock.
   */
  private slotTable(mask: Uint8Array | undefined): Uint8Array {
    const id = mask ? (mask.length === 0 ? 'none' : mask.join()) : '';
    let t = this.slotTables.get(id);
    if (t) return t;
    const keys = this.slotKeys!;
    this.fields ??= fieldIndex(this.layout);
    const ofSlot = this.fields.ofSlot;
    const prot = this.protections;
    t = new Uint8Array(this.layout.size);
    if (mask?.length === 0) t.fill(SLOW_READ | SLOW_WRITE);
    else {
      for (let o = 0; o < t.length; o++) {
        if (keys[o] === 0) continue;
        const m = mask ? mask[ofSlot[o]] : MAY_READ | MAY_WRITE;
        const locks = prot.cost[o] !== FREE || prot.tellsHolder[o] === 1;
        const guarded = prot.cost[o] === GUARDED;
        const read = (m & MAY_READ) !== 0;
        const write = (m & MAY_WRITE) !== 0;
        t[o] =
          (!read || locks ? SLOW_READ : 0) |
          (!write || locks ? SLOW_WRITE : 0) |
          (guarded && read ? GUARDED_READ : 0) |
          (guarded && write ? GUARDED_WRITE : 0) |
          (read ? 0 : DENIED_READ) |
          (write ? 0 : DENIED_WRITE);
      }
    }
    this.slotTables.set(id, t);
    return t;
  }

  /** Each step's `within` lock classes and `lockless` field keys, compiled for this layout. */
  private stepRulesOf(routine: AnyRoutine): StepRules[] {
    const strict = routine.library.cites?.kind === 'kernel';
    return routine.steps.map((step, pc) => {
      const where = routine.where(pc);
      return {
        within: withinClasses(this.protections, where, step.within),
        lockless: compileFootprint(this.layout, where, { reads: step.lockless }).reads as Set<number>,
        strict,
        hardware: step.at.startsWith('hw:'),
        audit: undefined,
      };
    });
  }

  private readonly observed = new Map<AnyRoutine, Observed[]>();

  /** The recorder's entry for one step (cached: recording runs inside whole explorations). */
  private observedStep(routine: AnyRoutine, pc: number): Observed {
    let list = this.observed.get(routine);
    if (!list) {
      list = routine.labels.map((label) => observedOf(this.recorder!, routine.library.name, `${routine.name}:${label}`));
      this.observed.set(routine, list);
    }
    return list[pc];
  }

  /** Ends the audited step; `blocked`: it returned BLOCK_SLEEP or BLOCK_SPIN. */
  endAudit(blocked: boolean): void {
    if (!this.auditing) return;
    if (this.disciplineOn) {
      const d = this.discipline!;
      const bad = d.end();
      // A step that raised a BUG is a finding already (a failed lockdep assertion: its caller broke the rule).
      // A blocked attempt changed nothing, so reading several words to decide to wait is no
      // atomicity it relies on (spin_lock(dst); spin_lock_nested(src) finding src held).
      if (bad >= 0 && this.bugs.length === 0 && !blocked) this.disciplineError(bad, d.offender);
      // (A blocked attempt changed nothing: its lock test is no access a proof relies on.)
      if (d.unprotected >= 0 && !blocked) this.noteAssumed(d.unprotected);
    }
    this.auditing = false;
    if (!blocked) return;
    if (this.auditSeen) this.auditSeen.blocks = true;
    if (this.auditFp && !this.auditFp.declared.blocks) throw new ModelError(`${this.auditFp.where} blocks, which its footprint does not declare (blocks: true)`);
  }

  /** Checks (and records) one access of slot `o` by the audited step (the slow path: `watched` answers the common case). */
  private auditAccess(o: number, write: boolean, x: number): void {
    // Most of the rest: a field the step may access, guarded by a lock class the step already found
    // the actor holds (the answer stands until a lock word is written): nothing to check either.
    const bits = this.auditSlots[o];
    if ((bits & (write ? GUARDED_WRITE : GUARDED_READ)) !== 0 && this.discipline!.knownHeld(this.prot!.classOf[o])) return;
    const key = this.slotKeys![o];
    if (key === 0) return; // call frames and actor slots: the step's own, or a frame it pushes or pops
    if (this.disciplineOn) this.disciplineAccess(o, key, write, x);
    if (this.auditSeen) (write ? this.auditSeen.writes : this.auditSeen.reads).add(key);
    if ((bits & (write ? DENIED_WRITE : DENIED_READ)) !== 0) {
      const fp = this.auditFp!;
      this.auditing = false;
      throw new ModelError(
        `${fp.where} ${write ? 'writes' : 'reads'} ${fieldName(key)}, which its footprint does not declare (${write ? 'writes' : 'reads'}: ${(write ? fp.declared.writes : fp.declared.reads)?.join(', ') || 'none'})`,
      );
    }
  }

  /** The lock discipline of one access (discipline.ts); `x` is the value a write stores. */
  private disciplineAccess(o: number, key: number, write: boolean, x: number): void {
    const d = this.discipline!;
    const prot = d.prot;
    if (write && prot.tellsHolder[o] === 1) d.lockWritten();
    // Stable, private and ghost fields cost nothing (most accesses): no lock to look for.
    if (prot.cost[o] === FREE) return;
    const unguarded = d.unguarded(this.v, this.self, o);
    // Reads inside w.single / w.readOnce are lockless by declaration.
    if (unguarded && (write ? !(this.stepHardware && this.stepLockless.has(key)) : !(this.stepLockless.has(key) || d.declaredLockless))) {
      const c = prot.classes[prot.classOf[o]];
      const what = `${this.stepWhere} ${write ? 'writes' : 'reads'} ${this.slotName(o)} (protected by ${c}) without holding ${c}`;
      if (!this.stepStrict) {
        // Driver code: not the model's fault but the driver's bug — a data race (KCSAN would see
        // it), which voids every other step's atomicity that relied on that lock. Once a step.
        if (!this.bugs.some((b) => b.startsWith(this.stepWhere))) this.bug(`${what}: a data race (if it is a READ_ONCE re-checked later, declare it on the step: lockless: ['${fieldName(key)}'])`);
      } else if (this.bugs.length === 0) {
        // (After a failed lockdep assertion the caller broke the rule, and the BUG says so.)
        this.auditing = false;
        throw new ModelError(what + (write ? '' : `; if the C reads it with READ_ONCE and re-checks it later, declare it on the step (lockless: ['${fieldName(key)}'])`));
      }
    }
    // A field whose lock the actor holds commutes: nothing to record (`access` would return at once).
    if (unguarded || prot.cost[o] !== GUARDED) d.access(this.v, this.self, o, write, x, unguarded);
  }

  private disciplineError(first: number, then: number): never {
    const d = this.discipline!;
    this.auditing = false;
    const what = (o: number) => `${this.slotName(o)} (${d.prot.declared[o] ?? 'undeclared'})`;
    throw new ModelError(
      `${this.stepWhere} is not one atomic action: ${d.problem} in one step (${what(first)}${then !== first ? `, then ${what(then)}` : ''}) with no lock held that excludes the others — ` +
        'another CPU can run between them in the kernel, so the step must end between them, or hold the lock that protects them (docs/modelling.md, "Step boundaries")',
    );
  }

  /**
   * Runs `fn`, a helper that models one whole critical section of a kernel-internal lock the model
   * keeps out of the state (`zone.lock` around the free lists): fields that lock protects count as
   * protected inside it (discipline.ts). Outside an audited step it just runs `fn`.
   */
  inside<T>(lockClass: string, fn: () => T): T {
    if (!this.auditing || !this.disciplineOn) return fn();
    const prot = this.protections;
    const c = prot.classes.indexOf(lockClass);
    if (c < 0) throw new ModelError(`${this.stepWhere}: runs inside ${lockClass}, which no field of this layout is protected by`);
    return this.discipline!.inside(c, fn);
  }

  /**
   * Runs `fn` as ONE access to shared state for the lock discipline: a lookup the kernel makes with
   * one load (a swap-cache xarray slot) that the model's layout spreads over several fields or
   * objects.
   */
  single<T>(fn: () => T): T {
    if (!this.auditing || !this.disciplineOn) return fn();
    return this.discipline!.single(fn);
  }

  /**
   * Runs `fn`, a helper that reads lock-protected fields without their lock by design (READ_ONCE:
   * hmm_range_valid, mmu_interval_check_retry, a driver reading its VMA's bounds in a callback):
   * the helper's own `lockless` declaration, for whatever step calls it. Still unprotected
   * accesses for the reduction rule; writes inside still need their lock.
   */
  readOnce<T>(fn: () => T): T {
    if (!this.auditing || !this.disciplineOn) return fn();
    const d = this.discipline!;
    d.readOnceDepth++;
    try {
      return fn();
    } finally {
      d.readOnceDepth--;
    }
  }

  /**
   * Runs `fn` as model instrumentation: reads that raise a BUG the kernel itself would not detect
   * (a use-after-free through a stale pte), not accesses of the modelled code — neither the
   * footprint audit nor the lock discipline counts them. Never write state inside.
   */
  instrument<T>(fn: () => T): T {
    if (!this.auditing) return fn();
    this.auditing = false;
    try {
      return fn();
    } finally {
      this.auditing = true;
    }
  }

  /** `instrument(() => this.get(o))` without the closure (lockdep's assertions read a lock word this way at many steps). */
  instrumentGet(o: number): number {
    if (!this.auditing) return this.get(o);
    this.auditing = false;
    const x = this.get(o); // with the audit off, `get` throws nothing
    this.auditing = true;
    return x;
  }

  /**
   * Runs `fn` as a model stand-in for kernel data the layout does not hold (the swap count
   * recomputed from the ptes, the anon_vma tree walked by looking at the ptes): its reads are not
   * accesses of the modelled code, so neither the footprint audit nor the lock discipline counts
   * them. `why` is recorded in `standIns`, which every proof lists among what it assumed.
   */
  standIn<T>(why: string, fn: () => T): T {
    this.standIns.add(why);
    return this.instrument(fn);
  }

  /** The stand-ins (`standIn`) the steps run so far used: a proof's assumptions (not state). */
  readonly standIns = new Set<string>();

  /**
   * Which labels ran (SPIN's "unreached in proctype"): per routine id, a bit per label, set by the
   * runner for every step that did not block; null when not tracked (`trackReached`). Not state.
   */
  reached: Uint8Array[] | null = null;

  /** Starts recording which labels run. */
  trackReached(): void {
    this.reached = this.model.routines.map((r) => new Uint8Array(r.labels.length));
  }

  /** `routine:label` of every label never run, in the routines that ran at all (in model order). */
  unreachedLabels(): string[] {
    if (!this.reached) return [];
    const out: string[] = [];
    this.model.routines.forEach((r, id) => {
      const ran = this.reached![id];
      if (!ran.includes(1)) return;
      ran.forEach((hit, pc) => {
        const layer = r.steps[pc].layer;
        if (!hit && (layer === undefined || hasLayer(this, layer))) out.push(r.where(pc));
      });
    });
    return out;
  }

  /** The unprotected accesses audited steps made, as (routine id, pc, unit) keys; `assumedAccesses` names them. */
  private readonly assumed = new Set<number>();
  private readonly assumedWhere = new Map<number, string>();

  /** Per step key (routine id * 256 + pc): the unit + 1 it was last noted with — most steps make the same access every time, and this answers without hashing. */
  private assumedLast = new Int32Array(0);

  private noteAssumed(unit: number): void {
    const step = this.stepKey;
    if (step < this.assumedLast.length && this.assumedLast[step] === unit + 1) return;
    if (step >= this.assumedLast.length) {
      const grown = new Int32Array(Math.max(step + 1, this.assumedLast.length * 2));
      grown.set(this.assumedLast);
      this.assumedLast = grown;
    }
    this.assumedLast[step] = unit + 1;
    const size = this.layout.size;
    const key = this.stepKey * (size + 1) + Math.min(unit, size);
    if (this.assumed.has(key)) return;
    this.assumed.add(key);
    this.assumedWhere.set(key, `${this.stepWhere}: ${this.unitName(unit)}`);
  }

  /**
   * Every unprotected shared access the audited steps made — the accesses for which a proof assumed
   * sequential consistency (the model runs them one at a time; the kernel's memory model may
   * reorder them, which only barriers in the C prevent): `routine:label: what (protection)`.
   */
  assumedAccesses(): string[] {
    return [...this.assumedWhere.values()].sort();
  }

  /**
   * What the steps run so far recorded beside the state (labels reached, unprotected accesses,
   * stand-ins): a search split over worker threads (src/engine/parallel.ts) sends each worker's
   * record to the world that reports, which `absorbRecord`s it.
   */
  runRecord(): RunRecord {
    return { reached: this.reached, assumed: [...this.assumedWhere], standIns: [...this.standIns] };
  }

  /** Adds another world's `runRecord` (of the same model) to this one's. */
  absorbRecord(r: RunRecord): void {
    if (this.reached && r.reached) {
      for (const [id, ran] of this.reached.entries()) for (let pc = 0; pc < ran.length; pc++) ran[pc] |= r.reached[id][pc];
    }
    for (const [key, where] of r.assumed) {
      this.assumed.add(key);
      this.assumedWhere.set(key, where);
    }
    for (const why of r.standIns) this.standIns.add(why);
  }

  private unitName(unit: number): string {
    if (unit >= this.layout.size) return 'one lookup (w.single)';
    const prot = this.protections;
    if (prot.lockUnit[unit] === unit) return `a test of lock ${prot.classes[prot.classOf[unit]] ?? this.slotName(unit)}`;
    const d = this.layout.describe(unit);
    if (!d) return this.slotName(unit);
    const what = d.region.def.word ? `${d.region.def.name} (one word)` : `${d.region.def.name}.${d.field}`;
    return `${what} (${prot.declared[unit] ?? 'undeclared'})`;
  }

  /**
   * The running step owns object `index` of `def` from now on: it just took it off a free list,
   * or dropped its last reference, so no other actor can reach it until the step publishes it.
   * Its fields are then the step's own (the lock discipline does not count them).
   */
  own(def: StructDef, index: number): void {
    if (!this.auditing || !this.disciplineOn) return;
    const r = this.layout.region(def);
    const lo = r.base + index * r.stride;
    this.discipline!.own(lo, lo + r.stride);
  }

  slotName(o: number): string {
    if (o >= this.layout.size) return 'a lookup (w.single)';
    const d = this.layout.describe(o);
    return d ? `${d.region.def.name}[${this.layout.objectName(d.region, d.index)}].${d.field}` : `slot ${o}`;
  }

  private auditCall(name: string): void {
    this.auditSeen?.calls.add(name);
    const fp = this.auditFp;
    if (fp && !fp.calls.has(name)) {
      this.auditing = false;
      throw new ModelError(`${fp.where} calls ${name}, which its footprint does not declare (calls: ${fp.declared.calls?.join(', ') || 'none'})`);
    }
  }

  private auditSpawn(): void {
    if (this.auditSeen) this.auditSeen.spawns = true;
    const fp = this.auditFp;
    if (fp && !fp.declared.spawns) {
      this.auditing = false;
      throw new ModelError(`${fp.where} starts another actor, which its footprint does not declare (spawns: true)`);
    }
  }

  /** Forgets the BUGs raised so far (before each step). Setting an array's length is a runtime call even to 0: the usual empty case skips it. */
  clearBugs(): void {
    if (this.bugs.length !== 0) this.bugs.length = 0;
  }

  /** Records a kernel BUG: a state the real kernel would crash or warn on. */
  bug(message: string): void {
    this.bugs.push(message);
  }

  /** Owner tag of the running actor in lock words (0 means unowned). */
  get self(): number {
    return this.actor + 1;
  }

  // ---- actors and call frames ----

  actorSp(a: number): number {
    const o = this.layout.actorSlot(a) + ACTOR_SP;
    if ((this.watch & WATCH_PROPERTY) !== 0) this.watched(o, false, 0); // a property's read of it is audited (verdict.ts `Property.reads`)
    return this.v[o];
  }

  actorNonblock(a: number): number {
    return this.v[this.layout.actorSlot(a) + ACTOR_NONBLOCK];
  }

  /** What actor `a`'s bottom frame returned when it finished (0 until then). */
  actorResult(a: number): number {
    return this.v[this.layout.actorSlot(a) + ACTOR_RESULT];
  }

  /** Enters (+1) or leaves (-1) a non-blockable section for the running actor. */
  nonblock(delta: 1 | -1): void {
    const o = this.layout.actorSlot(this.actor) + ACTOR_NONBLOCK;
    this.set(o, this.v[o] + delta);
  }

  /** Base slot of the top frame of actor `a` (undefined if it has finished). */
  topFrame(a: number): number | undefined {
    const sp = this.actorSp(a);
    return sp === 0 ? undefined : this.layout.callSlot(a, sp - 1);
  }

  frameRoutine(base: number): AnyRoutine {
    return this.model.routine(this.v[base + CALL_ROUTINE] - 1);
  }

  /** The id of `r` in this world's model (cached on the routine for the model last asked). */
  routineId(r: AnyRoutine): number {
    if (r.cachedModel === this.model) return r.cachedId;
    const id = this.model.id(r);
    r.cachedModel = this.model;
    r.cachedId = id;
    return id;
  }

  /** The ops-pointer encoding of `r` kept in the state: id + 1, 0 for none. */
  routineRef(r: AnyRoutine | undefined): number {
    return r ? this.routineId(r) + 1 : 0;
  }

  /** Starts actor `a` with `routine(args)` as its bottom frame. */
  spawn(a: number, routine: AnyRoutine, args: readonly number[]): void {
    if (this.auditing) this.auditSpawn();
    if (this.actorSp(a) !== 0) throw new ModelError(`actor ${this.layout.actorNames[a]} is already running`);
    this.pushFrame(a, 0, routine, args);
    this.set(this.layout.actorSlot(a) + ACTOR_RESULT, 0);
    this.set(this.layout.actorSlot(a) + ACTOR_SP, 1);
  }

  private pushFrame(a: number, depth: number, routine: AnyRoutine, args: readonly number[]): void {
    const id = this.routineId(routine);
    if (depth >= this.layout.stackDepth) {
      throw new ModelError(`actor ${this.layout.actorNames[a]}: call depth ${depth + 1} exceeds ${this.layout.stackDepth} calling ${routine.name}`);
    }
    if (args.length !== routine.params.length) {
      throw new ModelError(`${routine.name} takes ${routine.params.length} arguments (${routine.params.join(', ')}), got ${args.length}`);
    }
    const b = this.layout.callSlot(a, depth);
    this.set(b + CALL_ROUTINE, id + 1);
    if (a === this.actor) {
      // A call from the running step: its own new frame, zero before (dead frames are), where
      // writing a value over itself changes nothing anyone sees (see `ret`).
      const v = this.v;
      if (v[b + CALL_PC] !== 0) this.set(b + CALL_PC, 0);
      for (let i = 0; i < args.length; i++) if (v[b + CALL_LOCALS + i] !== args[i]) this.set(b + CALL_LOCALS + i, args[i]);
      return;
    }
    this.set(b + CALL_PC, 0);
    for (let i = 0; i < args.length; i++) this.set(b + CALL_LOCALS + i, args[i]);
  }

  /** Sets which frame is running, and the step (`pc`); called by the runner before each step. */
  enter(actor: number, routine: AnyRoutine, pc: number): void {
    this.actor = actor;
    this.current = routine;
    this.pc = pc;
  }

  /**
   * Calls `routine(args)` from the running step; the caller resumes at `resume`, where
   * `l.result` holds what the callee returned. Use as `return w.call(...)`.
   */
  call(routine: AnyRoutine, resume: string, ...args: number[]): number {
    if (this.auditing && routine.library.footprints) this.auditCall(routine.name);
    return this.callFrame(routine, resume, args);
  }

  private callFrame(routine: AnyRoutine, resume: string, args: readonly number[]): number {
    const caller = this.current!;
    const pc = caller.labelIndex[resume];
    if (pc === undefined) throw new ModelError(`${caller.name}: no label ${resume} to resume at after calling ${routine.name}`);
    const a = this.actor;
    const sp = this.actorSp(a);
    this.set(this.layout.callSlot(a, sp - 1) + CALL_PC, pc);
    this.pushFrame(a, sp, routine, args);
    this.set(this.layout.actorSlot(a) + ACTOR_SP, sp + 1);
    return CALLED;
  }

  /** Calls the routine an ops pointer stored in the state refers to (`routineRef`: id + 1). */
  callRef(ref: number, resume: string, ...args: number[]): number {
    if (ref <= 0) throw new ModelError(`call through an empty ops pointer (${ref}) from ${this.current?.name ?? '?'}`);
    if (this.auditing) this.auditCall('ops');
    return this.callFrame(this.model.routine(ref - 1), resume, args);
  }

  /** Returns `value` to the caller (or finishes the actor). Use as `return w.ret(x)`. */
  ret(value = 0): number {
    const a = this.actor;
    const sp = this.actorSp(a);
    const b = this.layout.callSlot(a, sp - 1);
    // Dead frames are zeroed so that equal futures give equal states. Most of a frame's slots are 0
    // already (unused locals), and writing 0 over 0 changes nothing anyone sees: the frame is the
    // running actor's own, which neither the step merging's tracking nor the audit (field key 0)
    // looks at, and no property is checked inside a step. So only the others go through `set`.
    const v = this.v;
    for (let k = 0; k < this.layout.callStride; k++) if (v[b + k] !== 0) this.set(b + k, 0);
    // To the caller's frame, or, from the bottom frame, to the actor (tests read it with actorResult).
    this.set(sp > 1 ? this.layout.callSlot(a, sp - 2) + CALL_RESULT : this.layout.actorSlot(a) + ACTOR_RESULT, value);
    this.set(this.layout.actorSlot(a) + ACTOR_SP, sp - 1);
    return RETURNED;
  }

  /** A copy of the state. */
  snapshot(): Int32Array {
    return this.v.slice();
  }

  /** Makes `state` the current state (not copied). */
  load(state: Int32Array): void {
    if (state.length !== this.layout.size) throw new ModelError(`state has ${state.length} slots, layout needs ${this.layout.size}`);
    this.v = state;
  }

  /** The 64-bit fingerprint as a bigint (for display and tests; the explorer reads the lanes). */
  fingerprint(): bigint {
    return (BigInt(this.v[1] >>> 0) << 32n) | BigInt(this.v[0] >>> 0);
  }
}

/** Structural equality of two states (fingerprint lanes excluded). */
export function sameState(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = DATA_START; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const prototypes = new Map<number, object>();

/**
 * The accessors of a struct's views, generated: one getter and setter per field, with the field's
 * offset a literal. Each is then a function of its own, whose inline caches see only this struct's
 * view shape — closures made from one shared literal share their feedback, where the views of
 * every struct met and the loads of `$w` and `$b` went megamorphic. A read still tests `watch` and
 * records itself (`watched`: the step merging's footprint, the audit) exactly as `World.get` does;
 * a write goes through `World.set`.
 */
function viewPrototype(def: StructDef): object {
  let proto = prototypes.get(def.id);
  if (proto) return proto;
  const accessors = def.fields.map((f, k) => {
    const name = JSON.stringify(f);
    return `get ${name}() { const w = this.$w; const o = this.$b + ${k}; if (w.watch !== 0) w.watched(o, false, 0); return w.v[o]; },\n` + `set ${name}(x) { this.$w.set(this.$b + ${k}, x); }`;
  });
  proto = new Function(`'use strict'; return {\n${accessors.join(',\n')}\n};`)() as object;
  prototypes.set(def.id, proto);
  return proto;
}

/** A world's record of what its steps did beside the state (`World.runRecord`): plain data. */
export interface RunRecord {
  readonly reached: Uint8Array[] | null;
  readonly assumed: readonly (readonly [number, string])[];
  readonly standIns: readonly string[];
}
