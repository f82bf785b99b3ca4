/**
 * `check --swarm --shard i/N` through the real binary, as a batch engine would run it: N local
 * processes, one per member, then `merge` of their JSON into one verdict per cell with coverage;
 * and every option a member decides itself, or a tampered member document, refused with one line.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmamirror, vmamirrorUntil } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-swarm-'));
const save = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const N = 5;
const member = (i: number) => vmamirrorUntil(['check', 'exit', '--variant', 'interval', 'start-only', '--swarm', '--shard', `${i}/${N}`, '--runs', '30', '--json']);

describe('a swarm of local processes', () => {
  it('members run their own searches; the merge proves the corrected design, catches the broken one, and says what was covered', { timeout: 120_000 }, async () => {
    const runs = await Promise.all(Array.from({ length: N }, (_, i) => member(i)));
    const files = runs.map((r, i) => save(`m${i}.json`, r.stdout));
    const kinds = runs.map((r) => (JSON.parse(r.stdout) as { member: { kind: string } }).member.kind);
    expect(kinds).toEqual(['bfs', 'dfs', 'pct', 'bounded', 'random']);
    const merged = vmamirror(['merge', ...files]);
    expect(merged.code).toBe(1);
    expect(merged.stdout).toMatch(
      /^exit\/interval: holds \(member 0 searched every state\)\n {2}swarm: 5 of 5 members; every schedule with at most 0 preemptions; largest search [\d,]+ states; 60 simulation runs$/m,
    );
    expect(merged.stdout).toMatch(/^exit\/start-only: violation \(member \d\) — refinement: .*\n {2}schedule: exit\/start-only:/m);
    // Without the breadth-first member, a complete depth-first one still proves it.
    const rest = vmamirror(['merge', ...files.slice(1), '--json']);
    const cells = JSON.parse(rest.stdout) as { variant: string; verdict: string; decidedBy?: number; coverage: { missingMembers: number[] } }[];
    expect(cells.map((c) => [c.variant, c.verdict, c.decidedBy])).toEqual([
      ['interval', 'holds', 1],
      ['start-only', 'violation', expect.any(Number)],
    ]);
    expect(cells[0].coverage.missingMembers).toEqual([0]);
    // Only simulations and a bound: nothing proved.
    const open = vmamirror(['merge', files[2], files[3], files[4]]);
    expect(open.stdout).toMatch(/^exit\/interval: incomplete\n/m);
    expect(open.stdout).toMatch(/incomplete: 1 of 2 checks did not finish \(1 with members missing\)/);
    // A tampered member: another search than its index's, or a counterexample that does not replay.
    const doc = JSON.parse(runs[1].stdout) as { member: unknown; cells: { schedule?: string; violation?: { schedule: number[] } }[] };
    const forged = save('forged.json', JSON.stringify({ ...doc, member: { kind: 'bfs' } }));
    const bad = vmamirror(['merge', files[0], forged]);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, expect.stringMatching(/forged\.json.*member 1 of a swarm with seed 1 runs depth-first, actor order seed \d+$/)]);
    const bounded = JSON.parse(runs[3].stdout) as { cells: { complete: boolean; verdict: string }[] };
    bounded.cells[0] = { ...bounded.cells[0], complete: true, verdict: 'holds' };
    const claims = vmamirror(['merge', files[0], save('claims.json', JSON.stringify(bounded))]);
    expect([claims.code, claims.stderr.trim()]).toEqual([2, expect.stringMatching(/claims\.json.*complete: a bounded member does not search every state$/)]);
    const caught = doc.cells.find((c) => c.violation)!;
    caught.violation!.schedule = [0];
    caught.schedule = 'exit/start-only:0';
    const wrongTrace = vmamirror(['merge', files[0], save('replay.json', JSON.stringify(doc))]);
    expect(wrongTrace.code).toBe(2);
    expect(wrongTrace.stderr).toMatch(/replay\.json.*schedule/);
    const mixed = vmamirror(['merge', files[0], save('sim.json', vmamirror(['check', 'exit', '--variant', 'interval', '--simulate', '--runs', '5', '--shard', '0/1', '--json']).stdout)]);
    expect([mixed.code, mixed.stderr.trim()]).toEqual([2, 'vmamirror: cannot merge swarm shards with simulation shards']);
  });

  it('refuses a member without --shard, and every option the member decides itself', () => {
    const noShard = vmamirror(['check', 'exit', '--swarm']);
    expect([noShard.code, noShard.stderr.trim()]).toEqual([2, 'vmamirror: --swarm needs --shard i/N: which member of a swarm of N this process is']);
    for (const [flag, ...rest] of [['--dfs'], ['--preemptions', '1'], ['--simulate'], ['--depth', '2'], ['--workers', '2'], ['--html', 'x.html']]) {
      const r = vmamirror(['check', 'exit', '--swarm', '--shard', '0/2', flag, ...rest]);
      expect([r.code, r.stderr.trim()]).toEqual([2, `vmamirror: ${flag} does not apply to --swarm: each member's search is chosen by its shard index (README "Swarm")`]);
    }
  });
});
