/**
 * The encoding of one HMM pfn entry (range->pfns[i] in v5.3, range->hmm_pfns[i] today) as an
 * int32, shared by both APIs:
 *
 *   (pfn << 4) | HMM_PFN_WRITE | HMM_PFN_VALID   a CPU pte that maps `pfn` (write if writable)
 *   HMM_PFN_NONE  (0)                           nothing mapped (pte_none, swap, migration)
 *   HMM_PFN_ERROR                                the walk failed on this page
 *   HMM_PFN_SPECIAL                              v5.3: a special pte (no struct page)
 *
 * The kernel's bit positions differ (v6.x puts the flags in the top bits of an unsigned long, v5.3
 * lets the driver choose the values via range->flags/values); only the distinctions matter here.
 */
export const HMM_PFN_NONE = 0;
export const HMM_PFN_VALID = 1;
export const HMM_PFN_WRITE = 2;
export const HMM_PFN_ERROR = 4;
export const HMM_PFN_SPECIAL = 8;
export const HMM_PFN_SHIFT = 4;
/**
 * The request flags a driver puts in range->default_flags and each hmm_pfns[i] on input: the same
 * bits as VALID and WRITE (include/linux/hmm.h: HMM_PFN_REQ_FAULT = HMM_PFN_VALID,
 * HMM_PFN_REQ_WRITE = HMM_PFN_WRITE). REQ_FAULT: make the page valid (fault it in); REQ_WRITE with
 * it: make it writable. Without REQ_FAULT the page is only snapshot.
 */
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;

/**
 * include/linux/hmm.h: HMM_PFN_ORDER_SHIFT — the order of the CPU mapping (0 for a pte, PMD_SHIFT -
 * PAGE_SHIFT for a PMD: hmm_pfn_flags_order) in the top bits, five of them as in the kernel, kept
 * clear of the sign bit (a one-page result is positive; errors are negative).
 */
const HMM_PFN_ORDER_SHIFT = 26;
const HMM_PFN_ORDER_MASK = 0x1f << HMM_PFN_ORDER_SHIFT;

/** include/linux/hmm.h:hmm_pfn_flags_order — the flag bits that say the page is mapped at order `order`. */
export function hmmPfnFlagsOrder(order: number): number {
  return order << HMM_PFN_ORDER_SHIFT;
}

/** include/linux/hmm.h:hmm_pfn_to_map_order — the order the CPU maps the page at (0: a pte). */
export function hmmPfnToMapOrder(e: number): number {
  return (e & HMM_PFN_ORDER_MASK) >>> HMM_PFN_ORDER_SHIFT;
}

/** hmm_device_entry_from_pfn(pfn) | cpu_flags */
export function hmmPfnEncode(pfn: number, write: boolean): number {
  return (pfn << HMM_PFN_SHIFT) | HMM_PFN_VALID | (write ? HMM_PFN_WRITE : 0);
}

export function hmmPfnValid(e: number): boolean {
  return (e & HMM_PFN_VALID) !== 0;
}

export function hmmPfnWritable(e: number): boolean {
  return (e & (HMM_PFN_VALID | HMM_PFN_WRITE)) === (HMM_PFN_VALID | HMM_PFN_WRITE);
}

/** hmm_pfn_to_pfn / hmm_device_entry_to_pfn: 0 unless the entry is valid. */
export function hmmPfnToPfn(e: number): number {
  return hmmPfnValid(e) ? (e & ~HMM_PFN_ORDER_MASK) >>> HMM_PFN_SHIFT : 0;
}
