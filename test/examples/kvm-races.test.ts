/**
 * The KVM races shipped in examples/races/ (issue 10 item 5), through the real binary: each
 * example's buggy kernel era (or driver) is reported with the violation its fix names, and the
 * fixed kernel holds on the same scenario.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, vmamirror } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'vmamirror-kvm-races-'));

interface Cell {
  variant: string;
  verdict: string;
  violation?: { property: string; message: string };
  schedule?: string;
}

/** `check SCENARIO ARGS --json`: the exit code and the cells. */
function check(scenario: string, args: readonly string[] = []): { code: number | null; cells: Cell[] } {
  const r = vmamirror(['check', scenario, ...args, '--json'], { timeoutMs: 120_000 });
  expect(r.stderr).toBe('');
  return { code: r.code, cells: JSON.parse(r.stdout) as Cell[] };
}

/** A copy of `scenario` with `from` replaced by `to`, without its expectations (their paths are the example's). */
function variantOf(scenario: string, name: string, from: string, to: string): string {
  const text = readFileSync(scenario, 'utf8');
  expect(text).toContain(from);
  const f = join(tmp, name);
  writeFileSync(
    f,
    text
      .replace(from, to)
      .replace(/\nexpect:\n[\s\S]*$/, '\n')
      .replace('../../../src/scenario/schema.json', join(ROOT, 'src/scenario/schema.json')),
  );
  return f;
}

/**
 * The example's verdicts, as its `expect` section states them (test/examples/races.test.ts checks
 * every file's expectations and patterns too): today's kernel holds; on the era (`interval@ERA`)
 * the cell is a violation of `property` with `message`. Returns the violating cell.
 */
function fixedHoldsBuggyViolates(scenario: string, eraName: string, property: string, message: RegExp): Cell {
  const { code, cells } = check(scenario);
  expect(code).toBe(0);
  expect(cells.map((c) => [c.variant, c.verdict])).toEqual([
    ['interval', 'holds'],
    [`interval@${eraName}`, 'violation'],
  ]);
  expect(cells[1].violation!.property).toBe(property);
  expect(cells[1].violation!.message).toMatch(message);
  return cells[1];
}

describe('B-21: the mmu_seq snapshot as an int', () => {
  const dir = join(ROOT, 'examples/races/B-21-mmu-seq-int');
  const scenario = join(dir, 'scenario.yaml');
  const era = join(dir, 'v6.1-int-mmu-seq.ts');

  it("today's unsigned long snapshot holds; 6.1's int snapshot livelocks the vCPU once the sequence has bit 31 set", () => {
    const old = fixedHoldsBuggyViolates(scenario, 'v6-1-int-mmu-seq', 'termination', /^vcpu \(at \w+:\w+\) never completes: every adversary has stopped/);
    // The cycle runs the era's check, which answers "stale" with nothing in progress.
    const replay = vmamirror(['replay', old.schedule!, '--file', scenario, '--era', era]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/is_page_fault_stale_int_mmu_seq\.mmuSeq: 0 -> -2147483648/);
    expect(replay.stdout).toMatch(/is_page_fault_stale_int_mmu_seq:check[^\n]*\n\s+vcpu:kvm_tdp_page_fault\.result: 0 -> 1/);
  }, 120_000);

  it('needs bit 31: below it the era holds; past 2^32 the carry reaches the high word, which only the int snapshot loses', () => {
    const below = variantOf(scenario, 'below.yaml', 'invalidateSeqStart: 0x7fffffff', 'invalidateSeqStart: 0x7ffffffe');
    expect(check(below, ['--era', era]).cells.map((c) => c.verdict)).toEqual(['holds']);
    const carry = variantOf(scenario, 'carry.yaml', 'invalidateSeqStart: 0x7fffffff', 'invalidateSeqStart: 0xffffffff');
    expect(check(carry).cells.map((c) => c.verdict)).toEqual(['holds']);
    expect(check(carry, ['--era', era]).cells.map((c) => c.violation?.property)).toEqual(['termination']);
  }, 120_000);

  it('a kvm: setting without a KVM, or out of range, is a scenario error naming the field', () => {
    const noKvm = variantOf(scenario, 'no-kvm.yaml', 'sourceKvm: true', 'sourceKvm: false');
    const r = vmamirror(['check', noKvm]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-kvm\.yaml:\d+:\d+: kvm: KVM settings but the scenario has no KVM; expected sourceKvm: true or introspectorKvm: true/);
    const negative = variantOf(scenario, 'negative.yaml', 'invalidateSeqStart: 0x7fffffff', 'invalidateSeqStart: -1');
    const n = vmamirror(['check', negative]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/negative\.yaml:\d+:\d+: kvm\.invalidateSeqStart: -1 is out of range; expected an integer 0\.\.9007199254740991/);
    const wide = variantOf(scenario, 'wide.yaml', 'invalidateSeqStart: 0x7fffffff', 'memslotPages: 3');
    const m = vmamirror(['check', wide]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/wide\.yaml:\d+:\d+: kvm\.memslotPages: 3 is more than the scenario's pages; expected at most 2/);
  }, 60_000);
});

describe("B-23: the gfn→pfn cache's refresh between its invalidation and the count++", () => {
  const dir = join(ROOT, 'examples/races/B-23-gpc-refresh-race');
  const scenario = join(dir, 'scenario.yaml');
  const era = join(dir, 'v5.18-gpc-refresh.ts');
  /** The commit's interleaving: the balloon up to the cache invalidation, the whole refresh, the rest of the balloon, the use's check. */
  const commitOrder = '0*27.1*13.0*19.1*2';

  it("today's refresh, which waits for mn_active_invalidate_count, holds; v5.18's lets a use reach a page the process no longer maps", () => {
    fixedHoldsBuggyViolates(scenario, 'v5-18-gpc-refresh', 'refinement', /^gfn→pfn cache kvm-source:gfn0 \(in use\) maps pfn \d+ but source@0 maps nothing$/);
  }, 120_000);

  it("the commit's interleaving replays as the violation on v5.18, and as nothing on today's kernel", () => {
    const old = vmamirror(['replay', `b23-gpc-refresh-vs-dontneed/interval@v5-18-gpc-refresh:${commitOrder}`, '--file', scenario, '--era', era]);
    expect(old.stderr).toBe('');
    expect(old.code).toBe(1);
    // The cache's invalidation came first, found nothing valid; the refresh then ran whole and set the pfn.
    const at = (label: string) => old.stdout.indexOf(label);
    expect(at('kvm_mmu_notifier_invalidate_range_start:gpc')).toBeGreaterThan(0);
    expect(at('kvm_gfn_to_pfn_cache_refresh_v5_18:mapDone')).toBeGreaterThan(at('kvm_mmu_notifier_invalidate_range_start:gpc'));
    expect(at('kvm_mmu_notifier_invalidate_range_start:zap')).toBeGreaterThan(at('kvm_gfn_to_pfn_cache_refresh_v5_18:mapDone'));
    expect(old.stdout).toMatch(/VIOLATED refinement: gfn→pfn cache kvm-source:gfn0 \(in use\) maps pfn \d+ but source@0 maps nothing/);
    const today = vmamirror(['replay', `b23-gpc-refresh-vs-dontneed/interval:${commitOrder}`, '--file', scenario]);
    expect(today.stderr).toBe('');
    expect(today.code).toBe(0);
    expect(today.stdout).toMatch(/hva_to_pfn_retry:recheck/);
    expect(today.stdout).toMatch(/No property is violated/);
  }, 60_000);
});

describe('B-17: a memslot added between invalidate_range_start and _end', () => {
  const dir = join(ROOT, 'examples/races/B-17-memslot-mid-invalidation');
  const scenario = join(dir, 'scenario.yaml');
  const era = join(dir, 'memslots-no-block.ts');
  /** The reference's interleaving: start skips, the memslot is added, the vCPU faults the page in, the zap. */
  const staleSpte = '0*28.1*4.2*16.0*3';

  it("today's memslot update, which waits for mn_active_invalidate_count, holds; publishing at once unbalances mmu_invalidate_in_progress", () => {
    fixedHoldsBuggyViolates(scenario, 'memslots-no-block', 'kernel-bug', /^kvm 0: mmu_invalidate_in_progress went negative \(KVM_BUG_ON\)$/);
  }, 120_000);

  it("the reference's stale-spte interleaving replays as a refinement violation on the era; today's update sleeps instead", () => {
    const old = vmamirror(['replay', `b17-memslot-added-mid-invalidation/interval@memslots-no-block:${staleSpte}`, '--file', scenario, '--era', era]);
    expect(old.stderr).toBe('');
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(/VIOLATED refinement: EPT kvm-source:gfn1 maps pfn \d+ but source@1 maps nothing/);
    const today = vmamirror(['replay', `b17-memslot-added-mid-invalidation/interval:${staleSpte}`, '--file', scenario]);
    expect(today.stderr).toMatch(/actor qemu is blocked at kvm_swap_active_memslots:swap/);
  }, 60_000);
});
