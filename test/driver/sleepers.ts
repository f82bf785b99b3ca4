/**
 * Drivers that sleep where the kernel forbids it, for the might_sleep check
 * (src/kernel/might-sleep.ts), each beside its fixed form. They reuse the corrected design's
 * routines (`interval`) and change one thing:
 *
 *   - `nonblockMutex`: the interval callback first waits for a fault in flight with mutex_lock and
 *     mutex_unlock of the update lock, even when the invalidation is not blockable (the OOM
 *     reaper's); fixed: the built-in callback alone, which trylocks then;
 *   - `spinThenFault`: the fault counts itself in flight under a driver spinlock (its own state)
 *     and runs the fault path — which sleeps on the update mutex — before dropping it; fixed: it
 *     drops the spinlock around the fault path.
 */
import { defineDriver, defineStruct, deviceOfSub, deviceOfVma, KERNEL, Library, mutexLock, mutexUnlock, spinLock, spinUnlock, updateLock, type SpinLock, type World } from '../../src/driver/api.js';
import { VM_DONTCOPY, VM_DONTDUMP, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/driver/api.js';
import { INTERVAL_LIB, installPfn, intervalFault, intervalInvalidate } from '../../src/mirror/interval.js';
import { attachInterval } from '../../src/mirror/device.js';
import type { AnyRoutine } from '../../src/world/routine.js';
import type { MirrorVariant } from '../../src/mirror/device.js';

const FLAGS = VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ | VM_WRITE;

/** The driver's job counter, under its own spinlock. */
export const DEVLOCK = defineStruct('test_devlock', ['lock', 'jobs'] as const, { lock: 'lock-word:test_devlock.lock', jobs: 'lock:test_devlock.lock' });

const devlock = (w: World, dev: number): SpinLock => ({ kind: 'spinlock', slot: w.layout.slot(DEVLOCK, dev, 'lock'), name: () => `test_devlock[${dev}].lock` });

function driver(name: string, lib: Library, fault: AnyRoutine, invalidate: AnyRoutine, routines: AnyRoutine[]): MirrorVariant {
  return defineDriver({
    name,
    summary: 'the corrected design with one change (test/driver/sleepers.ts)',
    library: lib,
    vmaFlags: FLAGS,
    fault,
    routines: [fault, ...routines],
    needs: { intervalNotifier: true },
    attach: (w, dev) => attachInterval(w, dev, installPfn, invalidate),
    state: [{ struct: DEVLOCK, count: 1 }],
    balanced: [{ struct: DEVLOCK, field: 'jobs', why: 'faults in flight' }],
  });
}

/** The interval callback with mutex_lock whatever the invalidation's blockable says (`fixed`: the corrected callback). */
export function nonblockMutex(fixed: boolean): MirrorVariant {
  const name = fixed ? 'nonblock-trylock' : 'nonblock-mutex';
  const lib = new Library(`test-${name}`, [KERNEL, INTERVAL_LIB], { kind: 'driver', sources: ['mirror'] });
  const fault = lib.routine({
    name: `${name.replaceAll('-', '_')}_fault`,
    params: ['vma', 'vpn', 'write'],
    steps: {
      fault: { at: 'mirror: the corrected fault', run: (w, l) => w.call(intervalFault, 'done', l.vma, l.vpn, l.write) },
      done: { at: 'mirror: return', run: (w, l) => w.ret(l.result) },
    },
  });
  if (fixed) return driver(name, lib, fault, intervalInvalidate, []);
  const invalidate = lib.routine({
    name: 'test_invalidate_mutex_lock',
    params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
    steps: {
      lock: {
        at: 'mirror: mutex_lock(update) to wait for a fault in flight (blockable or not: the bug)',
        run: (w, l) => mutexLock(w, updateLock(w, deviceOfSub(w, l.sub))) || 'unlock',
      },
      unlock: {
        at: 'mirror: mutex_unlock(update), then the corrected callback',
        run: (w, l) => {
          mutexUnlock(w, updateLock(w, deviceOfSub(w, l.sub)));
          return w.call(intervalInvalidate, 'done', l.sub, l.start, l.end, l.event, l.blockable, l.curSeq);
        },
      },
      done: { at: 'mirror: return', run: (w, l) => w.ret(l.result) },
    },
  });
  return driver(name, lib, fault, invalidate, [invalidate]);
}

/** A fault that counts its job under the driver's spinlock and (`fixed` false) runs the fault path before dropping it. */
export function spinThenFault(fixed: boolean): MirrorVariant {
  const name = fixed ? 'spin-then-fault' : 'fault-under-spin';
  const lib = new Library(`test-${name}`, [KERNEL, INTERVAL_LIB], { kind: 'driver', sources: ['mirror'] });
  const fault = lib.routine({
    name: `${name.replaceAll('-', '_')}_fault`,
    params: ['vma', 'vpn', 'write'],
    locals: ['dev'],
    steps: {
      lock: {
        at: 'mirror: spin_lock(&dev->lock)',
        run: (w, l) => {
          l.dev = deviceOfVma(w, l.vma);
          return spinLock(w, devlock(w, l.dev)) || 'count';
        },
      },
      count: {
        at: fixed ? 'mirror: dev->jobs++; spin_unlock(&dev->lock)' : 'mirror: dev->jobs++ (the fault runs before spin_unlock: the bug)',
        run: (w, l) => {
          const d = w.obj(DEVLOCK, l.dev);
          d.jobs = d.jobs + 1;
          if (!fixed) return w.call(intervalFault, 'finish', l.vma, l.vpn, l.write);
          spinUnlock(w, devlock(w, l.dev));
          return w.call(intervalFault, 'relock', l.vma, l.vpn, l.write);
        },
      },
      relock: { at: 'mirror: spin_lock(&dev->lock)', run: (w, l) => spinLock(w, devlock(w, l.dev)) || 'finish' },
      finish: {
        at: 'mirror: dev->jobs--; spin_unlock(&dev->lock)',
        run: (w, l) => {
          const d = w.obj(DEVLOCK, l.dev);
          d.jobs = d.jobs - 1;
          spinUnlock(w, devlock(w, l.dev));
          return w.ret(l.result);
        },
      },
    },
  });
  return driver(name, lib, fault, intervalInvalidate, []);
}
