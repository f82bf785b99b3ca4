/**
 * The current HMM API (mm/hmm.c, v6.18; reference §2.3): hmm_range_fault over a `struct hmm_range`
 * (hmm-range.ts) of up to HMM_RANGE_PAGES pages.
 *
 *   hmm_vma_walk.last = range->start;
 *   do {
 *     if (mmu_interval_check_retry(range->notifier, range->notifier_seq)) return -EBUSY;
 *     ret = walk_page_range(mm, last, range->end, ...);   // faults in what is missing, then -EBUSY
 *   } while (ret == -EBUSY);
 *
 * The walk reads each pte without the ptl (pte_offset_map, ptep_get): one step per pte. Each page's
 * request is `(hmm_pfns[i] & pfn_flags_mask) | default_flags` (hmm_pte_need_fault); a page that must
 * be faulted sets `last` to it and faults every page from it to the end of the walk in that VMA
 * (hmm_vma_fault), then the walk returns -EBUSY and the loop re-checks the sequence and walks again
 * from `last`: entries before `last` hold their output, the rest still their requests. Without a
 * fault request a page is snapshot: pte_none, a swap, migration or device-exclusive entry give 0; a
 * device-private entry of range->dev_private_owner gives its pfn (VALID, + WRITE), faulted or not,
 * and another owner's is treated as a swap entry (0, or faulted back: migrate_to_ram); a hole without a
 * VMA, a VMA without VM_READ or with VM_IO|VM_PFNMAP give HMM_PFN_ERROR (with one: -EFAULT). It takes
 * no page reference: the result is only usable under the driver's lock after
 * mmu_interval_read_retry says the sequence did not move. Returns 0 or -EBUSY / -EFAULT / -EPERM.
 *
 * Two ways to call it, one routine (a model keeps one routine per name, and every frame counts: the
 * deepest catalogue path, a driver fault → hmm_range_fault → a COW fault → the driver's callback →
 * zap_vma_ptes, uses all 16, so a wrapper routine would not fit):
 *   - `hmmRangeFaultCall(w, resume, range)`: hmm_range_fault(range) on the caller's own range
 *     object (`hmmRangeOf(w)`, filled with `hmmRangeInit`); returns 0 or -errno;
 *   - `w.call(hmmRangeFault, resume, sub, vpn, seq, write)`: the one-page form the seed's designs
 *     call, the range {notifier: sub, start: vpn, end: vpn + 1, notifier_seq: seq, default_flags:
 *     REQ_FAULT | (write ? REQ_WRITE : 0), pfn_flags_mask: 0} read from the frame; returns
 *     hmm_pfns[0] (always > 0) or -errno. It runs the same steps and writes no range object.
 */
import { isZeroPfn } from '../zero-page.js';
import { EBUSY, EFAULT, EPERM, VM_IO, VM_PFNMAP, VM_READ, VM_WRITE } from '../flags.js';
import { assertHeld, mmapLock } from '../locks.js';
import { mmuIntervalCheckRetry } from '../notifier/interval.js';
import { deref, isNone, ref } from '../ref.js';
import { findVma, pte, vma } from '../pgtable.js';
import { INTERVAL_SEQ, MIN } from '../structs.js';
import { defineActorNames } from '../../world/layout.js';
import { pgmapOwner } from '../memremap.js';
import { handleMmFault, migrationEntryWait, VM_FAULT_ERROR } from '../ops/fault.js';
import { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_SHIFT, HMM_PFN_VALID, HMM_PFN_WRITE, hmmPfnEncode, hmmPfnFlagsOrder } from './hmm-pfn.js';
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, pmdStart, thpEnabled } from '../huge.js';
import { HMM_PFN_FIELDS, HMM_RANGE_NOW, HMM_RANGE_PAGES } from './hmm-range.js';
import { KERNEL } from '../library.js';
import type { World } from '../../world/world.js';
import { ModelError } from '../../world/errors.js';

/** The `sub` argument that says the call is hmm_range_fault(range), `vpn` being the range object. */
const RANGE_FORM = -1;

/** mm/hmm.c's HMM_NEED_FAULT / HMM_NEED_WRITE_FAULT: what hmm_pte_need_fault asks of hmm_vma_fault. */
const HMM_NEED_FAULT = 1;
const HMM_NEED_WRITE_FAULT = 2;

/** The frame: params, then the notifier's mm, hmm_vma_walk.last, the walk's (or hmm_vma_fault's) address, and hmm_vma_fault's required_fault. */
interface Frame {
  sub: number;
  vpn: number;
  seq: number;
  write: number;
  mm: number;
  last: number;
  addr: number;
  need: number;
  result: number;
}

/** The running actor's struct hmm_range (the one on its stack). */
export function hmmRangeOf(w: World): number {
  return w.actor;
}

/**
 * Fills range `r` as a driver's code does before hmm_range_fault: notifier, [start, end),
 * default_flags, pfn_flags_mask and dev_private_owner, every hmm_pfns entry 0 (per-page requests: `hmmRangeSetPfn`).
 * range->notifier_seq is set from mmu_interval_read_begin with `hmmRangeSetSeq`.
 */
export function hmmRangeInit(w: World, r: number, sub: number, start: number, end: number, defaultFlags: number, pfnFlagsMask = 0, devPrivateOwner = 0): void {
  if (!(end > start && end - start <= HMM_RANGE_PAGES)) throw new ModelError(`hmm_range [${start}, ${end}): the model's ranges hold 1..${HMM_RANGE_PAGES} pages`);
  const o = w.obj(HMM_RANGE_NOW, r);
  o.notifier = ref(sub);
  o.notifierSeq = 0;
  o.start = start;
  o.end = end;
  o.defaultFlags = defaultFlags;
  o.pfnFlagsMask = pfnFlagsMask;
  o.devPrivateOwner = devPrivateOwner;
  for (const f of HMM_PFN_FIELDS) o[f] = 0;
}

/** range->notifier_seq = seq (what mmu_interval_read_begin returned). */
export function hmmRangeSetSeq(w: World, r: number, seq: number): void {
  w.obj(HMM_RANGE_NOW, r).notifierSeq = seq;
}

/** range->hmm_pfns[vpn - start]: a request before hmm_range_fault, its result after. */
export function hmmRangePfn(w: World, r: number, vpn: number): number {
  return w.obj(HMM_RANGE_NOW, r)[pfnField(w, r, vpn)];
}

export function hmmRangeSetPfn(w: World, r: number, vpn: number, value: number): void {
  w.obj(HMM_RANGE_NOW, r)[pfnField(w, r, vpn)] = value;
}

/** Puts range `r` back to all zeroes, as the caller's stack frame dies (equal futures must give equal states). */
export function hmmRangeDone(w: World, r: number): void {
  const o = w.obj(HMM_RANGE_NOW, r);
  for (const f of HMM_RANGE_NOW.fields) o[f] = 0;
}

function pfnField(w: World, r: number, vpn: number): (typeof HMM_PFN_FIELDS)[number] {
  const o = w.obj(HMM_RANGE_NOW, r);
  if (vpn < o.start || vpn >= o.end) throw new ModelError(`hmm_range[${r}]: vpn ${vpn} is outside [${o.start}, ${o.end})`);
  return HMM_PFN_FIELDS[vpn - o.start];
}

const isRange = (l: Frame) => l.sub === RANGE_FORM;
/** range->notifier's index. */
const notifierOf = (w: World, l: Frame) => (isRange(l) ? deref(w.obj(HMM_RANGE_NOW, l.vpn).notifier, 'range.notifier') : l.sub);
const startOf = (w: World, l: Frame) => (isRange(l) ? w.obj(HMM_RANGE_NOW, l.vpn).start : l.vpn);
const endOf = (w: World, l: Frame) => (isRange(l) ? w.obj(HMM_RANGE_NOW, l.vpn).end : l.vpn + 1);

/** The notifier's mm (mmu_interval_notifier.mm, stable once inserted). */
function mmOf(w: World, l: Frame): number {
  const sub = notifierOf(w, l);
  const mm = w.obj(MIN, sub).mm;
  if (isNone(mm)) throw new ModelError(`hmm_range_fault: interval notifier ${sub} is not inserted`);
  return deref(mm, 'mmu_interval_notifier.mm');
}

/** mm/hmm.c:hmm_vma_handle_pte: is device page `pfn`'s pgmap owned by range `r`'s dev_private_owner? */
function hmmOwnsDevicePrivate(w: World, r: number, pfn: number): boolean {
  const owner = w.obj(HMM_RANGE_NOW, r).devPrivateOwner;
  return owner !== 0 && pgmapOwner(w, pfn) === owner;
}

/** mm/hmm.c:hmm_pte_need_fault: the page's request, `(hmm_pfns[i] & pfn_flags_mask) | default_flags`, against the CPU pte's flags. */
function hmmPteNeedFault(w: World, l: Frame, addr: number, cpuFlags: number): number {
  let req: number;
  if (isRange(l)) {
    const r = w.obj(HMM_RANGE_NOW, l.vpn);
    req = (r[HMM_PFN_FIELDS[addr - r.start]] & r.pfnFlagsMask) | r.defaultFlags;
  } else {
    req = HMM_PFN_REQ_FAULT | (l.write ? HMM_PFN_REQ_WRITE : 0);
  }
  if (!(req & HMM_PFN_REQ_FAULT)) return 0; // "We aren't ask to do anything ..."
  if (req & HMM_PFN_REQ_WRITE && !(cpuFlags & HMM_PFN_WRITE)) return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
  return cpuFlags & HMM_PFN_VALID ? 0 : HMM_NEED_FAULT;
}

/** mm/hmm.c:hmm_range_need_fault over [a, b) with no CPU pte: would any page be faulted? */
function hmmRangeNeedFault(w: World, l: Frame, a: number, b: number): number {
  let need = 0;
  for (let addr = a; addr < b; addr++) need |= hmmPteNeedFault(w, l, addr, 0);
  return need;
}

/** mm/hmm.c:hmm_pfns_fill: [a, b) get `value` (the range form only: the one-page form returns its entry). */
function hmmPfnsFill(w: World, l: Frame, a: number, b: number, value: number): void {
  if (!isRange(l)) return;
  const r = w.obj(HMM_RANGE_NOW, l.vpn);
  for (let addr = a; addr < b; addr++) r[HMM_PFN_FIELDS[addr - r.start]] = value;
}

/** Where the walk of `mm` from `addr` (outside any VMA) meets the next VMA, or `end`: the hole walk_page_range reports. */
function holeEnd(w: World, mm: number, addr: number, end: number): number {
  const per = w.layout.dims.vmasPerMm;
  let e = end;
  for (let k = 0; k < per; k++) {
    const v = vma(w, mm * per + k);
    if (v.used === 1 && v.start > addr && v.start < e) e = v.start;
  }
  return e;
}

/**
 * mm/hmm.c:hmm_vma_walk_test — whether the walk enters a VMA: not VM_IO|VM_PFNMAP (no struct page
 * behind, or I/O), and VM_READ ("If the vma does not allow read access, then assume that it does
 * not allow write access either"), so a PROT_NONE VMA is skipped. A skipped VMA's pages are -EFAULT
 * if a fault was asked of any, else HMM_PFN_ERROR.
 */
function hmmVmaWalkable(flags: number): boolean {
  return !(flags & (VM_IO | VM_PFNMAP)) && (flags & VM_READ) !== 0;
}

/**
 * mm/hmm.c:hmm_vma_walk_pmd → hmm_vma_handle_pmd (thp layer, src/kernel/huge.ts): the walk met a
 * PMD mapping (pmd_trans_huge of pmdp_get_lockless, read in the walk's step). cpu_flags =
 * pmd_to_hmm_pfn_flags: VALID, WRITE if pmd_write, and hmm_pfn_flags_order(PMD_SHIFT -
 * PAGE_SHIFT); a fault asked of any page of [addr, end ∩ the PMD) goes to hmm_vma_fault; else every
 * one of them gets pmd_pfn + its offset with those flags, in this one step.
 */
function hmmVmaHandlePmd(w: World, l: Frame, mm: number, end: number): number | 'walk' {
  const e = Math.min(end, pmdStart(l.addr) + HPAGE_PMD_NR);
  const p = pte(w, mm, l.addr);
  const cpuFlags = HMM_PFN_VALID | (p.write ? HMM_PFN_WRITE : 0) | hmmPfnFlagsOrder(HPAGE_PMD_ORDER);
  let need = 0;
  for (let addr = l.addr; addr < e; addr++) need |= hmmPteNeedFault(w, l, addr, cpuFlags); // hmm_range_need_fault
  if (need) {
    l.need = need;
    return hmmVmaFault(w, l, mm);
  }
  // pfn = pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT): the slot of `addr` holds exactly that.
  const out = hmmPfnEncode(p.pfn, p.write === 1) | hmmPfnFlagsOrder(HPAGE_PMD_ORDER);
  if (!isRange(l)) return w.ret(out);
  for (let addr = l.addr; addr < e; addr++) hmmPfnsFill(w, l, addr, addr + 1, out + ((addr - l.addr) << HMM_PFN_SHIFT));
  l.addr = e;
  return l.addr >= end ? w.ret(0) : 'walk';
}

/**
 * mm/hmm.c:hmm_vma_fault(addr, end, required_fault), entered from the walk's step (goto fault):
 * hmm_vma_walk.last = addr; -EPERM for a write fault on a VMA without VM_WRITE; else the first
 * handle_mm_fault of its loop, resuming at `faulted`.
 */
function hmmVmaFault(w: World, l: Frame, mm: number): number {
  l.last = l.addr;
  if (l.need & HMM_NEED_WRITE_FAULT && !(vma(w, findVma(w, mm, l.addr)).flags & VM_WRITE)) return w.ret(-EPERM);
  return w.call(handleMmFault, 'faulted', mm, l.addr, l.need & HMM_NEED_WRITE_FAULT ? 1 : 0);
}

export const hmmRangeFault = KERNEL.routine({
  name: 'hmm_range_fault',
  params: ['sub', 'vpn', 'seq', 'write'],
  locals: ['mm', 'last', 'addr', 'need'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    check: {
      at: 'mm/hmm.c:hmm_range_fault mmu_interval_check_retry',
      run: (w, l) => {
        l.mm = mmOf(w, l);
        assertHeld(w, mmapLock(w, l.mm), 'hmm_range_fault'); // mmap_assert_locked
        const seq = isRange(l) ? w.obj(HMM_RANGE_NOW, l.vpn).notifierSeq : l.seq;
        if (mmuIntervalCheckRetry(w, notifierOf(w, l), seq)) return w.ret(-EBUSY);
        l.last = Math.max(l.last, startOf(w, l)); // hmm_vma_walk.last = range->start, then where a fault left it
        l.addr = l.last; // walk_page_range(mm, hmm_vma_walk.last, range->end, ...)
        return 'walk';
      },
    },
    walk: {
      at: 'mm/hmm.c:hmm_vma_handle_pte',
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration', 'pte.devPrivate', 'pte.huge'], // the walk reads the pte without the ptl (pte_offset_map, ptep_get)
      run: (w, l) => {
        const mm = l.mm;
        const end = endOf(w, l);
        // Holes and VMAs the walk skips read no pte: they go with the next pte in one step.
        for (;;) {
          if (l.addr >= end) return w.ret(0); // walk_page_range returned 0: every entry holds its output
          const vi = findVma(w, mm, l.addr);
          if (vi < 0) {
            const e = holeEnd(w, mm, l.addr, end); // hmm_vma_walk_hole with walk->vma == NULL
            if (hmmRangeNeedFault(w, l, l.addr, e)) return w.ret(-EFAULT);
            hmmPfnsFill(w, l, l.addr, e, HMM_PFN_ERROR);
            l.addr = e;
            continue;
          }
          if (!hmmVmaWalkable(vma(w, vi).flags)) {
            const e = Math.min(end, vma(w, vi).end); // hmm_vma_walk_test: skip the VMA
            if (hmmRangeNeedFault(w, l, l.addr, e)) return w.ret(-EFAULT);
            hmmPfnsFill(w, l, l.addr, e, HMM_PFN_ERROR);
            l.addr = e;
            continue;
          }
          break;
        }
        const p = pte(w, mm, l.addr);
        if (p.present && thpEnabled(w) && p.huge) return hmmVmaHandlePmd(w, l, mm, end);
        let out = 0; // pte_none, a swap entry or a migration entry not asked to be faulted: 0
        if (p.present) {
          const cpuFlags = HMM_PFN_VALID | (p.write ? HMM_PFN_WRITE : 0); // pte_to_hmm_pfn_flags
          l.need = hmmPteNeedFault(w, l, l.addr, cpuFlags);
          if (l.need) return hmmVmaFault(w, l, mm);
          if (p.special && !isZeroPfn(w, p.pfn)) {
            // !vm_normal_page() and not the zero pfn: an error, or -EFAULT if a fault was asked
            if (hmmPteNeedFault(w, l, l.addr, 0)) return w.ret(-EFAULT);
            out = HMM_PFN_ERROR;
          } else {
            out = hmmPfnEncode(p.pfn, p.write === 1);
          }
        } else if (p.devPrivate && isRange(l) && hmmOwnsDevicePrivate(w, l.vpn, p.devPrivate)) {
          // "Don't fault in device private pages owned by the caller, just report the PFN."
          out = hmmPfnEncode(p.devPrivate, p.write === 1); // is_writable_device_private_entry: + HMM_PFN_WRITE
        } else {
          l.need = hmmPteNeedFault(w, l, l.addr, 0);
          if (l.need && p.migration) {
            [l.last, l.need] = [l.addr, 0];
            return w.call(migrationEntryWait, 'check', mm, l.addr, p.migration); // then -EBUSY: walk again
          }
          if (l.need) return hmmVmaFault(w, l, mm); // pte_none, a swap entry, a device-exclusive entry (is_device_exclusive_entry: goto fault) or another owner's device-private entry
        }
        // out: *hmm_pfn = new_pfn_flags
        if (!isRange(l)) return w.ret(out);
        hmmPfnsFill(w, l, l.addr, l.addr + 1, out);
        l.addr = l.addr + 1;
        return l.addr >= end ? w.ret(0) : 'walk';
      },
    },
    faulted: {
      at: 'mm/hmm.c:hmm_vma_fault',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        if (r & VM_FAULT_ERROR) return w.ret(-EFAULT);
        l.addr = l.addr + 1;
        // for (; addr < end; addr += PAGE_SIZE) handle_mm_fault(...); end being the walk's end in
        // the VMA (the model's mm fits one pmd). Past the range's end no VMA is read: the one-page
        // form's step then touches only its frame, as the seed's designs were measured with.
        if (l.addr < endOf(w, l) && l.addr < vma(w, findVma(w, l.mm, l.last)).end) return w.call(handleMmFault, 'faulted', l.mm, l.addr, l.need & HMM_NEED_WRITE_FAULT ? 1 : 0);
        // -EBUSY from the walker: loop, re-checking the sequence first. Only `last` survives the
        // walk (equal restarts must give equal states, whether a fault or a migration wait made them).
        [l.addr, l.need] = [l.last, 0];
        return 'check';
      },
    },
  },
});

/** hmm_range_fault(range) from a driver's step: `return hmmRangeFaultCall(w, 'resume', range)`; the callee returns 0 or -errno. */
export function hmmRangeFaultCall(w: World, resume: string, range: number): number {
  return w.call(hmmRangeFault, resume, RANGE_FORM, range, 0, 0);
}

/**
 * Each task's struct hmm_range (HMM_RANGE_NOW) is on its stack: one row per actor (`hmmRangeOf`),
 * named by hmm_range_fault's `vpn` in its range form (layout.ts `ActorNames`).
 */
defineActorNames({
  name: 'hmm-range',
  rows: [HMM_RANGE_NOW],
  locals: [{ routine: hmmRangeFault.name, local: 'vpn', encoding: 'index', when: { local: 'sub', value: RANGE_FORM } }],
});
