/**
 * struct hmm_range (include/linux/hmm.h, today's API): what a driver hands hmm_range_fault. The
 * kernel's lives on the caller's stack (lib/test_hmm.c:dmirror_fault declares it there), so the
 * model keeps one per actor, named after it, and every field is `private`.
 *
 *   notifier        range->notifier: the mmu_interval_notifier index + 1 (a Ref; none = unset)
 *   notifierSeq     range->notifier_seq, from mmu_interval_read_begin
 *   start, end      range->start, range->end: vpns, end exclusive (end - start ≤ HMM_RANGE_PAGES)
 *   defaultFlags    range->default_flags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE (hmm-pfn.ts)
 *   pfnFlagsMask    range->pfn_flags_mask: which request bits of each hmm_pfns[i] count
 *   hmmPfn0..3      range->hmm_pfns[0..3]: request flags in, encoded hmm pfns out (hmm-pfn.ts)
 *
 *   devPrivateOwner range->dev_private_owner: a device-private entry whose pgmap has this owner is
 *                   reported (VALID, + WRITE), not faulted back (0: none, every such entry faults)
 */
import { defineStruct } from '../../world/layout.js';
import { INTERVAL_SEQ } from '../structs.js';

/** range->hmm_pfns[i]'s field, by i. */
export const HMM_PFN_FIELDS = ['hmmPfn0', 'hmmPfn1', 'hmmPfn2', 'hmmPfn3'] as const;

/** The longest range the model walks: one hmm_pfns entry per page of the largest scenario (src/scenario/bounds.ts MAX_PAGES; a test checks it). */
export const HMM_RANGE_PAGES = HMM_PFN_FIELDS.length;

export const HMM_RANGE_NOW = defineStruct(
  'range',
  ['notifier', 'notifierSeq', 'start', 'end', 'defaultFlags', 'pfnFlagsMask', 'devPrivateOwner', ...HMM_PFN_FIELDS] as const,
  {
    notifier: 'private',
    notifierSeq: 'private',
    start: 'private',
    end: 'private',
    defaultFlags: 'private',
    pfnFlagsMask: 'private',
    devPrivateOwner: 'private',
    hmmPfn0: 'private',
    hmmPfn1: 'private',
    hmmPfn2: 'private',
    hmmPfn3: 'private',
  },
  { counters: { notifierSeq: INTERVAL_SEQ } },
);
