/**
 * Readable names for slots and a readable dump of a whole state. Objects print by region and
 * name (`page[3].refcount`, `mm[source].notifierSeq`); call-frame locals print under their actor
 * and routine (`fault:mirror_fault.seq`). Bookkeeping slots (pc, routine, stack pointer) are
 * hidden from change lists: the trace already says where each actor is.
 */
import { ACTOR_NONBLOCK, ACTOR_RESULT, ACTOR_SLOTS, CALL_LOCALS, CALL_PC, CALL_RESULT, CALL_ROUTINE } from './layout.js';
import type { World } from './world.js';

export function describeSlot(w: World, o: number, before?: Int32Array): string | undefined {
  const L = w.layout;
  const d = L.describe(o);
  if (d) return `${d.region.def.name}[${L.objectName(d.region, d.index)}].${d.field}`;
  if (o >= L.actorBase && o < L.callBase) {
    const a = Math.floor((o - L.actorBase) / ACTOR_SLOTS);
    const k = (o - L.actorBase) % ACTOR_SLOTS;
    return k === ACTOR_NONBLOCK ? `${L.actorNames[a]}.nonblock` : k === ACTOR_RESULT ? `${L.actorNames[a]}.result` : undefined;
  }
  if (o >= L.callBase && o < L.size) {
    const rel = o - L.callBase;
    const frame = Math.floor(rel / L.callStride);
    const k = rel % L.callStride;
    if (k === CALL_ROUTINE || k === CALL_PC) return undefined;
    const a = Math.floor(frame / L.stackDepth);
    const fb = L.callBase + frame * L.callStride;
    const id = w.v[fb + CALL_ROUTINE] || (before ? before[fb + CALL_ROUTINE] : 0);
    const routine = id > 0 ? w.model.routines[id - 1] : undefined;
    const name = k === CALL_RESULT ? 'result' : (routine?.localNames[k - CALL_LOCALS] ?? `l${k - CALL_LOCALS}`);
    return `${L.actorNames[a]}:${routine?.name ?? '?'}.${name}`;
  }
  return undefined;
}

export interface DumpedFrame {
  at: string;
  locals: Record<string, number>;
}

/** A readable plain object of the whole state: every object with its non-zero fields, every actor's stack. */
export function dump(w: World): Record<string, unknown> {
  const L = w.layout;
  const out: Record<string, unknown> = { fingerprint: w.fingerprint().toString(16).padStart(16, '0') };
  for (const r of L.regions) {
    const objs: Record<string, Record<string, number>> = {};
    for (let i = 0; i < r.count; i++) {
      const fields: Record<string, number> = {};
      r.def.fields.forEach((f, k) => {
        const x = w.v[r.base + i * r.stride + k];
        if (x !== 0) fields[f] = x;
      });
      if (Object.keys(fields).length) objs[L.objectName(r, i)] = fields;
    }
    out[r.def.name] = objs;
  }
  const actors: Record<string, unknown> = {};
  L.actorNames.forEach((name, a) => {
    const frames: DumpedFrame[] = [];
    for (let d = 0; d < w.actorSp(a); d++) {
      const b = L.callSlot(a, d);
      const routine = w.frameRoutine(b);
      const locals: Record<string, number> = {};
      for (const [i, n] of routine.localNames.entries()) locals[n] = w.v[b + CALL_LOCALS + i];
      if (w.v[b + CALL_RESULT] !== 0) locals.result = w.v[b + CALL_RESULT];
      frames.push({ at: routine.where(w.v[b + CALL_PC]), locals });
    }
    actors[name] = { done: frames.length === 0, nonblock: w.actorNonblock(a), result: w.actorResult(a), frames };
  });
  out.actors = actors;
  return out;
}

/** The canonical encoding of a state: its data slots as little-endian bytes (fingerprint lanes excluded). */
export function encode(state: Int32Array): Uint8Array {
  return new Uint8Array(state.buffer, state.byteOffset + 8, state.byteLength - 8).slice();
}
