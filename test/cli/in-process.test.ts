/**
 * The command's paths in-process (`main` with a stop flag the test raises): the same contract as
 * the child-process tests, here for what they cannot show (coverage, a stop at an exact point)
 * and quickly.
 */
import { describe, expect, it } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { main, EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_VIOLATION } from '../../src/cli/main.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { runSchedule } from '../../src/world/runner.js';
import { dump } from '../../src/world/describe.js';

const io = captureOutput();

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-inproc-'));
/** A stop flag raised after `n` polls. */
const stopAfter = (n: number) => {
  let polls = 0;
  return () => ++polls > n;
};

describe('a stop request, in-process', () => {
  it('stops the running cell where it is and every later cell at its first state', () => {
    expect(main(['check', 'introspect', 'cow', '--variant', 'interval'], { shouldStop: stopAfter(2000) })).toBe(EXIT_INCOMPLETE);
    const text = io.out.join('\n');
    expect(text).toMatch(/^introspect\/interval: incomplete \(interrupted\) — \d+ states/);
    expect(text).toMatch(
      /incomplete: 2 of 2 checks did not finish \(2 interrupted\): introspect\/interval, cow\/interval; nothing is proved for them( beyond the runs each covered \(`covered:`\))? \(1 of them not started\)$/,
    );
  });

  it('stops a simulation between runs', () => {
    expect(main(['check', 'exit', '--variant', 'interval', '--simulate', '--runs', '100000'], { shouldStop: stopAfter(50) })).toBe(EXIT_INCOMPLETE);
    expect(io.out[0]).toMatch(/^exit\/interval: incomplete \(interrupted\) — \d+ of 100000 random runs/);
  });

  it('stops a shard, which still writes its document', () => {
    expect(main(['check', 'munmap', '--shard', '0/2', '--json'], { shouldStop: () => true })).toBe(EXIT_INCOMPLETE);
    const doc = JSON.parse(io.out.join('\n')) as { kind: string; cells: { stopReason: string }[] };
    expect(doc.kind).toBe('catalogue');
    expect(doc.cells.every((c) => c.stopReason === 'interrupted')).toBe(true);
    expect(io.err.join('')).toMatch(/^vmamirror: incomplete: /);
  });
});

describe('check, in-process', () => {
  it('a shard of a selection exits 1 on a violation, as the selection does', () => {
    expect(main(['check', 'exit', '--shard', '0/1'])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/^exit\/interval: holds/m);
  });

  it('simulates with PCT and prints the violation', () => {
    expect(main(['check', 'exit', '--variant', 'start-only', '--simulate', 'pct', '--runs', '200', '--seed', '2'])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/^exit\/start-only: violation — \d+ of 200 pct runs.*\n {2}\S+: .*\n {2}schedule: exit\/start-only:/);
  });

  it('simulates to JSON with traces, and as a shard without', () => {
    expect(main(['check', 'exit', '--variant', 'start-only', '--simulate', '--runs', '300', '--json'])).toBe(EXIT_VIOLATION);
    expect((JSON.parse(io.out.join('\n')) as { trace?: unknown }[])[0].trace).toBeDefined();
    io.out = [];
    expect(main(['check', 'exit', '--variant', 'interval', '--simulate', '--runs', '10', '--shard', '1/2', '--json'])).toBe(EXIT_HOLDS);
    expect((JSON.parse(io.out.join('\n')) as { runs: number }[])[0].runs).toBe(5);
  });

  it('refuses what it cannot use, with one line', () => {
    for (const args of [
      ['check', 'exit', '--variant', 'nosuch'],
      ['check', 'exit', 'exit'],
      ['check', '-', '-'],
      ['check', 'exit', '--runs', '3'],
      ['check', 'exit', '--simulate', '--dfs'],
      ['check', 'exit', '--simulate', '--no-shrink'],
      ['check', 'exit', '--simulate', 'nosuch'],
      ['check', 'exit', '--dfs', '--bfs'],
      ['check', 'exit', '--shard', '9/10'],
      ['check', 'exit', '--simulate', '--runs', '1', '--shard', '1/2'],
      ['check', 'exit', '--html', join(dir, 'none', 'r.html')],
      ['check', 'exit', '--junit', dir],
      ['check', 'exit', '--html', ''],
      ['check', 'exit', '--shard', '0/2', '--junit', join(dir, 'j.xml')],
      ['explain', 'nosuch'],
      ['replay', 'exit/nosuch:0'],
      ['replay', 'nosuch/interval:0'],
      ['check', '--max-memory', '0'],
      ['check', '--shard', '0/99999999999999999999'],
    ]) {
      io.err = [];
      expect(main(args), args.join(' ')).toBe(EXIT_USAGE);
      expect(io.err.join(''), args.join(' ')).toMatch(/^vmamirror: [^\n]*\n$/);
    }
  });

  it('writes JUnit and HTML after the run, and names the HTML report', () => {
    const html = join(dir, 'r.html');
    expect(main(['check', 'exit', '--variant', 'start-only', '--html', html, '--junit', join(dir, 'j.xml')])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/HTML report of exit\/start-only: /);
  });
});

describe('merge, in-process', () => {
  const shardFiles = (args: string[], n: number) =>
    [...Array(n).keys()].map((i) => {
      io.out = [];
      main([...args, '--shard', `${i}/${n}`, '--json']);
      const f = join(dir, `${args.join('-').replace(/\W+/g, '_')}-${i}.json`);
      writeFileSync(f, io.out.join('\n'));
      return f;
    });

  it('catalogue shards: the table of the check, its exit code; missing shards: 3', () => {
    const files = shardFiles(['check', 'exit', 'munmap'], 3);
    io.out = [];
    expect(main(['merge', ...files])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/^scenario\s+interval/);
    io.out = [];
    expect(main(['merge', ...files, '--json'])).toBe(EXIT_VIOLATION);
    expect((JSON.parse(io.out.join('\n')) as { results: unknown[] }).results).toHaveLength(12);
    io.out = [];
    expect(main(['merge', files[0]])).toBe(EXIT_VIOLATION); // the violation it holds is definite
    const safe = shardFiles(['check', 'exit', '--variant', 'interval', 'raw-clear'], 2);
    io.out = [];
    expect(main(['merge', safe[0]])).toBe(EXIT_INCOMPLETE);
    expect(io.out.join('\n')).toMatch(/incomplete: 1 of 2 cells are in no shard given \(missing shards: 1\)/);
  });

  it('a swarm: each member its own search, lines or JSON; the merge proves, catches and says what was covered; a tampered member is refused', () => {
    const args = ['check', 'exit', '--variant', 'interval', 'start-only', '--swarm', '--runs', '20'];
    const files = shardFiles(args, 5);
    io.out = [];
    expect(main(['check', 'exit', '--variant', 'interval', '--swarm', '--shard', '3/5'])).toBe(EXIT_INCOMPLETE);
    expect(io.out.join('\n')).toMatch(
      /^swarm member 3\/5 \(seed 1\): breadth-first, at most 0 preemptions\nexit\/interval: incomplete \(\d+ states, every schedule with at most 0 preemptions, [\d.]+ s\)/,
    );
    io.out = [];
    expect(main(['merge', ...files])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/^exit\/interval: holds \(member 0 searched every state\)$/m);
    expect(io.out.join('\n')).toMatch(/^exit\/start-only: violation \(member \d\) — refinement/m);
    io.out = [];
    expect(main(['merge', files[2], files[4], '--json'])).toBe(EXIT_VIOLATION);
    const cells = JSON.parse(io.out.join('\n')) as { verdict: string; coverage: { runs: number; missingMembers: number[] } }[];
    expect(cells.map((c) => [c.verdict, c.coverage.runs, c.coverage.missingMembers])).toEqual([
      ['incomplete', 40, [0, 1, 3]],
      ['violation', expect.any(Number), [0, 1, 3]],
    ]);
    for (const [change, message] of [
      [(d: Record<string, unknown>) => ({ ...d, member: { kind: 'bfs' } }), /member 4 of a swarm with seed 1 runs random walks, seed \d+$/],
      [(d: Record<string, unknown>) => ({ ...d, cells: [] }), /cells: expected a non-empty list of cell results$/],
      [(d: Record<string, unknown>) => ({ ...d, cells: [{ ...(d.cells as object[])[0], verdict: 'holds' }] }), /verdict: a simulation member cannot say holds$/],
      [(d: Record<string, unknown>) => ({ ...d, cells: [{ ...(d.cells as object[])[0], complete: 'yes' }] }), /complete: expected true or false$/],
      [(d: Record<string, unknown>) => ({ ...d, cells: [(d.cells as object[])[0], (d.cells as object[])[0]] }), /exit\/interval appears twice$/],
    ] as const) {
      const doc = JSON.parse(readFileSync(files[4], 'utf8')) as Record<string, unknown>;
      const bad = join(dir, 'bad-member.json');
      writeFileSync(bad, JSON.stringify(change(doc)));
      io.err = [];
      expect(main(['merge', files[0], bad])).toBe(EXIT_USAGE);
      expect(io.err.join('').trim()).toMatch(message);
    }
    io.err = [];
    expect(main(['merge', files[0], files[0]])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/swarm member 0\/5 given twice/);
    io.err = [];
    expect(main(['check', 'exit', '--swarm'])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/--swarm needs --shard i\/N/);
  });

  it('simulation shards: merged per cell, JSON too', () => {
    const files = shardFiles(['check', 'exit', '--variant', 'interval', 'start-only', '--simulate', '--runs', '60'], 2);
    io.out = [];
    expect(main(['merge', ...files])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/^exit\/start-only: violation — .*\n {2}schedule: exit\/start-only:/m);
    io.out = [];
    expect(main(['merge', files[0], '--json'])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/"missingShards": \[\n\s+1\n\s+\]/);
    const cut = shardFiles(['check', 'exit', '--variant', 'interval', '--simulate', '--runs', '4', '--max-steps', '2'], 2);
    io.out = [];
    expect(main(['merge', ...cut])).toBe(EXIT_INCOMPLETE);
    expect(io.out.join('\n')).toMatch(/1 every run cut off at --max-steps/);
  });

  it('refuses inconsistent input with one line', () => {
    const [a, b] = shardFiles(['check', 'exit', '--variant', 'interval', 'raw-clear'], 2);
    const sim = shardFiles(['check', 'exit', '--variant', 'interval', '--simulate', '--runs', '4'], 2);
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    for (const files of [
      [a, a],
      [a, sim[0]],
      [write('e.json', '[]')],
      [write('x.json', '{')],
      [write('k.json', '{"kind": "other"}')],
      [write('s.json', JSON.stringify([{ kind: 'simulate' }]))],
      [write('n.json', '7')],
      [join(dir, 'none.json')],
      [dir],
      [sim[0], sim[0]],
      [
        b,
        write(
          'cs.json',
          JSON.stringify({ ...JSON.parse('{"kind":"catalogue","shard":{"index":0,"count":2},"cellsTotal":2,"cellNames":["exit/interval","exit/raw-clear"],"table":"yes","cells":[]}') }),
        ),
      ],
    ]) {
      io.err = [];
      expect(main(['merge', ...files]), files.join(' ')).toBe(EXIT_USAGE);
      expect(io.err.join(''), files.join(' ')).toMatch(/^vmamirror: [^\n]*\n$/);
    }
  });
});

describe('the stop flag and the signal handlers', () => {
  it('the first signal raises the flag, a later one calls `again`; removing the handlers removes them', async () => {
    const { StopFlag, onStopSignals, STOP_SIGNALS } = await import('../../src/cli/signals.js');
    // Not the process itself: its other listeners (the test runner's) must not hear these.
    const source = new EventEmitter();
    const flag = new StopFlag();
    const again: string[] = [];
    const off = onStopSignals(
      (s) => flag.raise(STOP_SIGNALS[s]),
      (s) => again.push(s),
      source,
    );
    expect(flag.raised).toBe(false);
    source.emit('SIGTERM', 'SIGTERM');
    expect(flag.raised).toBe(true);
    expect(Atomics.load(new StopFlag(flag.buffer).cells, 0)).toBe(15); // shared: another view sees it
    source.emit('SIGINT', 'SIGINT');
    expect(again).toEqual(['SIGINT']);
    off();
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });
});

describe('explain, in-process', () => {
  it('prints a design, or a kernel routine', () => {
    expect(main(['explain', 'interval'])).toBe(EXIT_HOLDS);
    expect(main(['explain', 'handle_mm_fault'])).toBe(EXIT_HOLDS);
    expect(io.out.length).toBe(2);
  });
});

describe('mutate, in-process', () => {
  it('prints one line per mutant, a hint under each survivor and a summary; exits 1 on a survivor', () => {
    expect(main(['mutate', 'exit'])).toBe(EXIT_VIOLATION);
    const text = io.out.join('\n');
    // Fewer sites than on the whole catalogue: exit never refuses the fault's trylock of the
    // source's mmap_lock (no drop-unlock there, and no unprotected lock test for drop-barrier).
    expect(io.out[0]).toBe('14 mutants of interval, judged on exit');
    expect(text).toMatch(
      /^install-writable@mirror_install_pfn:insert +install-writable +SURVIVED +on exit\n {2}hint: install-writable at mirror_install_pfn:insert: its site is reached on exit; a scenario that exposes it needs a source page mapped read-only/m,
    );
    expect(text).toMatch(/^swap-set-seq@mirror_invalidate:zap +swap-set-seq +accepted +survived on 1 scenario, a valid design: tearing the mirror down/m);
    expect(text).toMatch(/\n\n14 mutants: \d+ caught, \d+ survived, 1 accepted, 2 not checkable\nreplay a counterexample with: vmamirror replay SCHEDULE --mutant ID$/);
  });

  it('a stop before the design is proved anywhere leaves nothing judged: exit 3, said on stdout, or on stderr with --json', () => {
    expect(main(['mutate', 'exit'], { shouldStop: () => true })).toBe(EXIT_INCOMPLETE);
    expect(io.out).toEqual([
      'note: exit judges no mutant: its check did not finish (interrupted) for interval itself',
      'interval is proved on none of the selected scenarios: no scenario can judge its mutants',
      'incomplete: interrupted; the mutants not yet decided are incomplete',
    ]);
    io.out = [];
    expect(main(['mutate', 'exit', '--json'], { shouldStop: () => true })).toBe(EXIT_INCOMPLETE);
    const doc = JSON.parse(io.out.join('\n')) as { judges: string[]; excluded: { verdict: string }[]; mutants: unknown[]; summary: Record<string, number> };
    expect(doc.judges).toEqual([]);
    expect(doc.excluded).toEqual([{ scenario: 'exit', verdict: 'incomplete', stopReason: 'interrupted' }]);
    expect(doc.mutants).toEqual([]);
    expect(io.err.join('')).toBe('vmamirror: incomplete: interrupted; the mutants not yet decided are incomplete\n');
  });

  it('refuses an unknown design and a scenario given twice', () => {
    expect(main(['mutate', '--design', 'nosuch'])).toBe(EXIT_USAGE);
    expect(main(['mutate', 'exit', 'exit'])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/unknown design "nosuch"[^\n]*\n.*scenario "exit" is given twice/s);
  });

  it('replays a schedule on a mutant', () => {
    expect(main(['replay', 'mprotect/interval:1*14.0*28.1', '--mutant', 'drop-lock@mirror_invalidate:lock'])).toBe(EXIT_VIOLATION);
    // The callback without its lock: the runner reports the unlocked set_seq, before the race it opens.
    expect(io.out.join('\n')).toMatch(/KERNEL BUG: mirror_invalidate:zap writes intervalNotifier\[0\]\.seq \(protected by driver\) without holding driver: a data race/);
  });

  it('dumps the whole state after a step of the trace, and refuses a step the trace does not have', () => {
    expect(main(['replay', 'munmap/start-only:0*3', '--dump', '2'])).toBe(EXIT_HOLDS);
    const out = io.out.join('\n');
    const at = out.indexOf('\nThe whole state after step 2:\n');
    expect(at).toBeGreaterThan(0);
    const state = JSON.parse(out.slice(at + '\nThe whole state after step 2:\n'.length)) as unknown;
    // Exactly the state three steps of that schedule reach.
    const { world } = buildScenario(scenarioByName('munmap')!, variantByName('start-only')!);
    runSchedule(world, [0, 0, 0]);
    expect(state).toEqual(JSON.parse(JSON.stringify(dump(world))));
    io.out.length = 0;
    expect(main(['replay', 'munmap/start-only:0*3', '--dump', '3'])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/--dump 3: the trace has 3 steps, numbered 0 to 2/);
    expect(io.out).toEqual([]);
  });
});
