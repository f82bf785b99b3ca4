/**
 * might_sleep() (include/linux/kernel.h; kernel/sched/core.c:__might_sleep with
 * CONFIG_DEBUG_ATOMIC_SLEEP): every primitive that may sleep says so on entry, before it knows
 * whether it will have to wait, so calling it where sleeping is forbidden is reported on every
 * run, contended or not — "BUG: sleeping function called from invalid context". Forbidden here:
 *
 *   - while holding a spinlock: spin_lock disables preemption (in_atomic()); the spinning lock
 *     words the running actor owns say so (a ptl, a driver spinlock, KVM's mmu_lock for write);
 *   - inside a non-blockable mmu notifier invalidation (mmu_notifier_range_blockable() false: the
 *     OOM reaper's range): the callbacks run with the actor's non-blockable depth raised
 *     (notifier/interval.ts enterCallback); a callback that may sleep must trylock and give up.
 *
 * Which lock words spin is a property of the code, not of the state: the spinning acquires mark
 * their word the first time they take it (`spinlockWord`), in a table per layout beside the state.
 * A word is marked before any actor can hold it, so the table is complete for every held lock.
 * Not seen: a spinning lock held for read (rwlock readers are counted, not named: locks.ts).
 */
import type { Layout } from '../world/layout.js';
import type { World } from '../world/world.js';

/** Per layout: which slots are spinning lock words (`mark`), and the list of them. */
interface SpinningWords {
  readonly mark: Uint8Array;
  readonly slots: number[];
}

const spinning = new WeakMap<Layout, SpinningWords>();
let last: { layout: Layout; words: SpinningWords } | undefined;

function wordsOf(layout: Layout): SpinningWords {
  if (last?.layout === layout) return last.words;
  let words = spinning.get(layout);
  if (!words) {
    words = { mark: new Uint8Array(layout.size), slots: [] };
    spinning.set(layout, words);
  }
  last = { layout, words };
  return words;
}

/** The owner word at `slot` belongs to a spinning lock (spin_lock, write_lock of an rwlock). */
export function spinlockWord(w: World, slot: number): void {
  const words = wordsOf(w.layout);
  if (words.mark[slot]) return;
  words.mark[slot] = 1;
  words.slots.push(slot);
}

/** The name of a spinning lock the running actor holds (`mm[source].ptl`), if any. */
function heldSpinlock(w: World): string | undefined {
  const v = w.v; // instrumentation: not an access of the modelled code
  for (const o of wordsOf(w.layout).slots) {
    if (v[o] !== w.self) continue;
    const d = w.layout.describe(o);
    return d ? `${d.region.def.name}[${w.layout.objectName(d.region, d.index)}].${d.field}` : `lock word ${o}`;
  }
  return undefined;
}

/**
 * might_sleep() in `op` (`mutex_lock`) of the lock `name` names, if any: a BUG if the running actor
 * holds a spinlock or runs a non-blockable invalidation. Set-up actions (no actor) may sleep.
 */
export function mightSleep(w: World, op: string, name?: () => string): void {
  if (w.actor < 0) return;
  const spin = heldSpinlock(w);
  const nonblock = w.actorNonblock(w.actor) > 0;
  if (spin === undefined && !nonblock) return;
  const why = spin !== undefined ? `in atomic context: holding spinlock ${spin}` : 'in a non-blockable mmu notifier invalidation (mmu_notifier_range_blockable() is false)';
  w.bug(`sleeping function called from invalid context: ${op}${name ? `(${name()})` : ''} at ${w.site}, ${why}`);
}
