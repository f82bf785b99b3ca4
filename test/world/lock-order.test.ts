/**
 * The lock-order graph (src/world/lock-order.ts) and the kernel's recording into it
 * (src/kernel/lockdep.ts): a cycle is found when its last edge is recorded, cycles() gives the
 * shortest one of each component, edges keep their first witness, a trylock adds no edge but
 * holds its lock, a recursion adds nothing, a blocked attempt is taken back.
 */
import { describe, expect, it } from 'vitest';
import { formatCycle, LockOrder } from '../../src/world/lock-order.js';
import type { World } from '../../src/world/world.js';
import { buildWorld, lockIndex, mmIndex } from '../../src/kernel/topology.js';
import { downRead, driverMutex, mmapLock, mutexLock, mutexTrylock, mutexUnlock, ptl, spinLockNested, upRead } from '../../src/kernel/locks.js';
import { allocPage, mightAlloc } from '../../src/kernel/page.js';
import { FS_RECLAIM, heldLockClasses, MMU_NOTIFIER_MAP } from '../../src/kernel/lockdep.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { runSchedule } from '../../src/world/runner.js';
import type { Locals } from '../../src/world/routine.js';

/** Just what the graph reads of a world: the running actor and step. */
const stub = { actor: 0, layout: { actorNames: ['t'] }, site: 'r:l' } as unknown as World;

function graph(...edges: [string, string][]): LockOrder {
  const lo = new LockOrder();
  for (const [a, b] of edges) lo.acquire(stub, [lo.classId(a)], 1, lo.classId(b));
  return lo;
}

describe('the lock-order graph', () => {
  it('finds a cycle when its last edge is recorded, each edge with its first witness', () => {
    const lo = graph(['A', 'B'], ['B', 'C']);
    expect(lo.closed).toBeUndefined();
    lo.schedule = () => [0, 1, 1];
    lo.acquire({ ...stub, actor: 1, layout: { actorNames: ['t', 'u'] }, site: 'f:g' } as unknown as World, [lo.classId('C')], 1, lo.classId('A'));
    expect(formatCycle(lo.closed!)).toBe('A → B → C → A');
    expect(lo.closing).toEqual({ from: 'C', to: 'A', witness: { actor: 'u', where: 'f:g', held: ['C'], schedule: [0, 1, 1] } });
    expect(lo.closed!.edges.map((e) => `${e.from}>${e.to} ${e.witness.actor} ${e.witness.where}`)).toEqual(['A>B t r:l', 'B>C t r:l', 'C>A u f:g']);
    // The first witness stays.
    lo.acquire(stub, [lo.classId('A')], 1, lo.classId('B'));
    expect(lo.edges()).toHaveLength(3);
    expect(lo.cycles().map(formatCycle)).toEqual(['A → B → C → A']);
  });

  it('gives the shortest cycle of each strongly connected component', () => {
    const lo = graph(['A', 'B'], ['B', 'C'], ['C', 'D'], ['D', 'A'], ['C', 'A'], ['E', 'F'], ['F', 'E'], ['A', 'G']);
    expect(lo.cycles().map(formatCycle)).toEqual(['A → B → C → A', 'E → F → E']);
    // The first cycle closed is what an explorer reports, however many follow.
    expect(formatCycle(lo.closed!)).toBe('A → B → C → D → A');
  });

  it('records a recursion apart, with no edge; a nested acquisition of a held class is no recursion', () => {
    const lo = new LockOrder();
    const [a, b] = [lo.classId('A'), lo.classId('B')];
    lo.acquire(stub, [a, b], 2, a);
    expect(lo.edgeCount).toBe(0);
    expect(lo.recursions()).toEqual([{ lock: 'A', witness: { actor: 't', where: 'r:l', held: ['A', 'B'] } }]);
    lo.acquire(stub, [b], 1, b, true);
    expect(lo.recursions()).toHaveLength(1);
    expect(lo.edgeCount).toBe(0);
  });

  it('records only the innermost edge when the caller knows the nesting', () => {
    const lo = new LockOrder();
    const [a, b, c] = [lo.classId('A'), lo.classId('B'), lo.classId('C')];
    lo.acquire(stub, [a, b], 2, c, false, b);
    expect(lo.edges().map((e) => `${e.from}>${e.to}`)).toEqual(['B>C']);
  });

  it('grows past 64 classes, keeping what it knew; a witness outside any actor is set-up', () => {
    const lo = new LockOrder();
    lo.acquire(stub, [lo.classId('c0')], 1, lo.classId('c1'));
    for (let i = 2; i < 70; i++) lo.classId(`c${i}`);
    lo.acquire(stub, [lo.classId('c0')], 1, lo.classId('c1'));
    expect(lo.edgeCount).toBe(1);
    const setUp = { actor: -1, layout: { actorNames: [] }, site: '' } as unknown as World;
    lo.acquire(setUp, [lo.classId('c69')], 1, lo.classId('c0'));
    lo.acquire(stub, [lo.classId('c1')], 1, lo.classId('c69'));
    expect(lo.edges().map((e) => [e.from, e.to, e.witness.actor])).toEqual([
      ['c0', 'c1', 't'],
      ['c69', 'c0', '(set-up)'],
      ['c1', 'c69', 't'],
    ]);
    expect(formatCycle(lo.closed!)).toBe('c0 → c1 → c69 → c0');
    expect([lo.classCount, lo.className(69)]).toEqual([70, 'c69']);
  });

  it('takes back what a blocked step recorded', () => {
    const lo = graph(['A', 'B']);
    const mark = lo.mark();
    lo.acquire(stub, [lo.classId('B')], 1, lo.classId('A'));
    lo.acquire(stub, [lo.classId('C'), lo.classId('A')], 2, lo.classId('C'));
    expect(lo.closed).toBeDefined();
    expect(lo.recursions()).toHaveLength(1);
    lo.rollback(mark);
    expect([lo.closed, lo.edges().map((e) => `${e.from}>${e.to}`), lo.recursions()]).toEqual([undefined, ['A>B'], []]);
    lo.acquire(stub, [lo.classId('B')], 1, lo.classId('A'));
    expect(formatCycle(lo.closed!)).toBe('A → B → A');
  });
});

const LIB = new Library('test-lock-order', [KERNEL]);

/** The step `mutex_lock(lock)`, then `next` (a blocked attempt returns the block code). */
const lockStep = (lock: 'a' | 'b', next: string) => ({
  at: `test: mutex_lock(${lock})`,
  run: (w: World, l: Locals<'a' | 'b'>) => mutexLock(w, driverMutex(w, l[lock])) || next,
});

/** Takes driver lock A, then B, in two steps (so the second has a step of its own to witness). */
const takeAB = LIB.routine({
  name: 'test_take_a_then_b',
  params: ['a', 'b'],
  steps: {
    first: lockStep('a', 'second'),
    second: lockStep('b', 'unlock'),
    unlock: {
      at: 'test: unlock both',
      run: (w, l) => {
        mutexUnlock(w, driverMutex(w, l.b));
        mutexUnlock(w, driverMutex(w, l.a));
        return w.ret(0);
      },
    },
  },
});

function world(): { w: World; lo: LockOrder } {
  const w = buildWorld({ pages: 2, mmPages: 1, mms: ['src', 'intro'], locks: ['A', 'B', 'C'], actors: ['a', 'b'], libraries: [LIB] });
  const lo = new LockOrder();
  w.lockOrder = lo;
  return { w, lo };
}

/** Runs the next primitives as actor `name`, as a step of that actor would. */
function as(w: World, name: 'a' | 'b'): World {
  w.actor = w.layout.actorNames.indexOf(name);
  return w;
}

const order = (lo: LockOrder) => lo.edges().map((e) => `${e.from} → ${e.to}`);

describe("the kernel's lock classes", () => {
  it('orders a lock taken while another is held, witnessed by the step that took it', () => {
    const { w, lo } = world();
    w.spawn(0, takeAB, [lockIndex(w, 'A'), lockIndex(w, 'B')]);
    runSchedule(w, [0, 0, 0]);
    expect(lo.edges()).toEqual([{ from: 'A', to: 'B', witness: { actor: 'a', where: 'test_take_a_then_b:second', held: ['A'] } }]);
  });

  it('adds no edge for a trylock, but the lock it took is held', () => {
    const { w, lo } = world();
    as(w, 'a');
    expect(mutexLock(w, driverMutex(w, lockIndex(w, 'A')))).toBe(0);
    expect(mutexTrylock(w, driverMutex(w, lockIndex(w, 'B')))).toBe(true);
    expect(mutexLock(w, driverMutex(w, lockIndex(w, 'C')))).toBe(0);
    expect(order(lo)).toEqual(['A → C', 'B → C']);
  });

  it('names two driver locks as two classes, an mm lock by its kind, and a nested pair of one class without recursion', () => {
    const { w, lo } = world();
    as(w, 'a');
    expect(spinLockNested(w, ptl(w, mmIndex(w, 'src')), ptl(w, mmIndex(w, 'intro')))).toBe(0);
    expect(mutexLock(w, driverMutex(w, lockIndex(w, 'B')))).toBe(0);
    expect(heldLockClasses(w, lo)).toEqual(['mm.ptl', 'B']);
    expect([order(lo), lo.recursions()]).toEqual([['mm.ptl → B'], []]);
  });

  it("counts a reader's hold as its own: another task's read hold orders nothing", () => {
    const { w, lo } = world();
    const src = mmapLock(w, mmIndex(w, 'src'));
    expect(downRead(as(w, 'b'), src)).toBe(0);
    expect(mutexLock(as(w, 'a'), driverMutex(w, lockIndex(w, 'A')))).toBe(0);
    expect(order(lo)).toEqual([]);
    expect(downRead(as(w, 'a'), mmapLock(w, mmIndex(w, 'intro')))).toBe(0);
    expect(mutexLock(w, driverMutex(w, lockIndex(w, 'C')))).toBe(0);
    expect(order(lo)).toEqual(['A → mm.mmap_lock', 'A → C', 'mm.mmap_lock → C']);
    upRead(w, mmapLock(w, mmIndex(w, 'intro')));
    expect(heldLockClasses(w, lo)).toEqual(['A', 'C']);
  });

  it('an allocation that may reclaim orders the held locks before fs_reclaim, and fs_reclaim before the notifier map', () => {
    const { w, lo } = world();
    as(w, 'a');
    expect(mutexLock(w, driverMutex(w, lockIndex(w, 'A')))).toBe(0);
    mightAlloc(w);
    expect(order(lo)).toEqual([`A → ${FS_RECLAIM}`, `${FS_RECLAIM} → ${MMU_NOTIFIER_MAP}`]);
    expect(allocPage(w)).toBeGreaterThan(0);
    expect(lo.edgeCount).toBe(2);
  });

  it('records nothing outside an actor (set-up) or when no graph is attached', () => {
    const { w, lo } = world();
    w.actor = -1;
    mutexLock(w, driverMutex(w, lockIndex(w, 'A')));
    mutexLock(w, driverMutex(w, lockIndex(w, 'B')));
    expect(lo.edgeCount).toBe(0);
    const plain = buildWorld({ pages: 1, mmPages: 1, mms: ['src'], locks: ['A', 'B'], actors: ['a'], libraries: [LIB] });
    as(plain, 'a');
    mutexLock(plain, driverMutex(plain, 0));
    expect(mutexLock(plain, driverMutex(plain, 1))).toBe(0);
    expect(plain.lockOrder).toBeNull();
    expect(plain.site).toBe(''); // no step has run
  });
});
