/**
 * dmirror (examples/drivers/dmirror.ts) with the bug its retry loop exists to prevent:
 * dmirror_range_fault takes the mutex after hmm_range_fault and installs the range without
 * mmu_interval_read_retry, so a range an invalidation tore down after the walk is stored in the
 * device table anyway: `vmamirror check examples/dmirror/munmap-no-retry.yaml`.
 */
import { dmirror } from './dmirror.js';

export default dmirror({ name: 'dmirror-no-retry', readRetry: false });
