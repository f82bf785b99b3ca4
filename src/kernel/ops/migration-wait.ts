/**
 * mm/migrate.c:migration_entry_wait — what a fault (do_swap_page) or a walk (hmm_vma_walk_pmd)
 * does on a migration entry.
 */
import { BLOCK_SLEEP } from '../../world/routine.js';
import { pte } from '../pgtable.js';
import { KERNEL } from '../library.js';

/**
 * Sleeps while the pte still holds migration entry `mig` (the kernel sleeps on the folio lock,
 * which migration holds until remove_migration_ptes has replaced the entry). Returns 0; the
 * caller retries its lookup, as the hardware retries the access.
 */
export const migrationEntryWait = KERNEL.routine({
  name: 'migration_entry_wait',
  params: ['mm', 'vpn', 'mig'],
  steps: {
    wait: {
      at: 'mm/migrate.c:migration_entry_wait',
      // The C reads the pte under the ptl and drops it to sleep on the folio; one read either way.
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration'],
      run: (w, l) => {
        const p = pte(w, l.mm, l.vpn);
        if (p.present === 0 && p.migration !== 0 && p.migration === l.mig) return BLOCK_SLEEP;
        return w.ret(0);
      },
    },
  },
});
