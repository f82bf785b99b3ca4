/**
 * Kernel eras (`--era FILE`, a scenario expectation's `era:`; src/driver/era.ts) through the real
 * binary: an old kernel's version of one routine, written outside the package, replaces today's for
 * every caller. B-03's era (the v5.11 notifier core, which does not pair succeeded starts with their
 * end when a non-blockable start fails) is caught where today's core holds; its schedule replays;
 * every mistake in an era file is one line naming the file.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, vmamirror } from '../helpers/cli.js';

const DIR = join(ROOT, 'examples/races/B-03-nonblock-start-unpaired');
const SCENARIO = join(DIR, 'scenario.yaml');
const DRIVER = join(DIR, 'userptr-may-fail.ts');
const ERA = join(DIR, 'pre-2021-core.ts');
const tmp = mkdtempSync(join(tmpdir(), 'vmamirror-era-'));
const ONE_LINE = /^vmamirror: [^\n]*\n$/;

interface Cell {
  variant: string;
  verdict: string;
  violation?: { property: string; message: string };
  schedule?: string;
}

describe('--era: an old kernel routine replaces the current one for every caller', () => {
  it("today's core pairs the succeeded start with its end: holds; on the v5.11 core KVM's count stays raised; the schedule replays with --era", () => {
    const r = vmamirror(['check', SCENARIO, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cells = JSON.parse(r.stdout) as Cell[];
    expect(cells.map((c) => [c.variant, c.verdict])).toEqual([
      ['userptr-may-fail', 'holds'],
      ['userptr-may-fail@pre-2021-core', 'violation'],
    ]);
    expect(cells[1].violation).toMatchObject({ property: 'notifier-balance' });
    expect(cells[1].violation!.message).toMatch(/kvm\[kvm-source\].invalidateInProgress is 1/);
    // The counterexample runs the era's routine, by its own name, and replays with the file (which names the era).
    const schedule = cells[1].schedule!;
    const replay = vmamirror(['replay', schedule, '--file', SCENARIO]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/mmu_notifier_invalidate_range_start_v5_11:hlist/);
    expect(replay.stdout).not.toMatch(/mmu_notifier_invalidate_range_start:undo/);
    // On the command line: a built-in scenario name needs --era to know the design.
    const without = vmamirror(['replay', schedule.replace(/^[^/]+/, 'munmap')]);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/unknown variant "userptr-may-fail@pre-2021-core"|does not apply|unknown/);
  }, 60_000);

  it('an era a scenario file names that cannot be loaded is one line at its key', () => {
    const text = readFileSync(SCENARIO, 'utf8').replaceAll('./', `${DIR}/`).replace(`${DIR}/pre-2021-core.ts`, join(tmp, 'missing-era.ts'));
    const f = join(tmp, 'bad-era.yaml');
    writeFileSync(f, text);
    const r = vmamirror(['check', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(ONE_LINE);
    expect(r.stderr).toMatch(/bad-era\.yaml:\d+:\d+: expect\[1\]\.era: .*missing-era\.ts: no such file/);
  }, 60_000);

  it('list names the loaded driver with its file and the era with every routine it replaces, those of the era it builds on included', () => {
    const r = vmamirror(['list', '--driver', DRIVER, '--era', join(ROOT, 'examples/races/B-07-hmm-start-error-flows/v5.2-hmm.ts')]);
    expect(r.code).toBe(0);
    // The file as given (a long path is shortened for display, so only its start is certain).
    expect(r.stdout).toMatch(/Drivers \(--driver\):\n {2}userptr-may-fail +a classic notifier [^\n]*\(\//);
    expect(r.stdout).toMatch(/every design above runs as DESIGN@v5-2-hmm/);
    expect(r.stdout).toMatch(/replaces hmm_invalidate_range_start with hmm_invalidate_range_start_v5_2/);
    expect(r.stdout).toMatch(/replaces mmu_notifier_invalidate_range_start with mmu_notifier_invalidate_range_start_v5_11/);
  }, 60_000);

  it('applies to built-in designs too, named DESIGN@ERA, and is never the verdict table', () => {
    const r = vmamirror(['check', 'munmap', '--variant', 'interval', '--era', ERA, '--json']);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Cell[]).map((c) => [c.variant, c.verdict])).toEqual([['interval@pre-2021-core', 'holds']]);
  }, 60_000);

  it('a broken era file is one line naming the file: missing, not an era, replacing nothing, replacing an unknown routine', () => {
    const era = readFileSync(ERA, 'utf8');
    const write = (name: string, text: string) => {
      const f = join(tmp, name);
      writeFileSync(f, text);
      return f;
    };
    const cases: [string[], number, RegExp][] = [
      [['--era', join(tmp, 'none.ts')], 2, /--era .*none\.ts: no such file/],
      [['--era', write('no-export.ts', 'export const x = 1;\n')], 2, /--era .*no-export\.ts: exports no era; expected `export default defineEra/],
      [['--era', write('not-era.ts', "import { defineDriver } from 'vmamirror';\nexport default { name: 'x' };\n")], 2, /not-era\.ts: its default export is not an era/],
      [
        ['--era', write('replaces-nothing.ts', era.replace("lib.replace('mmu_notifier_invalidate_range_start', start);", ''))],
        2,
        /replaces-nothing\.ts: defineEra: era "pre-2021-core": library era-pre-2021-core replaces no routine/,
      ],
      [
        ['--era', write('unknown.ts', era.replace("lib.replace('mmu_notifier_invalidate_range_start', start);", "lib.replace('mmu_notifier_invalidate_range_begin', start);"))],
        4,
        /model error in era .*unknown\.ts: .*replaces routine mmu_notifier_invalidate_range_begin, which no library of this model defines/,
      ],
      [['--era', write('driver-policy.ts', era.replace("{ kind: 'kernel' }", "{ kind: 'driver', sources: ['x'] }"))], 2, /expected the citation policy \{ kind: 'kernel' \}/],
      // The cause is shown whole, not cut after 80 characters (it was: the policy's expected forms were lost).
      [
        [
          '--era',
          write(
            'bad-citation.ts',
            era.replace("at: 'mm/hmm.c:hmm_invalidate_range_start'", "at: 'x'").replace("at: 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start',", "at: 'the v5.11 hlist walk',"),
          ),
        ],
        2,
        /bad-citation\.ts: cannot load the module: .*"the v5\.11 hlist walk" is not a citation; expected `path\/file\.c:function \[detail\]` \(kernel code\), `hw: …` \(hardware\)$/m,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = vmamirror(['check', 'munmap', '--variant', 'interval', ...args]);
      expect(r.stderr, args.join(' ')).toMatch(ONE_LINE);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.code, args.join(' ')).toBe(code);
    }
  }, 120_000);
});
