/**
 * `merge` through the real binary: shards of a check merge into the check's verdict and exit code
 * (the whole table too: its shards and their merge exit 0 where `check` does), and every
 * inconsistent or malformed input is exit 2 with one line naming the file.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, tidy, vmamirror, vmamirrorUntil } from '../helpers/cli.js';
import { MEASURED_COUNTS, shardOfCells } from '../../src/check/costs.js';

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-merge-'));
type Doc = { cellNames: string[]; cells: Record<string, unknown>[]; shard: { index: number; count: number } } & Record<string, unknown>;
const save = (name: string, doc: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return f;
};
const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('merge gives the exit code of the equivalent check', () => {
  it('shards of a selection: the same verdicts and exit code as the unsharded check', async () => {
    const sel = ['munmap', 'mprotect'];
    const whole = vmamirror(['check', ...sel, '--json']);
    const shards = await Promise.all([0, 1, 2].map((i) => vmamirrorUntil(['check', ...sel, '--shard', `${i}/3`, '--json'])));
    const files = shards.map((s, i) => save(`sel${i}.json`, s.stdout));
    const merged = vmamirror(['merge', ...files, '--json']);
    expect(whole.code).toBe(1); // the broken designs are caught; outside the table that is a violation
    expect(merged.code).toBe(whole.code);
    const key = (rs: { scenario: string; variant: string; verdict: string; states: number; schedule?: string }[]) =>
      rs.map((r) => `${r.scenario}/${r.variant} ${r.verdict} ${r.states} ${r.schedule ?? ''}`);
    expect(key((JSON.parse(merged.stdout) as { results: Parameters<typeof key>[0] }).results)).toEqual(key(JSON.parse(whole.stdout) as Parameters<typeof key>[0]));
  });

  it('shards of the whole table exit 0, and so does their merge, as `check` does', { timeout: 120_000 }, async () => {
    // Shards 1-3 run for real; shard 0 is introspect-nested/interval alone (half a minute), given as measured.
    const runs = await Promise.all([1, 2, 3].map((i) => vmamirrorUntil(['check', '--shard', `${i}/4`, '--json'])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const docs = runs.map((r) => JSON.parse(r.stdout) as Doc);
    const names = docs[0].cellNames;
    const of = shardOfCells(names, 4);
    const big = names.indexOf('introspect-nested/interval');
    expect(of.filter((s) => s === 0)).toHaveLength(1);
    expect(of[big]).toBe(0);
    const [states, transitions] = MEASURED_COUNTS['introspect-nested/interval'];
    const shard0 = {
      ...docs[0],
      shard: { index: 0, count: 4 },
      cells: [
        {
          verdict: 'holds',
          states,
          transitions,
          depth: 139,
          elapsedMs: 26000,
          bytesPerState: 10.7,
          peakBytes: 358e6,
          peakRss: 437e6,
          rssGrowth: 380e6,
          scenario: 'introspect-nested',
          variant: 'interval',
          cell: big,
        },
      ],
    };
    const files = [save('t0.json', shard0), ...docs.map((d, i) => save(`t${i + 1}.json`, d))];
    const merged = vmamirror(['merge', ...files]);
    expect(merged.code, merged.stdout).toBe(0);
    expect(merged.stdout).not.toMatch(/UNEXPECTED|missing/);
    expect(merged.stdout).toMatch(/^54 checks, /m);
    const partial = vmamirror(['merge', ...files.slice(0, 3)]);
    expect(partial.code).toBe(3);
    expect(partial.stdout).toMatch(/^incomplete: \d+ of 54 cells are in no shard given \(missing shards: 3\)$/m);
  });

  it('simulation shards: the violation of the unsharded run, exit 1', async () => {
    const args = ['check', 'exit', '--variant', 'interval', 'start-only', '--simulate', '--runs', '40', '--seed', '3'];
    const whole = vmamirror(args);
    const shards = await Promise.all([0, 1].map((i) => vmamirrorUntil([...args, '--shard', `${i}/2`, '--json'])));
    const merged = vmamirror(['merge', save('sim0.json', shards[0].stdout), save('sim1.json', shards[1].stdout)]);
    expect(merged.code).toBe(whole.code);
    expect(merged.code).toBe(1);
    expect(merged.stdout).toMatch(/^exit\/interval: no-violation-found$/m);
    expect(merged.stdout).toMatch(/^exit\/start-only: violation — /m);
  });

  it("shards of a driver's check merge with the same --driver; without it the design is unknown and the line says what to give", async () => {
    const driver = join(ROOT, 'examples/drivers/forgets-update-lock.ts');
    const args = ['check', 'introspect', 'exit', '--driver', driver];
    const whole = vmamirror(args);
    const shards = await Promise.all([0, 1].map((i) => vmamirrorUntil([...args, '--shard', `${i}/2`, '--json'])));
    const files = shards.map((s, i) => save(`drv${i}.json`, s.stdout));
    const merged = vmamirror(['merge', ...files, '--driver', driver]);
    expect(merged.code).toBe(whole.code);
    expect(merged.stdout).toMatch(/^introspect +✗ kernel-bug$/m);
    const bare = vmamirror(['merge', ...files]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(
      /^vmamirror: .*drv0\.json\.cells\[0\]\.variant: unknown variant forgets-update-lock: a driver's design\? give its module with --driver \(or its scenario file with --file\), as the shards were checked\n$/,
    );
  });

  it("shards of a scenario file that names drivers: merge --file loads them and judges the file's expectations as check does", async () => {
    const file = join(ROOT, 'examples/races/B-13-amdgpu-userptr-retry/scenario.yaml');
    const whole = vmamirror(['check', file]);
    const shards = await Promise.all([0, 1].map((i) => vmamirrorUntil(['check', file, '--shard', `${i}/2`, '--json'])));
    // A shard judges nothing (it sees some cells): the buggy drivers' violations make it exit 1.
    expect(shards.map((s) => s.code)).toContain(1);
    const files = shards.map((s, i) => save(`b13-${i}.json`, s.stdout));
    const merged = vmamirror(['merge', ...files, '--file', file]);
    expect(whole.code).toBe(0);
    expect(merged.code).toBe(0);
    expect(merged.stdout.match(/^as expected: b13-userptr-vs-munmap\//gm)).toHaveLength(3);
    // Expectations decide: a file whose expectation the merged verdict contradicts fails the merge.
    const wrong = save(
      'b13-wrong.yaml',
      readFileSync(file, 'utf8')
        .replace(/(driver: \.\/fixed\.ts\n\s+verdict:) holds/, '$1 refinement')
        .replaceAll('./', `${dirname(file)}/`),
    );
    const contradicted = vmamirror(['merge', ...files, '--file', wrong]);
    expect(contradicted.stdout).toMatch(/^UNEXPECTED: b13-userptr-vs-munmap\/b13-fixed .*expected refinement, found holds$/m);
    expect(contradicted.code).toBe(1);
  });
});

describe('merge refuses inconsistent input with one line', () => {
  let good: Doc[];
  let files: string[];
  let sims: unknown[][];
  beforeAll(async () => {
    const runs = await Promise.all([0, 1].map((i) => vmamirrorUntil(['check', 'exit', 'munmap', '--shard', `${i}/2`, '--json'])));
    good = runs.map((r) => JSON.parse(r.stdout) as Doc);
    files = good.map((d, i) => save(`good${i}.json`, d));
    const sim = await vmamirrorUntil(['check', 'exit', '--variant', 'start-only', '--simulate', '--runs', '10', '--shard', '0/2', '--json']);
    sims = [JSON.parse(sim.stdout) as unknown[]];
  }, 60_000);

  const violating = (d: Doc) => d.cells.find((c) => c.verdict === 'violation')!;
  const mutations: [string, (d: Doc) => unknown, RegExp][] = [
    [
      'a verdict that is not one',
      (d) => {
        d.cells[0].verdict = 'maybe';
        return d;
      },
      /cells\[0\]\.verdict: expected one of holds, violation, incomplete, got "maybe"/,
    ],
    [
      'a negative count',
      (d) => {
        d.cells[0].states = -3;
        return d;
      },
      /cells\[0\]\.states: expected an integer >= 0, got -3/,
    ],
    [
      'a count that is not a number',
      (d) => {
        d.cells[0].transitions = '12';
        return d;
      },
      /cells\[0\]\.transitions: expected an integer >= 0, got "12"/,
    ],
    [
      'a time that is not finite',
      (d) => {
        d.cells[0].elapsedMs = null;
        return d;
      },
      /cells\[0\]\.elapsedMs: expected a non-negative number/,
    ],
    [
      'a cell of another shard',
      (d) => {
        d.cells[0].cell = d.cells[0].cell === 0 ? 1 : 0;
        return d;
      },
      /cells\[0\]: cell \d+ is \S+ in the split, not|not its own/,
    ],
    [
      'a cell beyond the split',
      (d) => {
        d.cells[0].cell = 99;
        return d;
      },
      /cells\[0\]\.cell: cell 99 is beyond the 12 cells of the split/,
    ],
    [
      'a cell twice',
      (d) => {
        d.cells.push(d.cells[0]);
        return d;
      },
      /cell \d+ is reported twice/,
    ],
    [
      'an unknown variant',
      (d) => {
        d.cells[0].variant = 'nosuch';
        return d;
      },
      /cells\[0\]\.variant: unknown variant nosuch/,
    ],
    [
      'a split size that differs',
      (d) => {
        d.shard.count = 3;
        return d;
      },
      /shard 1\/2 does not belong to a split into 3/,
    ],
    [
      'cell names that differ',
      (d) => {
        d.cellNames[0] = 'exit/other';
        return d;
      },
      /shard 1\/2 split other cells than shard 0\/2/,
    ],
    [
      'a schedule that does not replay to its violation',
      (d) => {
        violating(d).schedule = String(violating(d).schedule).replace(/:.*/, ':0');
        (violating(d).violation as { schedule: number[] }).schedule = [0];
        return d;
      },
      /schedule: does not replay to a \S+ violation \(replayed: no violation\)/,
    ],
    [
      'a schedule that differs from its steps',
      (d) => {
        (violating(d).violation as { schedule: number[] }).schedule = [0, 0];
        return d;
      },
      /schedule: differs from violation\.schedule/,
    ],
    [
      'a violation without a counterexample',
      (d) => {
        delete violating(d).violation;
        return d;
      },
      /violation: expected an object/,
    ],
    [
      'a stop reason that is not one',
      (d) => {
        d.cells[0].verdict = 'incomplete';
        d.cells[0].stopReason = 'bored';
        return d;
      },
      /stopReason: expected one of/,
    ],
    ['not a shard', () => ({ kind: 'table' }), /not a shard result/],
    ['not JSON', () => 'not json {', /not a shard result \(Unexpected token/],
    ['binary', () => Buffer.from([0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x00, 0xff, 0xfe]).toString('latin1'), /not a shard result/],
  ];
  for (const [what, mutate, message] of mutations) {
    it(what, () => {
      const bad = mutate(copy(good[0]));
      const f = save(`bad-${what.replace(/\W+/g, '-')}.json`, bad);
      const r = vmamirror(['merge', f, files[1]]);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(/^vmamirror: [^\n]*\n$/);
      expect(r.stderr).toMatch(message);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters in the output is the test
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
      expect(tidy(r)).toBe(true);
    });
  }

  it('a shard twice, a folder, a missing file, mixed kinds, a simulation with more runs than requested', () => {
    const sim = copy(sims[0]) as Record<string, unknown>[];
    sim[0].runs = 99;
    for (const [args, message] of [
      [[files[0], files[0]], /shard 0\/2 given twice/],
      [[dir], /not a regular file/],
      [[join(dir, 'nosuch.json')], /nosuch\.json: no such file/],
      [[files[0], save('sim.json', sims[0])], /cannot merge catalogue shards with simulation shards/],
      [[save('sim-bad.json', sim)], /\[0\]\.runs: more runs done \(99\) than requested \(5\)/],
    ] as [string[], RegExp][]) {
      const r = vmamirror(['merge', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^vmamirror: [^\n]*\n$/);
      expect(r.stderr).toMatch(message);
    }
  });
});
