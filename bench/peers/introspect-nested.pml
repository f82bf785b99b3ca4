/*
 * introspect-nested.pml — the SPIN peer of vmamirror's reference scenario `introspect-nested`
 * (src/scenario/catalogue.ts), for SPIN 6.5.2.
 *
 *   vcpu    guest_access(kvm-source, gfn0, write 0x200)      source vCPU writes its page through its EPT
 *   intro   cpu_access(introspector@0, read)                 introspector thread reads through the mirror
 *   nested  guest_access(kvm-introspector, gfn0, read)       the introspector's guest reads through its EPT
 *   kswapd  kswapd_reclaim(source@0)                         reclaim of the source page to swap
 *
 * Shape. Our routines (src/**) are tables of labelled atomic steps with explicit call frames in the
 * state. This model keeps exactly that shape so that the interleaving points are the same: every
 * actor owns a stack of frames (routine, pc, locals, result) in the global state, and every TS step
 * `{ at, run }` is ONE d_step (`STEP(routine, pc, enabled) ... END`) in `actor` below, commented
 * `routine:label`; it runs only when the actor's top frame stands at that label. A TS step
 * that calls (`w.call`) pushes a frame and sets the caller's resume pc; one that returns (`w.ret`)
 * zeroes its frame (dead frames are zero, as in src/world/world.ts) and stores the result in the
 * caller's frame. A TS step that blocks (BLOCK_SLEEP / BLOCK_SPIN) is a false guard (`enabled`).
 * A routine:label this file does not model leaves the actor with no enabled step: the watchdog then
 * reports it as a deadlock rather than mis-modelling it.
 * Locals are numbered in the order of the routine's params then locals.
 *
 * Variant: -DVARIANT=1 interval (corrected) | 2 raw-clear | 3 anon-vma | 4 start-only.
 * -DNOPROPS leaves out the property assertions (state-count cross-checks against our explorer).
 *
 * Deliberate differences from the TS model (none changes the reachable states):
 *  - the page-table lock is not a state field: in our model every step that takes a ptl drops it in
 *    the same step (gup follow, do_*_page, try_to_unmap_one, zap, insert_pfn, raw clear), so no actor
 *    can ever observe it held and every "spin on ptl" guard is always true; likewise mmap_lock has
 *    no writer in this scenario, so only the reader count is kept;
 *  - fields that never change in this scenario (VMAs, memslots, notifier registrations, the interval
 *    subscription's range/state, mm_count, has_itree, ...) are constants below;
 *  - branches our routines have but this scenario cannot reach (exit_mmap from mmput, migration
 *    entries, the v5.3 HMM paths, non-blockable invalidations) are `assert(false)` "unmodelled",
 *    so reaching one would be reported rather than silently mis-modelled.
 */

#ifndef VARIANT
#define VARIANT 1
#endif
#define V_INTERVAL 1
#define V_RAWCLEAR 2
#define V_ANONVMA 3
#define V_STARTONLY 4

/* ---- constants: kernel names (src/kernel/flags.ts) ---- */
#define EFAULT 14
#define EBUSY 16
#define ENOMEM 12
#define EPERM 1
#define VM_FAULT_OOM 1
#define VM_FAULT_SIGBUS 2
#define VM_FAULT_NOPAGE 256
#define VM_FAULT_RETRY 1024
#define MMU_NOTIFY_CLEAR 1
#define INSTALL_RETRY 1

/* ---- topology (src/scenario/build.ts for pages = 1) ---- */
#define NPAGES 5          /* page frames pfn 1..5 (3 * pages + 2) */
#define SRC 0             /* source mm */
#define INTR 1            /* introspector mm */
#define SRC_VMA 0         /* global VMA index of source#0: [0,1) anonymous read-write */
#define MIRROR_VMA 2      /* global VMA index of introspector#0: the mirror device VMA [0,1), pgoff 0 */
/* VMA flags that the steps test */
#define F_READ 1
#define F_WRITE 2
#define F_SHARED 8
#define F_PFNMAP 1024
#define F_IO 16384
#define F_ANON 1073741824
#define SRC_FLAGS (F_ANON | F_READ | F_WRITE)
#if VARIANT == V_ANONVMA
#define MIRROR_FLAGS (F_READ | F_WRITE | F_SHARED)   /* + DONTCOPY|DONTDUMP|DONTEXPAND: no PFNMAP, no IO */
#else
#define MIRROR_FLAGS (F_PFNMAP | F_IO | F_SHARED | F_READ | F_WRITE)  /* + DONTCOPY|DONTDUMP */
#endif
#define VMA_OF(m) ((m) == SRC -> SRC_VMA : MIRROR_VMA)
#define FLAGS_OF(v) ((v) == SRC_VMA -> SRC_FLAGS : MIRROR_FLAGS)
/* has_itree: the mirror's interval notifier lives on the source mm (not in start-only) */
#if VARIANT == V_STARTONLY
#define HAS_ITREE(m) 0
#else
#define HAS_ITREE(m) ((m) == SRC)
#endif
/* classic notifiers (mmu_notifier slots): 0 = kvm-source on mm 0, 1 = kvm-introspector on mm 1,
 * 2 = the mirror's (start-only: on mm 0, invalidate_range_start only) */
#if VARIANT == V_STARTONLY
#define MN2_MM 0
#else
#define MN2_MM 255
#endif

/* ---- routine ids (ours are in src/**; names as the kernel's) ---- */
#define R_WORKLOAD 1      /* src/scenario/workload.ts workload */
#define R_GUEST 2         /* src/kvm/guest.ts guest_access */
#define R_TDP 3           /* src/kvm/fault.ts kvm_tdp_page_fault */
#define R_HVA 4           /* src/kvm/hva-to-pfn.ts hva_to_pfn */
#define R_GUP 5           /* src/kernel/ops/gup.ts get_user_pages_remote */
#define R_HMF 6           /* src/kernel/ops/fault.ts handle_mm_fault */
#define R_CPU 7           /* src/kernel/ops/access.ts cpu_access */
#define R_MFAULT 8        /* src/mirror/interval.ts mirror_fault (interval, raw-clear, anon-vma) */
#define R_INSTALL 9       /* mirror_install_pfn (interval, raw-clear) / remote_map_page (anon-vma) */
#define R_READBEGIN 10    /* src/kernel/notifier/interval.ts mmu_interval_read_begin */
#define R_HMM 11          /* src/kernel/hmm/hmm.ts hmm_range_fault */
#define R_MMPUT 12        /* src/kernel/ops/exit.ts mmput */
#define R_RECLAIM 13      /* src/scenario/workload.ts kswapd_reclaim */
#define R_SHRINK 14       /* src/kernel/ops/reclaim.ts shrink_folio_list */
#define R_TTU 15          /* src/kernel/ops/reclaim.ts try_to_unmap (rmap.ts defineRmapUnmap) */
#define R_IRS 16          /* src/kernel/notifier/mmu-notifier.ts mmu_notifier_invalidate_range_start */
#define R_IRE 17          /* mmu_notifier_invalidate_range_end */
#define R_ITREE 18        /* src/kernel/notifier/interval.ts mn_itree_invalidate */
#define R_MINV 19         /* the variant's interval ops->invalidate (src/mirror/<variant>.ts) */
#define R_ZVP 20          /* src/kernel/ops/zap.ts zap_vma_ptes */
#define R_ZPRS 21         /* zap_page_range_single */
#define R_ZPRSB 22        /* zap_page_range_single_batched */
#define R_KVMSTART 23     /* src/kvm/notifier.ts kvm_mmu_notifier_invalidate_range_start */
#define R_KVMEND 24       /* kvm_mmu_notifier_invalidate_range_end */
#define R_SOFAULT 25      /* src/mirror/start-only.ts mirror_fault_start_only */
#define R_SOINV 26        /* mirror_invalidate_range_start_only */

#if VARIANT == V_STARTONLY
#define R_DEVFAULT R_SOFAULT
#else
#define R_DEVFAULT R_MFAULT
#endif

/* ---- the state (src/kernel/structs.ts, src/kvm/structs.ts) ---- */
typedef Page { byte ref; byte mapc; bit isfree; byte gen; short cont; byte locked; bit anon; byte anonVma; byte idx; byte swap };
Page pg[NPAGES + 1];          /* pfn 0 is never allocated */
typedef Mm { byte users; byte readers; byte iseq; byte nactive };   /* mm_users, mmap_lock readers, S, A */
Mm mm[2];
typedef Pte { byte pfn; bit present; bit wr; bit special; byte swap; byte gen };   /* gen: ghost */
Pte pte[2];                   /* source@0, introspector@0 */
typedef Swap { bit used; short cont };
Swap swp[2];                  /* slot 0 is the swap header, never handed out */
byte subSeq;                  /* the mirror's mmu_interval_notifier seq */
typedef Kvm { byte iseq; byte inprog; byte rs; byte re };
Kvm kvm[2];                   /* kvm-source, kvm-introspector */
typedef Spte { byte pfn; bit wr; byte gen };
Spte spte[2];                 /* gfn 0 of each */
byte updLock;                 /* the mirror's update lock: owner actor + 1 */
byte inNotifier[4];           /* task->in invalidate callback depth (lockdep map) */

/* call stacks: actor a owns frames BASE(a) .. BASE(a) + DEPTH(a) - 1 */
#define NL 10
typedef Frame { byte r; byte pc; short l[NL]; short res };
#define NFRAMES 41
Frame fr[NFRAMES];
byte sp[4];
#define BASE(a) ((a) == 0 -> 0 : ((a) == 1 -> 14 : ((a) == 2 -> 20 : 29)))
#define DEPTH(a) ((a) == 0 -> 14 : ((a) == 1 -> 6 : ((a) == 2 -> 9 : 12)))
/* where each actor stands: routine * 16 + pc of its top frame, 0 when done. Redundant (a function
 * of the frames, so it adds no states); it only makes the step guards cheap to evaluate. */
short at[4];
#define AT_OF(a) (sp[a] > 0 -> fr[BASE(a) + sp[a] - 1].r * 16 + fr[BASE(a) + sp[a] - 1].pc : 0)

/* scratch (not part of the state vector) */
hidden byte f, nf, k, q;
hidden short rv, t1, t2, t3, t4, t5, t6;

/* ---- frame access ---- */
#define SELF (_pid + 1)
#define TOP fr[BASE(_pid) + sp[_pid] - 1]
#define L(i) fr[f].l[i]
#define RESULT fr[f].res
#define GO(p) fr[f].pc = p
/* w.call(routine, resume, ...args): push a frame; args are set with ARG(i, x) afterwards */
inline CALL(rt, resume) {
  assert(sp[_pid] < DEPTH(_pid));
  fr[f].pc = resume;
  nf = f + 1;
  fr[nf].r = rt;
  fr[nf].pc = 0;
  sp[_pid]++
}
#define ARG(i, x) fr[nf].l[i] = (x)
/* w.ret(v): zero the frame, pass v to the caller */
#define RET(v) rv = (v); RETURN()
inline RETURN() {
  k = 0;
  do
  :: k < NL -> fr[f].l[k] = 0; k++
  :: else -> break
  od;
  fr[f].r = 0; fr[f].pc = 0; fr[f].res = 0;
  if
  :: sp[_pid] > 1 -> fr[f - 1].res = rv
  :: else -> skip
  fi;
  sp[_pid]--
}

/* ---- page frames (src/kernel/page.ts) ---- */
inline allocPage(out) {        /* lowest free pfn */
  out = 0; q = 1;
  do
  :: q <= NPAGES && pg[q].isfree -> out = q; break
  :: q <= NPAGES && !pg[q].isfree -> q++
  :: else -> break
  od;
  if
  :: out != 0 ->
     pg[out].isfree = 0; pg[out].gen = pg[out].gen + 1; pg[out].ref = 1; pg[out].mapc = 0; pg[out].cont = 0;
     pg[out].anon = 0; pg[out].anonVma = 0; pg[out].idx = 0; pg[out].swap = 0
  :: else -> skip
  fi
}
inline getPage(p) {
  assert(!pg[p].isfree && pg[p].ref > 0);     /* BUG: get_page on free pfn (use after free) */
  pg[p].ref++
}
inline putPage(p) {
  assert(!pg[p].isfree && pg[p].ref > 0);     /* BUG: put_page on free pfn (refcount underflow) */
  pg[p].ref--;
  if
  :: pg[p].ref == 0 ->                        /* free_unref_folios */
     assert(pg[p].mapc == 0);                 /* BUG: bad page state */
     assert(pg[p].locked == 0);               /* BUG: freeing locked pfn */
     pg[p].isfree = 1; pg[p].anon = 0; pg[p].anonVma = 0; pg[p].idx = 0; pg[p].swap = 0
  :: else -> skip
  fi
}
inline addNewAnonRmap(p, m, v) { pg[p].anon = 1; pg[p].anonVma = m + 1; pg[p].idx = v; pg[p].mapc++ }
inline dupRmap(p) { assert(!pg[p].isfree); pg[p].mapc++ }
inline removeRmap(p) { assert(pg[p].mapc > 0); pg[p].mapc-- }
/* ---- page tables (src/kernel/pgtable.ts) ---- */
#define setPte(m, p, w, s) t5 = (p); t6 = (w); setPteW(m, s)
inline setPteW(m, s) {
  pte[m].pfn = t5; pte[m].present = 1; pte[m].wr = t6; pte[m].special = s; pte[m].swap = 0; pte[m].gen = pg[t5].gen
}
inline clearPte(m) { pte[m].pfn = 0; pte[m].present = 0; pte[m].wr = 0; pte[m].special = 0; pte[m].swap = 0; pte[m].gen = 0 }
#define PTE_NONE(m) (!pte[m].present && pte[m].swap == 0)
#define PTE_VALUE(m) (pte[m].present -> pte[m].pfn : pte[m].swap)
#define PTE_BITS(m) (pte[m].present -> (1 | (pte[m].wr -> 2 : 0) | (pte[m].special -> 4 : 0)) : (pte[m].swap != 0 -> 8 : 0))
#define PTE_SAME(m, val, bits) (PTE_BITS(m) == (bits) && PTE_VALUE(m) == (val))
/* ---- locks (src/kernel/locks.ts) ---- */
inline mmapReadLock(m) { assert(inNotifier[_pid] == 0); mm[m].readers++ }   /* BUG R16: mmap_lock in a callback */
inline mmapReadUnlock(m) { assert(mm[m].readers > 0); mm[m].readers-- }
#define MMAP_LOCKED(m) (mm[m].readers > 0)
/* ---- interval notifier (src/kernel/notifier/interval.ts) ---- */
inline itreeInvEnd(m) {       /* mn_itree_inv_end */
  assert(mm[m].nactive > 0);
  mm[m].nactive--;
  if
  :: mm[m].nactive == 0 && (mm[m].iseq & 1) -> mm[m].iseq++
  :: else -> skip
  fi
}
/* hmm pfn encoding (src/kernel/hmm/hmm-pfn.ts) */
#define HMM_ENCODE(p, w) (((p) << 4) | 1 | ((w) -> 2 : 0))
#define HMM_TO_PFN(e) (((e) & 1) -> ((e) >> 4) : 0)
#define HMM_WRITABLE(e) (((e) & 3) == 3)

/* ---- properties (src/check/properties.ts), checked after every step ---- */
#define SUBMAP(p, w, m) (pte[m].present && pte[m].pfn == (p) && !((w) && !pte[m].wr))
#define REFINEMENT ( \
  (!pte[INTR].present || SUBMAP(pte[INTR].pfn, pte[INTR].wr, SRC)) && \
  (spte[0].pfn == 0 || SUBMAP(spte[0].pfn, spte[0].wr, SRC)) && \
  (spte[1].pfn == 0 || SUBMAP(spte[1].pfn, spte[1].wr, INTR)))
#define LIVE(p, g) (!pg[p].isfree && pg[p].gen == (g))
#define NO_DANGLING_PFN ( \
  (!pte[0].present || LIVE(pte[0].pfn, pte[0].gen)) && (!pte[1].present || LIVE(pte[1].pfn, pte[1].gen)) && \
  (spte[0].pfn == 0 || LIVE(spte[0].pfn, spte[0].gen)) && (spte[1].pfn == 0 || LIVE(spte[1].pfn, spte[1].gen)))
#define NMAPPED(p) ((pte[0].present && !pte[0].special && pte[0].pfn == (p) -> 1 : 0) + (pte[1].present && !pte[1].special && pte[1].pfn == (p) -> 1 : 0))
#define ACCOUNTED(p) (pg[p].isfree || (pg[p].mapc == NMAPPED(p) && pg[p].ref >= pg[p].mapc + (pg[p].swap != 0 -> 1 : 0)))
#define FRAME_ACCOUNTING (ACCOUNTED(1) && ACCOUNTED(2) && ACCOUNTED(3) && ACCOUNTED(4) && ACCOUNTED(5))
#define QUIESCENT (mm[0].nactive == 0 && mm[1].nactive == 0 && !(mm[0].iseq & 1) && !(mm[1].iseq & 1) && \
  mm[0].readers == 0 && mm[1].readers == 0 && kvm[0].inprog == 0 && kvm[1].inprog == 0 && updLock == 0 && \
  pg[1].locked == 0 && pg[2].locked == 0 && pg[3].locked == 0 && pg[4].locked == 0 && pg[5].locked == 0)
#ifdef NOPROPS
#define CHECK skip
#else
#define CHECK assert(REFINEMENT); assert(NO_DANGLING_PFN); assert(FRAME_ACCOUNTING)
#endif

/* One TS step = one d_step: enabled when the actor's top frame stands at routine:label `p` of routine
 * `rt` and the step would not block (`en`: the condition under which our step does not return
 * BLOCK_SLEEP / BLOCK_SPIN). `f` is the running frame. */
#define STEP(rt, p, en) :: d_step { (at[_pid] == (rt) * 16 + (p) && (en)) -> f = BASE(_pid) + sp[_pid] - 1;
#define END ; at[_pid] = AT_OF(_pid); CHECK }

active [4] proctype actor()
{
end:
  do
  /* ================= workload (src/scenario/workload.ts) ================= */
  /* workload:next — l0 pc */
  STEP(R_WORKLOAD, 0, 1)
     if
     :: L(0) >= 1 -> RET(0)
     :: else ->
        L(0) = L(0) + 1; RESULT = 0;
        if
        :: _pid == 0 -> CALL(R_GUEST, 0); ARG(0, 0); ARG(1, 0); ARG(2, 1); ARG(3, 512)   /* guest-write(source:gfn0) */
        :: _pid == 1 -> CALL(R_CPU, 0); ARG(0, INTR); ARG(1, 0); ARG(2, 0); ARG(3, 0)     /* read(introspector@0) */
        :: _pid == 2 -> CALL(R_GUEST, 0); ARG(0, 1); ARG(1, 0); ARG(2, 0); ARG(3, 0)     /* guest-read(introspector:gfn0) */
        :: _pid == 3 -> CALL(R_RECLAIM, 0); ARG(0, SRC); ARG(1, 0)                        /* reclaim(source@0) */
        fi
     fi

    END
  /* ================= guest_access (src/kvm/guest.ts) — l0 kvm l1 gfn l2 write l3 value ================= */
  /* guest_access:access */
  STEP(R_GUEST, 0, 1)
     if
     :: spte[L(0)].pfn != 0 && (!L(2) || spte[L(0)].wr) ->
        if
        :: L(2) -> pg[spte[L(0)].pfn].cont = L(3)
        :: else -> skip
        fi;
        RET(pg[spte[L(0)].pfn].cont)
     :: else -> CALL(R_TDP, 1); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
     fi
    END
  /* guest_access:faulted */
  STEP(R_GUEST, 1, 1)
     if
     :: RESULT < 0 -> RET(RESULT)
     :: else -> RESULT = 0; GO(0)
     fi

    END
  /* ================= kvm_tdp_page_fault (src/kvm/fault.ts) — l0 kvm l1 gfn l2 write l3 mmuSeq l4 pfn l5 writable l6 refcounted l7 retry ================= */
  /* kvm_tdp_page_fault:seq — memslot gfn0 -> hva 0 of kvm->mm (kvm i is on mm i) */
  STEP(R_TDP, 0, 1)
     L(3) = kvm[L(0)].iseq; L(7) = 0;
     CALL(R_HVA, 1); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
    END
  /* kvm_tdp_page_fault:map */
  STEP(R_TDP, 1, 1)
     if
     :: RESULT < 0 -> RET(RESULT)
     :: else ->
        L(4) = RESULT >> 2; L(5) = (RESULT & 2 -> 1 : 0); L(6) = RESULT & 1; RESULT = 0;
        if
        :: (kvm[L(0)].inprog > 0 && kvm[L(0)].rs <= L(1) && L(1) < kvm[L(0)].re) || kvm[L(0)].iseq != L(3) ->
           L(7) = 1; GO(2)
        :: else ->
           spte[L(0)].pfn = L(4); spte[L(0)].wr = (L(2) && L(5) -> 1 : 0); spte[L(0)].gen = pg[L(4)].gen; GO(2)
        fi
     fi
    END
  /* kvm_tdp_page_fault:release */
  STEP(R_TDP, 2, 1)
     if
     :: L(6) -> putPage(L(4))
     :: else -> skip
     fi;
     if
     :: L(7) -> GO(0)
     :: else -> RET(0)
     fi

    END
  /* ================= hva_to_pfn (src/kvm/hva-to-pfn.ts) — l0 mm l1 hva l2 write ================= */
  /* hva_to_pfn:lock — mmap_read_lock (no writer in this scenario) */
  STEP(R_HVA, 0, 1) mmapReadLock(L(0)); GO(1)
    END
  /* hva_to_pfn:lookup */
  STEP(R_HVA, 1, 1)
     if
     :: FLAGS_OF(VMA_OF(L(0))) & (F_IO | F_PFNMAP) -> GO(3)
     :: else -> CALL(R_GUP, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
     fi
    END
  /* hva_to_pfn:gupDone */
  STEP(R_HVA, 2, 1)
     mmapReadUnlock(L(0));
     if
     :: RESULT <= 0 -> RET((RESULT < 0 -> RESULT : -EFAULT))
     :: else -> RET(RESULT * 4 + (L(2) != 0 -> 2 : 0) + 1)
     fi
    END
  /* hva_to_pfn:remapped — follow_pfnmap_start */
  STEP(R_HVA, 3, 1)
     assert(MMAP_LOCKED(L(0)));
     if
     :: pte[L(0)].present && (!L(2) || pte[L(0)].wr) ->
        mmapReadUnlock(L(0));
        RET(pte[L(0)].pfn * 4 + (pte[L(0)].wr -> 2 : 0))
     :: else -> CALL(R_HMF, 4); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
     fi
    END
  /* hva_to_pfn:fixedUp — fixup_user_fault */
  STEP(R_HVA, 4, 1)
     t1 = RESULT; RESULT = 0;
     if
     :: t1 & VM_FAULT_RETRY -> GO(0)
     :: !(t1 & VM_FAULT_RETRY) && (t1 & (VM_FAULT_SIGBUS | VM_FAULT_OOM)) -> mmapReadUnlock(L(0)); RET(-EFAULT)
     :: else -> GO(3)
     fi

    END
  /* ================= get_user_pages_remote (src/kernel/ops/gup.ts) — l0 mm l1 vpn l2 write ================= */
  /* get_user_pages_remote:check */
  STEP(R_GUP, 0, 1)
     assert(MMAP_LOCKED(L(0)));
     if
     :: FLAGS_OF(VMA_OF(L(0))) & (F_IO | F_PFNMAP) -> RET(-EFAULT)
     :: !(FLAGS_OF(VMA_OF(L(0))) & (F_IO | F_PFNMAP)) && !(FLAGS_OF(VMA_OF(L(0))) & (L(2) -> F_WRITE : F_READ)) -> RET(-EFAULT)
     :: else -> GO(1)
     fi
    END
  /* get_user_pages_remote:follow — under the ptl */
  STEP(R_GUP, 1, 1)
     if
     :: !pte[L(0)].present || (L(2) && !pte[L(0)].wr) -> GO(2)
     :: pte[L(0)].present && !(L(2) && !pte[L(0)].wr) && pte[L(0)].special -> RET(-EFAULT)
     :: else -> t1 = pte[L(0)].pfn; getPage(t1); RET(t1)
     fi
    END
  /* get_user_pages_remote:fault */
  STEP(R_GUP, 2, 1) CALL(R_HMF, 3); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
    END
  /* get_user_pages_remote:faulted */
  STEP(R_GUP, 3, 1)
     t1 = RESULT; RESULT = 0;
     if
     :: t1 & VM_FAULT_OOM -> RET(-ENOMEM)
     :: !(t1 & VM_FAULT_OOM) && (t1 & VM_FAULT_SIGBUS) -> RET(-EFAULT)
     :: !(t1 & (VM_FAULT_OOM | VM_FAULT_SIGBUS)) && (t1 & VM_FAULT_RETRY) -> RET(-EBUSY)
     :: else -> GO(1)
     fi

    END
  /* ================= handle_mm_fault (src/kernel/ops/fault.ts) — l0 mm l1 vpn l2 write l3 vma l4 origVal l5 origBits l6 pfn l7 newPfn l8 copied l9 locked ================= */
  /* handle_mm_fault:lookup — handle_pte_fault's lockless read */
  STEP(R_HMF, 0, 1)
     assert(MMAP_LOCKED(L(0)));
     L(3) = VMA_OF(L(0));
     if
     :: L(2) && !(FLAGS_OF(L(3)) & F_WRITE) -> RET(VM_FAULT_SIGBUS)
     :: else ->
        L(4) = PTE_VALUE(L(0)); L(5) = PTE_BITS(L(0));
        if
        :: PTE_NONE(L(0)) && (FLAGS_OF(L(3)) & F_ANON) -> GO(3)
        :: PTE_NONE(L(0)) && !(FLAGS_OF(L(3)) & F_ANON) ->         /* do_fault -> vm_ops->fault */
           CALL(R_DEVFAULT, 1); ARG(0, L(3)); ARG(1, L(1)); ARG(2, L(2))
        :: !PTE_NONE(L(0)) && pte[L(0)].swap != 0 -> GO(5)
        :: else -> GO(8)
        fi
     fi
    END
  /* handle_mm_fault:driverFaulted */
  STEP(R_HMF, 1, 1) RET(RESULT)
    END
  /* handle_mm_fault:done (after migration_entry_wait: no migration in this scenario) */
  STEP(R_HMF, 2, 1) assert(false)
    END
  /* handle_mm_fault:anonAlloc */
  STEP(R_HMF, 3, 1)
     allocPage(t1); L(6) = t1;
     if
     :: L(6) == 0 -> RET(VM_FAULT_OOM)
     :: else -> GO(4)
     fi
    END
  /* handle_mm_fault:anonMap — under the ptl */
  STEP(R_HMF, 4, 1)
     if
     :: !PTE_NONE(L(0)) -> putPage(L(6)); RET(0)
     :: else ->
        addNewAnonRmap(L(6), L(0), L(1));
        setPte(L(0), L(6), (FLAGS_OF(L(3)) & F_WRITE -> 1 : 0), 0);
        RET(0)
     fi
    END
  /* handle_mm_fault:swapin — swap_cache_get_folio, else allocate and read the slot */
  STEP(R_HMF, 5, 1)
     t2 = L(4) - 1;
     if
     :: !swp[t2].used -> RET(0)
     :: else ->
        t1 = 0; q = 1;
        do
        :: q <= NPAGES && !pg[q].isfree && pg[q].swap == t2 + 1 -> t1 = q; break
        :: q <= NPAGES && !(!pg[q].isfree && pg[q].swap == t2 + 1) -> q++
        :: else -> break
        od;
        L(6) = t1;
        if
        :: L(6) != 0 -> getPage(L(6)); GO(6)
        :: else ->
           allocPage(t1); L(6) = t1;
           if
           :: L(6) == 0 -> RET(VM_FAULT_OOM)
           :: else -> pg[L(6)].cont = swp[t2].cont; GO(7)
           fi
        fi
     fi
    END
  /* handle_mm_fault:swapLock — folio_lock_or_retry (blocks while locked: see BLOCKED) */
  STEP(R_HMF, 6, pg[TOP.l[6]].locked == 0)
     pg[L(6)].locked = SELF; L(9) = 1;
     if
     :: pg[L(6)].swap != L(4) -> pg[L(6)].locked = 0; putPage(L(6)); RET(0)
     :: else -> GO(7)
     fi
    END
  /* handle_mm_fault:swapMap — under the ptl */
  STEP(R_HMF, 7, 1)
     if
     :: !PTE_SAME(L(0), L(4), L(5)) ->
        if
        :: L(9) -> assert(pg[L(6)].locked == SELF); pg[L(6)].locked = 0
        :: else -> skip
        fi;
        putPage(L(6)); RET(0)
     :: else ->
        t2 = L(4) - 1;
        t3 = (pte[1 - L(0)].swap == t2 + 1 -> 1 : 0);                  /* otherSwapRefs */
        t4 = (L(2) != 0 && !t3 && pg[L(6)].mapc == 0 && (FLAGS_OF(L(3)) & F_WRITE) -> 1 : 0);
        if
        :: pg[L(6)].mapc == 0 -> addNewAnonRmap(L(6), L(0), L(1))
        :: else -> dupRmap(L(6))
        fi;
        setPte(L(0), L(6), t4, 0);
        if
        :: !t3 && pg[L(6)].swap != t2 + 1 -> swp[t2].used = 0; swp[t2].cont = 0
        :: else -> skip
        fi;
        if
        :: L(9) -> assert(pg[L(6)].locked == SELF); pg[L(6)].locked = 0
        :: else -> skip
        fi;
        RET(0)
     fi
    END
  /* handle_mm_fault:ptLock — present pte under the ptl, do_wp_page */
  STEP(R_HMF, 8, 1)
     if
     :: !PTE_SAME(L(0), L(4), L(5)) -> RET(0)
     :: PTE_SAME(L(0), L(4), L(5)) && (!L(2) || pte[L(0)].wr) -> RET(0)
     :: else ->
        if
        :: pte[L(0)].special || (FLAGS_OF(L(3)) & F_SHARED) ->
           if
           :: !(FLAGS_OF(L(3)) & F_SHARED) -> RET(VM_FAULT_SIGBUS)
           :: else -> pte[L(0)].wr = 1; RET(0)                        /* wp_page_shared */
           fi
        :: else ->
           t1 = pte[L(0)].pfn;
           if
           :: pg[t1].anon && pg[t1].mapc == 1 && pg[t1].ref == 1 -> pte[L(0)].wr = 1; RET(0)   /* wp_page_reuse */
           :: else -> getPage(t1); L(6) = t1; GO(9)
           fi
        fi
     fi
    END
  /* handle_mm_fault:cowAlloc — wp_page_copy */
  STEP(R_HMF, 9, 1)
     allocPage(t1); L(7) = t1;
     if
     :: L(7) == 0 -> putPage(L(6)); RET(VM_FAULT_OOM)
     :: else -> pg[L(7)].cont = pg[L(6)].cont; GO(10)
     fi
    END
  /* handle_mm_fault:cowStart — mmu_notifier_invalidate_range_start(CLEAR) */
  STEP(R_HMF, 10, 1)
     CALL(R_IRS, 11); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(1) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* handle_mm_fault:cowMap — under the ptl */
  STEP(R_HMF, 11, 1)
     if
     :: PTE_SAME(L(0), L(4), L(5)) ->
        addNewAnonRmap(L(7), L(0), L(1));
        setPte(L(0), L(7), (FLAGS_OF(L(3)) & F_WRITE -> 1 : 0), 0);
        removeRmap(L(6));
        L(8) = 1
     :: else -> skip
     fi;
     GO(12)
    END
  /* handle_mm_fault:cowEnd */
  STEP(R_HMF, 12, 1)
     CALL(R_IRE, 13); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(1) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* handle_mm_fault:cowPut */
  STEP(R_HMF, 13, 1)
     t1 = (L(8) -> L(6) : L(7));
     putPage(t1); putPage(L(6)); RET(0)

    END
  /* ================= cpu_access (src/kernel/ops/access.ts) — l0 mm l1 vpn l2 write l3 value ================= */
  /* cpu_access:access — the load/store through the pte */
  STEP(R_CPU, 0, 1)
     if
     :: !pte[L(0)].present || (L(2) && !pte[L(0)].wr) -> GO(1)
     :: else ->
        assert(LIVE(pte[L(0)].pfn, pte[L(0)].gen));     /* BUG: user access through a stale pte */
        if
        :: L(2) -> pg[pte[L(0)].pfn].cont = L(3); RET(L(3))
        :: else -> RET(pg[pte[L(0)].pfn].cont)
        fi
     fi
    END
  /* cpu_access:lock — mmap_read_lock, find_vma, access_error */
  STEP(R_CPU, 1, 1)
     mmapReadLock(L(0));
     CALL(R_HMF, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
    END
  /* cpu_access:faulted */
  STEP(R_CPU, 2, 1)
     t1 = RESULT; RESULT = 0;
     if
     :: t1 & VM_FAULT_RETRY -> GO(0)
     :: else ->
        mmapReadUnlock(L(0));
        if
        :: t1 & (VM_FAULT_OOM | VM_FAULT_SIGBUS) -> RET(-EFAULT)
        :: else -> GO(0)
        fi
     fi

    END
#if VARIANT != V_STARTONLY
  /* ================= mirror_fault (src/mirror/interval.ts) — l0 vma l1 vpn l2 write l3 dev l4 src l5 srcVpn l6 sub l7 seq l8 hpfn ================= */
  /* mirror_fault:mmget — dev 0, source mm 0, subscription 0, source vpn 0 */
  STEP(R_MFAULT, 0, 1)
     L(3) = 0; L(4) = SRC; L(6) = 0; L(5) = 0;
     if
     :: mm[SRC].users == 0 -> RET(VM_FAULT_SIGBUS)
     :: else -> mm[SRC].users++; GO(1)
     fi
    END
  /* mirror_fault:begin */
  STEP(R_MFAULT, 1, 1) CALL(R_READBEGIN, 2); ARG(0, L(6))
    END
  /* mirror_fault:lockSource — mmap_read_trylock(source) always succeeds here (no writer) */
  STEP(R_MFAULT, 2, 1)
     L(7) = RESULT; RESULT = 0;
     mmapReadLock(SRC);
     CALL(R_HMM, 4); ARG(0, L(6)); ARG(1, L(5)); ARG(2, L(7)); ARG(3, L(2))
    END
  /* mirror_fault:retry (only after a failed trylock) */
  STEP(R_MFAULT, 3, 1) assert(false)
    END
  /* mirror_fault:faulted — mmap_read_unlock(source) */
  STEP(R_MFAULT, 4, 1)
     mmapReadUnlock(SRC);
     if
     :: RESULT == -EBUSY -> GO(1)
     :: RESULT != -EBUSY && RESULT < 0 -> CALL(R_MMPUT, 5); ARG(0, SRC)
     :: else -> L(8) = RESULT; GO(6)
     fi
    END
  /* mirror_fault:sigbus */
  STEP(R_MFAULT, 5, 1) RET(VM_FAULT_SIGBUS)
    END
  /* mirror_fault:lock — mutex_lock(update) (blocks while held: see BLOCKED), then the install */
  STEP(R_MFAULT, 6, updLock == 0)
     updLock = SELF;
     CALL(R_INSTALL, 7); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(3)); ARG(3, L(7)); ARG(4, L(8)); ARG(5, L(2))
    END
  /* mirror_fault:installed — mutex_unlock(update) */
  STEP(R_MFAULT, 7, 1)
     assert(updLock == SELF); updLock = 0;
     if
     :: RESULT == INSTALL_RETRY -> RESULT = 0; GO(1)
     :: else -> CALL(R_MMPUT, 8); ARG(0, L(4))
     fi
    END
  /* mirror_fault:done */
  STEP(R_MFAULT, 8, 1) RET(VM_FAULT_NOPAGE)

    END
  /* ---- install under the update lock — l0 vma l1 vpn l2 dev l3 seq l4 hpfn l5 write ---- */
#if VARIANT == V_ANONVMA
  /* remote_map_page:install — read_retry + set_pte_at(mk_pte(page)) under the ptl: a NORMAL pte, no rmap, no ref */
  STEP(R_INSTALL, 0, 1)
     if
     :: subSeq != L(3) -> RET(INSTALL_RETRY)
     :: else -> setPte(INTR, HMM_TO_PFN(L(4)), (HMM_WRITABLE(L(4)) && L(5) != 0 -> 1 : 0), 0); RET(0)
     fi
    END
#else
  /* mirror_install_pfn:retry — mmu_interval_read_retry (its own step, as in the C) */
  STEP(R_INSTALL, 0, 1)
     if
     :: subSeq != L(3) -> RET(INSTALL_RETRY)
     :: else -> GO(1)
     fi
    END
  /* mirror_install_pfn:insert — vmf_insert_pfn_prot (special pte) */
  STEP(R_INSTALL, 1, 1)
     if
     :: PTE_NONE(INTR) -> setPte(INTR, HMM_TO_PFN(L(4)), (HMM_WRITABLE(L(4)) && L(5) != 0 -> 1 : 0), 1)
     :: else -> skip                                   /* insert_pfn leaves a present pte alone */
     fi;
     RET(0)
    END
#endif
#endif

  /* ================= mmu_interval_read_begin (src/kernel/notifier/interval.ts) — l0 sub l1 seq l2 invalidating ================= */
  /* mmu_interval_read_begin:read */
  STEP(R_READBEGIN, 0, 1)
     L(1) = subSeq; L(2) = (subSeq == mm[SRC].iseq -> 1 : 0);
     assert(inNotifier[_pid] == 0);
     if
     :: L(2) -> GO(1)
     :: else -> RET(L(1))
     fi
    END
  /* mmu_interval_read_begin:wait — wait_event(S != seq) (see BLOCKED) */
  STEP(R_READBEGIN, 1, mm[SRC].iseq != TOP.l[1]) RET(L(1))

    END
  /* ================= hmm_range_fault (src/kernel/hmm/hmm.ts) — l0 sub l1 vpn l2 seq l3 write l4 mm ================= */
  /* hmm_range_fault:check — mmu_interval_check_retry */
  STEP(R_HMM, 0, 1)
     L(4) = SRC;
     assert(MMAP_LOCKED(SRC));
     if
     :: subSeq != L(2) -> RET(-EBUSY)
     :: else -> GO(1)
     fi
    END
  /* hmm_range_fault:walk — hmm_vma_handle_pte on the (anonymous) source VMA */
  STEP(R_HMM, 1, 1)
     if
     :: pte[L(4)].present && pte[L(4)].special -> RET(-EFAULT)
     :: pte[L(4)].present && !pte[L(4)].special && (!L(3) || pte[L(4)].wr) -> RET(HMM_ENCODE(pte[L(4)].pfn, pte[L(4)].wr))
     :: else -> CALL(R_HMF, 2); ARG(0, L(4)); ARG(1, L(1)); ARG(2, L(3))
     fi
    END
  /* hmm_range_fault:faulted */
  STEP(R_HMM, 2, 1)
     t1 = RESULT; RESULT = 0;
     if
     :: t1 & (VM_FAULT_OOM | VM_FAULT_SIGBUS) -> RET(-EFAULT)
     :: else -> GO(0)
     fi

    END
  /* ================= mmput (src/kernel/ops/exit.ts) — l0 mm ================= */
  /* mmput:dec — the source never reaches mm_users 0 here (exit_mmap unmodelled) */
  STEP(R_MMPUT, 0, 1)
     assert(mm[L(0)].users > 0);
     mm[L(0)].users--;
     assert(mm[L(0)].users > 0);
     RET(0)

    END
  /* ================= kswapd_reclaim (src/scenario/workload.ts) — l0 mm l1 vpn ================= */
  /* kswapd_reclaim:pick — isolate_lru_folios */
  STEP(R_RECLAIM, 0, 1)
     if
     :: !pte[L(0)].present || pte[L(0)].special -> RET(0)
     :: else -> CALL(R_SHRINK, 1); ARG(0, pte[L(0)].pfn)
     fi
    END
  /* kswapd_reclaim:done */
  STEP(R_RECLAIM, 1, 1) RET(0)

    END
  /* ================= shrink_folio_list (src/kernel/ops/reclaim.ts) — l0 pfn ================= */
  /* shrink_folio_list:isolate */
  STEP(R_SHRINK, 0, 1)
     if
     :: pg[L(0)].isfree || pg[L(0)].ref == 0 || !pg[L(0)].anon -> RET(-EBUSY)
     :: else -> getPage(L(0)); GO(1)
     fi
    END
  /* shrink_folio_list:lock — folio_trylock (sleeps while locked: see BLOCKED) */
  STEP(R_SHRINK, 1, pg[TOP.l[0]].locked == 0) pg[L(0)].locked = SELF; GO(2)
    END
  /* shrink_folio_list:addToSwap — slot 1 is the only slot */
  STEP(R_SHRINK, 2, 1)
     if
     :: pg[L(0)].swap == 0 && swp[1].used -> pg[L(0)].locked = 0; putPage(L(0)); RET(-ENOMEM)     /* keep */
     :: else ->
        if
        :: pg[L(0)].swap == 0 -> swp[1].used = 1; pg[L(0)].swap = 2; pg[L(0)].ref++
        :: else -> skip
        fi;
        CALL(R_TTU, 3); ARG(0, L(0))
     fi
    END
  /* shrink_folio_list:pageout */
  STEP(R_SHRINK, 3, 1)
     if
     :: pg[L(0)].mapc > 0 -> pg[L(0)].locked = 0; putPage(L(0)); RET(-EBUSY)                     /* keep */
     :: else -> swp[pg[L(0)].swap - 1].cont = pg[L(0)].cont; GO(4)
     fi
    END
  /* shrink_folio_list:removeMapping — folio_ref_freeze(2) */
  STEP(R_SHRINK, 4, 1)
     if
     :: pg[L(0)].ref != 2 || pg[L(0)].mapc != 0 -> pg[L(0)].locked = 0; putPage(L(0)); RET(-EBUSY)  /* keep */
     :: else ->
        t2 = pg[L(0)].swap - 1;
        pg[L(0)].swap = 0;
        if                                                /* put_swap_folio */
        :: (!pte[0].present && pte[0].swap == t2 + 1) || (!pte[1].present && pte[1].swap == t2 + 1) -> skip
        :: else -> swp[t2].used = 0; swp[t2].cont = 0
        fi;
        putPage(L(0)); GO(5)
     fi
    END
  /* shrink_folio_list:free */
  STEP(R_SHRINK, 5, 1)
     assert(pg[L(0)].locked == SELF); pg[L(0)].locked = 0; putPage(L(0)); RET(0)

    END
  /* ================= try_to_unmap (src/kernel/ops/rmap.ts) — l0 pfn l1 mm l2 next l3 vpn ================= */
  /* try_to_unmap:walk — rmap_walk_anon: mms >= next of the page's anon_vma whose pte maps it (normal) */
  STEP(R_TTU, 0, 1)
     t1 = -1;
     if
     :: pg[L(0)].anon && pg[L(0)].anonVma != 0 ->
        q = L(2);
        do
        :: q < 2 && (q + 1 == pg[L(0)].anonVma && pte[q].present && !pte[q].special && pte[q].pfn == L(0)) -> t1 = q; break
        :: q < 2 && !(q + 1 == pg[L(0)].anonVma && pte[q].present && !pte[q].special && pte[q].pfn == L(0)) -> q++
        :: else -> break
        od
     :: else -> skip
     fi;
     if
     :: t1 < 0 -> RET(0)
     :: else ->
        L(2) = t1 + 1; L(1) = t1; L(3) = pg[L(0)].idx;
        CALL(R_IRS, 1); ARG(0, t1); ARG(1, L(3)); ARG(2, L(3) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
     fi
    END
  /* try_to_unmap:unmap — try_to_unmap_one under the ptl */
  STEP(R_TTU, 1, 1)
     if
     :: pte[L(1)].present && !pte[L(1)].special && pte[L(1)].pfn == L(0) ->
        t1 = pg[L(0)].swap;
        assert(t1 != 0);
        clearPte(L(1)); pte[L(1)].swap = t1;
        removeRmap(L(0)); putPage(L(0))
     :: else -> skip
     fi;
     CALL(R_IRE, 0); ARG(0, L(1)); ARG(1, L(3)); ARG(2, L(3) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)

    END
  /* ================= mmu_notifier_invalidate_range_start (src/kernel/notifier/mmu-notifier.ts) — l0 mm l1 start l2 end l3 event l4 blockable l5 next l6 failed ================= */
  /* mmu_notifier_invalidate_range_start:itree (both mms have notifiers: their KVMs) */
  STEP(R_IRS, 0, 1)
     if
     :: !HAS_ITREE(L(0)) -> GO(2)
     :: else -> CALL(R_ITREE, 1); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, L(3)); ARG(4, L(4))
     fi
    END
  /* mmu_notifier_invalidate_range_start:itreeDone */
  STEP(R_IRS, 1, 1)
     if
     :: RESULT != 0 -> RET(RESULT)
     :: else -> GO(2)
     fi
    END
  /* mmu_notifier_invalidate_range_start:hlist — next subscription >= next on this mm with ->invalidate_range_start */
  STEP(R_IRS, 2, 1)
     t1 = -1; q = L(5);
     do
     :: q < 3 && ((q == 0 && L(0) == 0) || (q == 1 && L(0) == 1) || (q == 2 && L(0) == MN2_MM)) -> t1 = q; break
     :: q < 3 && !((q == 0 && L(0) == 0) || (q == 1 && L(0) == 1) || (q == 2 && L(0) == MN2_MM)) -> q++
     :: else -> break
     od;
     if
     :: t1 < 0 -> assert(!L(6)); RET(0)
     :: else ->
        L(5) = t1 + 1; inNotifier[_pid]++;
        if
        :: t1 < 2 -> CALL(R_KVMSTART, 3)
        :: else -> CALL(R_SOINV, 3)
        fi;
        ARG(0, t1); ARG(1, L(0)); ARG(2, L(1)); ARG(3, L(2)); ARG(4, L(3)); ARG(5, L(4))
     fi
    END
  /* mmu_notifier_invalidate_range_start:hlistReturned */
  STEP(R_IRS, 3, 1)
     inNotifier[_pid]--;
     assert(RESULT == 0);            /* blockable: a failing start is a WARN */
     RESULT = 0; GO(2)

    END
  /* ================= mmu_notifier_invalidate_range_end — l0 mm l1 start l2 end l3 event l4 blockable l5 next ================= */
  /* mmu_notifier_invalidate_range_end:itree */
  STEP(R_IRE, 0, 1)
     if
     :: HAS_ITREE(L(0)) -> itreeInvEnd(L(0))
     :: else -> skip
     fi;
     GO(1)
    END
  /* mmu_notifier_invalidate_range_end:hlist — only the KVMs have ->invalidate_range_end */
  STEP(R_IRE, 1, 1)
     if
     :: L(5) <= L(0) ->
        L(5) = L(0) + 1; inNotifier[_pid]++;
        CALL(R_KVMEND, 2); ARG(0, L(0)); ARG(1, L(0)); ARG(2, L(1)); ARG(3, L(2)); ARG(4, L(3)); ARG(5, L(4))
     :: else -> RET(0)
     fi
    END
  /* mmu_notifier_invalidate_range_end:hlistReturned */
  STEP(R_IRE, 2, 1) inNotifier[_pid]--; RESULT = 0; GO(1)

    END
  /* ================= mn_itree_invalidate (src/kernel/notifier/interval.ts) — l0 mm l1 start l2 end l3 event l4 blockable l5 curSeq l6 next ================= */
  /* mn_itree_invalidate:startRange — mn_itree_inv_start_range: A++, S |= 1 if the mirror's range [0,0] overlaps */
  STEP(R_ITREE, 0, 1)
     mm[L(0)].nactive++;
     if
     :: L(0) == SRC && L(1) <= 0 && L(2) >= 1 -> mm[L(0)].iseq = mm[L(0)].iseq | 1
     :: else -> skip
     fi;
     L(5) = mm[L(0)].iseq; GO(1)
    END
  /* mn_itree_invalidate:callNext */
  STEP(R_ITREE, 1, 1)
     if
     :: L(0) == SRC && L(1) <= 0 && L(2) >= 1 && L(6) == 0 ->
        L(6) = 1; inNotifier[_pid]++;
        CALL(R_MINV, 2); ARG(0, 0); ARG(1, L(1)); ARG(2, L(2)); ARG(3, L(3)); ARG(4, L(4)); ARG(5, L(5))
     :: else -> RET(0)
     fi
    END
  /* mn_itree_invalidate:returned */
  STEP(R_ITREE, 2, 1)
     inNotifier[_pid]--;
     assert(RESULT != 0);            /* blockable: ops->invalidate returning false is a WARN */
     GO(1)

    END
#if VARIANT == V_INTERVAL
  /* ================= mirror_invalidate (src/mirror/interval.ts) — l0 sub l1 start l2 end l3 event l4 blockable l5 curSeq l6 dev ================= */
  /* mirror_invalidate:lock — mutex_lock(update) (sleeps while held: see BLOCKED) */
  STEP(R_MINV, 0, updLock == 0 || TOP.l[4] == 0) updLock = SELF; L(6) = 0; GO(1)
    END
  /* mirror_invalidate:zap — mmu_interval_set_seq + zap_vma_ptes of the mirror range */
  STEP(R_MINV, 1, 1)
     subSeq = L(5);
     t1 = (L(1) > 0 -> L(1) : 0); t2 = (L(2) < 1 -> L(2) : 1);
     if
     :: t1 >= t2 -> GO(2)
     :: else -> CALL(R_ZVP, 2); ARG(0, MIRROR_VMA); ARG(1, t1); ARG(2, t2)
     fi
    END
  /* mirror_invalidate:unlock */
  STEP(R_MINV, 2, 1) assert(updLock == SELF); updLock = 0; RET(1)
    END
#endif
#if VARIANT == V_RAWCLEAR
  /* ================= mirror_invalidate_raw_clear (src/mirror/raw-clear.ts) — l0 sub .. l5 curSeq l6 dev ================= */
  /* mirror_invalidate_raw_clear:lock — take_lock(update) */
  STEP(R_MINV, 0, updLock == 0 || TOP.l[4] == 0) updLock = SELF; L(6) = 0; GO(1)
    END
  /* mirror_invalidate_raw_clear:clear — set_seq + clear_pte under the introspector's ptl, no notifier */
  STEP(R_MINV, 1, 1)
     subSeq = L(5);
     t1 = (L(1) > 0 -> L(1) : 0); t2 = (L(2) < 1 -> L(2) : 1);
     if
     :: t1 < t2 -> clearPte(INTR)
     :: else -> skip
     fi;
     assert(updLock == SELF); updLock = 0;
     RET(1)
    END
#endif
#if VARIANT == V_ANONVMA
  /* ================= mirror_invalidate_anon_vma (src/mirror/anon-vma.ts) — l0 sub .. l5 curSeq l6 dev ================= */
  /* mirror_invalidate_anon_vma:lock — spin_lock(user_lock); set_seq; unlock (net: the lock stays free) */
  STEP(R_MINV, 0, updLock == 0 || TOP.l[4] == 0) L(6) = 0; subSeq = L(5); GO(1)
    END
  /* mirror_invalidate_anon_vma:zap — zap_page_range_single on the introspector VMA */
  STEP(R_MINV, 1, 1)
     t1 = (L(1) > 0 -> L(1) : 0); t2 = (L(2) < 1 -> L(2) : 1);
     if
     :: t1 >= t2 -> RET(1)
     :: else -> CALL(R_ZPRS, 2); ARG(0, INTR); ARG(1, MIRROR_VMA); ARG(2, t1); ARG(3, t2)
     fi
    END
  /* mirror_invalidate_anon_vma:done */
  STEP(R_MINV, 2, 1) RET(1)
    END
#endif

  /* ================= zap_vma_ptes (src/kernel/ops/zap.ts) — l0 vma l1 start l2 end ================= */
  /* zap_vma_ptes:check — VM_PFNMAP and inside the VMA [0,1) */
  STEP(R_ZVP, 0, 1)
     if
     :: !(FLAGS_OF(L(0)) & F_PFNMAP) || L(1) < 0 || L(2) > 1 || L(1) >= L(2) -> RET(0)
     :: else -> CALL(R_ZPRS, 1); ARG(0, INTR); ARG(1, L(0)); ARG(2, L(1)); ARG(3, L(2))
     fi
    END
  /* zap_vma_ptes:done */
  STEP(R_ZVP, 1, 1) RET(0)

    END
  /* ================= zap_page_range_single — l0 mm l1 vma l2 start l3 end ================= */
  /* zap_page_range_single:zap */
  STEP(R_ZPRS, 0, 1)
     assert(L(0) == INTR);             /* the mirror VMA belongs to the introspector */
     CALL(R_ZPRSB, 1); ARG(0, L(1)); ARG(1, L(2)); ARG(2, L(3)); ARG(3, 1)
    END
  /* zap_page_range_single:finish — tlb_finish_mmu: put every gathered reference (2 bits per pfn) */
  STEP(R_ZPRS, 1, 1)
     t3 = RESULT; q = 1;
     do
     :: q <= NPAGES ->
        t4 = (t3 >> (2 * q)) & 3;
        do
        :: t4 > 0 -> putPage(q); t4--
        :: else -> break
        od;
        q++
     :: else -> break
     od;
     RET(0)

    END
  /* ================= zap_page_range_single_batched — l0 vma l1 start l2 end l3 evenCows l4 mm l5 gather ================= */
  /* zap_page_range_single_batched:start */
  STEP(R_ZPRSB, 0, 1)
     L(4) = INTR;
     CALL(R_IRS, 1); ARG(0, L(4)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* zap_page_range_single_batched:zap — unmap_single_vma / zap_pte_range under the ptl */
  STEP(R_ZPRSB, 1, 1)
     if
     :: L(1) <= 0 && L(2) >= 1 && pte[L(4)].present ->
        if
        :: pte[L(4)].special -> clearPte(L(4))
        :: else ->
           t1 = pte[L(4)].pfn;
           clearPte(L(4)); removeRmap(t1);
           assert(((L(5) >> (2 * t1)) & 3) < 3);
           L(5) = L(5) + (1 << (2 * t1))
        fi
     :: else -> skip                   /* the mirror VMA never holds swap or migration entries */
     fi;
     RESULT = 0;
     CALL(R_IRE, 2); ARG(0, L(4)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* zap_page_range_single_batched:done */
  STEP(R_ZPRSB, 2, 1) RET(L(5))

    END
  /* ================= KVM notifiers (src/kvm/notifier.ts) — l0 mn l1 mm l2 start l3 end l4 event l5 blockable; kvm i = mn i, memslot gfn0 <-> hva 0 ================= */
  /* kvm_mmu_notifier_invalidate_range_start:zap — the mmu_lock section */
  STEP(R_KVMSTART, 0, 1)
     t1 = (L(2) > 0 -> L(2) : 0); t2 = (L(3) < 1 -> L(3) : 1);
     if
     :: t1 >= t2 -> RET(0)
     :: else ->
        kvm[L(0)].inprog++;
        if
        :: kvm[L(0)].inprog == 1 -> kvm[L(0)].rs = t1; kvm[L(0)].re = t2
        :: else ->
           kvm[L(0)].rs = (t1 < kvm[L(0)].rs -> t1 : kvm[L(0)].rs);
           kvm[L(0)].re = (t2 > kvm[L(0)].re -> t2 : kvm[L(0)].re)
        fi;
        spte[L(0)].pfn = 0; spte[L(0)].wr = 0; spte[L(0)].gen = 0;
        RET(0)
     fi
    END
  /* kvm_mmu_notifier_invalidate_range_end:end — kvm_mmu_invalidate_end */
  STEP(R_KVMEND, 0, 1)
     t1 = (L(2) > 0 -> L(2) : 0); t2 = (L(3) < 1 -> L(3) : 1);
     if
     :: t1 >= t2 -> RET(0)
     :: else ->
        kvm[L(0)].iseq++;
        assert(kvm[L(0)].inprog > 0);
        kvm[L(0)].inprog--;
        RET(0)
     fi

    END
#if VARIANT == V_STARTONLY
  /* ================= mirror_fault_start_only (src/mirror/start-only.ts) — l0 vma l1 vpn l2 write l3 src l4 pfn ================= */
  /* mirror_fault_start_only:lockSource — down_read_trylock(src mmap_sem) always succeeds here; GUP */
  STEP(R_SOFAULT, 0, 1)
     mmapReadLock(SRC); L(3) = SRC;
     CALL(R_GUP, 1); ARG(0, SRC); ARG(1, 0); ARG(2, L(2))
    END
  /* mirror_fault_start_only:insert — vmf_insert_pfn(page_to_pfn(page)): writable (shared writable VMA) */
  STEP(R_SOFAULT, 1, 1)
     if
     :: RESULT <= 0 -> mmapReadUnlock(L(3)); RET(VM_FAULT_SIGBUS)
     :: else ->
        L(4) = RESULT;
        mmapReadUnlock(L(3));
        if
        :: PTE_NONE(INTR) -> setPte(INTR, L(4), 1, 1)
        :: !PTE_NONE(INTR) && L(2) && pte[INTR].present && pte[INTR].pfn == L(4) -> pte[INTR].wr = 1
        :: else -> skip
        fi;
        GO(2)
     fi
    END
  /* mirror_fault_start_only:put — put_page */
  STEP(R_SOFAULT, 2, 1) putPage(L(4)); RET(VM_FAULT_NOPAGE)
    END
  /* mirror_invalidate_range_start_only:zap — zap_vma_ptes of the mirror range */
  STEP(R_SOINV, 0, 1)
     t1 = (L(2) > 0 -> L(2) : 0); t2 = (L(3) < 1 -> L(3) : 1);
     if
     :: t1 >= t2 -> RET(0)
     :: else -> CALL(R_ZVP, 1); ARG(0, MIRROR_VMA); ARG(1, t1); ARG(2, t2)
     fi
    END
  /* mirror_invalidate_range_start_only:done */
  STEP(R_SOINV, 1, 1) RET(0)
    END
#endif
  od
}

/*
 * Initial state (buildScenario): the source page pfn 1 faulted in writable (gen 1, contents 0x100);
 * mm invalidate_seq 2; the mirror's interval subscription inserted while idle (seq = S - 1 = 1);
 * every actor's bottom frame is `workload`.
 * Deadlock / notifier-balance: when no actor can step, every actor must be done, and then nothing
 * may be held or open (src/check/properties.ts quiescence; explore.ts deadlock).
 */
active proctype watchdog()
{
  d_step {
    pg[1].ref = 1; pg[1].mapc = 1; pg[1].gen = 1; pg[1].cont = 256; pg[1].anon = 1; pg[1].anonVma = 1;
    pg[2].isfree = 1; pg[3].isfree = 1; pg[4].isfree = 1; pg[5].isfree = 1;
    mm[0].users = 1; mm[0].iseq = 2; mm[1].users = 1; mm[1].iseq = 2;
    pte[0].pfn = 1; pte[0].present = 1; pte[0].wr = 1; pte[0].gen = 1;
    subSeq = 1;
    fr[0].r = R_WORKLOAD; fr[14].r = R_WORKLOAD; fr[20].r = R_WORKLOAD; fr[29].r = R_WORKLOAD;
    sp[0] = 1; sp[1] = 1; sp[2] = 1; sp[3] = 1;
    at[0] = R_WORKLOAD * 16; at[1] = R_WORKLOAD * 16; at[2] = R_WORKLOAD * 16; at[3] = R_WORKLOAD * 16
  };
  atomic {
    timeout ->
    assert(sp[0] == 0 && sp[1] == 0 && sp[2] == 0 && sp[3] == 0);   /* deadlock */
#ifndef NOPROPS
    assert(QUIESCENT)
#endif
  }
}
