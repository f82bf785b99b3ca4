/**
 * The rule of each table kind (src/layers/table.ts), as one function of a translation: what is wrong
 * with entry `index` mapping (pfn, gen, write) now, or nothing. The properties ask it of every
 * entry and every access in flight after each step; a point access asks it at its step
 * (src/layers/access.ts). A problem is plain numbers, so an access can leave it in the state.
 */
import type { World } from '../world/world.js';
import { MM, PAGE } from '../kernel/structs.js';
import { pte, type PteView } from '../kernel/pgtable.js';
import { deviceExclusivePfn } from '../kernel/ops/device-exclusive.js';
import { isDevicePrivatePage } from '../kernel/memremap.js';
import { parentOf, windowOpen, type DeviceTable } from './table.js';

/** The frame was freed. */
export const FREED = 1;
/** The frame was freed and allocated again since the translation was made. */
export const REUSED = 2;
/** The parent maps nothing there. */
export const PARENT_NONE = 3;
/** The parent maps another frame (the problem's `arg`). */
export const PARENT_OTHER = 4;
/** A write, but the parent maps the page read-only. */
export const PARENT_READ_ONLY = 5;

export interface Problem {
  readonly code: number;
  /** PARENT_OTHER: the frame the parent maps. */
  readonly arg: number;
}

/**
 * What breaks `t`'s rule in entry `index` translating to (pfn, gen, write), or undefined. `use`: it
 * is an access (a cache is checked only when used). Reads the state raw: instrumentation, never an
 * access of the modelled code.
 */
export function ruleProblem(w: World, t: DeviceTable, index: number, pfn: number, gen: number, write: number, use: boolean): Problem | undefined {
  if (t.kind === 'cache' && !use) return undefined;
  const page = w.obj(PAGE, pfn);
  if (page.free) return { code: FREED, arg: 0 };
  if (page.gen !== gen) return { code: REUSED, arg: 0 };
  const { mm, vpn, dev } = parentOf(w, t, index);
  if (t.kind === 'page-refs' && windowOpen(w, t, dev)) return undefined;
  const p = pte(w, mm, vpn);
  const frame = parentFrame(w, p, vpn, pfn);
  if (frame === 0) return { code: PARENT_NONE, arg: 0 };
  if (frame !== pfn) return { code: PARENT_OTHER, arg: frame };
  // A device-exclusive entry maps its page writable, for the device that made it (mm/rmap.c:make_device_exclusive).
  if (write && !p.write && !deviceExclusivePfn(p)) return { code: PARENT_READ_ONLY, arg: 0 };
  return undefined;
}

/**
 * The frame the parent pte gives the device: a present pte's; a device-private entry's device page
 * (hmm_range_fault reports it VALID to its owner, mm/hmm.c:hmm_vma_handle_pte); and, for an entry
 * mapping device page `pfn` whose rmap points at this pte, a migration entry — the page is locked
 * and held by migrate_vma from collect to finalize, and its owner, whose MMU_NOTIFY_MIGRATE
 * invalidation it skipped (range->owner), updates its table itself (lib/test_hmm.c:
 * dmirror_migrate_finalize_and_map, dmirror_devmem_fault_alloc_and_copy). 0: nothing.
 */
function parentFrame(w: World, p: PteView, vpn: number, pfn: number): number {
  if (p.present) return p.pfn;
  const exclusive = deviceExclusivePfn(p);
  if (exclusive) return exclusive;
  if (p.devPrivate) return p.devPrivate;
  if (p.migration && isDevicePrivatePage(w, pfn) && w.obj(PAGE, pfn).index === vpn) return pfn;
  return 0;
}

/** `gpu-vm[1] (page-refs)`: an entry as messages name it. */
export function entryName(t: DeviceTable, index: number): string {
  return `${t.name}[${index}] (${t.kind})`;
}

/** The message of problem `p`: `subject` is what maps or uses `pfn` (`device table gpu-vm[0] (cache) maps`). */
export function describeProblem(w: World, t: DeviceTable, index: number, subject: string, pfn: number, p: Problem): string {
  const { mm, vpn } = parentOf(w, t, index);
  const parent = `${w.layout.objectName(w.layout.region(MM), mm)}@${vpn}`;
  // page-refs may lag only inside a window: say so where that is the rule that failed.
  const lag = t.kind === 'page-refs' ? ', and no invalidation window is open' : '';
  switch (p.code) {
    case FREED:
      return `${subject} pfn ${pfn}, which has been freed`;
    case REUSED:
      return `${subject} pfn ${pfn}, which was freed and reused since it was mapped`;
    case PARENT_NONE:
      return `${subject} pfn ${pfn} but ${parent} maps nothing${lag}`;
    case PARENT_OTHER:
      return `${subject} pfn ${pfn} but ${parent} maps pfn ${p.arg}${lag}`;
    default:
      return `${subject} pfn ${pfn} for writing but ${parent} is read-only${lag}`;
  }
}
