/**
 * The aging entry points of mm/mmu_notifier.c (layer dirty-accessed): core mm asks every classic
 * subscriber whether it accessed a range since the last time, and clears its accessed bits —
 * clear_flush_young (folio_referenced's ptep_clear_flush_young_notify), clear_young (no flush:
 * page_idle, MGLRU) and test_young (look only). Interval notifiers have no aging ops.
 *
 * Each: if (mm_has_notifiers(mm)) under SRCU, for every subscription with the op,
 * `young |= ops->op(subscription, mm, start, end)`; return young. The callback signature is
 * (mn, mm, start, end) -> 1 (young) / 0.
 */
import { MM, MN } from '../structs.js';
import { KERNEL } from '../library.js';
import { nextHlist, type YoungOp } from './mmu-notifier.js';

function defineYoungEntry(name: string, op: YoungOp) {
  const at = `mm/mmu_notifier.c:__${name}` as const;
  return KERNEL.routine({
    name,
    params: ['mm', 'start', 'end'],
    locals: ['next', 'young'],
    steps: {
      has: {
        at: `include/linux/mmu_notifier.h:${name} mm_has_notifiers`,
        run: (w, l) => (w.obj(MM, l.mm).hasNotifiers ? 'hlist' : w.ret(0)),
      },
      hlist: {
        at: `${at} hlist_for_each_entry_srcu`,
        run: (w, l) => {
          const mn = nextHlist(w, l.mm, l.next, op);
          if (mn < 0) {
            const young = l.young;
            [l.next, l.young] = [0, 0];
            return w.ret(young);
          }
          l.next = mn + 1;
          return w.callRef(w.obj(MN, mn)[op], 'returned', mn, l.mm, l.start, l.end);
        },
      },
      returned: {
        at: `${at} young |= subscription->ops->${op === 'clearFlushYoung' ? 'clear_flush_young' : op === 'clearYoung' ? 'clear_young' : 'test_young'}()`,
        run: (_w, l) => {
          l.young = l.young | (l.result ? 1 : 0);
          l.result = 0;
          return 'hlist';
        },
      },
    },
  });
}

export const mmuNotifierClearFlushYoung = defineYoungEntry('mmu_notifier_clear_flush_young', 'clearFlushYoung');
export const mmuNotifierClearYoung = defineYoungEntry('mmu_notifier_clear_young', 'clearYoung');
export const mmuNotifierTestYoung = defineYoungEntry('mmu_notifier_test_young', 'testYoung');
