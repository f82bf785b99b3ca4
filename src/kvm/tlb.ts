/**
 * The `kvm-tlb` layer: each vCPU's guest TLB (the translations gfn → pfn the CPU caches from the
 * EPT, tagged by VPID/EPTP so that they survive VM exits) and KVM's remote TLB flush requests.
 *
 * A guest access goes through its vCPU's TLB: a hit uses the cached pfn without walking the EPT, a
 * miss walks the EPT and fills the entry (guest.ts). So an spte that KVM zaps or write-protects
 * still answers through every TLB that cached it until that TLB is flushed: every path that takes
 * permission away from an spte calls kvm_flush_remote_tlbs before it drops mmu_lock
 * (virt/kvm/kvm_main.c:kvm_handle_hva_range, flush_on_ret before KVM_MMU_UNLOCK; x86
 * kvm_mmu_zap_memslot, kvm_mmu_zap_all), which is why kvm_mmu_notifier_invalidate_range_start may
 * return — and the page be freed — right after.
 *
 * kvm_flush_remote_tlbs → kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH): for each vCPU, set the
 * request bit (kvm_make_request) and, if the vCPU is in guest mode, kick it with an IPI and wait
 * for it (KVM_REQ_TLB_FLUSH has KVM_REQUEST_WAIT: kvm_kick_many_cpus waits for ack_kick, which runs
 * once the vCPU has left guest mode). The vCPU services the request on its next entry
 * (arch/x86/kvm/x86.c:vcpu_enter_guest: kvm_check_request(KVM_REQ_TLB_FLUSH) →
 * kvm_vcpu_flush_tlb_all) before it sets vcpu->mode = IN_GUEST_MODE; it re-checks the requests
 * after that store (kvm_vcpu_exit_request), so either the vCPU sees the request or the requester
 * sees IN_GUEST_MODE and waits. The model keeps the request word and the mode in one word, so the
 * entry (service the request, enter guest mode) is one atomic step and the requester's set-and-test
 * another: the store-buffering pair of the C, which no interleaving can split either way.
 *
 * vCPUs: one per actor that runs guest accesses on the KVM (kvm_vm_ioctl_create_vcpu at VM
 * creation, before any KVM_RUN: `online` is stable). The model's guest runs one load or store per
 * entry. KVM_REQ_TLB_FLUSH_GUEST/_CURRENT (the guest's own flushes), PCID/VPID reuse and
 * kvm_arch_flush_remote_tlbs's Hyper-V hypercall (returns -EOPNOTSUPP on bare metal) are not
 * modelled.
 */
import { PAGE_GEN } from '../kernel/structs.js';
import type { Layout } from '../world/layout.js';
import { defineStruct } from '../world/layout.js';
import type { World } from '../world/world.js';
import { BLOCK_SPIN } from '../world/routine.js';
import { TASK } from '../kernel/structs.js';
import { hasLayer } from '../world/layers.js';
import { KVM } from './structs.js';
import { spte } from './topology.js';
import { KVM_LIB } from './library.js';

/** The layer's name (`layers: [kvm-tlb]`). */
export const KVM_TLB_LAYER = 'kvm-tlb';

/** The scenario has guest TLBs (the `kvm-tlb` layer). */
export function hasGuestTlb(w: World | Layout): boolean {
  return hasLayer(w, KVM_TLB_LAYER);
}

/** vcpu->mode (include/linux/kvm_host.h): only these two matter here (EXITING_GUEST_MODE is a kick in flight). */
export const OUTSIDE_GUEST_MODE = 0;
export const IN_GUEST_MODE = 1;

/** include/linux/kvm_host.h KVM_REQ_TLB_FLUSH, as a bit of vcpu->requests. */
export const KVM_REQ_TLB_FLUSH = 1;

/**
 * struct kvm_vcpu, what the flush requests need: `online` (created on this KVM: stable),
 * `mode` (vcpu->mode) and `requests` (vcpu->requests), one word (see the file comment).
 * One object per (KVM, actor): KVM k's vCPU of actor a is k × actors + a.
 */
export const VCPU = defineStruct('vcpu', ['online', 'mode', 'requests'] as const, { online: 'stable', mode: 'atomic', requests: 'atomic' }, { word: true });

/**
 * One guest TLB entry per (vCPU, gfn): the pfn (0: none), whether it allows writes, and the page's
 * generation when it was filled (ghost). Only its vCPU fills and flushes it: `private`.
 */
export const GTLB = defineStruct('gtlb', ['pfn', 'write', 'gen'] as const, { pfn: 'private', write: 'private', gen: 'ghost' }, { counters: { gen: PAGE_GEN } });

/** Declares the vCPUs and their TLBs of `kvms` KVMs of `gfns` guest frames, for every actor. */
export function declareGuestTlbs(layout: Layout, kvmNames: readonly string[], gfns: number): void {
  const actors = layout.region(TASK).names ?? [];
  layout.add(
    VCPU,
    kvmNames.length * actors.length,
    kvmNames.flatMap((k) => actors.map((a) => `${k}:${a}`)),
  );
  layout.add(
    GTLB,
    kvmNames.length * actors.length * gfns,
    kvmNames.flatMap((k) => actors.flatMap((a) => Array.from({ length: gfns }, (_, g) => `${k}:${a}:gfn${g}`))),
  );
}

function actorCount(w: World): number {
  return w.count(TASK);
}

/** The vCPU object of actor `actor` on KVM `kvm`. */
export function vcpuIndex(w: World, kvm: number, actor: number): number {
  return kvm * actorCount(w) + actor;
}

export function vcpu(w: World, kvm: number, actor: number) {
  return w.obj(VCPU, vcpuIndex(w, kvm, actor));
}

/** The TLB entry for `gfn` of vCPU object `v`. */
export function gtlb(w: World, v: number, gfn: number) {
  return w.obj(GTLB, v * w.layout.dims.kvmGfns + gfn);
}

/** kvm_vm_ioctl_create_vcpu, at set-up: actor `actor` runs a vCPU of KVM `kvm`. */
export function createVcpu(w: World, kvm: number, actor: number): void {
  vcpu(w, kvm, actor).online = 1;
}

/** kvm_vcpu_flush_tlb_all (its own TLB, on entry): every entry of vCPU object `v` dropped. */
export function flushGuestTlb(w: World, v: number): void {
  for (let g = 0; g < w.layout.dims.kvmGfns; g++) {
    const e = gtlb(w, v, g);
    e.pfn = 0;
    e.write = 0;
    e.gen = 0;
  }
}

/**
 * Ghost: the running operation took write permission away from an spte of `kvm` (zapped or
 * write-protected it) and owes every vCPU's TLB a flush, which kvm_flush_remote_tlbs pays when it
 * returns. Called where the C sets its `flush = true`.
 */
export function owePermissionFlush(w: World, kvm: number): void {
  const k = w.obj(KVM, kvm);
  k.protectOwed = k.protectOwed + 1;
}

/**
 * virt/kvm/kvm_main.c:kvm_flush_remote_tlbs → kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH):
 * one vCPU per step (each vCPU's request word is an atomic of its own), `v` the actor index of the
 * next vCPU to ask. Called with mmu_lock held for write (the zaps of kvm_unmap_gfn_range,
 * kvm_mmu_zap_memslot, kvm_mmu_zap_all).
 */
export const kvmFlushRemoteTlbs = KVM_LIB.routine({
  name: 'kvm_flush_remote_tlbs',
  params: ['kvm'],
  locals: ['v'],
  steps: {
    request: {
      at: 'virt/kvm/kvm_main.c:kvm_make_vcpu_request (kvm_make_request; kvm_request_needs_ipi: vcpu->mode != OUTSIDE_GUEST_MODE)',
      run: (w, l) => {
        const n = actorCount(w);
        while (l.v < n && !vcpu(w, l.kvm, l.v).online) l.v++; // kvm_for_each_vcpu: the vCPUs created
        if (l.v >= n) {
          l.v = 0;
          const kvm = w.obj(KVM, l.kvm);
          kvm.protectOwed = kvm.protectOwed - 1; // the caller's flush is done (see owePermissionFlush)
          return w.ret(0);
        }
        const vc = vcpu(w, l.kvm, l.v);
        vc.requests = vc.requests | KVM_REQ_TLB_FLUSH;
        if (vc.mode !== OUTSIDE_GUEST_MODE) return 'wait';
        l.v++;
        return 'request';
      },
    },
    wait: {
      at: 'virt/kvm/kvm_main.c:kvm_kick_many_cpus smp_call_function_many(cpus, ack_kick, NULL, wait = KVM_REQUEST_WAIT)',
      run: (w, l) => {
        // ack_kick runs once the kicked vCPU has left guest mode (vcpu_enter_guest: the VM exit,
        // vcpu->mode = OUTSIDE_GUEST_MODE, then local_irq_enable).
        if (vcpu(w, l.kvm, l.v).mode !== OUTSIDE_GUEST_MODE) return BLOCK_SPIN;
        l.v++;
        return 'request';
      },
    },
  },
});

/**
 * Calls `f` for every entry some vCPU of a KVM may still use (KVM `kvm`, vCPU object `v`, `gfn`):
 * an entry is dead once its vCPU has a KVM_REQ_TLB_FLUSH pending outside guest mode (it flushes
 * before its next entry). Module-level callbacks, as the properties' walks: nothing allocated.
 */
export function forEachLiveGuestTlbEntry(w: World, f: (w: World, kvm: number, v: number, gfn: number) => string | undefined): string | undefined {
  if (!w.layout.has(GTLB)) return undefined;
  const n = actorCount(w);
  const gfns = w.layout.dims.kvmGfns;
  for (let k = 0; k < w.count(KVM); k++) {
    for (let a = 0; a < n; a++) {
      const v = vcpuIndex(w, k, a);
      const vc = w.obj(VCPU, v);
      if (!vc.online || (vc.requests & KVM_REQ_TLB_FLUSH && vc.mode === OUTSIDE_GUEST_MODE)) continue;
      for (let g = 0; g < gfns; g++) {
        if (gtlb(w, v, g).pfn === 0) continue;
        const msg = f(w, k, v, g);
        if (msg) return msg;
      }
    }
  }
  return undefined;
}

/** A vCPU object of KVM `kvm` whose live TLB entry for `gfn` is writable, or -1. */
export function writableGuestTlbEntry(w: World, kvm: number, gfn: number): number {
  if (!w.layout.has(GTLB)) return -1;
  for (let a = 0; a < actorCount(w); a++) {
    const v = vcpuIndex(w, kvm, a);
    const vc = w.obj(VCPU, v);
    if (!vc.online || (vc.requests & KVM_REQ_TLB_FLUSH && vc.mode === OUTSIDE_GUEST_MODE)) continue;
    const e = gtlb(w, v, gfn);
    if (e.pfn !== 0 && e.write) return v;
  }
  return -1;
}

/** An entry's name in messages: `guest TLB of kvm-source:vcpu0 for gfn0`. */
export function guestTlbName(w: World, v: number, gfn: number): string {
  return `guest TLB of ${w.layout.objectName(w.layout.region(VCPU), v)} for gfn${gfn}`;
}

/**
 * The guest TLB as a layer below the EPT: a live entry maps the pfn its spte maps now, with no more
 * write permission — except while an operation that took permission away from sptes owes the
 * flush (`kvm.protectOwed`: a zap until the kvm_flush_remote_tlbs it runs before KVM_MMU_UNLOCK
 * returns, GET_DIRTY_LOG's write-protect until the flush after its unlock). Faults only ever add
 * permission to an spte, so outside those windows a disagreeing entry is one no flush will reach:
 * a write-protect that then finds the spte already read-only skips its flush.
 */
export function guestTlbRefines(w: World, k: number, v: number, gfn: number): string | undefined {
  if (w.obj(KVM, k).protectOwed !== 0) return undefined;
  const e = gtlb(w, v, gfn);
  const s = spte(w, k, gfn);
  const ept = `EPT ${w.layout.objectName(w.layout.region(KVM), k)}:gfn${gfn}`;
  if (s.pfn !== e.pfn) return `${guestTlbName(w, v, gfn)} maps pfn ${e.pfn} but ${ept} maps ${s.pfn === 0 ? 'nothing' : `pfn ${s.pfn}`}, and no TLB flush is under way`;
  if (e.write && !s.write) return `${guestTlbName(w, v, gfn)} is writable but ${ept} is read-only, and no TLB flush is under way`;
  return undefined;
}
