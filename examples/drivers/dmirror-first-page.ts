/**
 * dmirror (examples/drivers/dmirror.ts) with a bug the thp layer exposes: dmirror_interval_invalidate
 * erases only the first page of the invalidated range, as a driver would that took every
 * invalidation for one page. Zapping a PMD-mapped THP invalidates its whole range at once, so the
 * device keeps mapping the folio's other pages after it is freed (test/kernel/thp.test.ts).
 */
import { dmirror } from './dmirror.js';

export default dmirror({ name: 'dmirror-first-page', firstPageOnly: true });
