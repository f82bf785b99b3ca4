/**
 * Expected outcomes of a scenario (`outcome:` / `outcomes:` in a file, `ScenarioSpec.outcomes`):
 * what the kernel's own tests assert once a case has run — a pte present, the frame it maps, its
 * contents, refcount and mapcount, an EPT or device-table entry, the value an operation returned,
 * a driver counter. The builder compiles them against the world (`compileOutcomes`) into the
 * layout's statics, like the actors' programs; the check `outcome` (src/check/outcome.ts) asks
 * `outcomeMismatch` in every state where every actor has finished, so a state that matches none of
 * the allowed outcomes is a violation with the schedule that reaches it.
 *
 * An observation at a named point (`after: {actor, op}`) and an operation's return value
 * (`result`) are taken when that actor moves on from that operation: its workload step
 * (workload.ts) records them in ghost `outcome_probe` objects, one per such observation, which the
 * final check reads. Scenarios without such observations have no probe objects: their states
 * (and the pinned counts) are unchanged.
 */
import type { World } from '../world/world.js';
import type { Layout } from '../world/layout.js';
import { PAGE } from '../kernel/structs.js';
import { pte } from '../kernel/pgtable.js';
import { SPTE } from '../kvm/structs.js';
import { tableIndex, tablesIn } from '../layers/table.js';
import type { CallContext } from './operations.js';
import type { FrameRef, Observation, OpPoint, OutcomeSpec, ScenarioSpec } from './spec.js';
import type { Issue } from './load.js';
import type { Segment } from './source.js';
import { setOutcomes, type Check, type Compiled, type CompiledObservation } from './probes.js';

/** What a frame subject shows: whether an entry is there, the frame and its write bit. */
interface Frame {
  readonly present: boolean;
  readonly pfn: number;
  readonly writable: boolean;
  /** The entry's dirty and accessed bits (layer dirty-accessed; a device-table entry has none). */
  readonly dirty: boolean;
  readonly young: boolean;
}

/** The point an observation is taken at, if not the end: its `after`, or the operation whose result it reads. */
function pointOf(o: Observation): OpPoint | undefined {
  return o.after ?? o.result;
}

/** How many probe objects the scenario's observations need. */
export function probeCount(spec: ScenarioSpec): number {
  return (spec.outcomes ?? []).reduce((n, alt) => n + alt.observe.filter((o) => pointOf(o) !== undefined).length, 0);
}

const show = (n: number) => (n > 9 || n < -9 ? `${n} (${n < 0 ? '-' : ''}0x${Math.abs(n).toString(16)})` : String(n));

function refText(kind: 'pte' | 'ept' | 'table', r: FrameRef): string {
  const dev = r.device ? ` device ${r.device}` : '';
  if (kind === 'ept') return `EPT ${r.vm}:gfn${r.page}`;
  if (kind === 'table') return `table${r.table === undefined ? '' : ` ${r.table}`}${dev}[${r.page}]`;
  return `pte ${r.mm}@${r.page}${dev}`;
}

/** The kind of a frame reference (`samePage: {mm|vm|table, page}`). */
function refKind(r: FrameRef): 'pte' | 'ept' | 'table' {
  return r.vm !== undefined ? 'ept' : r.table !== undefined ? 'table' : 'pte';
}

/** A reader of what a pte, EPT entry or device-table entry maps now; a subject the world lacks reads as the reason. */
function frameReader(kind: 'pte' | 'ept' | 'table', r: FrameRef, at: CallContext, layout: Layout, design: string): ((w: World) => Frame) | string {
  if (kind === 'pte') {
    const mm = at.mm(r.mm!);
    const vpn = at.vpn(r.mm!, r.page, r.device);
    return (w) => {
      const p = pte(w, mm, vpn);
      return { present: p.present !== 0, pfn: p.present ? p.pfn : 0, writable: p.present !== 0 && p.write !== 0, dirty: p.dirty !== 0, young: p.young !== 0 };
    };
  }
  if (kind === 'ept') {
    const k = at.kvm(r.vm!);
    return (w) => {
      const e = w.obj(SPTE, k * w.layout.dims.kvmGfns + r.page);
      return { present: e.pfn !== 0, pfn: e.pfn, writable: e.pfn !== 0 && e.write !== 0, dirty: e.dirty !== 0, young: e.accessed !== 0 };
    };
  }
  const t = r.table === undefined ? tablesIn(layout)[0] : tablesIn(layout).find((x) => x.name === r.table);
  if (!t)
    return `design ${design} has no device table${r.table === undefined ? '' : ` "${r.table}"`} (its tables: ${
      tablesIn(layout)
        .map((x) => x.name)
        .join(', ') || 'none'
    })`;
  const i = tableIndex(t, r.device ?? 0, r.page);
  return (w) => {
    const e = w.obj(t.struct, i);
    return { present: e.pfn !== 0, pfn: e.pfn, writable: e.pfn !== 0 && e.writable !== 0, dirty: false, young: false };
  };
}

/** A check that always fails with `why` (a subject this design's world does not have). */
const missing = (why: string): Check => ({ read: () => ({ found: 0, ok: false }), describe: () => why });

/** The checks of one frame subject. */
function frameChecks(o: Observation, read: (w: World) => Frame, at: CallContext, layout: Layout, design: string): Check[] {
  const out: Check[] = [];
  const scalar = (name: string, expected: number, of: (w: World, f: Frame) => number): Check => ({
    read: (w) => {
      const f = read(w);
      if (!f.present) return { found: Number.NaN, ok: false };
      const found = of(w, f);
      return { found, ok: found === expected };
    },
    describe: (found) => (Number.isNaN(found) ? `maps nothing, expected ${name} ${show(expected)}` : `${name} is ${show(found)}, expected ${show(expected)}`),
  });
  if (o.present !== undefined) {
    out.push({
      read: (w) => {
        const f = read(w);
        return { found: f.pfn, ok: f.present === o.present };
      },
      describe: (pfn) => (o.present ? 'maps nothing, expected a page' : `maps pfn ${pfn}, expected nothing`),
    });
  }
  if (o.writable !== undefined) {
    out.push({
      read: (w) => {
        const f = read(w);
        return { found: f.present ? (f.writable ? 1 : 0) : -1, ok: f.present && f.writable === o.writable };
      },
      describe: (found) => (found < 0 ? 'maps nothing, expected a page' : found ? 'is writable, expected read-only' : 'is read-only, expected writable'),
    });
  }
  for (const [key, same] of [
    ['samePage', true],
    ['otherPage', false],
  ] as const) {
    const ref = o[key];
    if (ref === undefined) continue;
    const kind = refKind(ref);
    const other = frameReader(kind, ref, at, layout, design);
    if (typeof other === 'string') {
      out.push(missing(other));
      continue;
    }
    const name = refText(kind, ref);
    out.push({
      read: (w) => {
        const f = read(w);
        const g = other(w);
        // found: this entry's pfn in the low half, the other's in the high half (both small).
        return { found: f.pfn + g.pfn * 0x10000, ok: f.present && g.present && (f.pfn === g.pfn) === same };
      },
      describe: (found) => {
        const mine = found % 0x10000;
        const theirs = Math.floor(found / 0x10000);
        if (!mine) return `maps nothing, expected ${same ? 'the page' : 'a page other than the one'} ${name} maps`;
        if (!theirs) return `maps pfn ${mine}, but ${name} maps nothing`;
        return same ? `maps pfn ${mine}, but ${name} maps pfn ${theirs}` : `maps pfn ${mine}, the page ${name} maps too; expected another`;
      },
    });
  }
  for (const bit of ['dirty', 'young'] as const) {
    const want = o[bit];
    if (want === undefined) continue;
    out.push({
      read: (w) => {
        const f = read(w);
        return { found: f.present ? (f[bit] ? 1 : 0) : -1, ok: f.present && f[bit] === want };
      },
      describe: (found) => (found < 0 ? 'maps nothing, expected a page' : `is ${found ? '' : 'not '}${bit}, expected ${want ? '' : 'not '}${bit}`),
    });
  }
  if (o.value !== undefined) out.push(scalar('value', o.value, (w, f) => w.obj(PAGE, f.pfn).contents));
  if (o.refcount !== undefined) out.push(scalar('refcount', o.refcount, (w, f) => w.obj(PAGE, f.pfn).refcount));
  if (o.mapcount !== undefined) out.push(scalar('mapcount', o.mapcount, (w, f) => w.obj(PAGE, f.pfn).mapcount));
  return out;
}

/** A check of a number (a result, a counter) against `value`. */
function valueCheck(expected: number, read: (w: World, result: number) => number): Check {
  return {
    read: (w, result) => {
      const found = read(w, result);
      return { found, ok: found === expected };
    },
    describe: (found) => `is ${show(found)}, expected ${show(expected)}`,
  };
}

function compileObservation(o: Observation, spec: ScenarioSpec, at: CallContext, layout: Layout, design: string, slot: () => number): CompiledObservation {
  const actorIndex = (p: OpPoint) => spec.actors.findIndex((a) => a.name === p.actor);
  const p = pointOf(o);
  const point = p && { actor: actorIndex(p), op: p.op, slot: slot(), text: o.after ? ` after ${p.actor} ops[${p.op}]` : '' };
  if (o.result) return { subject: `result of ${o.result.actor} ops[${o.result.op}]`, checks: [valueCheck(o.value!, (_w, r) => r)], point };
  if (o.counter) {
    const c = o.counter;
    const subject = `counter ${c.struct}.${c.field}[${c.object ?? 0}]`;
    const region = layout.regions.find((r) => r.def.name === c.struct);
    if (!region) return { subject, checks: [missing(`design ${design} has no driver struct "${c.struct}"`)], point };
    if (!region.def.fields.includes(c.field)) return { subject, checks: [missing(`struct ${c.struct} has no field "${c.field}" (its fields: ${region.def.fields.join(', ')})`)], point };
    if ((c.object ?? 0) >= region.count) return { subject, checks: [missing(`struct ${c.struct} has objects 0..${region.count - 1}`)], point };
    const def = region.def;
    return { subject, checks: [valueCheck(o.value!, (w) => (w.obj(def, c.object ?? 0) as unknown as Record<string, number>)[c.field])], point };
  }
  const kind = o.pte ? 'pte' : o.ept ? 'ept' : 'table';
  const ref = (o.pte ?? o.ept ?? o.table)!;
  const subject = refText(kind, ref);
  const read = frameReader(kind, ref, at, layout, design);
  if (typeof read === 'string') return { subject, checks: [missing(read)], point };
  if (kind === 'table' && (o.dirty !== undefined || o.young !== undefined))
    return { subject, checks: [missing('a device-table entry has no dirty or accessed bit; expected dirty/young only of a pte or an EPT entry')], point };
  return { subject, checks: frameChecks(o, read, at, layout, design), point };
}

/** Compiles the scenario's outcomes against a built layout into its statics (nothing when it states none). */
export function compileOutcomes(spec: ScenarioSpec, at: CallContext, layout: Layout, design: string): void {
  if (!spec.outcomes?.length) return;
  let next = 0;
  const probes: CompiledObservation[][][] = spec.actors.map((a) => a.ops.map(() => []));
  const outcomes = spec.outcomes.map((alt: OutcomeSpec, i) => ({
    name: alt.name ?? (spec.outcomes!.length === 1 ? 'outcome' : `outcomes[${i}]`),
    observations: alt.observe.map((o) => {
      const c = compileObservation(o, spec, at, layout, design, () => next++);
      if (c.point) probes[c.point.actor][c.point.op].push(c);
      return c;
    }),
  }));
  setOutcomes(layout, { outcomes, probes } satisfies Compiled);
}

// ---------------------------------------------------------------------------------------------
// The loader's checks (beyond the schema)

const SUBJECTS = ['pte', 'ept', 'table', 'result', 'counter'] as const;
const FRAME_ASSERTIONS = ['present', 'writable', 'samePage', 'otherPage', 'value', 'refcount', 'mapcount', 'dirty', 'young'] as const;

/** What the file's `outcome`/`outcomes`/`exercises` get wrong that the schema cannot see. */
export function outcomeIssues(
  file: { readonly outcome?: readonly Observation[]; readonly outcomes?: readonly OutcomeSpec[]; readonly pages: number; readonly sourceKvm?: boolean; readonly introspectorKvm?: boolean },
  actors: readonly { readonly name: string; readonly ops?: readonly unknown[] }[],
): Issue[] {
  const out: Issue[] = [];
  if (file.outcome !== undefined && file.outcomes !== undefined) out.push({ path: ['outcomes'], at: 'key', message: 'found both "outcome" and "outcomes"; expected one of them' });
  const lists: [Segment[], readonly Observation[]][] =
    file.outcome !== undefined ? [[['outcome'], file.outcome]] : (file.outcomes ?? []).map((alt, i) => [['outcomes', i, 'observe'], alt.observe] as [Segment[], readonly Observation[]]);
  const names = new Map<string, number>();
  (file.outcomes ?? []).forEach((alt, i) => {
    if (alt.name === undefined) return;
    const first = names.get(alt.name);
    if (first !== undefined) out.push({ path: ['outcomes', i, 'name'], message: `${JSON.stringify(alt.name)} is already the name of outcomes[${first}]; expected a unique name` });
    else names.set(alt.name, i);
  });
  const point = (p: OpPoint, at: Segment[]) => {
    const a = actors.find((x) => x.name === p.actor);
    if (!a) out.push({ path: [...at, 'actor'], message: `"${p.actor}" is not an actor of this scenario; expected one of ${actors.map((x) => x.name).join(', ')}` });
    else if (a.ops === undefined) out.push({ path: [...at, 'actor'], message: `actor ${p.actor} is an "any" adversary, whose operations have no fixed index; expected an actor with "ops"` });
    else if (p.op >= a.ops.length) out.push({ path: [...at, 'op'], message: `${p.op} is out of range; actor ${p.actor} has operations 0..${a.ops.length - 1}` });
  };
  const frame = (r: FrameRef, at: Segment[], kind: 'pte' | 'ept' | 'table' | 'any') => {
    const given = (['mm', 'vm', 'table'] as const).filter((k) => r[k] !== undefined);
    const want = kind === 'pte' ? 'mm' : kind === 'ept' ? 'vm' : kind === 'table' ? 'table' : undefined;
    // A table subject may leave its name out: the design's (first) device table.
    const fits = given.length === 1 ? given[0] === want : kind === 'table' && given.length === 0;
    if (want !== undefined && !fits) {
      out.push({
        path: at,
        message: `expected ${want} and page (${kind === 'pte' ? 'a process page' : kind === 'ept' ? "a KVM's guest frame" : 'a device-table entry'}), found ${given.join(' and ') || 'neither'}`,
      });
      return;
    }
    if (want === undefined && given.length !== 1) {
      out.push({ path: at, message: `expected exactly one of mm, vm and table (the entry to compare with), found ${given.join(' and ') || 'none'}` });
      return;
    }
    if (r.page >= file.pages) out.push({ path: [...at, 'page'], message: `${r.page} is out of range; expected a page index 0..${file.pages - 1} (pages: ${file.pages})` });
    if (r.vm !== undefined && !file[r.vm === 'source' ? 'sourceKvm' : 'introspectorKvm'])
      out.push({ path: [...at, 'vm'], message: `the ${r.vm} KVM, which the scenario does not have; expected ${r.vm === 'source' ? 'sourceKvm' : 'introspectorKvm'}: true` });
    if (r.device !== undefined && r.vm !== undefined) out.push({ path: [...at, 'device'], at: 'key', message: 'a device on a guest frame; expected it only with mm: introspector or a table' });
  };
  for (const [at, list] of lists) {
    list.forEach((o, k) => {
      const here = [...at, k];
      const subjects = SUBJECTS.filter((s) => o[s] !== undefined);
      if (subjects.length !== 1) {
        out.push({ path: here, message: `${subjects.length ? `found ${subjects.join(' and ')}` : 'no subject'}; expected exactly one of ${SUBJECTS.join(', ')}` });
        return;
      }
      const s = subjects[0];
      const asserted = FRAME_ASSERTIONS.filter((a) => o[a] !== undefined);
      if (s === 'result' || s === 'counter') {
        for (const a of asserted.filter((x) => x !== 'value')) out.push({ path: [...here, a], at: 'key', message: `not asserted of a ${s === 'result' ? 'return value' : 'counter'}; expected value` });
        if (o.value === undefined) out.push({ path: here, message: `a ${s} with nothing asserted; expected value` });
      } else {
        if (!asserted.length) out.push({ path: here, message: `nothing asserted of the ${s}; expected some of ${FRAME_ASSERTIONS.join(', ')}` });
        frame(o[s]!, [...here, s], s);
        for (const key of ['samePage', 'otherPage'] as const) if (o[key]) frame(o[key]!, [...here, key], 'any');
      }
      if (o.result) point(o.result, [...here, 'result']);
      if (o.after) {
        if (o.result) out.push({ path: [...here, 'after'], at: 'key', message: 'a result is taken when its operation returns; expected no after' });
        else point(o.after, [...here, 'after']);
      }
    });
  }
  return out;
}

/** The file's `outcome` / `outcomes` as the spec holds them. */
export function outcomesOf(file: { readonly outcome?: readonly Observation[]; readonly outcomes?: readonly OutcomeSpec[] }): OutcomeSpec[] | undefined {
  if (file.outcome !== undefined) return [{ observe: file.outcome }];
  return file.outcomes?.map((o) => ({ ...o }));
}
