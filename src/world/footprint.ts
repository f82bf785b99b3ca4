/**
 * Declared footprints: for every label of a library's routines, the struct fields the step reads
 * and writes (`pte.present`, or `pte.*` for every field of a struct), the routines it may call
 * (`ops` for a call through an ops pointer stored in the state), whether it may block, and whether
 * it starts other actors. A library registers its table with `Library.declare`; the runner checks
 * every step it runs while auditing (`w.audit`: traces, replays and tests audit; the explorer's
 * hot path does not unless asked): an access, call or block the step did not declare is a
 * `ModelError` naming the routine, the label and what is missing. `explain` prints the tables
 * beside each step with each field's protection (layout.ts `Protection`), and the lock-discipline
 * and reduction work builds on the same declarations.
 *
 * Tables are written by hand or regenerated from what the test suite observes
 * (`npm run footprints`, scripts/footprints.ts), then reviewed like code.
 */
import { ModelError } from './errors.js';
import { structById, type Layout } from './layout.js';

export interface Footprint {
  readonly reads?: readonly string[];
  readonly writes?: readonly string[];
  /** Routine names, or `ops` for a call through an ops pointer. */
  readonly calls?: readonly string[];
  readonly blocks?: boolean;
  /** Starts another actor (`w.spawn` from a step). */
  readonly spawns?: boolean;
}

/** `routine:label` -> its footprint. */
export type FootprintTable = Readonly<Record<string, Footprint>>;

/** A footprint compiled against one layout: field keys (see `fieldKeyOf`) instead of names. */
export interface CompiledFootprint {
  readonly where: string;
  readonly declared: Footprint;
  readonly reads: ReadonlySet<number>;
  readonly writes: ReadonlySet<number>;
  readonly calls: ReadonlySet<string>;
}

/** Per slot of a layout: the key of the struct field it holds (struct id * 256 + field + 1), 0 for stacks and actor slots. */
export function slotFieldKeys(layout: Layout): Int32Array {
  const keys = new Int32Array(layout.size);
  for (const r of layout.regions) {
    for (let i = 0; i < r.count; i++) for (let k = 0; k < r.stride; k++) keys[r.base + i * r.stride + k] = r.def.id * 256 + k + 1;
  }
  return keys;
}

/** `struct.field` of a field key. */
export function fieldName(key: number): string {
  const def = structById(Math.floor((key - 1) / 256));
  return def ? `${def.name}.${def.fields[(key - 1) % 256]}` : `?${key}`;
}

/** Compiles `fp` for `layout`; names of structs the layout lacks are ignored (a step may declare fields of optional layers). */
export function compileFootprint(layout: Layout, where: string, fp: Footprint): CompiledFootprint {
  const keysOf = (names: readonly string[] | undefined): Set<number> => {
    const out = new Set<number>();
    for (const n of names ?? []) {
      const [struct, field] = n.split('.');
      if (!struct || !field) throw new ModelError(`${where}: footprint entry "${n}" is not struct.field or struct.*`);
      const r = layout.regions.find((x) => x.def.name === struct);
      if (!r) continue;
      if (field === '*') for (let k = 0; k < r.def.fields.length; k++) out.add(r.def.id * 256 + k + 1);
      else {
        const k = r.def.fields.indexOf(field);
        if (k < 0) throw new ModelError(`${where}: footprint entry "${n}": struct ${struct} has no field ${field}`);
        out.add(r.def.id * 256 + k + 1);
      }
    }
    return out;
  };
  const writes = keysOf(fp.writes);
  const reads = keysOf(fp.reads);
  for (const k of writes) reads.add(k); // writing a field implies being allowed to read it
  return { where, declared: fp, reads, writes, calls: new Set(fp.calls ?? []) };
}

/** What one step was seen to do (the recorder's unit); fields as field keys (`fieldNameOfKey` names them). */
export interface Observed {
  readonly reads: Set<number>;
  readonly writes: Set<number>;
  readonly calls: Set<string>;
  blocks: boolean;
  spawns: boolean;
}

/** Observed footprints by library name, then `routine:label`; filled while `w.recorder` is set. */
export type FootprintRecord = Map<string, Map<string, Observed>>;

export function observedOf(record: FootprintRecord, library: string, where: string): Observed {
  let lib = record.get(library);
  if (!lib) {
    lib = new Map();
    record.set(library, lib);
  }
  let o = lib.get(where);
  if (!o) {
    o = { reads: new Set(), writes: new Set(), calls: new Set(), blocks: false, spawns: false };
    lib.set(where, o);
  }
  return o;
}
