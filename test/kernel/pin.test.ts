/**
 * FOLL_PIN (src/kernel/pin.ts, mm/gup.c pin_user_pages_remote) and what the kernel does
 * differently for a pinned anonymous page: the pin is GUP_PIN_COUNTING_BIAS references; a R/O pin
 * of a shared page unshares it first; a write fault reuses a pinned (exclusive) page; fork copies a
 * pinned page into the child at once (MMF_HAS_PINNED, folio_maybe_dma_pinned); reclaim and
 * migration leave a pinned page mapped.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { EFAULT, FOLL_LONGTERM, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { pinUserPagesRemote } from '../../src/kernel/ops/gup.js';
import { folioMaybeDmaPinned, unpinUserPage } from '../../src/kernel/pin.js';
import { shrinkFolioList } from '../../src/kernel/ops/reclaim.js';
import { migratePages } from '../../src/kernel/ops/migrate.js';
import { runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { holdMmapRead } from '../helpers/mmap-read.js';
import { betweenSteps } from '../helpers/between-steps.js';
import { checkYaml, pinScenario } from '../helpers/pin-scenario.js';

const MMA = 0;
function world(): World {
  const w = buildWorld({ pages: 6, mmPages: 8, mms: ['proc', 'child'], actors: ['g', 'h'], vmasPerMm: 4, libraries: [RECORDER_LIB] }, declareRecorder);
  addVma(w, MMA, { start: 0, end: 4 });
  addVma(w, MMA, { start: 4, end: 6, flags: VM_PFNMAP | VM_IO | VM_SHARED | VM_READ | VM_WRITE });
  attachRecorder(w, MMA, 0);
  return w;
}

/** pin_user_pages_remote(MMA, vpn, flags) run to its end by actor g, under mmap_read_lock. */
function pin(w: World, vpn: number, flags: number): number {
  holdMmapRead(w, MMA);
  w.spawn(0, pinUserPagesRemote, [MMA, vpn, flags]);
  runToEnd(w, 'g');
  return w.actorResult(0);
}

describe('pin_user_pages_remote', () => {
  it('adds GUP_PIN_COUNTING_BIAS to the refcount, sets MMF_HAS_PINNED and marks the anon page exclusive', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    expect(pin(w, 1, FOLL_LONGTERM | FOLL_WRITE)).toBe(pfn);
    expect(w.obj(PAGE, pfn).refcount).toBe(1 + GUP_PIN_COUNTING_BIAS);
    expect(folioMaybeDmaPinned(w, pfn)).toBe(true);
    expect(w.obj(MM, MMA).hasPinned).toBe(1);
    expect(w.obj(PAGE, pfn).anonExclusive).toBe(1);
  });

  it('unpin_user_page drops the bias; the last reference frees the page', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    pin(w, 1, FOLL_LONGTERM);
    betweenSteps(w, () => unpinUserPage(w, pfn));
    expect(w.obj(PAGE, pfn).refcount).toBe(1);
    expect(folioMaybeDmaPinned(w, pfn)).toBe(false);
  });

  it('refuses a VM_PFNMAP VMA with -EFAULT, as GUP does', () => {
    const w = world();
    expect(pin(w, 4, FOLL_LONGTERM)).toBe(-EFAULT);
  });

  it('faults in a missing page and pins it', () => {
    const w = world();
    const got = pin(w, 2, FOLL_LONGTERM | FOLL_WRITE);
    expect(got).toBeGreaterThan(0);
    expect(pte(w, MMA, 2).pfn).toBe(got);
    expect(w.obj(PAGE, got).refcount).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });

  it('unshares a read-only page that is not exclusive before a R/O pin (gup_must_unshare), without making it writable', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3, false); // read-only: as after fork's write-protect, the child since gone
    const got = pin(w, 1, FOLL_LONGTERM);
    // Nobody else maps or holds it: the unshare fault reuses it (wp_can_reuse_anon_folio) and marks it exclusive.
    expect(got).toBe(pfn);
    expect(pte(w, MMA, 1).write).toBe(0);
    expect(w.obj(PAGE, pfn).anonExclusive).toBe(1);
    expect(recorded(w)).toEqual([]); // no pte was replaced: no notifier
  });
});

describe('reclaim and migration of a pinned page', () => {
  it('shrink_folio_list keeps a pinned page out of the swap cache, mapped', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    pin(w, 1, FOLL_LONGTERM | FOLL_WRITE);
    w.spawn(1, shrinkFolioList, [pfn]);
    runToEnd(w, 'h');
    expect(w.actorResult(1)).toBeLessThan(0);
    expect(pte(w, MMA, 1).present).toBe(1);
    expect(w.obj(PAGE, pfn).swap).toBe(0);
    expect(recorded(w)).toEqual([]); // never unmapped: no invalidation
  });

  it('try_to_migrate refuses to unmap a pinned exclusive page (folio_try_share_anon_rmap_pte): migrate_pages fails, the pte stays', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    pin(w, 1, FOLL_LONGTERM | FOLL_WRITE);
    w.spawn(1, migratePages, [pfn]);
    runToEnd(w, 'h');
    expect(w.actorResult(1)).toBeLessThan(0);
    expect(pte(w, MMA, 1).pfn).toBe(pfn);
    expect(pte(w, MMA, 1).present).toBe(1);
    // try_to_migrate_one opened its range before it found the page pinned, and closes it.
    expect(recorded(w).map((e) => e.kind)).toEqual(['start', 'end']);
  });
});

describe('scenarios with pins (the cow.c cases of fidelity/M05-*)', () => {
  it('a pinned page reclaimed by kswapd stays mapped', () => {
    const r = checkYaml(
      pinScenario(
        ['{ op: pin, mm: source, page: 0, write: true }', '{ op: reclaim, page: 0 }', '{ op: unpin, mm: source, page: 0 }'],
        ['{ pte: { mm: source, page: 0 }, present: true, value: 0x100, after: { actor: parent, op: 1 } }', '{ result: { actor: parent, op: 2 }, value: 0x100 }'],
      ),
    );
    expect(r.verdict).toBe('holds');
  });

  it('fork without a pin still shares the page COW (the eager copy is only for pinned pages)', () => {
    const r = checkYaml(
      pinScenario(
        ['{ op: pin, mm: source, page: 0, write: true }', '{ op: unpin, mm: source, page: 0 }', '{ op: fork, mm: source }'],
        ['{ pte: { mm: source, page: 0 }, present: true, writable: false, samePage: { mm: child, page: 0 }, mapcount: 2 }'],
      ),
    );
    expect(r.verdict).toBe('holds');
  });

  it('fork racing an unpin: the copy preallocated for the pinned page goes unused and is freed where copy_pte_range ends', () => {
    // Found by a scan for steps that may free a page without declaring it: copy_page_range's loop
    // steps put an unused prealloc (endCopy), which frees it; their footprints said only a put.
    const yaml = [
      'name: fork-unpin',
      'description: fork while another thread drops its pin',
      'pages: 1',
      'actors:',
      '  - name: parent',
      '    ops:',
      '      - { op: pin, mm: source, page: 0, write: true }',
      '      - { op: unpin, mm: source, page: 0 }',
      '  - name: forker',
      '    ops:',
      '      - { op: fork, mm: source }',
      'variants: [interval]',
      '',
    ].join('\n');
    expect(checkYaml(yaml).verdict).toBe('holds'); // audited: an undeclared free is a model error
  });

  it('unpin without a pin is -EINVAL', () => {
    const r = checkYaml(pinScenario(['{ op: unpin, mm: source, page: 0 }'], ['{ result: { actor: parent, op: 0 }, value: -22 }']));
    expect(r.verdict).toBe('holds');
  });
});
