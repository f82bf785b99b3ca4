/**
 * The last put of a large folio (the thp layer, src/kernel/huge.ts) through each step that can
 * drop it: page.ts freePage gives the folio back whole, so besides what an order-0 free touches it
 * reads the head's entire mapcount and clears each tail's compound_head and the head's order.
 * Every scenario here is checked audited: a step whose footprint does not declare those fields
 * stops the check with a model error naming it (test/kernel/free-paths.test.ts finds the steps
 * from the source; these reach them).
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { variantByName } from '../../src/mirror/variants.js';
import { THP } from '../../src/kernel/huge.js';
import { ALLOC_FAIL } from '../../src/kernel/page.js';
import type { ActorSpec, ScenarioSpec } from '../../src/scenario/spec.js';
import type { Op } from '../../src/scenario/operations.js';
import { buildScenario } from '../../src/scenario/build.js';
import { PAGE } from '../../src/kernel/structs.js';
import { runToEnd } from '../../src/world/runner.js';

/** MADV_DONTNEED of both pages empties them; a write fault then maps one PMD of a large folio. */
const FAULT_PMD: readonly Op[] = [
  { op: 'madvise-dontneed', mm: 'source', page: 0, pages: 2 },
  { op: 'access', mm: 'source', page: 0, write: true, value: 5 },
];

function spec(name: string, source: readonly Op[], others: readonly ActorSpec[] = [], extra: Partial<ScenarioSpec> = {}): ScenarioSpec {
  return { name, description: name, pages: 2, layers: [THP], actors: [{ name: 'source', ops: [...FAULT_PMD, ...source] }, ...others], variants: ['interval'], ...extra };
}

/** The scenario's check, audited, with `design`: it must finish (holds), not stop at an undeclared access. */
function audited(s: ScenarioSpec, design = 'interval') {
  const r = checkOne(s, variantByName(design)!, { audit: true });
  expect([r.verdict, r.violation?.message]).toEqual(['holds', undefined]);
  return r;
}

/** Runs the source's ops alone, in order, and returns the world: the folio's frames are free, its fields reset. */
function runAlone(s: ScenarioSpec) {
  const { world: w } = buildScenario(s, variantByName('interval')!);
  runToEnd(w, 'source');
  return w;
}

describe('the last put of a large folio, through each step that can drop it', () => {
  it.each([
    ['__vm_munmap:tlbFinish', { op: 'munmap', mm: 'source', page: 0, pages: 2 }],
    ['exit_mmap:tlbFinish', { op: 'exit', mm: 'source' }],
    ['oom_reap_task_mm:tlbFinish', { op: 'oom-reap', mm: 'source' }],
  ] as const)('tlb_finish_mmu after zap_huge_pmd: %s', (_, op) => {
    const s = spec(`thp-free-${op.op}`, [op]);
    audited(s);
    const w = runAlone(s);
    // The folio went back whole, its compound fields cleared (pfns 2 and 3: the aligned run after pfn 1).
    expect([2, 3].map((pfn) => w.obj(PAGE, pfn)).map((p) => [p.free, p.head, p.order, p.entireMapcount])).toEqual([
      [1, 0, 0, 0],
      [1, 0, 0, 0],
    ]);
  });

  /**
   * A write to the read-only PMD splits it and copies the written page (do_wp_page on a pte of a
   * large folio, huge.ts), holding a reference of its own on the old folio meanwhile; a racing
   * MADV_DONTNEED of both pages can leave that reference the folio's last.
   */
  const wpCopy = (name: string, extra: Partial<ScenarioSpec> = {}) =>
    spec(
      name,
      [
        { op: 'mprotect-readonly', mm: 'source', page: 0, pages: 2 },
        { op: 'mprotect-readwrite', mm: 'source', page: 0, pages: 2 },
        { op: 'access', mm: 'source', page: 1, write: true, value: 9 },
      ],
      [{ name: 'zapper', ops: [{ op: 'madvise-dontneed', mm: 'source', page: 0, pages: 2 }] }],
      extra,
    );

  it('wp_page_copy:putOld: the zap dropped both ptes while the copy was made', () => {
    audited(wpCopy('thp-free-wp-copy'));
  });

  it('wp_page_copy:copy: the same, and the copy’s allocation fails', () => {
    audited(wpCopy('thp-free-wp-oom', { faults: [ALLOC_FAIL] }));
  });

  it('pin_longterm_test_stop:unpin: the pin outlived both mappings', () => {
    audited(
      spec('thp-free-unpin', [
        { op: 'pin', mm: 'source', page: 1, write: true },
        { op: 'madvise-dontneed', mm: 'source', page: 0, pages: 2 },
        { op: 'unpin', mm: 'source', page: 1 },
      ]),
    );
  });

  it('kvm_tdp_page_fault:release: the source zaps the PMD while the vCPU faults its tail in', () => {
    audited(spec('thp-free-kvm', [{ op: 'madvise-dontneed', mm: 'source', page: 0, pages: 2 }], [{ name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 1 }] }], { sourceKvm: true }));
  });

  it('mirror_fault_start_only:put: the source zaps the PMD while the start-only mirror faults its tail in', () => {
    // The design is broken (it maps the page after the zap): the search goes on past its
    // violations, every state explored and audited.
    const s = spec('thp-free-mirror', [{ op: 'madvise-dontneed', mm: 'source', page: 0, pages: 2 }], [{ name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 1 }] }], {
      variants: ['start-only'],
    });
    const r = checkOne(s, variantByName('start-only')!, { audit: true, maxViolations: 1000 });
    expect([r.verdict, r.stopReason]).toEqual(['violation', undefined]);
  });
});
