/**
 * A fair-termination check that --max-memory leaves no room for, through the binary: under
 * --symmetry the check multiplies the region graph by the actor permutations after the search
 * (src/engine/termination.ts `multiply`), within what the limit leaves. With a limit the search
 * fits under but the product does not, the search still holds, and both outputs say the
 * termination check was not made and why — the product's size, beyond the memory limit.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, vmamirror } from '../helpers/cli.js';

const SCENARIO = join(ROOT, 'test/cli/fixtures/four-readers.yaml');
const MiB = 2 ** 20;
const REASON = /^the region graph \((\d+) states, (\d+) edges\) times the 24 permutations of the actor groups would take (\d+) MiB, beyond the memory limit$/;

describe('--symmetry --max-memory: the fair-termination product refused for room', () => {
  it('holds, and the text and --json outputs say termination was not checked and why; without the limit it is checked', { timeout: 180_000 }, () => {
    const check = (...more: string[]) => vmamirror(['check', SCENARIO, '--symmetry', ...more], { timeoutMs: 120_000 });
    const free = check('--json');
    expect(free.code, free.stderr).toBe(0);
    const [whole] = JSON.parse(free.stdout);
    expect(whole).toMatchObject({ verdict: 'holds', actorSymmetry: { groups: [['r1', 'r2', 'r3', 'r4']], fairTermination: 'checked' } });
    // The peak without a limit includes the product's tables (about 142 MiB, made after the
    // search); 64 MiB under it the search still fits, the product does not.
    const limit = whole.peakRss - 64 * MiB;

    const json = check('--json', '--max-memory', String(limit));
    expect(json.code, json.stderr).toBe(0);
    const [r] = JSON.parse(json.stdout);
    expect(r).toMatchObject({ verdict: 'holds', states: whole.states, actorSymmetry: { groups: [['r1', 'r2', 'r3', 'r4']], fairTermination: 'not checked', reason: expect.stringMatching(REASON) } });
    // What it would take is more than was left: at least the limit less the peak.
    const [, , , mib] = REASON.exec(r.actorSymmetry.reason)!;
    expect(Number(mib) * MiB).toBeGreaterThan(limit - r.peakRss);

    const text = check('--max-memory', String(limit));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^four-readers/interval: holds — ${whole.states} states`));
    const line = text.stdout.split('\n').find((l) => l.includes('actor symmetry:'));
    expect(line).toBe(`  actor symmetry: r1, r2, r3, r4 interchangeable; the fair-termination check is not made: ${r.actorSymmetry.reason} (check without --symmetry for it)`);
  });
});
