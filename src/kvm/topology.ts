/** Declares KVM instances in a layout and sets them up (kvm_create_vm + memslots + mmu notifier). */
import type { Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { mmuNotifierRegister } from '../kernel/notifier/mmu-notifier.js';
import { KVM, KVM_MEMSLOT_INVALID, MEMSLOT, SPTE } from './structs.js';
import { seqWords } from './seq.js';
import { GPC, hasGpc, KVM_MN, setupGpc } from './gpc.js';
import { ref, refersTo } from '../kernel/ref.js';
import type { RwLock } from '../kernel/locks.js';
import { DIRTY_BITMAP } from './dirty-log.js';
import { createVcpu, declareGuestTlbs, hasGuestTlb, VCPU } from './tlb.js';
import { kvmMmuNotifierClearFlushYoung, kvmMmuNotifierClearYoung, kvmMmuNotifierTestYoung } from './age.js';
import { kvmMmuNotifierInvalidateRangeEnd, kvmMmuNotifierInvalidateRangeStart, kvmMmuNotifierRelease } from './notifier.js';

export interface KvmSpec {
  readonly name: string;
  /** Index of the VMM process's mm. */
  readonly mm: number;
  /** Guest frames 0..gfns-1. */
  readonly gfns: number;
  readonly memslots: readonly { readonly baseGfn: number; readonly npages: number; readonly hva: number }[];
  /** kvm->mmu_invalidate_seq at creation (default 0): a long-lived VM's count of ended invalidations, 0..2^53-1. */
  readonly invalidateSeqStart?: number;
  /** The actors that run its vCPUs (one each): their guest TLBs, where the scenario has them (tlb.ts). */
  readonly vcpus?: readonly number[];
}

/**
 * The KVM state only some scenarios need: a gfn→pfn cache per KVM (gpc.ts), a spare memslot per
 * KVM for memslot updates (memslot.ts), and with either mn_active_invalidate_count, which only
 * they read.
 */
export interface KvmUses {
  readonly gpc?: boolean;
  readonly memslotUpdates?: boolean;
  /**
   * With memslotUpdates: the index of the first of the srcu_struct objects (kvm->srcu, one per
   * KVM, in declaration order) the world declares (src/kernel/lifetime.ts SRCU), whose grace
   * period a memslot update waits for; readers are the vCPU faults (memslot.ts).
   */
  readonly srcu?: number;
}

export function declareKvms(layout: Layout, kvms: readonly KvmSpec[], uses: KvmUses = {}): void {
  if (kvms.length === 0) return;
  const gfns = Math.max(...kvms.map((k) => k.gfns));
  layout.dims.kvmGfns = gfns;
  layout.add(
    KVM,
    kvms.length,
    kvms.map((k) => k.name),
  );
  const spares = uses.memslotUpdates ? 1 : 0;
  layout.add(
    MEMSLOT,
    kvms.reduce((n, k) => n + k.memslots.length + spares, 0),
  );
  layout.add(
    SPTE,
    kvms.length * gfns,
    kvms.flatMap((k) => Array.from({ length: gfns }, (_, g) => `${k.name}:gfn${g}`)),
  );
  const names = kvms.map((k) => k.name);
  if (uses.gpc) layout.add(GPC, kvms.length, names);
  if (uses.gpc || uses.memslotUpdates) layout.add(KVM_MN, kvms.length, names);
  // Where memslots change, their flags may too: a dirty bitmap per memslot object (dirty-log.ts).
  if (uses.memslotUpdates)
    layout.add(
      DIRTY_BITMAP,
      kvms.reduce((n, k) => n + k.memslots.length + spares, 0),
    );
  if (hasGuestTlb(layout)) declareGuestTlbs(layout, names, gfns);
}

/**
 * virt/kvm/kvm_main.c:kvm_create_vm (kvm_init_mmu_notifier) + KVM_SET_USER_MEMORY_REGION. `mn`
 * numbers the classic notifier slots this KVM may use (one per KVM, in declaration order).
 */
export function setupKvms(w: World, kvms: readonly KvmSpec[], firstMn: number, uses: KvmUses = {}): void {
  let slot = 0;
  kvms.forEach((spec, k) => {
    const kvm = w.obj(KVM, k);
    kvm.mm = ref(spec.mm);
    kvm.mn = ref(firstMn + k);
    const start = spec.invalidateSeqStart ?? 0;
    if (!(Number.isSafeInteger(start) && start >= 0)) throw new Error(`kvm ${spec.name}: invalidateSeqStart ${start}; expected an integer 0..2^53-1`);
    if (uses.memslotUpdates) {
      if (uses.srcu === undefined) throw new Error(`kvm ${spec.name}: memslot updates need an srcu_struct per KVM (KvmUses.srcu)`);
      kvm.srcu = ref(uses.srcu + k);
    }
    const seq = seqWords(start);
    kvm.invalidateSeq = seq.lo;
    kvm.invalidateSeqHi = seq.hi;
    mmuNotifierRegister(
      w,
      firstMn + k,
      spec.mm,
      {
        invalidateRangeStart: kvmMmuNotifierInvalidateRangeStart,
        invalidateRangeEnd: kvmMmuNotifierInvalidateRangeEnd,
        release: kvmMmuNotifierRelease,
        clearFlushYoung: kvmMmuNotifierClearFlushYoung,
        clearYoung: kvmMmuNotifierClearYoung,
        testYoung: kvmMmuNotifierTestYoung,
      },
      k,
    );
    if (hasGpc(w)) setupGpc(w, k);
    if (w.layout.has(VCPU)) for (const a of spec.vcpus ?? []) createVcpu(w, k, a);
    for (const m of spec.memslots) {
      if (m.baseGfn + m.npages > spec.gfns) throw new Error(`kvm ${spec.name}: memslot gfns ${m.baseGfn}+${m.npages} exceed ${spec.gfns}`);
      const s = w.obj(MEMSLOT, slot++);
      s.kvm = ref(k);
      s.baseGfn = m.baseGfn;
      s.npages = m.npages;
      s.hva = m.hva;
    }
    // The spare memslot a KVM_SET_USER_MEMORY_REGION fills (npages 0: it covers nothing yet).
    if (uses.memslotUpdates) w.obj(MEMSLOT, slot++).kvm = ref(k);
  });
}

/** kvm->mmu_lock of KVM `kvm`: an rwlock_t on x86 (KVM_HAVE_MMU_RWLOCK; virt/kvm/kvm_mm.h KVM_MMU_LOCK). */
export function kvmMmuLock(w: World, kvm: number): RwLock {
  return {
    kind: 'rwlock',
    writer: w.layout.slot(KVM, kvm, 'mmuLockWriter'),
    readers: w.layout.slot(KVM, kvm, 'mmuLockReaders'),
    name: () => `kvm[${w.layout.objectName(w.layout.region(KVM), kvm)}].mmu_lock`,
  };
}

export function spte(w: World, kvm: number, gfn: number) {
  return w.obj(SPTE, kvm * w.layout.dims.kvmGfns + gfn);
}

/** __gfn_to_memslot: the memslot object of `kvm` covering `gfn` (an invalid one included), or -1. */
export function gfnToMemslot(w: World, kvm: number, gfn: number): number {
  const n = w.count(MEMSLOT);
  for (let i = 0; i < n; i++) {
    const s = w.obj(MEMSLOT, i);
    if (refersTo(s.kvm, kvm) && s.baseGfn <= gfn && gfn < s.baseGfn + s.npages) return i;
  }
  return -1;
}

/** The memslot covering `gfn` is being deleted or moved (flagged KVM_MEMSLOT_INVALID): a fault on it retries. */
export function gfnInInvalidMemslot(w: World, kvm: number, gfn: number): boolean {
  const i = gfnToMemslot(w, kvm, gfn);
  return i >= 0 && (w.obj(MEMSLOT, i).flags & KVM_MEMSLOT_INVALID) !== 0;
}

/** __gfn_to_hva_many: the hva backing `gfn`, or -1 (no memslot: MMIO; or one being deleted or moved: KVM_HVA_ERR_BAD). */
export function gfnToHva(w: World, kvm: number, gfn: number): number {
  const i = gfnToMemslot(w, kvm, gfn);
  return i < 0 || w.obj(MEMSLOT, i).flags & KVM_MEMSLOT_INVALID ? -1 : memslotHva(w, i, gfn);
}

/**
 * The hva memslot object `slot` maps `gfn` to, an invalid memslot included: what the sptes of a
 * memslot being deleted or moved still answer for until kvm_arch_flush_shadow_memslot zaps them
 * (the MMU notifiers still reach them through it: kvm_handle_hva_range walks every memslot of the set).
 */
export function memslotHva(w: World, slot: number, gfn: number): number {
  const s = w.obj(MEMSLOT, slot);
  return s.hva + (gfn - s.baseGfn);
}

/** The gfn range [lo, hi) of `kvm` whose hvas overlap [start, end), or hi = lo = 0 if none (memslot walk of kvm_handle_hva_range). */
export function hvaRangeToGfns(w: World, kvm: number, start: number, end: number): [number, number] {
  let lo = Number.MAX_SAFE_INTEGER;
  let hi = 0;
  const n = w.count(MEMSLOT);
  for (let i = 0; i < n; i++) {
    const s = w.obj(MEMSLOT, i);
    if (!refersTo(s.kvm, kvm)) continue;
    const a = Math.max(start, s.hva);
    const b = Math.min(end, s.hva + s.npages);
    if (a >= b) continue;
    lo = Math.min(lo, s.baseGfn + (a - s.hva));
    hi = Math.max(hi, s.baseGfn + (b - s.hva));
  }
  return hi === 0 ? [0, 0] : [lo, hi];
}
