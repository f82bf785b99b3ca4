/**
 * Drivers whose per-device context is freed when the source exits (the classic notifier's
 * ->release drops the device's reference), for the use-after-free check (src/kernel/lifetime.ts):
 *
 *   - `no-ref`: the fault uses the context with no reference of its own: after release, a use
 *     after free on the first fault, no race needed;
 *   - `no-sync`: the fault finds the context through a pointer under SRCU and takes a reference,
 *     but release unpublishes the pointer and drops its reference without synchronize_srcu: a
 *     fault that loaded the pointer before the unpublish takes its reference on a freed context;
 *   - `srcu`: the fixed form: release unpublishes, synchronize_srcu, then drops its reference.
 */
import {
  defineDriver,
  defineStruct,
  deref,
  isNone,
  KERNEL,
  krefGet,
  krefInit,
  krefPut,
  Library,
  MIRROR,
  NONE,
  ref,
  SRCU,
  SRCU_LIB,
  srcuReadLock,
  srcuReadUnlock,
  synchronizeSrcu,
} from '../../src/driver/api.js';
import { VM_DONTCOPY, VM_DONTDUMP, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, deviceOfVma } from '../../src/driver/api.js';
import { INTERVAL_LIB, installPfn, intervalFault, intervalInvalidate } from '../../src/mirror/interval.js';
import { attachInterval } from '../../src/mirror/device.js';
import { mmuNotifierRegister } from '../../src/kernel/notifier/mmu-notifier.js';
import { MN } from '../../src/kernel/structs.js';
import type { MirrorVariant } from '../../src/mirror/device.js';

/** The device's context: its kref, and how many faults use it now. */
export const CTX = defineStruct('test_ctx', ['refs', 'active'] as const, { refs: 'atomic', active: 'atomic' });
/** Where faults find the context: an SRCU-protected pointer. */
export const PUB = defineStruct('test_ctx_pointer', ['ctx'] as const, { ctx: 'rcu' });

export type LifetimeBug = 'no-ref' | 'no-sync' | 'srcu';

export function lifetimeDriver(kind: LifetimeBug): MirrorVariant {
  const name = `ctx-${kind}`;
  const id = name.replaceAll('-', '_');
  const lib = new Library(`test-${name}`, [KERNEL, INTERVAL_LIB, SRCU_LIB], { kind: 'driver', sources: ['mirror'] });
  const fault = lib.routine({
    name: `${id}_fault`,
    params: ['vma', 'vpn', 'write'],
    locals: ['dev', 'ctx', 'idx'],
    steps: {
      begin: {
        at: kind === 'no-ref' ? 'mirror: ctx = dev->ctx (no reference: the bug)' : 'mirror: idx = srcu_read_lock(&dev->srcu)',
        run: (w, l) => {
          l.dev = deviceOfVma(w, l.vma);
          if (kind === 'no-ref') {
            l.ctx = l.dev;
            return 'use';
          }
          l.idx = srcuReadLock(w, l.dev);
          return 'load';
        },
      },
      load: {
        at: 'mirror: ctx = srcu_dereference(dev->ctx)',
        run: (w, l) => {
          const r = w.obj(PUB, l.dev).ctx;
          if (isNone(r)) return 'gone';
          l.ctx = deref(r, 'test_ctx_pointer.ctx');
          return 'get';
        },
      },
      get: {
        at: 'mirror: kref_get(&ctx->ref)',
        run: (w, l) => {
          krefGet(w, CTX, l.ctx);
          return 'unlock';
        },
      },
      unlock: {
        at: 'mirror: srcu_read_unlock(&dev->srcu, idx)',
        run: (w, l) => {
          srcuReadUnlock(w, l.dev, l.idx);
          l.idx = 0;
          return 'use';
        },
      },
      gone: {
        at: 'mirror: srcu_read_unlock; return VM_FAULT_SIGBUS (the device is released)',
        run: (w, l) => {
          srcuReadUnlock(w, l.dev, l.idx);
          return w.ret(VM_FAULT_SIGBUS);
        },
      },
      use: {
        at: 'mirror: atomic_inc(&ctx->active)',
        run: (w, l) => {
          const c = w.obj(CTX, l.ctx);
          c.active = c.active + 1;
          return w.call(intervalFault, 'unuse', l.vma, l.vpn, l.write);
        },
      },
      unuse: {
        at: 'mirror: atomic_dec(&ctx->active)',
        run: (w, l) => {
          const c = w.obj(CTX, l.ctx);
          c.active = c.active - 1;
          return kind === 'no-ref' ? w.ret(l.result) : 'put';
        },
      },
      put: {
        at: 'mirror: kref_put(&ctx->ref, ctx_free)',
        run: (w, l) => {
          krefPut(w, CTX, l.ctx);
          return w.ret(l.result);
        },
      },
    },
  });
  const release = lib.routine({
    name: `${id}_release`,
    params: ['mn', 'mm'],
    locals: ['dev'],
    steps: {
      unpublish: {
        at: kind === 'no-ref' ? 'mirror: ->release' : 'mirror: rcu_assign_pointer(dev->ctx, NULL)',
        run: (w, l) => {
          l.dev = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
          if (kind === 'no-ref') return 'put';
          w.obj(PUB, l.dev).ctx = NONE;
          return kind === 'srcu' ? w.call(synchronizeSrcu, 'put', l.dev) : 'put';
        },
      },
      put: {
        at: kind === 'no-sync' ? 'mirror: kref_put(&ctx->ref, ctx_free) (no synchronize_srcu first: the bug)' : 'mirror: kref_put(&ctx->ref, ctx_free)',
        run: (w, l) => {
          l.result = 0;
          krefPut(w, CTX, l.dev);
          return w.ret(0);
        },
      },
    },
  });
  return defineDriver({
    name,
    summary: 'the corrected design with a per-device context freed on release (test/driver/lifetime.ts)',
    library: lib,
    vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ | VM_WRITE,
    fault,
    routines: [fault, release],
    needs: { intervalNotifier: true, mmuNotifier: true },
    attach: (w, dev) => {
      attachInterval(w, dev, installPfn, intervalInvalidate);
      const d = w.obj(MIRROR, dev);
      mmuNotifierRegister(w, deref(d.mn, 'mirror.mn'), deref(d.srcMm, 'mirror.srcMm'), { release }, dev);
    },
    state: [
      { struct: CTX, count: 1, lifetime: 'refs', init: (w, dev) => krefInit(w, CTX, dev) },
      {
        struct: PUB,
        count: 1,
        init: (w, dev) => {
          w.obj(PUB, dev).ctx = ref(dev);
        },
      },
      { struct: SRCU, count: 1 },
    ],
    balanced: [{ struct: SRCU, field: 'readers0', why: 'srcu_read_lock without unlock' }],
  });
}
