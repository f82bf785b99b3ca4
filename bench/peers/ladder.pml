/*
 * ladder.pml — the SPIN peer of the bench's growth ladder (bench/scenarios/ladder-N.yaml) under the
 * corrected design `interval` (src/mirror/interval.ts), for SPIN 6.5.2. One file for every rung:
 *
 *   spin -DACTORS=N -a ladder.pml        N = 2..6, the rung (its number of actors)
 *
 * Actors (the scenario's order, so the lock owner tags are the same as ours: actor index + 1):
 *   0 intro      access(introspector@0, read)          a read through the mirror            (rung >= 2)
 *   1 kswapd     reclaim(source@0)                     kswapd reclaiming the page to swap    (rung >= 2)
 *   2 kcompactd  migrate(source@0)                     kcompactd migrating the page          (rung >= 3)
 *   3 source     access(source@0, write 0x200)         a source write                        (rung >= 4)
 *   4 dontneed   madvise-dontneed(source@0)            MADV_DONTNEED by another source thread (rung >= 5)
 *   5 intro2     access(introspector@0, read)          a second read through the mirror      (rung 6)
 *
 * Granularity. Our routines (src/**) are tables of labelled atomic steps with explicit call frames
 * in the state. This model keeps that shape so that the interleaving points are the same: every
 * actor owns a stack of frames (routine, pc, locals, result) in the global state, and every step of
 * ours `{ at, run }` is ONE d_step, written `STEP(routine, pc, enabled) ... END` below and preceded by
 * a comment `routine:label` naming our step (test/bench/spin-peers.test.ts checks these names
 * against `vmamirror explain`). A step that calls (`w.call`) pushes a frame and sets the caller's
 * resume pc; one that returns (`w.ret`) zeroes its frame (dead frames are zero, as in
 * src/world/world.ts) and stores the result in the caller's frame. A step that blocks (BLOCK_SLEEP)
 * has a false guard (`enabled`). Locals are numbered in the order of the routine's params then
 * locals, and hold the values ours hold (the mmu_gather too: 2 bits per pfn).
 *
 * Labels of these routines that the ladder cannot reach (layers it does not turn on: dirty-accessed,
 * cpu-tlb, zero-page, thp; device-private and device-exclusive entries; a failing trylock of the
 * source's mmap_lock, which has no writer here; hlist subscribers, which no mm has here) are listed
 * in the UNMODELLED lines below, each with why; a branch of a modelled step that the ladder cannot
 * reach is `assert(false)` ("unmodelled"), so reaching one would be reported, not mis-modelled.
 *
 * UNMODELLED shrink_folio_list:markDirty,dirty — layer dirty-accessed
 * UNMODELLED shrink_folio_list:flushDirty,flushClean,unmapFlush — layer cpu-tlb
 * UNMODELLED try_to_unmap:put try_to_migrate:put — layer dirty-accessed
 * UNMODELLED try_to_migrate:flush — layer cpu-tlb
 * UNMODELLED zap_page_range_single:tlbFlush — layer cpu-tlb
 * UNMODELLED do_anonymous_page:zeroPage — layer zero-page
 * UNMODELLED do_swap_page:devicePrivate,migrated,migratedPut — no device-private entry in the ladder
 * UNMODELLED mirror_fault:retry — mmap_read_trylock(source) cannot fail: the source's mmap_lock has no writer
 * UNMODELLED mirror_fault:sigbus — hmm_range_fault cannot fail here (no OOM, no error pte)
 * UNMODELLED mmu_notifier_invalidate_range_start:hlistReturned,undo,undoNext — no hlist subscriber
 * UNMODELLED mmu_notifier_invalidate_range_end:hlistReturned — no hlist subscriber
 * UNMODELLED mmput:drop — mm_users of the source never reaches 0 (no exit)
 *
 * Deliberate differences from the TS model (none changes the reachable states):
 *  - the page-table lock is not a state field: every step of these routines that takes a ptl drops
 *    it in the same step (no thp split here), so no actor can observe it held; mmap_lock has no
 *    writer in the ladder, so only its reader count is kept;
 *  - fields that never change in the ladder (VMAs, the subscription's range and state, mm_count,
 *    notifier registrations, task->in-callback depth and read-lock counts, which are functions of
 *    the actor's stack) are constants or left out;
 *  - page->index is always 0 (one page at vpn 0) and is left out.
 *
 * Properties (src/check/properties.ts), after every step: refinement (the mirror pte maps what the
 * source pte maps, with no more write permission: no stale mapping in the device's table),
 * no-dangling-pfn, frame-accounting; at a deadlock every actor must be done and nothing held
 * (notifier-balance, our explorer's deadlock check); the kernel BUGs our steps raise are asserts.
 * -DNOPROPS leaves the property assertions out.
 */

#ifndef ACTORS
#define ACTORS 2
#endif

/* ---- constants: kernel names (src/kernel/flags.ts) ---- */
#define EFAULT 14
#define EBUSY 16
#define ENOMEM 12
#define EAGAIN 11
#define VM_FAULT_OOM 1
#define VM_FAULT_SIGBUS 2
#define VM_FAULT_ERROR 3          /* OOM | SIGBUS (| HWPOISON.. not modelled) */
#define VM_FAULT_NOPAGE 256
#define VM_FAULT_RETRY 1024
#define MMU_NOTIFY_CLEAR 1
#define INSTALL_RETRY 1
#define HMM_NEED_FAULT 1
#define HMM_NEED_WRITE_FAULT 2

/* ---- topology (src/scenario/build.ts for pages = 1) ---- */
#define NPAGES 5          /* page frames pfn 1..5 */
#define NSWAP 2           /* swap slots 0..1; slot 0 is the swap header, never handed out */
#define SRC 0             /* source mm */
#define INTR 1            /* introspector mm */
#define SRC_VMA 0         /* global VMA index of source#0: [0,1) anonymous read-write */
#define MIRROR_VMA 2      /* global VMA index of introspector#0: the mirror's VM_PFNMAP VMA [0,1) */
#define VMA_OF(m) ((m) == SRC -> SRC_VMA : MIRROR_VMA)
#define MM_OF_VMA(v) ((v) == SRC_VMA -> SRC : INTR)
#define IS_ANON_VMA(v) ((v) == SRC_VMA)
/* both VMAs are VM_READ | VM_WRITE; only the mirror's is VM_PFNMAP | VM_SHARED */

/* ---- routine ids (ours are in src/**; names as the kernel's) ---- */
#define R_WORKLOAD 1      /* src/scenario/workload.ts workload */
#define R_CPU 2           /* src/kernel/ops/access.ts cpu_access */
#define R_HMF 3           /* src/kernel/ops/fault.ts handle_mm_fault */
#define R_HPF 4           /* src/kernel/ops/fault.ts handle_pte_fault */
#define R_ANON 5          /* src/kernel/ops/anonymous.ts do_anonymous_page */
#define R_SWAPIN 6        /* src/kernel/ops/swap-in.ts do_swap_page */
#define R_MIGWAIT 7       /* src/kernel/ops/migration-wait.ts migration_entry_wait */
#define R_WPCOPY 8        /* src/kernel/ops/wp.ts wp_page_copy */
#define R_MFAULT 9        /* src/mirror/interval.ts mirror_fault */
#define R_INSTALL 10      /* src/mirror/interval.ts mirror_install_pfn */
#define R_READBEGIN 11    /* src/kernel/notifier/interval.ts mmu_interval_read_begin */
#define R_HMM 12          /* src/kernel/hmm/hmm.ts hmm_range_fault */
#define R_MMPUT 13        /* src/kernel/ops/exit.ts mmput */
#define R_RECLAIM 14      /* src/scenario/workload.ts kswapd_reclaim */
#define R_SHRINK 15       /* src/kernel/ops/reclaim.ts shrink_folio_list */
#define R_TTU 16          /* src/kernel/ops/reclaim.ts try_to_unmap (rmap.ts defineRmapUnmap) */
#define R_MIGRATEAT 17    /* src/scenario/workload.ts kcompactd_migrate */
#define R_MIGRATE 18      /* src/kernel/ops/migrate.ts migrate_pages */
#define R_TTM 19          /* src/kernel/ops/migrate.ts try_to_migrate (rmap.ts defineRmapUnmap) */
#define R_RMP 20          /* src/kernel/ops/migrate.ts remove_migration_ptes */
#define R_IRS 21          /* src/kernel/notifier/mmu-notifier.ts mmu_notifier_invalidate_range_start */
#define R_IRE 22          /* src/kernel/notifier/mmu-notifier.ts mmu_notifier_invalidate_range_end */
#define R_ITREE 23        /* src/kernel/notifier/interval.ts mn_itree_invalidate */
#define R_MINV 24         /* src/mirror/interval.ts mirror_invalidate */
#define R_ZVP 25          /* src/kernel/ops/zap.ts zap_vma_ptes */
#define R_ZPRS 26         /* src/kernel/ops/zap.ts zap_page_range_single */
#define R_ZPRSB 27        /* src/kernel/ops/zap.ts zap_page_range_single_batched */
#define R_MADV 28         /* src/kernel/ops/madvise.ts do_madvise (MADV_DONTNEED) */

/* ---- the state (src/kernel/structs.ts) ---- */
typedef Page { byte ref; byte mapc; bit isfree; byte gen; short cont; byte locked; bit anon; byte anonVma; byte swap };
Page pg[NPAGES + 1];          /* pfn 0 is never allocated */
typedef Mm { byte users; byte readers; byte iseq; byte nactive };   /* mm_users, mmap_lock readers, invalidate_seq, active_invalidate_ranges */
Mm mm[2];
typedef Pte { byte pfn; bit present; bit wr; bit special; byte swap; byte mig; byte gen };   /* swap: entry (slot + 1); mig: migration entry's pfn; gen: ghost */
Pte pte[2];                   /* source@0, introspector@0 */
typedef Swap { bit used; short cont };
Swap swp[NSWAP];
byte subSeq;                  /* the mirror's mmu_interval_notifier seq */
byte updLock;                 /* the mirror's update lock (mutex): owner actor + 1 */

/* call stacks: actor a owns frames BASE(a) .. BASE(a) + DEPTH - 1 */
#define NL 9
#define DEPTH 12
typedef Frame { byte r; byte pc; short l[NL]; short res };
Frame fr[ACTORS * DEPTH];
byte sp[ACTORS];
#define BASE(a) ((a) * DEPTH)
/* where an actor stands: routine * 16 + pc of its top frame, 0 when done */
#define AT(a) (sp[a] > 0 -> fr[BASE(a) + sp[a] - 1].r * 16 + fr[BASE(a) + sp[a] - 1].pc : 0)
#define TOPL(i) fr[BASE(_pid) + sp[_pid] - 1].l[i]

/* scratch (not part of the state vector) */
hidden byte f, nf, k, q;
hidden short rv, t1, t2, t3, t4, t5, t6;

/* ---- frame access ---- */
#define SELF (_pid + 1)
#define L(i) fr[f].l[i]
#define RESULT fr[f].res
#define GO(p) fr[f].pc = p
/* w.call(routine, resume, ...args): push a frame; args are set with ARG(i, x) afterwards */
inline CALL(rt, resume) {
  assert(sp[_pid] < DEPTH);
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
inline allocPage(out) {        /* rmqueue: lowest free pfn; prep_new_page */
  out = 0; q = 1;
  do
  :: q <= NPAGES && pg[q].isfree -> out = q; break
  :: q <= NPAGES && !pg[q].isfree -> q++
  :: else -> break
  od;
  if
  :: out != 0 ->
     pg[out].isfree = 0; pg[out].gen = pg[out].gen + 1; pg[out].ref = 1; pg[out].mapc = 0; pg[out].cont = 0;
     pg[out].anon = 0; pg[out].anonVma = 0; pg[out].swap = 0
  :: else -> skip
  fi
}
inline getPage(p) {
  assert(pg[p].ref > 0);                      /* BUG: get_page on free pfn (use after free) */
  pg[p].ref++
}
inline putPage(p) {
  assert(pg[p].ref > 0);                      /* BUG: put_page on free pfn (refcount underflow) */
  pg[p].ref--;
  if
  :: pg[p].ref == 0 ->                        /* free_unref_folios */
     assert(pg[p].mapc == 0);                 /* BUG: bad page state */
     assert(pg[p].locked == 0);               /* BUG: freeing locked pfn */
     pg[p].isfree = 1; pg[p].anon = 0; pg[p].anonVma = 0; pg[p].swap = 0
  :: else -> skip
  fi
}
/* folio_add_new_anon_rmap: the anon_vma of mm m is m + 1 */
inline addNewAnonRmap(p, m) { pg[p].anon = 1; pg[p].anonVma = m + 1; pg[p].mapc++ }
inline dupRmap(p) { assert(pg[p].ref > 0); pg[p].mapc++ }                       /* BUG: mapping free pfn */
inline removeRmap(p) { assert(pg[p].mapc > 0); pg[p].mapc-- }                   /* BUG: mapcount underflow */
/* ---- page tables (src/kernel/pgtable.ts) ---- */
#define setPte(m, p, w, s) t5 = (p); t6 = (w); setPteW(m, s)
inline setPteW(m, s) {
  pte[m].pfn = t5; pte[m].present = 1; pte[m].wr = t6; pte[m].special = s; pte[m].swap = 0; pte[m].mig = 0; pte[m].gen = pg[t5].gen
}
inline clearPte(m) { pte[m].pfn = 0; pte[m].present = 0; pte[m].wr = 0; pte[m].special = 0; pte[m].swap = 0; pte[m].mig = 0; pte[m].gen = 0 }
#define PTE_NONE(m) (!pte[m].present && pte[m].swap == 0 && pte[m].mig == 0)
/* src/kernel/ops/pte-snap.ts: pteValue / pteBits / pteSame */
#define PTE_VALUE(m) (pte[m].present -> pte[m].pfn : (pte[m].swap != 0 -> pte[m].swap : pte[m].mig))
#define PTE_BITS(m) (pte[m].present -> (1 | (pte[m].wr -> 2 : 0) | (pte[m].special -> 4 : 0)) : \
  (pte[m].swap != 0 -> 8 : (pte[m].mig != 0 -> (16 | (pte[m].wr -> 2 : 0)) : 0)))
#define SNAP_MIGRATION 16
#define PTE_SAME(m, val, bits) (PTE_BITS(m) == (bits) && PTE_VALUE(m) == (val))
#define MAPS_PAGE(m, p) (pte[m].present && !pte[m].special && pte[m].pfn == (p))
/* ---- swap (src/kernel/ops/reclaim.ts) ---- */
/* swap_cache_get_folio: the page whose page.swap is entry e, or 0 */
inline swapCacheLookup(out, e) {
  out = 0; q = 1;
  do
  :: q <= NPAGES && pg[q].swap == (e) -> out = q; break
  :: q <= NPAGES && pg[q].swap != (e) -> q++
  :: else -> break
  od
}
#define SLOT_REFERENCED(s) ((!pte[0].present && pte[0].swap == (s) + 1) || (!pte[1].present && pte[1].swap == (s) + 1))
inline freeSwapSlot(s) { swp[s].used = 0; swp[s].cont = 0 }
inline putSwapFolio(s) {
  if
  :: SLOT_REFERENCED(s) -> skip
  :: else -> freeSwapSlot(s)
  fi
}
/* ---- locks (src/kernel/locks.ts) ---- */
inline mmapReadLock(m) { mm[m].readers++ }
inline mmapReadUnlock(m) { assert(mm[m].readers > 0); mm[m].readers-- }
#define MMAP_LOCKED(m) (mm[m].readers > 0)
inline folioUnlock(p) { assert(pg[p].locked == SELF); pg[p].locked = 0 }
/* ---- interval notifier (src/kernel/notifier/interval.ts): the mirror's subscription, [0,1) of the source ---- */
#define HAS_NOTIFIERS(m) ((m) == SRC)
#define OVERLAPS(m, s, e) ((m) == SRC && (s) <= 0 && (e) >= 1)
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
#define REFINEMENT (!pte[INTR].present || \
  (pte[SRC].present && pte[SRC].pfn == pte[INTR].pfn && !(pte[INTR].wr && !pte[SRC].wr)))
#define LIVE(p, g) (!pg[p].isfree && pg[p].gen == (g))
#define NO_DANGLING_PFN ((!pte[0].present || LIVE(pte[0].pfn, pte[0].gen)) && (!pte[1].present || LIVE(pte[1].pfn, pte[1].gen)))
#define NMAPPED(p) ((MAPS_PAGE(0, p) -> 1 : 0) + (MAPS_PAGE(1, p) -> 1 : 0))
#define ACCOUNTED(p) (pg[p].isfree || (pg[p].mapc == NMAPPED(p) && pg[p].ref >= pg[p].mapc + (pg[p].swap != 0 -> 1 : 0)))
#define FRAME_ACCOUNTING (ACCOUNTED(1) && ACCOUNTED(2) && ACCOUNTED(3) && ACCOUNTED(4) && ACCOUNTED(5))
#define QUIESCENT (mm[0].nactive == 0 && mm[1].nactive == 0 && !(mm[0].iseq & 1) && !(mm[1].iseq & 1) && \
  mm[0].readers == 0 && mm[1].readers == 0 && updLock == 0 && \
  pg[1].locked == 0 && pg[2].locked == 0 && pg[3].locked == 0 && pg[4].locked == 0 && pg[5].locked == 0)
#ifdef NOPROPS
#define CHECK skip
#else
#define CHECK assert(REFINEMENT); assert(NO_DANGLING_PFN); assert(FRAME_ACCOUNTING)
#endif

/* One step of ours = one d_step: enabled when the actor's top frame stands at routine:label `p` of
 * routine `rt` and the step would not block (`en`: the condition under which our step does not
 * return BLOCK_SLEEP). `f` is the running frame. */
#define STEP(rt, p, en) :: d_step { (AT(_pid) == (rt) * 16 + (p) && (en)) -> f = BASE(_pid) + sp[_pid] - 1;
#define END ; CHECK }

active [ACTORS] proctype actor()
{
end:
  do
  /* ================= workload (src/scenario/workload.ts) — l0 pc ================= */
  /* workload:next */
  STEP(R_WORKLOAD, 0, 1)
     if
     :: L(0) >= 1 -> RET(0)
     :: else ->
        L(0) = 1;
        if
        :: _pid == 0 || _pid == 5 -> CALL(R_CPU, 0); ARG(0, INTR); ARG(1, 0); ARG(2, 0); ARG(3, 0)   /* access(introspector@0) */
        :: _pid == 1 -> CALL(R_RECLAIM, 0); ARG(0, SRC); ARG(1, 0)                               /* reclaim(source@0) */
        :: _pid == 2 -> CALL(R_MIGRATEAT, 0); ARG(0, SRC); ARG(1, 0)                             /* migrate(source@0) */
        :: _pid == 3 -> CALL(R_CPU, 0); ARG(0, SRC); ARG(1, 0); ARG(2, 1); ARG(3, 512)          /* access(source@0, write 0x200) */
        :: _pid == 4 -> CALL(R_MADV, 0); ARG(0, SRC); ARG(1, 0); ARG(2, 1)                       /* madvise-dontneed(source@0) */
        fi
     fi
    END

  /* ================= cpu_access (src/kernel/ops/access.ts) — l0 mm l1 vpn l2 write l3 value ================= */
  /* cpu_access:access — hw: the load/store through the pte */
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
  /* cpu_access:lock — arch/x86/mm/fault.c:do_user_addr_fault mmap_read_lock, find_vma, access_error */
  STEP(R_CPU, 1, 1)
     mmapReadLock(L(0));
     CALL(R_HMF, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
    END
  /* cpu_access:faulted — arch/x86/mm/fault.c:do_user_addr_fault */
  STEP(R_CPU, 2, 1)
     t1 = RESULT; RESULT = 0;
     if
     :: t1 & VM_FAULT_RETRY -> GO(0)
     :: else ->
        mmapReadUnlock(L(0));
        if
        :: t1 & VM_FAULT_ERROR -> RET(-EFAULT)
        :: else -> GO(0)
        fi
     fi
    END

  /* ================= handle_mm_fault (src/kernel/ops/fault.ts) — l0 mm l1 vpn l2 write ================= */
  /* handle_mm_fault:fault — mm/memory.c:handle_mm_fault __handle_mm_fault */
  STEP(R_HMF, 0, 1) CALL(R_HPF, 1); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2))
    END
  /* handle_mm_fault:out — mm/memory.c:handle_mm_fault mm_account_fault */
  STEP(R_HMF, 1, 1) RET(RESULT)
    END

  /* ================= handle_pte_fault (src/kernel/ops/fault.ts) — l0 mm l1 vpn l2 write l3 vma l4 origVal l5 origBits ================= */
  /* handle_pte_fault:readPte — mm/memory.c:handle_pte_fault ptep_get_lockless, and the dispatch */
  STEP(R_HPF, 0, 1)
     assert(MMAP_LOCKED(L(0)));
     L(3) = VMA_OF(L(0));
     L(4) = PTE_VALUE(L(0)); L(5) = PTE_BITS(L(0));
     if
     :: PTE_NONE(L(0)) && IS_ANON_VMA(L(3)) ->                    /* do_pte_missing → do_anonymous_page */
        CALL(R_ANON, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(3)); ARG(3, L(2))
     :: PTE_NONE(L(0)) && !IS_ANON_VMA(L(3)) ->                   /* do_fault → __do_fault → vm_ops->fault */
        CALL(R_MFAULT, 2); ARG(0, L(3)); ARG(1, L(1)); ARG(2, L(2))
     :: !PTE_NONE(L(0)) && !pte[L(0)].present ->                  /* do_swap_page */
        CALL(R_SWAPIN, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, L(3)); ARG(4, L(4)); ARG(5, L(5))
     :: else -> GO(1)
     fi
    END
  /* handle_pte_fault:ptLock — mm/memory.c:handle_pte_fault spin_lock(vmf->ptl); pte_same; do_wp_page (wp.ts) */
  STEP(R_HPF, 1, 1)
     if
     :: !PTE_SAME(L(0), L(4), L(5)) -> RET(0)
     :: PTE_SAME(L(0), L(4), L(5)) && !(L(2) && !pte[L(0)].wr) -> RET(0)
     :: else ->                                                   /* do_wp_page on the private anon page */
        assert(!pte[L(0)].special && IS_ANON_VMA(L(3)));          /* unmodelled: wp_pfn_shared */
        t1 = pte[L(0)].pfn;
        if
        :: pg[t1].anon && pg[t1].mapc == 1 && pg[t1].ref == 1 -> pte[L(0)].wr = 1; RET(0)   /* wp_page_reuse */
        :: else ->
           getPage(t1);
           CALL(R_WPCOPY, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(3)); ARG(3, L(4)); ARG(4, L(5)); ARG(5, t1); ARG(6, 0)
        fi
     fi
    END
  /* handle_pte_fault:done — mm/memory.c:handle_pte_fault (the tail call's result) */
  STEP(R_HPF, 2, 1) RET(RESULT)
    END

  /* ================= do_anonymous_page (src/kernel/ops/anonymous.ts) — l0 mm l1 vpn l2 vma l3 write l4 pfn ================= */
  /* do_anonymous_page:alloc — mm/memory.c:do_anonymous_page alloc_anon_folio */
  STEP(R_ANON, 0, 1)
     allocPage(t1); L(4) = t1;
     if
     :: L(4) == 0 -> RET(VM_FAULT_OOM)
     :: else -> GO(1)
     fi
    END
  /* do_anonymous_page:ptLock — mm/memory.c:do_anonymous_page pte_offset_map_lock */
  STEP(R_ANON, 1, 1)
     if
     :: !PTE_NONE(L(0)) -> putPage(L(4)); RET(0)
     :: else -> addNewAnonRmap(L(4), L(0)); setPte(L(0), L(4), 1, 0); RET(0)
     fi
    END

  /* ================= do_swap_page (src/kernel/ops/swap-in.ts) — l0 mm l1 vpn l2 write l3 vma l4 origVal l5 origBits l6 pfn l7 locked ================= */
  /* do_swap_page:entry — mm/memory.c:do_swap_page pte_to_swp_entry(vmf->orig_pte) */
  STEP(R_SWAPIN, 0, 1)
     if
     :: L(5) & SNAP_MIGRATION -> CALL(R_MIGWAIT, 4); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(4))
     :: !(L(5) & SNAP_MIGRATION) && !swp[L(4) - 1].used -> RET(0)     /* the entry was freed meanwhile: retry */
     :: else ->
        swapCacheLookup(t1, L(4));
        if
        :: t1 != 0 -> getPage(t1); L(6) = t1; GO(1)
        :: else ->
           allocPage(t1); L(6) = t1;
           if
           :: L(6) == 0 -> RET(VM_FAULT_OOM)
           :: else -> pg[L(6)].locked = SELF; L(7) = 1; pg[L(6)].cont = swp[L(4) - 1].cont; GO(2)
           fi
        fi
     fi
    END
  /* do_swap_page:folioLock — mm/memory.c:do_swap_page folio_lock_or_retry (sleeps while locked) */
  STEP(R_SWAPIN, 1, pg[TOPL(6)].locked == 0)
     pg[L(6)].locked = SELF; L(7) = 1;
     if
     :: pg[L(6)].swap != L(4) -> folioUnlock(L(6)); GO(3)
     :: else -> GO(2)
     fi
    END
  /* do_swap_page:ptLock — mm/memory.c:do_swap_page pte_offset_map_lock */
  STEP(R_SWAPIN, 2, 1)
     if
     :: !PTE_SAME(L(0), L(4), L(5)) ->
        if
        :: L(7) -> folioUnlock(L(6))
        :: else -> skip
        fi;
        GO(3)
     :: else ->
        t2 = L(4) - 1;
        t3 = (L(0) == SRC -> (!pte[1].present && pte[1].swap == L(4)) : (!pte[0].present && pte[0].swap == L(4)));   /* otherSwapRefs */
        t4 = (L(2) != 0 && !t3 && pg[L(6)].mapc == 0 -> 1 : 0);     /* writable: a write fault on an exclusive page (VM_WRITE) */
        if
        :: pg[L(6)].mapc == 0 -> addNewAnonRmap(L(6), L(0))
        :: else -> dupRmap(L(6))
        fi;
        setPte(L(0), L(6), t4, 0);
        if
        :: !t3 && pg[L(6)].swap != L(4) -> freeSwapSlot(t2)
        :: else -> skip
        fi;
        if
        :: L(7) -> folioUnlock(L(6))
        :: else -> skip
        fi;
        RET(0)
     fi
    END
  /* do_swap_page:release — mm/memory.c:do_swap_page out_release */
  STEP(R_SWAPIN, 3, 1) putPage(L(6)); L(6) = 0; L(7) = 0; RET(0)
    END
  /* do_swap_page:out — mm/memory.c:do_swap_page out */
  STEP(R_SWAPIN, 4, 1) RET(0)
    END

  /* ================= migration_entry_wait (src/kernel/ops/migration-wait.ts) — l0 mm l1 vpn l2 mig ================= */
  /* migration_entry_wait:wait — mm/migrate.c:migration_entry_wait (sleeps while the entry is there) */
  STEP(R_MIGWAIT, 0, !(!pte[TOPL(0)].present && pte[TOPL(0)].mig != 0 && pte[TOPL(0)].mig == TOPL(2))) RET(0)
    END

  /* ================= wp_page_copy (src/kernel/ops/wp.ts) — l0 mm l1 vpn l2 vma l3 origVal l4 origBits l5 oldPfn l6 unshare l7 newPfn l8 copied ================= */
  /* wp_page_copy:copy — mm/memory.c:wp_page_copy folio_prealloc */
  STEP(R_WPCOPY, 0, 1)
     allocPage(t1); L(7) = t1;
     if
     :: L(7) == 0 -> putPage(L(5)); RET(VM_FAULT_OOM)
     :: else -> pg[L(7)].cont = pg[L(5)].cont; GO(1)
     fi
    END
  /* wp_page_copy:start — mm/memory.c:wp_page_copy mmu_notifier_invalidate_range_start */
  STEP(R_WPCOPY, 1, 1)
     CALL(R_IRS, 2); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(1) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* wp_page_copy:ptLock — mm/memory.c:wp_page_copy pte_offset_map_lock */
  STEP(R_WPCOPY, 2, 1)
     if
     :: PTE_SAME(L(0), L(3), L(4)) ->
        addNewAnonRmap(L(7), L(0));
        setPte(L(0), L(7), 1, 0);
        removeRmap(L(5));
        L(8) = 1
     :: else -> skip
     fi;
     GO(3)
    END
  /* wp_page_copy:end — mm/memory.c:wp_page_copy mmu_notifier_invalidate_range_end */
  STEP(R_WPCOPY, 3, 1)
     CALL(R_IRE, 4); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(1) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* wp_page_copy:put — mm/memory.c:wp_page_copy folio_put */
  STEP(R_WPCOPY, 4, 1)
     t1 = (L(8) -> L(5) : L(7));
     putPage(t1); GO(5)
    END
  /* wp_page_copy:putOld — mm/memory.c:wp_page_copy folio_put(old_folio) */
  STEP(R_WPCOPY, 5, 1) putPage(L(5)); RET(0)
    END

  /* ================= mirror_fault (src/mirror/interval.ts) — l0 vma l1 vpn l2 write l3 dev l4 src l5 srcVpn l6 sub l7 seq l8 hpfn ================= */
  /* mirror_fault:mmget — mirror: mmget_not_zero(source mm); dev 0, source mm 0, subscription 0, source vpn 0 */
  STEP(R_MFAULT, 0, 1)
     if
     :: mm[SRC].users == 0 -> RET(VM_FAULT_SIGBUS)
     :: else -> mm[SRC].users++; GO(1)
     fi
    END
  /* mirror_fault:begin — mm/mmu_notifier.c:mmu_interval_read_begin */
  STEP(R_MFAULT, 1, 1) CALL(R_READBEGIN, 2); ARG(0, L(6))
    END
  /* mirror_fault:lockSource — mirror: mmap_read_trylock(source mm), which cannot fail here (no writer) */
  STEP(R_MFAULT, 2, 1)
     L(7) = RESULT; RESULT = 0;
     mmapReadLock(SRC);
     CALL(R_HMM, 4); ARG(0, L(6)); ARG(1, L(5)); ARG(2, L(7)); ARG(3, L(2))
    END
  /* mirror_fault:faulted — mirror: mmap_read_unlock(source mm) */
  STEP(R_MFAULT, 4, 1)
     mmapReadUnlock(SRC);
     if
     :: RESULT == -EBUSY -> RESULT = 0; L(7) = 0; GO(1)
     :: RESULT != -EBUSY && RESULT < 0 -> assert(false)          /* unmodelled: mirror_fault:sigbus */
     :: else -> L(8) = RESULT; GO(6)
     fi
    END
  /* mirror_fault:lock — mirror: mutex_lock(update) (sleeps while held), then the install */
  STEP(R_MFAULT, 6, updLock == 0)
     updLock = SELF;
     CALL(R_INSTALL, 7); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(3)); ARG(3, L(7)); ARG(4, L(8)); ARG(5, L(2))
    END
  /* mirror_fault:installed — mirror: mutex_unlock(update) */
  STEP(R_MFAULT, 7, 1)
     assert(updLock == SELF); updLock = 0;
     if
     :: RESULT != INSTALL_RETRY -> CALL(R_MMPUT, 8); ARG(0, L(4))
     :: else -> RESULT = 0; L(7) = 0; L(8) = 0; GO(1)
     fi
    END
  /* mirror_fault:done — mirror: return VM_FAULT_NOPAGE */
  STEP(R_MFAULT, 8, 1) RET(VM_FAULT_NOPAGE)
    END

  /* ================= mirror_install_pfn (src/mirror/interval.ts) — l0 vma l1 vpn l2 dev l3 seq l4 hpfn l5 write ================= */
  /* mirror_install_pfn:retry — mirror: if (mmu_interval_read_retry(&sub, seq)) goto again
   * (-DDROP_RECHECK: the mutant drop-recheck, which installs a stale pfn: the properties must catch it) */
  STEP(R_INSTALL, 0, 1)
     assert(updLock == SELF);
     if
#ifndef DROP_RECHECK
     :: subSeq != L(3) -> RET(INSTALL_RETRY)
#endif
     :: else -> GO(1)
     fi
    END
  /* mirror_install_pfn:insert — mirror: vmf_insert_pfn_prot(vma, addr, pfn, prot) (insert_pfn under the ptl) */
  STEP(R_INSTALL, 1, 1)
     if
     :: PTE_NONE(INTR) -> setPte(INTR, HMM_TO_PFN(L(4)), (HMM_WRITABLE(L(4)) && L(5) != 0 -> 1 : 0), 1)
     :: else -> skip                                   /* insert_pfn leaves a present pte alone */
     fi;
     RET(0)
    END

  /* ================= mmu_interval_read_begin (src/kernel/notifier/interval.ts) — l0 sub l1 seq l2 invalidating ================= */
  /* mmu_interval_read_begin:read — mm/mmu_notifier.c:mmu_interval_read_begin */
  STEP(R_READBEGIN, 0, 1)
     L(1) = subSeq; L(2) = (subSeq == mm[SRC].iseq -> 1 : 0);
     if
     :: L(2) -> GO(1)
     :: else -> RET(L(1))
     fi
    END
  /* mmu_interval_read_begin:wait — mm/mmu_notifier.c:mmu_interval_read_begin wait_event(S != seq) */
  STEP(R_READBEGIN, 1, mm[SRC].iseq != TOPL(1)) RET(L(1))
    END

  /* ================= hmm_range_fault (src/kernel/hmm/hmm.ts), one-page form — l0 sub l1 vpn l2 seq l3 write l4 mm l5 last l6 addr l7 need ================= */
  /* hmm_range_fault:check — mm/hmm.c:hmm_range_fault mmu_interval_check_retry */
  STEP(R_HMM, 0, 1)
     L(4) = SRC;
     assert(MMAP_LOCKED(SRC));
     if
     :: subSeq != L(2) -> RET(-EBUSY)
     :: else -> L(6) = L(5); GO(1)
     fi
    END
  /* hmm_range_fault:walk — mm/hmm.c:hmm_vma_handle_pte on the (anonymous) source VMA */
  STEP(R_HMM, 1, 1)
     if
     :: pte[SRC].present && (!L(3) || pte[SRC].wr) -> L(7) = 0; RET(HMM_ENCODE(pte[SRC].pfn, pte[SRC].wr))
     :: pte[SRC].present && L(3) && !pte[SRC].wr ->           /* hmm_vma_fault (write) */
        L(7) = HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT; L(5) = L(6);
        CALL(R_HMF, 2); ARG(0, SRC); ARG(1, L(6)); ARG(2, 1)
     :: !pte[SRC].present && pte[SRC].mig != 0 ->              /* migration_entry_wait, then the check again */
        L(5) = L(6); L(7) = 0;
        CALL(R_MIGWAIT, 0); ARG(0, SRC); ARG(1, L(6)); ARG(2, pte[SRC].mig)
     :: !pte[SRC].present && pte[SRC].mig == 0 ->              /* pte_none or a swap entry: hmm_vma_fault */
        L(7) = HMM_NEED_FAULT | (L(3) -> HMM_NEED_WRITE_FAULT : 0); L(5) = L(6);
        CALL(R_HMF, 2); ARG(0, SRC); ARG(1, L(6)); ARG(2, L(3))
     fi
    END
  /* hmm_range_fault:faulted — mm/hmm.c:hmm_vma_fault */
  STEP(R_HMM, 2, 1)
     t1 = RESULT; RESULT = 0;
     if
     :: t1 & VM_FAULT_ERROR -> RET(-EFAULT)
     :: else -> L(6) = L(5); L(7) = 0; GO(0)     /* addr + 1 is past the range: -EBUSY from the walker, check again */
     fi
    END

  /* ================= mmput (src/kernel/ops/exit.ts) — l0 mm ================= */
  /* mmput:dec — kernel/fork.c:mmput */
  STEP(R_MMPUT, 0, 1)
     assert(mm[L(0)].users > 0);
     mm[L(0)].users--;
     assert(mm[L(0)].users > 0);                 /* unmodelled: exit_mmap (mmput:drop) */
     RET(0)
    END

  /* ================= kswapd_reclaim (src/scenario/workload.ts) — l0 mm l1 vpn ================= */
  /* kswapd_reclaim:pick — mm/vmscan.c:isolate_lru_folios (the page the pte maps) */
  STEP(R_RECLAIM, 0, 1)
     if
     :: !pte[L(0)].present || pte[L(0)].special -> RET(0)
     :: else -> CALL(R_SHRINK, 1); ARG(0, pte[L(0)].pfn)
     fi
    END
  /* kswapd_reclaim:done — mm/vmscan.c:shrink_folio_list */
  STEP(R_RECLAIM, 1, 1) RET(0)
    END

  /* ================= shrink_folio_list (src/kernel/ops/reclaim.ts) — l0 pfn l1 rc ================= */
  /* shrink_folio_list:isolate — mm/vmscan.c:isolate_lru_folios */
  STEP(R_SHRINK, 0, 1)
     if
     :: pg[L(0)].ref == 0 || !pg[L(0)].anon -> RET(-EBUSY)
     :: else -> getPage(L(0)); GO(1)
     fi
    END
  /* shrink_folio_list:lock — mm/vmscan.c:shrink_folio_list folio_trylock (sleeps while locked) */
  STEP(R_SHRINK, 1, pg[TOPL(0)].locked == 0) pg[L(0)].locked = SELF; GO(2)
    END
  /* shrink_folio_list:addToSwap — mm/swap_state.c:add_to_swap (slot 1 is the only slot) */
  STEP(R_SHRINK, 2, 1)
     if
     :: pg[L(0)].swap == 0 && swp[1].used -> folioUnlock(L(0)); L(1) = -ENOMEM; GO(7)     /* keep */
     :: else ->
        if
        :: pg[L(0)].swap == 0 -> swp[1].used = 1; pg[L(0)].swap = 2; pg[L(0)].ref++
        :: else -> skip
        fi;
        CALL(R_TTU, 3); ARG(0, L(0))
     fi
    END
  /* shrink_folio_list:mapped — mm/vmscan.c:shrink_folio_list folio_mapped */
  STEP(R_SHRINK, 3, 1)
     if
     :: pg[L(0)].mapc > 0 -> folioUnlock(L(0)); L(1) = -EBUSY; GO(7)                       /* keep */
     :: else -> GO(4)
     fi
    END
  /* shrink_folio_list:pageout — mm/vmscan.c:pageout */
  STEP(R_SHRINK, 4, 1) swp[pg[L(0)].swap - 1].cont = pg[L(0)].cont; GO(5)
    END
  /* shrink_folio_list:removeMapping — mm/vmscan.c:__remove_mapping folio_ref_freeze */
  STEP(R_SHRINK, 5, 1)
     if
     :: pg[L(0)].ref != 2 -> folioUnlock(L(0)); L(1) = -EBUSY; GO(7)                       /* keep */
     :: else ->
        t2 = pg[L(0)].swap - 1;
        pg[L(0)].swap = 0;
        putSwapFolio(t2);
        putPage(L(0)); GO(6)
     fi
    END
  /* shrink_folio_list:free — mm/vmscan.c:shrink_folio_list free_it */
  STEP(R_SHRINK, 6, 1) folioUnlock(L(0)); putPage(L(0)); RET(0)
    END
  /* shrink_folio_list:putback — mm/vmscan.c:shrink_folio_list keep */
  STEP(R_SHRINK, 7, 1) putPage(L(0)); t1 = L(1); L(1) = 0; RET(t1)
    END

  /* ================= try_to_unmap / try_to_migrate (src/kernel/ops/rmap.ts defineRmapUnmap) — l0 pfn l1 mm l2 next l3 vpn ================= */
  /* try_to_unmap:walk — mm/rmap.c:rmap_walk_anon: the first mm >= next of the page's anon_vma whose pte maps it */
  STEP(R_TTU, 0, 1)
     t1 = -1;
     if
     :: pg[L(0)].anon && pg[L(0)].anonVma == SRC + 1 && L(2) <= SRC && MAPS_PAGE(SRC, L(0)) -> t1 = SRC
     :: else -> skip                 /* the introspector's mm is of another anon_vma */
     fi;
     if
     :: t1 < 0 -> RET(0)
     :: else ->
        L(2) = t1 + 1; L(1) = t1; L(3) = 0;
        CALL(R_IRS, 1); ARG(0, t1); ARG(1, 0); ARG(2, 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
     fi
    END
  /* try_to_unmap:unmap — mm/rmap.c:try_to_unmap_one under the ptl: the pte becomes the swap entry */
  STEP(R_TTU, 1, 1)
     if
     :: MAPS_PAGE(L(1), L(0)) ->
        t1 = pg[L(0)].swap;
        assert(t1 != 0);              /* BUG: try_to_unmap_one of a page not in the swap cache */
        clearPte(L(1)); pte[L(1)].swap = t1;
        removeRmap(L(0)); putPage(L(0))
     :: else -> skip
     fi;
     CALL(R_IRE, 0); ARG(0, L(1)); ARG(1, L(3)); ARG(2, L(3) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* try_to_migrate:walk — mm/rmap.c:rmap_walk_anon */
  STEP(R_TTM, 0, 1)
     t1 = -1;
     if
     :: pg[L(0)].anon && pg[L(0)].anonVma == SRC + 1 && L(2) <= SRC && MAPS_PAGE(SRC, L(0)) -> t1 = SRC
     :: else -> skip
     fi;
     if
     :: t1 < 0 -> RET(0)
     :: else ->
        L(2) = t1 + 1; L(1) = t1; L(3) = 0;
        CALL(R_IRS, 1); ARG(0, t1); ARG(1, 0); ARG(2, 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
     fi
    END
  /* try_to_migrate:unmap — mm/rmap.c:try_to_migrate_one under the ptl: the pte becomes a migration entry (keeps its write bit) */
  STEP(R_TTM, 1, 1)
     if
     :: MAPS_PAGE(L(1), L(0)) ->
        t1 = pte[L(1)].wr;
        clearPte(L(1)); pte[L(1)].mig = L(0); pte[L(1)].wr = t1;
        removeRmap(L(0)); putPage(L(0))
     :: else -> skip
     fi;
     CALL(R_IRE, 0); ARG(0, L(1)); ARG(1, L(3)); ARG(2, L(3) + 1); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END

  /* ================= kcompactd_migrate (src/scenario/workload.ts) — l0 mm l1 vpn ================= */
  /* kcompactd_migrate:pick — mm/compaction.c:isolate_migratepages_block (the page the pte maps) */
  STEP(R_MIGRATEAT, 0, 1)
     if
     :: !pte[L(0)].present || pte[L(0)].special -> RET(0)
     :: else -> CALL(R_MIGRATE, 1); ARG(0, pte[L(0)].pfn)
     fi
    END
  /* kcompactd_migrate:done — mm/migrate.c:migrate_pages */
  STEP(R_MIGRATEAT, 1, 1) RET(0)
    END

  /* ================= migrate_pages (src/kernel/ops/migrate.ts) — l0 src l1 dst l2 rc ================= */
  /* migrate_pages:isolate — mm/vmscan.c:folio_isolate_lru */
  STEP(R_MIGRATE, 0, 1)
     if
     :: pg[L(0)].ref == 0 || !pg[L(0)].anon -> RET(-EBUSY)
     :: else -> getPage(L(0)); GO(1)
     fi
    END
  /* migrate_pages:allocDst — mm/migrate.c:migrate_folio_unmap get_new_folio */
  STEP(R_MIGRATE, 1, 1)
     allocPage(t1); L(1) = t1;
     if
     :: L(1) == 0 -> putPage(L(0)); RET(-ENOMEM)
     :: else -> GO(2)
     fi
    END
  /* migrate_pages:lock — mm/migrate.c:migrate_folio_unmap folio_lock(src) (sleeps while locked), folio_trylock(dst) */
  STEP(R_MIGRATE, 2, pg[TOPL(0)].locked == 0)
     pg[L(0)].locked = SELF;
     assert(pg[L(1)].locked == 0);    /* BUG: new folio already locked */
     pg[L(1)].locked = SELF;
     CALL(R_TTM, 3); ARG(0, L(0))
    END
  /* migrate_pages:unmapped — mm/migrate.c:migrate_folio_unmap folio_mapped */
  STEP(R_MIGRATE, 3, 1)
     if
     :: pg[L(0)].mapc == 0 -> GO(4)
     :: else -> L(2) = -EAGAIN; CALL(R_RMP, 9); ARG(0, L(0)); ARG(1, L(0))
     fi
    END
  /* migrate_pages:move — mm/migrate.c:__migrate_folio folio_mc_copy */
  STEP(R_MIGRATE, 4, 1) pg[L(1)].cont = pg[L(0)].cont; GO(5)
    END
  /* migrate_pages:freeze — mm/migrate.c:__folio_migrate_mapping folio_ref_freeze */
  STEP(R_MIGRATE, 5, 1)
     t1 = 1 + (pg[L(0)].swap != 0 -> 1 : 0);
     if
     :: pg[L(0)].ref != t1 -> L(2) = -EAGAIN; CALL(R_RMP, 9); ARG(0, L(0)); ARG(1, L(0))
     :: else ->
        pg[L(1)].anon = 1; pg[L(1)].anonVma = pg[L(0)].anonVma;
        if
        :: pg[L(0)].swap != 0 ->
           pg[L(1)].swap = pg[L(0)].swap; pg[L(1)].ref++;
           pg[L(0)].swap = 0; pg[L(0)].ref--
        :: else -> skip
        fi;
        CALL(R_RMP, 6); ARG(0, L(0)); ARG(1, L(1))
     fi
    END
  /* migrate_pages:unlockDst — mm/migrate.c:migrate_folio_move folio_unlock */
  STEP(R_MIGRATE, 6, 1) folioUnlock(L(1)); GO(7)
    END
  /* migrate_pages:putDst — mm/migrate.c:migrate_folio_move folio_put; migrate_folio_done folio_unlock(src) */
  STEP(R_MIGRATE, 7, 1) putPage(L(1)); folioUnlock(L(0)); GO(8)
    END
  /* migrate_pages:putSrc — mm/migrate.c:migrate_folio_done folio_put */
  STEP(R_MIGRATE, 8, 1) putPage(L(0)); RET(0)
    END
  /* migrate_pages:undo — mm/migrate.c:migrate_folio_undo_src folio_unlock */
  STEP(R_MIGRATE, 9, 1) folioUnlock(L(0)); GO(10)
    END
  /* migrate_pages:undoPutSrc — mm/migrate.c:migrate_folio_undo_src putback; migrate_folio_undo_dst folio_unlock */
  STEP(R_MIGRATE, 10, 1) putPage(L(0)); folioUnlock(L(1)); GO(11)
    END
  /* migrate_pages:undoPutDst — mm/migrate.c:migrate_folio_undo_dst folio_put */
  STEP(R_MIGRATE, 11, 1) putPage(L(1)); t1 = L(2); L(2) = 0; RET(t1)
    END

  /* ================= remove_migration_ptes (src/kernel/ops/migrate.ts) — l0 src l1 dst l2 next ================= */
  /* remove_migration_ptes:restore — mm/migrate.c:remove_migration_pte: the next migration entry of src becomes a pte of dst */
  STEP(R_RMP, 0, 1)
     if
     :: pg[L(0)].anon && pg[L(0)].anonVma == SRC + 1 && L(2) <= SRC && !pte[SRC].present && pte[SRC].mig == L(0) ->
        t1 = pte[SRC].wr;
        getPage(L(1)); dupRmap(L(1));
        setPte(SRC, L(1), t1, 0);
        L(2) = SRC + 1; GO(0)
     :: else -> RET(0)
     fi
    END

  /* ================= mmu_notifier_invalidate_range_start (src/kernel/notifier/mmu-notifier.ts) — l0 mm l1 start l2 end l3 event l4 blockable l5 next l6 failed ================= */
  /* mmu_notifier_invalidate_range_start:itree — mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start */
  STEP(R_IRS, 0, 1)
     if
     :: !HAS_NOTIFIERS(L(0)) -> RET(0)
     :: else -> CALL(R_ITREE, 1); ARG(0, L(0)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, L(3)); ARG(4, L(4))
     fi
    END
  /* mmu_notifier_invalidate_range_start:itreeDone — mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start */
  STEP(R_IRS, 1, 1)
     if
     :: RESULT != 0 -> RET(RESULT)
     :: else -> GO(2)
     fi
    END
  /* mmu_notifier_invalidate_range_start:hlist — mm/mmu_notifier.c:mn_hlist_invalidate_range_start (no hlist subscriber) */
  STEP(R_IRS, 2, 1) RET(0)
    END
  /* ================= mmu_notifier_invalidate_range_end — l0 mm l1 start l2 end l3 event l4 blockable l5 next ================= */
  /* mmu_notifier_invalidate_range_end:itree — mm/mmu_notifier.c:__mmu_notifier_invalidate_range_end */
  STEP(R_IRE, 0, 1)
     if
     :: !HAS_NOTIFIERS(L(0)) -> RET(0)
     :: else -> itreeInvEnd(L(0)); GO(1)
     fi
    END
  /* mmu_notifier_invalidate_range_end:hlist — mm/mmu_notifier.c:mn_hlist_invalidate_end (no hlist subscriber) */
  STEP(R_IRE, 1, 1) RET(0)
    END

  /* ================= mn_itree_invalidate (src/kernel/notifier/interval.ts) — l0 mm l1 start l2 end l3 event l4 blockable l5 curSeq l6 next ================= */
  /* mn_itree_invalidate:startRange — mm/mmu_notifier.c:mn_itree_inv_start_range: A++, S |= 1 if the mirror's range overlaps */
  STEP(R_ITREE, 0, 1)
     mm[L(0)].nactive++;
     if
     :: OVERLAPS(L(0), L(1), L(2)) -> mm[L(0)].iseq = mm[L(0)].iseq | 1
     :: else -> skip
     fi;
     L(5) = mm[L(0)].iseq; GO(1)
    END
  /* mn_itree_invalidate:callNext — mm/mmu_notifier.c:mn_itree_inv_next: the subscription's ops->invalidate */
  STEP(R_ITREE, 1, 1)
     if
     :: (L(5) & 1) && OVERLAPS(L(0), L(1), L(2)) && L(6) == 0 ->
        L(6) = 1;
        CALL(R_MINV, 2); ARG(0, 0); ARG(1, L(1)); ARG(2, L(2)); ARG(3, L(3)); ARG(4, L(4)); ARG(5, L(5))
     :: else -> RET(0)
     fi
    END
  /* mn_itree_invalidate:returned — mm/mmu_notifier.c:mn_itree_invalidate */
  STEP(R_ITREE, 2, 1)
     assert(RESULT != 0);            /* blockable: ops->invalidate returning false is a WARN */
     GO(1)
    END

  /* ================= mirror_invalidate (src/mirror/interval.ts) — l0 sub l1 start l2 end l3 event l4 blockable l5 curSeq l6 dev ================= */
  /* mirror_invalidate:lock — mirror: mutex_lock(update) (sleeps while held) */
  STEP(R_MINV, 0, updLock == 0) updLock = SELF; L(6) = 0; GO(1)
    END
  /* mirror_invalidate:zap — mirror: mmu_interval_set_seq + zap_vma_ptes of the mirror range */
  STEP(R_MINV, 1, 1)
     assert(updLock == SELF);
     subSeq = L(5);
     t1 = (L(1) > 0 -> L(1) : 0); t2 = (L(2) < 1 -> L(2) : 1);
     if
     :: t1 >= t2 -> GO(2)
     :: else -> CALL(R_ZVP, 2); ARG(0, MIRROR_VMA); ARG(1, t1); ARG(2, t2)
     fi
    END
  /* mirror_invalidate:unlock — mirror: mutex_unlock(update) */
  STEP(R_MINV, 2, 1) assert(updLock == SELF); updLock = 0; RET(1)
    END

  /* ================= zap_vma_ptes (src/kernel/ops/zap.ts) — l0 vma l1 start l2 end ================= */
  /* zap_vma_ptes:check — mm/memory.c:zap_vma_ptes: VM_PFNMAP and inside the VMA [0,1) */
  STEP(R_ZVP, 0, 1)
     if
     :: L(0) != MIRROR_VMA || L(1) < 0 || L(2) > 1 || L(1) >= L(2) -> RET(0)
     :: else -> CALL(R_ZPRS, 1); ARG(0, INTR); ARG(1, L(0)); ARG(2, L(1)); ARG(3, L(2))
     fi
    END
  /* zap_vma_ptes:done — mm/memory.c:zap_vma_ptes */
  STEP(R_ZVP, 1, 1) RET(0)
    END

  /* ================= zap_page_range_single (src/kernel/ops/zap.ts) — l0 mm l1 vma l2 start l3 end ================= */
  /* zap_page_range_single:zap — mm/memory.c:zap_page_range_single */
  STEP(R_ZPRS, 0, 1)
     assert(MM_OF_VMA(L(1)) == L(0));
     CALL(R_ZPRSB, 1); ARG(0, L(1)); ARG(1, L(2)); ARG(2, L(3)); ARG(3, 1)
    END
  /* zap_page_range_single:finish — mm/mmu_gather.c:tlb_finish_mmu: one gathered reference put per step */
  STEP(R_ZPRS, 1, 1)
     t3 = RESULT; t4 = 0; q = 1;
     do
     :: q <= NPAGES && ((t3 >> (2 * q)) & 3) > 0 -> t4 = q; break
     :: q <= NPAGES && ((t3 >> (2 * q)) & 3) == 0 -> q++
     :: else -> break
     od;
     if
     :: t4 != 0 -> putPage(t4); RESULT = t3 - (1 << (2 * t4))
     :: else -> RESULT = 0
     fi;
     if
     :: RESULT != 0 -> GO(1)
     :: else -> RET(0)
     fi
    END

  /* ================= zap_page_range_single_batched (src/kernel/ops/zap.ts) — l0 vma l1 start l2 end l3 evenCows l4 mm l5 gather ================= */
  /* zap_page_range_single_batched:start — mm/memory.c:zap_page_range_single_batched */
  STEP(R_ZPRSB, 0, 1)
     L(4) = MM_OF_VMA(L(0));
     CALL(R_IRS, 1); ARG(0, L(4)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* zap_page_range_single_batched:zap — mm/memory.c:unmap_single_vma → zap_pte_range under the ptl */
  STEP(R_ZPRSB, 1, 1)
     if
     :: L(1) <= 0 && L(2) >= 1 ->
        if
        :: pte[L(4)].present && pte[L(4)].special -> clearPte(L(4))
        :: pte[L(4)].present && !pte[L(4)].special ->
           t1 = pte[L(4)].pfn;
           clearPte(L(4)); removeRmap(t1);
           assert(((L(5) >> (2 * t1)) & 3) < 3);
           L(5) = L(5) + (1 << (2 * t1))
        :: !pte[L(4)].present && pte[L(4)].swap != 0 ->                  /* free_swap_and_cache */
           t2 = pte[L(4)].swap - 1;
           clearPte(L(4));
           swapCacheLookup(t1, t2 + 1);
           if
           :: t1 == 0 -> putSwapFolio(t2)
           :: else -> skip
           fi
        :: !pte[L(4)].present && pte[L(4)].mig != 0 -> clearPte(L(4))
        :: PTE_NONE(L(4)) -> skip
        fi
     :: else -> skip
     fi;
     RESULT = 0;
     CALL(R_IRE, 2); ARG(0, L(4)); ARG(1, L(1)); ARG(2, L(2)); ARG(3, MMU_NOTIFY_CLEAR); ARG(4, 1)
    END
  /* zap_page_range_single_batched:done — mm/memory.c:zap_page_range_single_batched */
  STEP(R_ZPRSB, 2, 1) RET(L(5))
    END

  /* ================= do_madvise, MADV_DONTNEED (src/kernel/ops/madvise.ts) — l0 mm l1 start l2 end l3 cur l4 err ================= */
  /* do_madvise:lock — mm/madvise.c:madvise_lock mmap_read_lock */
  STEP(R_MADV, 0, 1) mmapReadLock(L(0)); L(3) = L(1); GO(1)
    END
  /* do_madvise:walk — mm/madvise.c:madvise_walk_vmas: the source VMA [0,1) */
  STEP(R_MADV, 1, 1)
     if
     :: L(3) >= L(2) -> GO(2)
     :: else ->
        t1 = (L(3) > 0 -> L(3) : 0); t2 = (L(2) < 1 -> L(2) : 1);
        L(3) = t2;
        CALL(R_ZPRS, 1); ARG(0, L(0)); ARG(1, SRC_VMA); ARG(2, t1); ARG(3, t2)
     fi
    END
  /* do_madvise:unlock — mm/madvise.c:madvise_unlock mmap_read_unlock */
  STEP(R_MADV, 2, 1) mmapReadUnlock(L(0)); RET(L(4))
    END
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
    k = 0;
    do
    :: k < ACTORS -> fr[BASE(k)].r = R_WORKLOAD; sp[k] = 1; k++
    :: else -> break
    od
  };
  /* A loop, so that the check adds no state of its own: SPIN's count is ours plus the one state
   * before this initialisation. */
end:
  do
  :: atomic {
       timeout ->
       k = 0;
       do
       :: k < ACTORS -> assert(sp[k] == 0); k++     /* deadlock */
       :: else -> break
       od;
#ifndef NOPROPS
       assert(QUIESCENT)
#endif
     }
  od
}
