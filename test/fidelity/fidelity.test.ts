/**
 * The fidelity suite (fidelity/): every case of the kernel's own self-tests written as a scenario
 * file, run through the real binary as a user would (`vmamirror check FILE --json`). Each must
 * hold — the model gives the outcome the kernel's test asserts — and cite its kernel test; the
 * README's table must name each file as matched, and every file it names must exist. Then the
 * mechanism must be able to fail: a case whose outcome is changed, or whose racing outcomes lose
 * one, is an `outcome` violation (exit 1) whose schedule replays to it.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, tidy, vmamirror } from '../helpers/cli.js';

const SUITE = join(ROOT, 'fidelity');
const FILES = readdirSync(SUITE)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const README = readFileSync(join(SUITE, 'README.md'), 'utf8');

interface Cell {
  variant: string;
  verdict: string;
  violation?: { property: string; message: string };
  schedule?: string;
  shrunk?: { schedule: string };
  expected?: { status: string };
}

function check(file: string): { code: number | null; cells: Cell[] } {
  const r = vmamirror(['check', file, '--json'], { timeoutMs: 120_000 });
  expect(tidy(r), r.stderr).toBe(true);
  return { code: r.code, cells: r.code === 2 ? [] : (JSON.parse(r.stdout) as Cell[]) };
}

/** The README's row for a case: its status and the files it links. */
function row(id: string): { status: string; files: string[] } | undefined {
  const line = README.split('\n').find((l) => l.startsWith(`| ${id} |`));
  if (!line) return undefined;
  const cells = line.split('|').map((c) => c.trim());
  return { status: cells[4], files: [...cells[3].matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]) };
}

describe('the fidelity suite', () => {
  it('has the cases the README says are matched or mismatched, and names the layer each other case needs', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(9);
    for (const f of FILES) expect(row(f.slice(0, 3))?.files, f).toContain(f);
    for (const line of README.split('\n').filter((l) => /^\| [HKM]\d\d \|/.test(l))) {
      const id = line.slice(2, 5);
      const r = row(id)!;
      expect(['matched', 'mismatched', 'needs a layer'], line).toContain(r.status);
      for (const f of r.files) expect(existsSync(join(SUITE, f)), `${id}: ${f}`).toBe(true);
      if (r.status === 'needs a layer') expect(line.split('|')[5].trim(), `${id} names the missing layer`).not.toBe('');
    }
    // The summary line counts the rows.
    const statuses = README.split('\n')
      .filter((l) => /^\| [HKM]\d\d \|/.test(l))
      .map((l) => row(l.slice(2, 5))!.status);
    const n = (st: string) => statuses.filter((x) => x === st).length;
    const mismatched = n('mismatched') ? `, ${n('mismatched')} mismatched` : '';
    expect(README).toContain(`${n('matched')} of ${statuses.length} matched${mismatched}, ${n('needs a layer')} ${n('needs a layer') === 1 ? 'needs' : 'need'} a layer.`);
  });

  for (const file of FILES) {
    it(`${file}: cites its kernel test and gives the outcome it asserts`, () => {
      const text = readFileSync(join(SUITE, file), 'utf8');
      const head = text.split('\n')[0];
      expect(head, 'the first line cites the case and its test file').toMatch(new RegExp(`^# ${file.slice(0, 3)} — tools/testing/selftests/\\S+\\.c[:,]? `));
      const data = parse(text) as { outcome?: unknown; outcomes?: unknown };
      expect(data.outcome ?? data.outcomes, 'an expected outcome').toBeDefined();
      const { code, cells } = check(`fidelity/${file}`);
      if (row(file.slice(0, 3))?.status === 'mismatched') {
        // The model's outcome differs, as the file's expect entry records: an outcome violation, as expected.
        expect(cells.map((c) => [c.violation?.property, c.expected?.status])).toEqual(cells.map(() => ['outcome', 'as expected']));
      } else expect(cells.map((c) => [c.variant, c.verdict, c.violation?.message])).toEqual(cells.map((c) => [c.variant, 'holds', undefined]));
      expect(code).toBe(0);
    });
  }
});

describe('a case the model does not match fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmamirror-fidelity-'));
  const variant = (file: string, edit: (text: string) => string) => {
    const path = join(dir, file);
    const text = readFileSync(join(SUITE, file), 'utf8');
    const changed = edit(text);
    expect(changed).not.toBe(text);
    writeFileSync(path, changed);
    return path;
  };

  it('an outcome the kernel does not give is an outcome violation whose schedule replays to it', () => {
    const path = variant('M01-cow-after-fork.yaml', (t) => t.replace('- { result: { actor: child, op: 1 }, value: 0x100 }', '- { result: { actor: child, op: 1 }, value: 0xff }'));
    const { code, cells } = check(path);
    expect(code).toBe(1);
    expect(cells[0].violation).toMatchObject({ property: 'outcome', message: 'not the expected outcome: result of child ops[1]: is 256 (0x100), expected 255 (0xff)' });
    const replay = vmamirror(['replay', cells[0].shrunk?.schedule ?? cells[0].schedule!, '--file', path]);
    expect(replay.stdout).toContain('VIOLATED outcome: not the expected outcome: result of child ops[1]');
  });

  it('a racing case that loses an allowed outcome reports the interleaving that reaches it', () => {
    const path = variant('K01-mprotect-ro-guest-write.yaml', (t) => t.replace(/ {2}- name: between\n(?: {4}.*\n)+/, ''));
    const { code, cells } = check(path);
    expect(code).toBe(1);
    expect(cells[0].violation?.property).toBe('outcome');
    expect(cells[0].violation?.message).toMatch(
      /^matches none of the 2 allowed outcomes \(before-both: result of vcpu ops\[0\]: is 1, expected -14 .*; after-both: result of vcpu ops\[1\]: is -14 .*, expected 2\)$/,
    );
  });

  it('an outcome listed but never reached fails without a schedule', () => {
    const path = variant('K01-mprotect-ro-guest-write.yaml', (t) => t.replace('exercises:', '  - name: lost-write\n    observe:\n      - { result: { actor: vcpu, op: 1 }, value: 0 }\nexercises:'));
    const { code, cells } = check(path);
    expect(code).toBe(1);
    expect(cells[0].violation).toMatchObject({ property: 'outcome', message: 'lost-write is reached by no interleaving' });
  });

  it('a mismatch recorded in the file (expect: verdict outcome) is as expected, exit 0', () => {
    const path = variant('M01-cow-after-fork.yaml', (t) =>
      t
        .replace('- { result: { actor: child, op: 1 }, value: 0x100 }', '- { result: { actor: child, op: 1 }, value: 0xff }')
        .replace('variants: [interval]', 'expect:\n  - { variant: interval, verdict: outcome, message: "result of child ops[1]" }'),
    );
    const { code, cells } = check(path);
    expect(cells.map((c) => [c.violation?.property, c.expected?.status])).toEqual([['outcome', 'as expected']]);
    expect(code).toBe(0);
  });

  it('dmirror without mmu_interval_read_retry fails the H cases that race an invalidation', () => {
    const path = variant('H10-anon-teardown.yaml', (t) => t.replace('driver: ../examples/drivers/dmirror.ts', `driver: ${join(ROOT, 'examples/drivers/dmirror-no-retry.ts')}`));
    const { code, cells } = check(path);
    expect(code).toBe(1);
    expect(cells.map((c) => [c.variant, c.violation?.property])).toEqual([['dmirror-no-retry', 'device-table']]);
  });
});
