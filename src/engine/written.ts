/**
 * Whether a transition may have changed what a renaming reduction reads: the counter abstraction
 * (counters.ts) and the renumbering of interchangeable rows (symmetry.ts). Each reads some struct
 * fields and some locals of the routines it knows (which depend on the routine in each frame), and
 * the counter abstraction also a frame's result slot at some labels while the frame is the top one.
 * A successor's parent was interned in canonical form, so a transition that wrote none of those
 * leaves a state that is canonical already, and the reduction need not gather it at all: most
 * transitions move a pte, a lock or a label.
 *
 * The transition's writes are the world's undo log since the transition's mark (slot, old value):
 * every write of a search's transition is logged, or it could not be taken back. A write counts when
 * it is to one of the fields; to a frame's local that the routine in that frame now declares; to a
 * frame's routine slot whose old routine declares some local or result (a return: the frame's
 * values leave with it, and `World.ret` zeroes them after the routine slot, so their own writes are
 * checked against no routine); to a frame's label or result slot in a routine whose result counts
 * at the label before or after; to an actor's stack pointer whose top frame, before or after, is
 * such a routine's (the frame below a call stops being the top one, and starts again on the
 * return). A call needs nothing: the new frame starts at 0, which names and counts nothing, and what
 * it is given is written into its locals, which are checked.
 *
 * The engine knows no kernel: the fields and locals come from the reduction's declarations.
 */
import { ACTOR_SLOTS, ACTOR_SP, CALL_PC, CALL_RESULT, CALL_ROUTINE, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';

const SLOT_OTHER = 0;
const SLOT_FIELD = 1;
const SLOT_SP = 2;
const SLOT_FRAME = 3;
/** A routine's bits in `routineInfo` (indexed by a frame's routine slot: id + 1, 0 for none). */
const HAS_ANY = 1;
const HAS_RESULTS = 2;

/** One part of what a reduction reads. */
export interface WatchedPart {
  /** State slots. */
  readonly fields: ArrayLike<number>;
  /** Per routine id: the frame offsets read in its frames (CALL_LOCALS + the local's index). */
  readonly locals: readonly (ArrayLike<number> | undefined)[];
  /** Per routine id: by label, 1 where its frame's result slot is read while it is the top frame. */
  readonly results?: readonly (ArrayLike<number> | undefined)[];
}

export class WriteWatch {
  /** Per state slot: SLOT_FIELD, SLOT_SP (an actor's stack pointer), SLOT_FRAME (a call-frame slot), else SLOT_OTHER. */
  private readonly kind: Uint8Array;
  /** Per routine slot value: HAS_ANY if the routine declares a local or a result, HAS_RESULTS if a result. */
  private readonly routineInfo: Uint8Array;
  /** Per routine slot value: by label, 1 where the frame's result slot counts (undefined: nowhere). */
  private readonly resultPcs: (Uint8Array | undefined)[];
  /** Per routine slot value × frame offset: 1 where the routine's local counts. */
  private readonly localMask: Uint8Array;
  private readonly stride: number;

  /** What the reduction reads: the union of `parts` (a counter domain each, a row domain each). */
  constructor(
    private readonly layout: Layout,
    parts: readonly WatchedPart[],
  ) {
    const L = layout;
    const kind = new Uint8Array(L.size);
    for (let a = 0; a < L.actorNames.length; a++) {
      kind[L.actorSlot(a) + ACTOR_SP] = SLOT_SP;
      kind.fill(SLOT_FRAME, L.callSlot(a, 0), L.callSlot(a, 0) + L.stackDepth * L.callStride);
    }
    const routines = (L.model?.routines.length ?? 0) + 1;
    this.stride = L.callStride;
    this.routineInfo = new Uint8Array(routines);
    this.localMask = new Uint8Array(routines * this.stride);
    this.resultPcs = new Array(routines).fill(undefined);
    for (const part of parts) {
      for (let k = 0; k < part.fields.length; k++) kind[part.fields[k]] = SLOT_FIELD;
      part.locals.forEach((offs, id) => {
        if (!offs || offs.length === 0) return;
        this.routineInfo[id + 1] |= HAS_ANY;
        for (let k = 0; k < offs.length; k++) this.localMask[(id + 1) * this.stride + offs[k]] = 1;
      });
      part.results?.forEach((byPc, id) => {
        if (!byPc) return;
        const pcs = this.resultPcs[id + 1] ?? new Uint8Array(byPc.length);
        for (let pc = 0; pc < byPc.length; pc++) pcs[pc] |= byPc[pc];
        this.resultPcs[id + 1] = pcs;
        this.routineInfo[id + 1] |= HAS_ANY | HAS_RESULTS;
      });
    }
    this.kind = kind;
  }

  /** Whether the writes since `mark` in `w`'s undo log may have changed what the reduction reads (the header says which count). */
  touched(w: World, mark: number): boolean {
    // Writes not logged (a replay's) say nothing: count the transition as touching everything.
    if (!w.undoing) return true;
    const { kind, routineInfo, resultPcs, localMask, stride } = this;
    const L = this.layout;
    const v = w.v;
    const log = w.undoEntries;
    const end = w.undoLength;
    for (let i = mark; i < end; i += 2) {
      const o = log[i];
      const k = kind[o];
      if (k === SLOT_OTHER) continue;
      if (k === SLOT_FIELD) return true;
      if (k === SLOT_SP) {
        const a = ((o - L.actorBase) / ACTOR_SLOTS) | 0;
        const before = log[i + 1];
        if (before > 0 && (routineInfo[v[L.callSlot(a, before - 1) + CALL_ROUTINE]] & HAS_RESULTS) !== 0) return true;
        if (v[o] > 0 && (routineInfo[v[L.callSlot(a, v[o] - 1) + CALL_ROUTINE]] & HAS_RESULTS) !== 0) return true;
        continue;
      }
      const off = (o - L.callBase) % stride;
      const routine = v[o - off + CALL_ROUTINE];
      if (off === CALL_ROUTINE) {
        const before = log[i + 1];
        if (before !== 0 && (routineInfo[before] & HAS_ANY) !== 0) return true;
      } else if (off === CALL_PC) {
        const pcs = resultPcs[routine];
        if (pcs !== undefined && (pcs[log[i + 1]] === 1 || pcs[v[o]] === 1)) return true;
      } else if (off === CALL_RESULT) {
        const pcs = resultPcs[routine];
        if (pcs !== undefined && pcs[v[o - off + CALL_PC]] === 1) return true;
      } else if (localMask[routine * stride + off] !== 0) return true;
    }
    return false;
  }
}
