/**
 * Actors' programs. An actor runs a fixed list of operations (static scenario data, like program
 * text); only its program counter is state. Each operation is a call of a kernel, KVM or device
 * routine; the workload routine is the bottom frame of every actor. Actors may also be created
 * at run time: an operation can start other actors when it returns (fork starts the threads of the
 * child process), so they cannot run before it.
 */
import type { AnyRoutine } from '../world/routine.js';
import type { World } from '../world/world.js';
import type { Layout } from '../world/layout.js';
import { folioReferenced } from '../kernel/ops/age.js';
import { shrinkFolioList } from '../kernel/ops/reclaim.js';
import { migratePages } from '../kernel/ops/migrate.js';
import { pte } from '../kernel/pgtable.js';
import { Library } from '../world/registry.js';
import { KERNEL } from '../kernel/library.js';
import { WORKLOAD_FOOTPRINTS } from './workload-footprints.js';
import { recordProbes } from './probes.js';

/** This design's routine library (see src/world/registry.ts). */
export const WORKLOAD_LIB = new Library('workload', [KERNEL], { kind: 'driver', sources: ['workload', 'kswapd', 'kcompactd', 'gup_test'] });
WORKLOAD_LIB.declare(WORKLOAD_FOOTPRINTS);

export interface OpCall {
  /** Readable form for listings, e.g. `reclaim(source@0)`. */
  readonly label: string;
  readonly routine: AnyRoutine;
  readonly args: readonly number[];
  /** Actors this operation starts when it returns (fork: the child process's threads). */
  readonly spawns?: readonly number[];
}

const PROGRAMS = 'workload';

export function setPrograms(layout: Layout, programs: readonly (readonly OpCall[])[]): void {
  layout.statics[PROGRAMS] = programs;
}

export function programs(layout: Layout): readonly (readonly OpCall[])[] {
  return layout.statics[PROGRAMS] as readonly (readonly OpCall[])[];
}

export const workload = WORKLOAD_LIB.routine({
  name: 'workload',
  params: [],
  locals: ['pc'],
  steps: {
    next: {
      at: 'workload: next operation',
      run: (w, l) => {
        const prog = programs(w.layout)[w.actor];
        // The operation that just returned starts the actors it creates.
        const done = l.pc > 0 ? prog[l.pc - 1] : undefined;
        // The scenario's expected outcomes observed at this point (none: nothing is written).
        if (done) recordProbes(w, w.actor, l.pc - 1, l.result);
        for (const a of done?.spawns ?? []) w.spawn(a, workload, []);
        if (l.pc >= prog.length) return w.ret(0);
        const op = prog[l.pc];
        l.pc = l.pc + 1;
        l.result = 0;
        return w.call(op.routine, 'next', ...op.args);
      },
    },
  },
});

/** One operation an `any` adversary may choose: its call, the mm it acts on, and the rules that bound it (operations.ts). */
export interface AnyChoice {
  readonly call: OpCall;
  /** The index of the mm it acts on. */
  readonly mm: number;
  /** It ends that mm (exit): nothing is chosen on the mm after it. */
  readonly ends: boolean;
  /** At most once per mm (OOM reap). */
  readonly once: boolean;
}

/** An `any` adversary's program: at most `ops` operations, each one of `choices`. */
export interface AnyProgram {
  readonly ops: number;
  readonly choices: readonly AnyChoice[];
}

const ANY_PROGRAMS = 'any';

/** The `any` adversaries' programs, by actor (undefined for an actor with a list of operations). */
export function setAnyPrograms(layout: Layout, programs: readonly (AnyProgram | undefined)[]): void {
  layout.statics[ANY_PROGRAMS] = programs;
}

/**
 * The bottom frame of an `any` adversary: before each operation it branches (`w.choose`, so the
 * explorer follows every alternative) between stopping and each operation still allowed — one
 * on an mm that has not ended, an OOM reap of an mm not yet reaped — until it has run `ops`.
 * `ended` and `reaped` are bit masks by mm index. The program is static data; only these three
 * locals are state.
 */
export const anyWorkload = WORKLOAD_LIB.routine({
  name: 'any_workload',
  params: [],
  locals: ['done', 'ended', 'reaped'],
  steps: {
    next: {
      at: 'workload: any next operation, or none',
      run: (w, l) => {
        const prog = (w.layout.statics[ANY_PROGRAMS] as readonly (AnyProgram | undefined)[])[w.actor]!;
        if (l.done >= prog.ops) return w.ret(0);
        const allowed = prog.choices.filter((c) => !(l.ended & (1 << c.mm)) && !(c.once && l.reaped & (1 << c.mm)));
        const pick = w.choose(1 + allowed.length);
        if (pick === 0) return w.ret(0);
        const c = allowed[pick - 1];
        l.done = l.done + 1;
        if (c.ends) l.ended = l.ended | (1 << c.mm);
        if (c.once) l.reaped = l.reaped | (1 << c.mm);
        l.result = 0;
        return w.call(c.call.routine, 'next', ...c.call.args);
      },
    },
  },
});

/**
 * Reclaim whatever page backs (mm, vpn) when the operation starts (kswapd picks a page off the LRU;
 * the scenario names it by the address that maps it). Nothing mapped: nothing to do.
 */
export const reclaimAt = WORKLOAD_LIB.routine({
  name: 'kswapd_reclaim',
  params: ['mm', 'vpn'],
  steps: {
    pick: {
      at: 'mm/vmscan.c:isolate_lru_folios',
      run: (w, l) => {
        const pfn = pickPage(w, l.mm, l.vpn);
        if (pfn === 0) return w.ret(0);
        return w.call(shrinkFolioList, 'done', pfn);
      },
    },
    done: { at: 'mm/vmscan.c:shrink_folio_list', run: (w) => w.ret(0) },
  },
});

/**
 * The aging walk (layer dirty-accessed) on whatever page backs (mm, vpn) when the operation starts,
 * as reclaim's folio_check_references runs it on a page off the LRU; returns folio_referenced's
 * count of young mappings (0 with nothing mapped).
 */
export const ageAt = WORKLOAD_LIB.routine({
  name: 'kswapd_age',
  params: ['mm', 'vpn'],
  steps: {
    pick: {
      at: 'mm/vmscan.c:shrink_folio_list folio_check_references',
      run: (w, l) => {
        const pfn = pickPage(w, l.mm, l.vpn);
        if (pfn === 0) return w.ret(0);
        return w.call(folioReferenced, 'done', pfn);
      },
    },
    done: { at: 'mm/rmap.c:folio_referenced', run: (w, l) => w.ret(l.result) },
  },
});

/** What the page pick stands for (listed among a proof's assumptions). */
const LRU_PICK = "kswapd and kcompactd find the page to reclaim or migrate by the pte that maps it at the scenario's address (the kernel scans its LRU lists or the zone)";

/** The normal page the pte of (mm, vpn) maps, as kswapd or kcompactd would find it on its lists; 0 for none. */
function pickPage(w: World, mm: number, vpn: number): number {
  return w.standIn(LRU_PICK, () => {
    const p = pte(w, mm, vpn);
    return !p.present || p.special ? 0 : p.pfn;
  });
}

/** Migrate (compact) whatever page backs (mm, vpn) when the operation starts. */
export const migrateAt = WORKLOAD_LIB.routine({
  name: 'kcompactd_migrate',
  params: ['mm', 'vpn'],
  steps: {
    pick: {
      at: 'mm/compaction.c:isolate_migratepages_block',
      run: (w, l) => {
        const pfn = pickPage(w, l.mm, l.vpn);
        if (pfn === 0) return w.ret(0);
        return w.call(migratePages, 'done', pfn);
      },
    },
    done: { at: 'mm/migrate.c:migrate_pages', run: (w) => w.ret(0) },
  },
});
