/**
 * The properties, as pure functions of a state. Layers: P = a process's ptes (primary), K = a KVM's
 * EPT (secondary of its VMM's ptes), M = a mirror device VMA's ptes in the introspector
 * (secondary of the source's ptes). The nesting K2 → M → P is checked link by link: every
 * secondary entry must be a sub-mapping of its parent *now*.
 */
import type { World } from '../world/world.js';
import { MM, PAGE, PTE, VMA, LOCK, SWAP } from '../kernel/structs.js';
import { dirtyAccessed } from '../kernel/dirty.js';
import { pte } from '../kernel/pgtable.js';
import { deviceExclusivePfn } from '../kernel/ops/device-exclusive.js';
import { KVM, SPTE } from '../kvm/structs.js';
import { gfnToMemslot, memslotHva } from '../kvm/topology.js';
import { forEachGpcInUse, gpcStaleInUse, hasGpc } from '../kvm/gpc.js';
import { unloggedWritableGfn } from '../kvm/dirty-log.js';
import { forEachLiveGuestTlbEntry, gtlb, guestTlbName, guestTlbRefines } from '../kvm/tlb.js';
import { MIRROR, mirrorToSource } from '../mirror/device.js';
import type { Property } from '../engine/verdict.js';
import { firstUnbalanced, quiescent, unbalanced, type Balanced } from './balance.js';
import type { MirrorVariant } from '../mirror/device.js';
import { deviceAccess, deviceTable } from '../layers/properties.js';
import { TLB, tlbOn } from '../kernel/tlb.js';
import { pageCacheCoherence } from './page-cache.js';

const mmName = (w: World, mm: number) => w.layout.objectName(w.layout.region(MM), mm);

/*
 * The properties run on every new state of a search: they allocate nothing while they hold. Those
 * that declare the fields they read (`reads`) are local assertions: an exhaustive search checks them
 * only after a transition that wrote one of those fields (verdict.ts `Property.reads`; an audited
 * search checks each evaluation against the list). notifier-balance and the device-table
 * properties read every driver table and lock of the layout and stay global. The
 * callbacks the walks take are module-level functions of the world (a closure over `w` would be an
 * object per state), and scratch arrays are kept per layout.
 */

/** Calls `f` for every present pte of every VMA that is a view of a mirror device (any mm: fork copies too). */
function forEachMirrorPte(w: World, f: (w: World, mm: number, vpn: number, srcMm: number, srcVpn: number) => string | undefined): string | undefined {
  if (!w.layout.has(MIRROR)) return undefined;
  const per = w.layout.dims.vmasPerMm;
  const nv = w.count(VMA);
  for (let i = 0; i < nv; i++) {
    const v = w.obj(VMA, i);
    if (!v.used || v.file === 0 || v.file > w.count(MIRROR)) continue;
    const d = w.obj(MIRROR, v.file - 1);
    if (d.srcMm === 0) continue;
    const mm = Math.floor(i / per);
    for (let vpn = v.start; vpn < v.end; vpn++) {
      if (!pte(w, mm, vpn).present) continue;
      const msg = f(w, mm, vpn, d.srcMm - 1, mirrorToSource(w, i, vpn));
      if (msg) return msg;
    }
  }
  return undefined;
}

/** Calls `f` for every present EPT entry. */
function forEachSpte(w: World, f: (w: World, kvm: number, gfn: number) => string | undefined): string | undefined {
  if (!w.layout.has(KVM)) return undefined;
  const gfns = w.layout.dims.kvmGfns;
  for (let k = 0; k < w.count(KVM); k++) {
    for (let g = 0; g < gfns; g++) {
      if (w.obj(SPTE, k * gfns + g).pfn === 0) continue;
      const msg = f(w, k, g);
      if (msg) return msg;
    }
  }
  return undefined;
}

/** Why an entry mapping `pfn` (writable if `write`) is not a sub-mapping of pte (`parentMm`, `parentVpn`) now; 0 when it is. */
const NOT_PRESENT = 1;
const OTHER_PFN = 2;
const WRITABLE = 3;
function notSubMapping(w: World, pfn: number, write: number, parentMm: number, parentVpn: number): number {
  const p = pte(w, parentMm, parentVpn);
  if (!p.present) return NOT_PRESENT;
  if (p.pfn !== pfn) return OTHER_PFN;
  if (write && !p.write) return WRITABLE;
  return 0;
}

/** The message of a `notSubMapping` failure `why` of the entry `what` (built only then). */
function subMappingMessage(w: World, why: number, what: string, pfn: number, parentMm: number, parentVpn: number): string {
  const parent = `${mmName(w, parentMm)}@${parentVpn}`;
  if (why === NOT_PRESENT) return `${what} maps pfn ${pfn} but ${parent} maps nothing`;
  if (why === OTHER_PFN) return `${what} maps pfn ${pfn} but ${parent} maps pfn ${pte(w, parentMm, parentVpn).pfn}`;
  return `${what} is writable but ${parent} is read-only`;
}

function subMapping(w: World, what: string, pfn: number, write: number, parentMm: number, parentVpn: number): string | undefined {
  const why = notSubMapping(w, pfn, write, parentMm, parentVpn);
  return why === 0 ? undefined : subMappingMessage(w, why, what, pfn, parentMm, parentVpn);
}

const REFINEMENT_READS = [
  'vma.used',
  'vma.file',
  'vma.start',
  'vma.end',
  'vma.pgoff',
  'mirror.srcMm',
  'pte.*',
  'spte.*',
  'memslot.*',
  'kvm.mm',
  'kvm.protectOwed',
  'tlb.*',
  'mm.users',
  'gtlb.*',
  'vcpu.*',
  'gpc.*',
];

export const refinement: Property = {
  name: 'refinement',
  description:
    'every EPT entry and mirror pte, and every gfn→pfn cache while in use, maps the same page as its parent layer does now, with no more write permission; so does every CPU TLB entry no running actor owes a flush (layer cpu-tlb), and every guest TLB entry a vCPU may still use, of its EPT entry (kvm-tlb)',
  // Which actors still run matters only to the CPU TLB's entries (a flush one of them owes).
  reads: (layout) => [...REFINEMENT_READS, ...(layout.has(TLB) ? ['actors'] : [])],
  check(w) {
    const m = forEachMirrorPte(w, mirrorPteRefines);
    if (m) return m;
    const k = forEachSpte(w, spteRefines);
    if (k) return k;
    const t = (tlbOn(w) ? tlbRefines(w) : undefined) ?? forEachLiveGuestTlbEntry(w, guestTlbRefines);
    if (t) return t;
    // A cache checked when used (KVM's gfn→pfn cache) answers for its parent only while in use.
    return hasGpc(w) ? (forEachGpcInUse(w, (what, pfn, _gen, mm, hva) => subMapping(w, what, pfn, 0, mm, hva)) ?? gpcStaleInUse(w)) : undefined;
  },
};

function mirrorPteRefines(w: World, mm: number, vpn: number, srcMm: number, srcVpn: number): string | undefined {
  const p = pte(w, mm, vpn);
  const why = notSubMapping(w, p.pfn, p.write, srcMm, srcVpn);
  return why === 0 ? undefined : subMappingMessage(w, why, `mirror pte ${mmName(w, mm)}@${vpn}`, p.pfn, srcMm, srcVpn);
}

function spteRefines(w: World, k: number, g: number): string | undefined {
  const e = w.obj(SPTE, k * w.layout.dims.kvmGfns + g);
  const slot = gfnToMemslot(w, k, g);
  if (slot < 0) return `${spteName(w, k, g)} maps pfn ${e.pfn} but no memslot covers the gfn`;
  const mm = w.obj(KVM, k).mm - 1;
  const hva = memslotHva(w, slot, g);
  const why = notSubMapping(w, e.pfn, e.write, mm, hva);
  return why === 0 ? undefined : subMappingMessage(w, why, spteName(w, k, g), e.pfn, mm, hva);
}

/** CPU TLB entry `i` (mm, vpn) as a trace names it. */
function tlbName(w: World, i: number): string {
  const pages = w.layout.dims.mmPages;
  return `CPU TLB entry ${mmName(w, Math.floor(i / pages))}@${i % pages}`;
}

/**
 * The cpu-tlb layer (src/kernel/tlb.ts): an entry nobody owes a flush is a sub-mapping of its pte,
 * which must also still be accessible (not PROT_NONE). While a running actor owes it a flush (a pte
 * cleared or write-protected, the flush deferred) the entry may be stale: the kernel allows exactly
 * that window; an actor that finished without its flush owes nothing any more.
 */
function tlbRefines(w: World): string | undefined {
  let running = 0;
  for (let a = 0; a < w.layout.actorNames.length; a++) if (w.actorSp(a) > 0) running |= 1 << a;
  const n = w.count(TLB);
  const pages = w.layout.dims.mmPages;
  for (let i = 0; i < n; i++) {
    const e = w.obj(TLB, i);
    if (e.pfn === 0 || (e.pending & running) !== 0) continue;
    const mm = Math.floor(i / pages);
    if (tlbUnusable(w, mm)) continue;
    const vpn = i % pages;
    const why = notSubMapping(w, e.pfn, e.write, mm, vpn);
    if (why !== 0) return `${subMappingMessage(w, why, tlbName(w, i), e.pfn, mm, vpn)}, and no TLB flush is pending`;
    if (pte(w, mm, vpn).protnone) return `${tlbName(w, i)} maps pfn ${e.pfn} but ${mmName(w, mm)}@${vpn} is PROT_NONE, and no TLB flush is pending`;
  }
  return undefined;
}

/**
 * No CPU can use the TLB of an mm whose last user is gone (mmput dropped mm_users to 0: every
 * thread has exited and exit_mmap tears the mm down, ending with its fullmm flush): its entries
 * are dead, whatever the pages they name become.
 */
function tlbUnusable(w: World, mm: number): boolean {
  return w.obj(MM, mm).users === 0;
}

/** The cpu-tlb layer: a CPU TLB entry may never map a freed or reused frame (a page freed before its flush). */
function tlbDangling(w: World): string | undefined {
  const n = w.count(TLB);
  const pages = w.layout.dims.mmPages;
  for (let i = 0; i < n; i++) {
    const e = w.obj(TLB, i);
    if (e.pfn === 0 || tlbUnusable(w, Math.floor(i / pages))) continue;
    const why = dangles(w, e.pfn, e.gen);
    if (why !== 0) return `stale ${danglingMessage(why, tlbName(w, i), e.pfn)}`;
  }
  return undefined;
}

const spteName = (w: World, k: number, g: number) => `EPT ${w.layout.objectName(w.layout.region(KVM), k)}:gfn${g}`;

/** Why a mapping of `pfn` made at page generation `gen` dangles now (FREED, REUSED), 0 if it does not. */
const FREED = 1;
const REUSED = 2;
function dangles(w: World, pfn: number, gen: number): number {
  const page = w.obj(PAGE, pfn);
  if (page.free) return FREED;
  return page.gen !== gen ? REUSED : 0;
}

/** The message of a `dangles` failure `why` of the mapping `what` (built only then). */
function danglingMessage(why: number, what: string, pfn: number): string {
  return why === FREED ? `${what} maps pfn ${pfn}, which has been freed` : `${what} maps pfn ${pfn}, which was freed and reused since it was mapped`;
}

function dangling(w: World, what: string, pfn: number, gen: number): string | undefined {
  const why = dangles(w, pfn, gen);
  return why === 0 ? undefined : danglingMessage(why, what, pfn);
}

function spteDangles(w: World, k: number, g: number): string | undefined {
  const e = w.obj(SPTE, k * w.layout.dims.kvmGfns + g);
  const why = dangles(w, e.pfn, e.gen);
  return why === 0 ? undefined : danglingMessage(why, spteName(w, k, g), e.pfn);
}

function guestTlbDangles(w: World, _k: number, v: number, g: number): string | undefined {
  const e = gtlb(w, v, g);
  const why = dangles(w, e.pfn, e.gen);
  return why === 0 ? undefined : danglingMessage(why, guestTlbName(w, v, g), e.pfn);
}

export const noDanglingPfn: Property = {
  name: 'no-dangling-pfn',
  description: 'no page table of any layer, nor a gfn→pfn cache in use, nor a CPU TLB entry (layer cpu-tlb), maps a freed page frame, or a frame reused since the mapping was made',
  reads: ['pte.*', 'page.free', 'page.gen', 'tlb.*', 'mm.users', 'spte.*', 'gtlb.*', 'vcpu.*', 'kvm.mm', 'gpc.*'],
  check(w) {
    const n = w.count(PTE);
    const pages = w.layout.dims.mmPages;
    for (let i = 0; i < n; i++) {
      const p = w.obj(PTE, i);
      if (!p.present && !p.devPrivate) continue;
      const pfn = p.present ? p.pfn : p.devPrivate;
      const why = dangles(w, pfn, p.gen);
      if (why !== 0) return danglingMessage(why, `pte ${mmName(w, Math.floor(i / pages))}@${i % pages}`, pfn);
    }
    const t = tlbOn(w) ? tlbDangling(w) : undefined;
    if (t) return t;
    const k = forEachSpte(w, spteDangles) ?? forEachLiveGuestTlbEntry(w, guestTlbDangles);
    return k ?? (hasGpc(w) ? forEachGpcInUse(w, (what, pfn, gen) => dangling(w, what, pfn, gen)) : undefined);
  },
};

/** frame-accounting's count of ptes per pfn, reused from state to state (grown for the largest layout seen). */
let mappedScratch = new Int32Array(64);
/** frame-accounting's count of PMDs per folio head (the thp layer), likewise. */
let pmdScratch = new Int32Array(64);

export const frameAccounting: Property = {
  name: 'frame-accounting',
  description:
    "a page's mapcount equals the number of normal ptes (and device-exclusive and device-private entries) mapping it, a large folio's entire mapcount the PMDs mapping it, and its refcount covers them; special ptes take none",
  reads: ['pte.*', 'page.free', 'page.mapcount', 'page.entireMapcount', 'page.head', 'page.order', 'page.swap', 'page.mapping', 'page.refcount'],
  check(w) {
    const np = w.count(PAGE);
    if (mappedScratch.length < np) mappedScratch = new Int32Array(np);
    const mapped = mappedScratch;
    mapped.fill(0, 0, np);
    if (pmdScratch.length < np) pmdScratch = new Int32Array(np);
    const pmds = pmdScratch;
    pmds.fill(0, 0, np);
    const n = w.count(PTE);
    for (let i = 0; i < n; i++) {
      const p = w.obj(PTE, i);
      if (p.present && p.huge) {
        if (w.obj(PAGE, p.pfn).order > 0) pmds[p.pfn]++; // a PMD (src/kernel/huge.ts): counted once, at its head's slot
      } else if (p.present && !p.special) mapped[p.pfn]++;
      else if (p.devPrivate)
        mapped[p.devPrivate]++; // a device-private entry is in the rmap (remove_migration_pte)
      else mapped[deviceExclusivePfn(p)]++; // since v6.15 a device-exclusive entry keeps its mapcount (pfn 0: none)
    }
    for (let pfn = 1; pfn < np; pfn++) {
      const page = w.obj(PAGE, pfn);
      if (page.free) continue;
      if (page.mapcount !== mapped[pfn]) return `pfn ${pfn} has mapcount ${page.mapcount} but ${mapped[pfn]} normal ptes map it`;
      if (page.entireMapcount !== pmds[pfn]) return `folio ${pfn} has entire mapcount ${page.entireMapcount} but ${pmds[pfn]} PMDs map it`;
      if (page.head) continue; // a tail of a large folio: its head holds the folio's references
      let maps = page.mapcount + page.entireMapcount;
      for (let i = 1; i < 1 << page.order; i++) maps += w.obj(PAGE, pfn + i).mapcount;
      const cached = page.swap ? 1 : 0;
      const fileCache = page.mapping ? 1 : 0; // the page cache's reference (src/kernel/filemap.ts)
      if (page.refcount < maps + cached + fileCache)
        return `pfn ${pfn} has refcount ${page.refcount}, fewer than its ${maps} mappings${cached ? ' and the swap cache' : ''}${fileCache ? ' and the page cache' : ''}`;
    }
    return undefined;
  },
};

/**
 * The kernel's own counters that every start/end pair balances (src/check/balance.ts). KVM's is a
 * subscriber's: exit's mmu_notifier_release may unlink KVM mid-invalidation, and the lost end is
 * the kernel's (kvm_destroy_vm resets the count).
 */
export const KERNEL_BALANCED: readonly Balanced[] = [
  { struct: MM, field: 'activeInvalidateRanges', why: 'active_invalidate_ranges: every invalidate_range_start had its end' },
  { struct: KVM, field: 'invalidateInProgress', why: 'mmu_invalidate_in_progress: every kvm_mmu_invalidate_begin had its end', subscription: 'mn' },
];

export const quiescence: Property = {
  name: 'notifier-balance',
  description: 'once every actor has finished, every invalidate_range_start had its end, no lock is held and no epoch is open',
  check(w) {
    if (!quiescent(w)) return undefined;
    const counter = firstUnbalanced(w, KERNEL_BALANCED);
    if (counter) return counter;
    for (let m = 0; m < w.count(MM); m++) {
      const mm = w.obj(MM, m);
      const name = mmName(w, m);
      if (mm.invalidateSeq & 1) return `mm ${name}: interval-notifier epoch still open (invalidate_seq ${mm.invalidateSeq})`;
      if (mm.mmapWriter || mm.mmapReaders) return `mm ${name}: mmap_lock still held`;
      if (mm.ptl) return `mm ${name}: page-table lock still held`;
    }
    if (w.layout.has(KVM)) {
      for (let k = 0; k < w.count(KVM); k++) {
        const kvm = w.obj(KVM, k);
        if (kvm.mmuLockWriter || kvm.mmuLockReaders) return `kvm ${w.layout.objectName(w.layout.region(KVM), k)}: mmu_lock still held`;
      }
    }
    if (w.layout.has(LOCK)) {
      for (let i = 0; i < w.count(LOCK); i++) if (w.obj(LOCK, i).owner) return `lock ${w.layout.objectName(w.layout.region(LOCK), i)} still held`;
    }
    for (let pfn = 1; pfn < w.count(PAGE); pfn++) if (w.obj(PAGE, pfn).locked) return `pfn ${pfn} still locked`;
    return undefined;
  },
};

/**
 * Layer dirty-accessed: reclaim drops a page from the swap cache only with its data on swap. A
 * write that never reached PG_dirty (a pte dirty bit dropped at unmap, a secondary that wrote
 * through its own entry and did not dirty the folio) leaves the slot with older contents, which a
 * swap-in reads back: checked on the slot, at the step that dropped the page.
 */
export const lostWrite: Property = {
  name: 'lost-write',
  description: 'a page reclaim drops from the swap cache holds exactly what its swap slot holds: a swap-in reads back the last write that completed (layer dirty-accessed)',
  reads: ['swap.latest', 'swap.contents'],
  check(w) {
    if (!dirtyAccessed(w)) return undefined;
    const n = w.count(SWAP);
    for (let s = 1; s < n; s++) {
      const slot = w.obj(SWAP, s);
      if (slot.latest !== 0 && slot.contents !== slot.latest - 1)
        return `lost write: swap slot ${s} holds ${slot.contents}, but the page reclaim dropped held ${slot.latest - 1} (the last write that completed); a swap-in reads back ${slot.contents}`;
    }
    return undefined;
  },
};

/** The properties every scenario is checked against (kernel BUGs and deadlock are always on). */
/** KVM's dirty logging (src/kvm/dirty-log.ts): only where memslots change at run time. */
export const dirtyLog: Property = {
  name: 'dirty-log',
  description: 'a gfn of a memslot that logs dirty pages, which the guest could write without a fault, is marked in its dirty bitmap (unless a write-protect is still flushing)',
  reads: ['kvm.protectOwed', 'memslot.*', 'dirtyBitmap.*', 'spte.*', 'gtlb.*', 'vcpu.*'],
  check: unloggedWritableGfn,
};

export const PROPERTIES: readonly Property[] = [refinement, noDanglingPfn, frameAccounting, quiescence, pageCacheCoherence, dirtyLog, lostWrite, deviceTable, deviceAccess];

/**
 * What a scenario is checked against under `variant`: PROPERTIES, then, for a driver, `unbalanced`
 * over the counters it declared balanced and its own properties (`DriverSpec.properties`).
 */
export function propertiesOf(variant: Pick<MirrorVariant, 'balanced' | 'properties'>): readonly Property[] {
  const balanced = variant.balanced?.length ? [unbalanced(variant.balanced)] : [];
  const own = variant.properties ?? [];
  return balanced.length || own.length ? [...PROPERTIES, ...balanced, ...own] : PROPERTIES;
}
