/**
 * The properties, as pure functions of a state. Layers: P = a process's ptes (primary), K = a KVM's
 * EPT (secondary of its VMM's ptes), M = a mirror device VMA's ptes in the introspector
 * (secondary of the source's ptes). The nesting K2 → M → P is checked link by link: every
 * secondary entry must be a sub-mapping of its parent *now*.
 */
import type { World } from '../world/world.js';
import { MM, PAGE, PTE, VMA, LOCK } from '../kernel/structs.js';
import { pte } from '../kernel/pgtable.js';
import { deviceExclusivePfn } from '../kernel/ops/device-exclusive.js';
import { KVM, SPTE } from '../kvm/structs.js';
import { gfnToMemslot, memslotHva } from '../kvm/topology.js';
import { forEachGpcInUse } from '../kvm/gpc.js';
import { MIRROR, mirrorToSource } from '../mirror/device.js';
import type { Property } from '../engine/verdict.js';
import { firstUnbalanced, quiescent, unbalanced, type Balanced } from './balance.js';
import type { MirrorVariant } from '../mirror/device.js';
import { deviceAccess, deviceTable } from '../layers/properties.js';

const mmName = (w: World, mm: number) => w.layout.objectName(w.layout.region(MM), mm);

/** Calls `f` for every present pte of every VMA that is a view of a mirror device (any mm: fork copies too). */
function forEachMirrorPte(w: World, f: (mm: number, vpn: number, srcMm: number, srcVpn: number) => string | undefined): string | undefined {
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
      const msg = f(mm, vpn, d.srcMm - 1, mirrorToSource(w, i, vpn));
      if (msg) return msg;
    }
  }
  return undefined;
}

/** Calls `f` for every present EPT entry. */
function forEachSpte(w: World, f: (kvm: number, gfn: number) => string | undefined): string | undefined {
  if (!w.layout.has(KVM)) return undefined;
  const gfns = w.layout.dims.kvmGfns;
  for (let k = 0; k < w.count(KVM); k++) {
    for (let g = 0; g < gfns; g++) {
      if (w.obj(SPTE, k * gfns + g).pfn === 0) continue;
      const msg = f(k, g);
      if (msg) return msg;
    }
  }
  return undefined;
}

function subMapping(w: World, what: string, pfn: number, write: number, parentMm: number, parentVpn: number): string | undefined {
  const p = pte(w, parentMm, parentVpn);
  const parent = `${mmName(w, parentMm)}@${parentVpn}`;
  if (!p.present) return `${what} maps pfn ${pfn} but ${parent} maps nothing`;
  if (p.pfn !== pfn) return `${what} maps pfn ${pfn} but ${parent} maps pfn ${p.pfn}`;
  if (write && !p.write) return `${what} is writable but ${parent} is read-only`;
  return undefined;
}

export const refinement: Property = {
  name: 'refinement',
  description: 'every EPT entry and mirror pte, and every gfn→pfn cache while in use, maps the same page as its parent layer does now, with no more write permission',
  check(w) {
    const m = forEachMirrorPte(w, (mm, vpn, srcMm, srcVpn) => {
      const p = pte(w, mm, vpn);
      return subMapping(w, `mirror pte ${mmName(w, mm)}@${vpn}`, p.pfn, p.write, srcMm, srcVpn);
    });
    if (m) return m;
    const k = forEachSpte(w, (k, g) => {
      const e = w.obj(SPTE, k * w.layout.dims.kvmGfns + g);
      const slot = gfnToMemslot(w, k, g);
      const name = `EPT ${w.layout.objectName(w.layout.region(KVM), k)}:gfn${g}`;
      if (slot < 0) return `${name} maps pfn ${e.pfn} but no memslot covers the gfn`;
      return subMapping(w, name, e.pfn, e.write, w.obj(KVM, k).mm - 1, memslotHva(w, slot, g));
    });
    if (k) return k;
    // A cache checked when used (KVM's gfn→pfn cache) answers for its parent only while in use.
    return forEachGpcInUse(w, (what, pfn, _gen, mm, hva) => subMapping(w, what, pfn, 0, mm, hva));
  },
};

function dangling(w: World, what: string, pfn: number, gen: number): string | undefined {
  const page = w.obj(PAGE, pfn);
  if (page.free) return `${what} maps pfn ${pfn}, which has been freed`;
  if (page.gen !== gen) return `${what} maps pfn ${pfn}, which was freed and reused since it was mapped`;
  return undefined;
}

export const noDanglingPfn: Property = {
  name: 'no-dangling-pfn',
  description: 'no page table of any layer, nor a gfn→pfn cache in use, maps a freed page frame, or a frame reused since the mapping was made',
  check(w) {
    const n = w.count(PTE);
    const pages = w.layout.dims.mmPages;
    for (let i = 0; i < n; i++) {
      const p = w.obj(PTE, i);
      if (!p.present && !p.devPrivate) continue;
      const msg = dangling(w, `pte ${mmName(w, Math.floor(i / pages))}@${i % pages}`, p.present ? p.pfn : p.devPrivate, p.gen);
      if (msg) return msg;
    }
    const k = forEachSpte(w, (k, g) => {
      const e = w.obj(SPTE, k * w.layout.dims.kvmGfns + g);
      return dangling(w, `EPT ${w.layout.objectName(w.layout.region(KVM), k)}:gfn${g}`, e.pfn, e.gen);
    });
    return k ?? forEachGpcInUse(w, (what, pfn, gen) => dangling(w, what, pfn, gen));
  },
};

export const frameAccounting: Property = {
  name: 'frame-accounting',
  description: "a page's mapcount equals the number of normal ptes (and device-exclusive and device-private entries) mapping it and its refcount covers them; special ptes take none",
  check(w) {
    const np = w.count(PAGE);
    const mapped = new Int32Array(np);
    const n = w.count(PTE);
    for (let i = 0; i < n; i++) {
      const p = w.obj(PTE, i);
      if (p.present && !p.special) mapped[p.pfn]++;
      else if (p.devPrivate)
        mapped[p.devPrivate]++; // a device-private entry is in the rmap (remove_migration_pte)
      else mapped[deviceExclusivePfn(p)]++; // since v6.15 a device-exclusive entry keeps its mapcount (pfn 0: none)
    }
    for (let pfn = 1; pfn < np; pfn++) {
      const page = w.obj(PAGE, pfn);
      if (page.free) continue;
      if (page.mapcount !== mapped[pfn]) return `pfn ${pfn} has mapcount ${page.mapcount} but ${mapped[pfn]} normal ptes map it`;
      const cached = page.swap ? 1 : 0;
      if (page.refcount < page.mapcount + cached) return `pfn ${pfn} has refcount ${page.refcount}, fewer than its ${page.mapcount} mappings${cached ? ' and the swap cache' : ''}`;
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

/** The properties every scenario is checked against (kernel BUGs and deadlock are always on). */
export const PROPERTIES: readonly Property[] = [refinement, noDanglingPfn, frameAccounting, quiescence, deviceTable, deviceAccess];

/**
 * What a scenario is checked against under `variant`: PROPERTIES, then, for a driver, `unbalanced`
 * over the counters it declared balanced and its own properties (`DriverSpec.properties`).
 */
export function propertiesOf(variant: Pick<MirrorVariant, 'balanced' | 'properties'>): readonly Property[] {
  const balanced = variant.balanced?.length ? [unbalanced(variant.balanced)] : [];
  const own = variant.properties ?? [];
  return balanced.length || own.length ? [...PROPERTIES, ...balanced, ...own] : PROPERTIES;
}
