/**
 * Long-term pins held by a user of the kernel, as mm/gup_test.c's PIN_LONGTERM_TEST_START /
 * _READ / _STOP ioctls hold them for tools/testing/selftests/mm/cow.c (and as io_uring fixed
 * buffers or VFIO do): `pin` pins the page at (mm, vpn) with pin_user_pages(FOLL_LONGTERM,
 * +FOLL_WRITE for a R/W pin) and keeps its pfn; `unpin` reads the pinned page through the pin
 * (what the test compares with the memory), then unpin_user_page. One pin per (mm, vpn): a
 * `pinLongterm` object each, present only in scenarios that pin.
 *
 * Simplification: gup_test serialises its ioctls with pin_longterm_test_mutex; the model does not,
 * so two actors pinning the same (mm, page) at once could both pass the "already pinned" check and
 * the second pin would be kept, the first leaked. A scenario pins a page from one actor.
 */
import { defineStruct, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { EINVAL, FOLL_LONGTERM, FOLL_WRITE } from '../kernel/flags.js';
import { downRead, mmapLock, upRead } from '../kernel/locks.js';
import { pinUserPagesRemote } from '../kernel/ops/gup.js';
import { unpinUserPage } from '../kernel/pin.js';
import { PAGE } from '../kernel/structs.js';
import { WORKLOAD_LIB } from './workload.js';

/** gup_test's pinned page (pin_longterm_test.pages[0]): the pfn, 0 while nothing is pinned. */
export const PIN_LONGTERM = defineStruct('pinLongterm', ['pfn'] as const, { pfn: 'atomic' });

/** The pinLongterm objects of a world whose mms have `mmPages` pages each: one per (mm, vpn). */
export function addPinHolders(layout: Layout, mms: number): void {
  layout.add(PIN_LONGTERM, mms * layout.dims.mmPages);
}

function holder(w: World, mm: number, vpn: number) {
  return w.obj(PIN_LONGTERM, mm * w.layout.dims.mmPages + vpn);
}

/** PIN_LONGTERM_TEST_START for one page: 0, or -EINVAL (already pinned) or GUP's -errno. */
export const pinLongtermTestStart = WORKLOAD_LIB.routine({
  name: 'pin_longterm_test_start',
  params: ['mm', 'vpn', 'write'],
  steps: {
    check: {
      at: 'gup_test: pin_longterm_test_start',
      run: (w, l) => {
        if (holder(w, l.mm, l.vpn).pfn !== 0) return w.ret(-EINVAL); // "already pinned"
        return 'pin';
      },
    },
    // pin_user_pages (__gup_longterm_locked with *locked == 0): mmap_read_lock inside.
    pin: {
      at: 'gup_test: pin_longterm_test_start pin_user_pages mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, l.mm));
        if (b) return b;
        return w.call(pinUserPagesRemote, 'pinned', l.mm, l.vpn, FOLL_LONGTERM | (l.write ? FOLL_WRITE : 0));
      },
    },
    pinned: {
      at: 'gup_test: pin_longterm_test_start mmap_read_unlock',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        // pin_longterm_test.pages[0] = the page (after the unlock in the C: nobody else reads it
        // before this ioctl returns, so storing it first changes nothing).
        if (r > 0) holder(w, l.mm, l.vpn).pfn = r;
        upRead(w, mmapLock(w, l.mm));
        return w.ret(Math.min(r, 0));
      },
    },
  },
});

/** PIN_LONGTERM_TEST_READ then _STOP for one page: the value read through the pin, or -EINVAL with none. */
export const pinLongtermTestStop = WORKLOAD_LIB.routine({
  name: 'pin_longterm_test_stop',
  params: ['mm', 'vpn'],
  locals: ['pfn', 'value'],
  steps: {
    take: {
      at: 'gup_test: pin_longterm_test_read',
      run: (w, l) => {
        l.pfn = holder(w, l.mm, l.vpn).pfn;
        if (l.pfn === 0) return w.ret(-EINVAL);
        return 'read';
      },
    },
    // copy_to_user from the pinned page (kmap_local_page): what the device would DMA.
    read: {
      at: 'gup_test: pin_longterm_test_read copy_to_user',
      run: (w, l) => {
        l.value = w.obj(PAGE, l.pfn).contents;
        return 'clear';
      },
    },
    clear: {
      at: 'gup_test: pin_longterm_test_stop',
      run: (w, l) => {
        holder(w, l.mm, l.vpn).pfn = 0;
        return 'unpin';
      },
    },
    unpin: {
      at: 'gup_test: pin_longterm_test_stop unpin_user_pages',
      run: (w, l) => {
        unpinUserPage(w, l.pfn);
        const v = l.value;
        l.pfn = 0;
        l.value = 0;
        return w.ret(v);
      },
    },
  },
});
