/**
 * `vmamirror mutate` through the real binary: one line per mutant, a hint under each survivor, the
 * exit code the README gives (1 on a survivor without an accepted reason), JSON, and a caught
 * mutant's schedule that `replay --mutant` replays to its violation.
 */
import { describe, expect, it } from 'vitest';
import { tidy, vmamirror } from '../helpers/cli.js';

describe('vmamirror mutate', () => {
  it('exits 1 when scenarios leave a mutant alive, with a hint naming what a scenario needs', () => {
    const r = vmamirror(['mutate', 'munmap', 'exit']);
    expect(r.code, r.stderr).toBe(1);
    expect(tidy(r)).toBe(true);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('16 mutants of interval, judged on munmap, exit');
    // The callback without its lock writes the sequence unprotected: the runner reports the data race.
    expect(lines).toContainEqual(expect.stringMatching(/^drop-lock@mirror_invalidate:lock +drop-lock +caught +kernel-bug on munmap, shrunk to \d+ steps, 0 preemptions: munmap\/interval:/));
    expect(lines).toContainEqual(expect.stringMatching(/^drop-dontcopy@mirror_mmap:vma +drop-dontcopy +SURVIVED +on munmap, exit$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}hint: drop-dontcopy at mirror_mmap:vma: .* needs an introspector that forks/));
    expect(lines).toContainEqual(expect.stringMatching(/^swap-set-seq@mirror_invalidate:zap +swap-set-seq +accepted +survived on 2 scenarios, a valid design: /));
    expect(lines).toContainEqual(expect.stringMatching(/^drop-barrier@mirror_invalidate:zap +drop-barrier +not checkable +the model assumes sequential consistency/));
    expect(r.stdout).toMatch(/\n16 mutants: 10 caught, 2 survived, 1 accepted, 3 not checkable\n/);
  });

  it('prints JSON, and a caught schedule replays to its violation with --mutant', () => {
    const r = vmamirror(['mutate', 'mprotect', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as {
      design: string;
      judges: string[];
      mutants: { id: string; outcome: string; caught?: { property: string; shrunk: { schedule: string } } }[];
      summary: Record<string, number>;
    };
    expect(doc.design).toBe('interval');
    expect(doc.judges).toEqual(['mprotect']);
    const lock = doc.mutants.find((m) => m.id === 'drop-lock@mirror_invalidate:lock')!;
    expect(lock.outcome).toBe('caught');
    const schedule = lock.caught!.shrunk.schedule;
    const mutant = vmamirror(['replay', schedule, '--mutant', lock.id]);
    expect(mutant.code).toBe(1);
    expect(lock.caught!.property).toBe('kernel-bug');
    expect(mutant.stdout).toMatch(/KERNEL BUG: mirror_invalidate:zap writes intervalNotifier\[0\]\.seq \(protected by driver\) without holding driver: a data race/);
    // On the design itself the same schedule violates nothing.
    const design = vmamirror(['replay', schedule]);
    expect(design.code, design.stderr).toBe(0);
    expect(design.stdout).not.toMatch(/VIOLATED/);
  });

  it('exits 1 when the design holds on none of the scenarios, saying why each judges nothing', () => {
    const r = vmamirror(['mutate', 'exit', '--design', 'start-only']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'note: exit judges no mutant: it is violated there (refinement) for start-only itself\nstart-only is proved on none of the selected scenarios: no scenario can judge its mutants\n',
    );
  });

  it("exits 3 when a state limit stops the design's own check", () => {
    const r = vmamirror(['mutate', 'exit', '--max-states', '5']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^note: exit judges no mutant: its check did not finish \(max-states\) for interval itself\n/);
  });
});
