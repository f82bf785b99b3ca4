/**
 * The counter abstraction (src/engine/counters.ts): the canonical renaming keeps what the code can
 * observe (order, parity, 0, values one apart); a search with it interns exactly the concrete
 * search's states renamed (the visible states agree, the count only shrinks) and gives the same
 * verdicts; a retry loop that comes back with a new generation or sequence now ends; a value no
 * allowed operation makes is reported; a race that depends on the concrete value keeps its domain
 * concrete.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../src/world/registry.js';
import { DATA_START, defineCounterDomain, defineStruct } from '../../src/world/layout.js';
import type { World } from '../../src/world/world.js';
import { fullHash } from '../../src/world/hash.js';
import { explore } from '../../src/engine/exhaustive.js';
import { CounterCanon } from '../../src/engine/counters.js';
import { withChangedOf } from '../helpers/changed-of.js';
import { replayRepaired } from '../../src/engine/replay.js';
import { checkOne } from '../../src/check/run.js';
import { CATALOGUE, scenarioByName } from '../../src/scenario/catalogue.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { buildScenario } from '../../src/scenario/build.js';
import dmirrorDriver from '../../examples/drivers/dmirror.js';
import { MIGRATE_VS_CPU_READ_1 } from '../helpers/retry-scenarios.js';
import { expectPinnedVerdicts } from '../helpers/catalogue-table.js';
import { ROOT, vmamirror } from '../helpers/cli.js';
import { roleWorld, type RoleActor } from '../helpers/role-world.js';

const SEQ = defineCounterDomain('test-seq', 'a test sequence');
const EPOCH = defineCounterDomain('test-epoch', 'a test sequence with parity', { parity: true });
const BOX = defineStruct('counters_box', ['seq', 'epoch', 'other', 'lock'] as const, {}, { counters: { seq: SEQ, epoch: EPOCH } });
const LIB = new Library('test-counters');
/** The ping-pong's renamed states (docs/reduction.md quotes it). */
const PING_PONG_STATES = 15;

/** A writer that ends an invalidation for ever: seq++ (kvm_mmu_invalidate_end), `by` at a time. */
const writer = (by: number) =>
  LIB.routine({
    name: `test_invalidate_end_by_${by}`,
    params: [],
    steps: {
      bump: {
        at: 'test:invalidate_end',
        run: (w) => {
          const b = w.obj(BOX, 0);
          b.seq = b.seq + by;
          return w.retry('bump');
        },
      },
    },
  });
const bumpsByOne = writer(1);
const bumpsByTwo = writer(2);

/**
 * A reader that snapshots the sequence, then retries while it moved (mmu_invalidate_retry); `other`
 * records its install. Undeclared, its snapshot is a copy the renaming leaves behind (the mistake a
 * declaration prevents).
 */
const faultRoutine = (declared: boolean) =>
  LIB.routine({
    name: declared ? 'test_fault' : 'test_fault_undeclared',
    params: [],
    locals: ['snap'],
    counters: declared ? { snap: SEQ } : {},
    steps: {
      snapshot: {
        at: 'test:fault_snapshot',
        run: (w, l) => {
          l.snap = w.obj(BOX, 0).seq;
          return 'check';
        },
      },
      check: {
        at: 'test:fault_check',
        run: (w, l) => {
          const b = w.obj(BOX, 0);
          if (b.seq !== l.snap) {
            l.snap = 0;
            return w.retry('snapshot');
          }
          b.other = 1;
          return w.ret(0);
        },
      },
    },
  });
const reader = faultRoutine(true);
const readerUndeclared = faultRoutine(false);

/** An adversary that ends three invalidations, then stops. */
const bumpsThrice = LIB.routine({
  name: 'test_invalidate_end_thrice',
  params: [],
  steps: {
    bump: {
      at: 'test:invalidate_end',
      run: (w) => {
        const b = w.obj(BOX, 0);
        b.seq = b.seq + 1;
        return b.seq < 3 ? 'bump' : w.ret(0);
      },
    },
  },
});

/** The states a search of `w` interns, as fingerprints, renamed with `canon` when given. */
function internedStates(w: World, counters: { check?: boolean } | undefined, canon?: CounterCanon): Set<string> {
  const seen = new Set<string>();
  const scratch = new Int32Array(w.v.length);
  explore(w, {
    ...(counters && { counters }),
    onState: (v) => {
      const s = canon ? canon.canonicalCopy(v, scratch) : v;
      seen.add(`${s[0]},${s[1]}`);
    },
  });
  return seen;
}

function world(actors: readonly RoleActor[], init: Partial<Record<'seq' | 'epoch' | 'other', number>> = {}): World {
  return roleWorld(BOX, LIB, actors, (w) => {
    for (const [k, v] of Object.entries(init)) w.obj(BOX, 0)[k as 'seq'] = v;
  });
}

/** The canonical form of `w`'s state (a copy). */
function canonical(w: World, concrete: string[] = []): Int32Array {
  return CounterCanon.of(w.layout, { concrete })!.canonicalCopy(w.v, new Int32Array(w.v.length));
}

describe('the canonical renaming', () => {
  it('keeps order, 0, values one apart and (declared) parity, and nothing else: the smallest such values', () => {
    const w = world([]);
    const box = w.obj(BOX, 0);
    const set = (seq: number, epoch: number) => {
      box.seq = seq;
      box.epoch = epoch;
    };
    const canon = () => {
      const c = canonical(w);
      const b = w.layout.region(BOX).base;
      return [c[b], c[b + 1]];
    };
    set(5, 6);
    expect(canon()).toEqual([2, 2]); // seq: gap 5 → 2 (no parity); epoch: gap 6 → 2 (even)
    set(7, 7);
    expect(canon()).toEqual([2, 3]); // the odd epoch stays odd
    set(0, 0);
    expect(canon()).toEqual([0, 0]); // 0 is a constant the code compares with
    set(-1, 1); // unsigned order: 0xffffffff is the largest value, not below 0
    expect(canon()).toEqual([2, 1]);
  });

  it('maps the locals a frame declares with the fields, one apart kept one apart, a wide gap closed', () => {
    const w = world([['reader', 'client', reader]], { seq: 1000 });
    w.obj(BOX, 0).seq = 1000;
    const b = w.layout.callSlot(0, 0);
    const snapSlot = b + 3; // CALL_LOCALS + 0
    w.set(snapSlot, 999);
    let c = canonical(w);
    expect([c[w.layout.region(BOX).base], c[snapSlot]]).toEqual([3, 2]);
    w.set(snapSlot, 40);
    c = canonical(w);
    expect([c[w.layout.region(BOX).base], c[snapSlot]]).toEqual([4, 2]);
  });

  it('keeps the fingerprint lanes equal to a full hash of the renamed state', () => {
    const w = world([['reader', 'client', reader]]);
    w.obj(BOX, 0).seq = 77;
    w.obj(BOX, 0).epoch = 12;
    const c = canonical(w);
    expect([c[0], c[1]]).toEqual(fullHash(c, DATA_START));
    // Renaming through the world: the incremental hash follows.
    CounterCanon.of(w.layout, {})!.canonicalize(w);
    expect([w.v[0], w.v[1]]).toEqual(fullHash(w.v, DATA_START));
    expect(Array.from(w.v)).toEqual(Array.from(c));
  });

  it('names a concrete domain that no model defines', () => {
    const w = world([]);
    expect(() => CounterCanon.of(w.layout, { concrete: ['kvm-seqq'] })).toThrow(/^concrete counters: no counter domain kvm-seqq \(the domains: .*kvm-seq.*test-seq, test-epoch\)$/);
    // One the model defines but this layout does not use has nothing to keep concrete.
    expect(CounterCanon.of(w.layout, { concrete: ['kvm-seq'] })?.names).toEqual(['test-seq', 'test-epoch']);
  });
});

describe('the visible states, with and without the renaming', () => {
  it('agree on a bounded writer and a declared reader; a reader whose snapshot is not declared makes them differ', () => {
    for (const [r, agree] of [
      [reader, true],
      [readerUndeclared, false],
    ] as const) {
      const shape: RoleActor[] = [
        ['writer', 'adversary', bumpsThrice],
        ['fault', 'client', r],
      ];
      const w = world(shape);
      const concrete = internedStates(w, undefined, CounterCanon.of(w.layout, {}));
      const abstract = internedStates(world(shape), {});
      expect([...abstract].sort().join(' ') === [...concrete].sort().join(' '), r.name).toBe(agree);
    }
  });
});

/**
 * The skip (counters.ts `intern`, written.ts `WriteWatch`): a transition that wrote no slot where a domain's values live is
 * not renamed. Each of these steps changes the live values through a frame alone — a return takes a
 * snapshot away, a local is cleared, a caller leaves the label where its result counts, a call puts
 * a frame over that label — while the adversary has left a gap the renaming then closes. Without
 * merging, each is a transition of its own.
 */
const passesSnapshot = LIB.routine({
  name: 'test_snapshot_callee',
  params: [],
  locals: ['snap'],
  counters: { snap: SEQ },
  steps: {
    snap: {
      at: 'test:callee_snap',
      run: (w, l) => {
        l.snap = w.obj(BOX, 0).seq;
        return 'give';
      },
    },
    // A return: the snapshot leaves this frame for the caller's result slot.
    give: { at: 'test:callee_give', run: (w, l) => w.ret(l.snap) },
  },
});
const dropsSnapshot = LIB.routine({
  name: 'test_snapshot_dropped',
  params: [],
  locals: ['snap'],
  counters: { snap: SEQ },
  steps: {
    snap: {
      at: 'test:dropped_snap',
      run: (w, l) => {
        l.snap = w.obj(BOX, 0).seq;
        return 'clear';
      },
    },
    // A local write alone: the value is gone from the state.
    clear: {
      at: 'test:dropped_clear',
      run: (_w, l) => {
        l.snap = 0;
        return 'snapAgain';
      },
    },
    snapAgain: {
      at: 'test:dropped_snap_again',
      run: (w, l) => {
        l.snap = w.obj(BOX, 0).seq;
        return 'leave';
      },
    },
    // A return with the snapshot still in the frame: it leaves with it.
    leave: { at: 'test:dropped_leave', run: (w) => w.ret(0) },
  },
});
const idles = LIB.routine({ name: 'test_idle_callee', params: [], steps: { idle: { at: 'test:idle', run: (w) => w.ret(0) } } });
/** A caller that waits for the snapshot at a label where its result counts; `callsAgain` first puts a callee over that label. */
const holdsResult = (callsAgain: boolean) =>
  LIB.routine({
    name: callsAgain ? 'test_result_holder_calls_again' : 'test_result_holder',
    params: [],
    resultCounters: { got: SEQ },
    steps: {
      start: { at: 'test:holder_call', run: (w) => w.call(passesSnapshot, 'got') },
      got: {
        at: 'test:holder_got',
        run: (w, l) => {
          if (!callsAgain || l.result === 0) return 'dropped';
          // A call that resumes at this same label: only the stack pointer says the result no longer counts (the callee returns 0).
          return w.call(idles, 'got');
        },
      },
      // Leaving the label: the result slot stops holding a value of the domain.
      dropped: { at: 'test:holder_dropped', run: (w) => w.call(dropsSnapshot, 'done') },
      done: { at: 'test:holder_done', run: (w) => w.ret(0) },
    },
  });

describe('the renaming skipped where a transition wrote no slot of a domain', () => {
  const shape: RoleActor[] = [
    ['writer', 'adversary', bumpsThrice],
    ['holder', 'client', holdsResult(false)],
    ['caller', 'client', holdsResult(true)],
  ];
  const check = { check: true };

  const statesOf = (): { verdict: string; states: string[] } => {
    const seen: string[] = [];
    const r = explore(world(shape), { merge: false, counters: check, onState: (v) => seen.push(v.join(',')) });
    return { verdict: r.verdict, states: seen.sort() };
  };

  it('interns exactly the states of the whole renaming at every transition, every skip checked against it', () => {
    const skipping = statesOf();
    // The reference: a watch that says yes to every transition, so every successor is gathered and renamed.
    const whole = withChangedOf(CounterCanon, (c) => Object.assign(c, { watch: { touched: () => true } }), statesOf);
    expect(skipping.verdict).toBe('holds');
    expect(skipping.states).toEqual(whole.states);
    // The writer's gaps are closed: the renaming had work to do in this toy.
    const concrete = explore(world(shape), { merge: false });
    expect(skipping.states.length).toBeLessThan(concrete.states);
  });

  // Each mutant forgets one way a frame holds a value; the check names the slot the skip left unrenamed.
  type Where = { kind: Uint8Array; routineInfo: Uint8Array; resultPcs: (Uint8Array | undefined)[]; localMask: Uint8Array };
  // written.ts's kinds of slot: a watched field, an actor's stack pointer.
  const FIELD = 1;
  const STACK_POINTER = 2;
  const forget = (kind: number) => (where: Where) => {
    for (let o = 0; o < where.kind.length; o++) if (where.kind[o] === kind) where.kind[o] = 0;
  };
  const mutants: [string, (where: Where) => void][] = [
    ['a return takes its frame’s values away', (where) => where.routineInfo.fill(0)],
    ['a local’s write', (where) => where.localMask.fill(0)],
    ['the labels where a result counts', (where) => where.resultPcs.fill(undefined)],
    ['a call or a return moves the top frame', forget(STACK_POINTER)],
    ['the fields', forget(FIELD)],
  ];
  it.each(mutants)('is unsound, and says so, when it forgets %s', (_name, mutate) => {
    // The test reaches into the engine's private table to break it.
    withChangedOf(
      CounterCanon,
      (c) => mutate((c as unknown as { watch: Where }).watch),
      () => expect(statesOf).toThrow(/but wrote no slot of a counter domain/),
    );
  });
});

describe('a reader/writer ping-pong over a sequence', () => {
  const shape: RoleActor[] = [
    ['writer', 'daemon', bumpsByOne],
    ['fault', 'client', reader],
  ];

  it('never ends concretely (every retry meets a new value); renamed, it ends with a verdict, and its lasso replays', () => {
    const concrete = explore(world(shape), { maxStates: 5000 });
    expect(concrete).toMatchObject({ verdict: 'incomplete', stopReason: 'max-states' });
    const w = world(shape);
    const r = explore(w, { counters: { check: true } });
    // The writer can end an invalidation between every snapshot and its check, for ever: a starved
    // fault, which only a search that closes the cycle can report.
    expect(r.verdict).toBe('violation');
    expect(r.violation?.property).toBe('termination');
    expect(r.states).toBe(PING_PONG_STATES);
    // The replay's cycle check renames as the search did: the lasso closes.
    expect(replayRepaired(w, r.violation!.schedule, { counters: {} }).found?.property).toBe('termination');
    expect(replayRepaired(w, r.violation!.schedule).found).toBeUndefined();
  });

  it('reports a value no allowed operation makes (seq += 2), naming the field', () => {
    const bad: RoleActor[] = [
      ['writer', 'daemon', bumpsByTwo],
      ['fault', 'client', reader],
    ];
    expect(() => explore(world(bad), { counters: { check: true } })).toThrow(
      /counter domain test-seq: counters_box\[0\]\.seq became 2, which is neither 0, a value live before the step \(none\) nor one of those ±1/,
    );
    // Kept concrete, nothing is renamed and nothing is checked.
    expect(explore(world(bad), { counters: { concrete: ['test-seq', 'test-epoch'], check: true }, maxStates: 100 }).verdict).toBe('incomplete');
  });
});

/** Every state a search interns, as strings of its data slots. */
function statesOf(spec: ScenarioSpec, variant: (typeof VARIANTS)[number], abstract: boolean): { verdict: string; states: Set<string>; count: number } {
  const seen = new Set<string>();
  let canon: CounterCanon | undefined;
  let scratch: Int32Array | undefined;
  let stale = 0;
  const r = checkOne(spec, variant, {
    audit: false,
    shrink: false,
    ...(abstract && { counters: {} }),
    onState: (v) => {
      // The concrete run's states, renamed here: they must be the abstract run's, no more, no less.
      if (!abstract && !canon) {
        const { world } = buildScenario(spec, variant);
        canon = CounterCanon.of(world.layout, {});
        scratch = new Int32Array(v.length);
      }
      const s = canon ? canon.canonicalCopy(v, scratch!) : v;
      // Renamed through World.set, the incremental fingerprint is still the state's full hash.
      if (abstract) {
        const [lo, hi] = fullHash(v, DATA_START);
        if (lo !== v[0] || hi !== v[1]) stale++;
      }
      seen.add(`${s[0]},${s[1]}`); // the 64-bit fingerprint: equal states, equal lanes (and the lanes are checked against a full hash above)
    },
  });
  expect(stale, 'states whose fingerprint is not their full hash').toBe(0);
  return { verdict: r.verdict === 'violation' ? r.violation!.property : r.verdict, states: seen, count: r.states };
}

describe('the abstraction on the catalogue', () => {
  const interval = VARIANTS.find((v) => v.name === 'interval')!;
  it.each(['swap-cycle', 'cow', 'munmap', 'introspect'])('%s/interval: the renamed concrete states are exactly the abstract run’s, the verdict the same', (name) => {
    const spec = scenarioByName(name)!;
    const c = statesOf(spec, interval, false);
    const a = statesOf(spec, interval, true);
    expect(a.verdict).toBe(c.verdict);
    expect(c.count).toBe(MEASURED_COUNTS[`${name}/interval`][0]);
    expect(a.count).toBeLessThanOrEqual(c.count);
    expect(a.count).toBe(a.states.size);
    expect([...a.states].sort()).toEqual([...c.states].sort());
  });

  it('catches every known-broken design, with the verdicts of the pinned table, every value within the contract', { timeout: 300_000 }, () => {
    expectPinnedVerdicts(
      CATALOGUE.filter((s) => s.name !== 'introspect-nested'),
      { counters: { check: true }, shrink: false },
    );
  });
});

describe('shapes that did not end', () => {
  it('migrate-to-dev of one page racing a CPU read: the fault that loses the refcount race retries with a new page; renamed, it holds', { timeout: 120_000 }, () => {
    const spec = MIGRATE_VS_CPU_READ_1;
    const concrete = checkOne(spec, dmirrorDriver, { maxStates: 30_000, shrink: false });
    expect(concrete).toMatchObject({ verdict: 'incomplete', stopReason: 'max-states' });
    expect(concrete.depth).toBeGreaterThan(1000); // round and round the retry, a new generation each time
    let stale = 0;
    let renamed = 0;
    const r = checkOne(spec, dmirrorDriver, {
      counters: { check: true },
      shrink: false,
      onState: (v) => {
        const [lo, hi] = fullHash(v, DATA_START);
        if (lo !== v[0] || hi !== v[1]) stale++;
        renamed++;
      },
    });
    expect(r).toMatchObject({ verdict: 'holds', states: 1246, counters: { check: true } });
    // Every state interned renamed (through World.set) has the fingerprint of its whole data.
    expect([renamed, stale]).toEqual([1246, 0]);
  });

  it('a vCPU read racing migrate-to-dev: the fault snapshots mmu_invalidate_seq, each migration back ends an invalidation and brings a new page; renamed, it holds', { timeout: 120_000 }, () => {
    const spec: ScenarioSpec = {
      name: 'migrate-to-dev-vs-guest-read',
      description: '',
      pages: 1,
      sourceKvm: true,
      actors: [
        { name: 'dev', ops: [{ op: 'device', call: 'migrate-to-dev', page: 0 }] },
        { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0 }] },
      ],
    };
    const concrete = checkOne(spec, dmirrorDriver, { maxStates: 30_000, shrink: false });
    expect(concrete).toMatchObject({ verdict: 'incomplete', stopReason: 'max-states' });
    expect(concrete.depth).toBeGreaterThan(1000);
    const r = checkOne(spec, dmirrorDriver, { counters: { check: true }, shrink: false });
    expect(r).toMatchObject({ verdict: 'holds', states: 4078 });
    // The sequence is what kept it from ending too: kept concrete, the search does not end either.
    expect(checkOne(spec, dmirrorDriver, { counters: { concrete: ['kvm-seq'] }, maxStates: 30_000, shrink: false }).stopReason).toBe('max-states');
  });

  it('migrate-to-dev racing a CPU fault that retries with a new page (dmirror): renamed, the search ends and finds the same race', { timeout: 120_000 }, () => {
    const spec: ScenarioSpec = {
      name: 'migrate-to-dev-vs-cpu-read',
      description: '',
      pages: 2,
      actors: [
        {
          name: 'dev',
          ops: [
            { op: 'device', call: 'migrate-to-dev', page: 0 },
            { op: 'device', call: 'read', page: 0 },
          ],
        },
        { name: 'cpu', ops: [{ op: 'access', mm: 'source', page: 0 }] },
      ],
    };
    const all = { maxViolations: Number.POSITIVE_INFINITY, shrink: false };
    const concrete = checkOne(spec, dmirrorDriver, { ...all, maxStates: 60_000 });
    expect(concrete).toMatchObject({ verdict: 'violation', stopReason: 'max-states' });
    const r = checkOne(spec, dmirrorDriver, { ...all, counters: { check: true } });
    expect(r.stopReason).toBeUndefined(); // complete: every distinct violation found
    expect(r.violations?.map((v) => v.message)).toEqual(concrete.violations?.map((v) => v.message));
    expect(r.states).toBe(5687);
  });
});

describe('a race that depends on the concrete value (B-21: the sign of an int snapshot)', () => {
  const dir = join(ROOT, 'examples/races/B-21-mmu-seq-int');
  const era = join(dir, 'v6.1-int-mmu-seq.ts');
  const verdicts = (file: string, args: string[]) => {
    // The file's expectations name two cells: today's kernel, and the era.
    const r = vmamirror(['check', file, '--json', '--abstract-counters', ...args], { timeoutMs: 120_000 });
    return (JSON.parse(r.stdout) as { verdict: string; violation?: { property: string } }[]).map((c) => c.violation?.property ?? c.verdict);
  };

  it('is found with the abstraction on, because the scenario keeps kvm-seq concrete; renamed, it would be lost', () => {
    const file = join(dir, 'scenario.yaml');
    expect(readFileSync(file, 'utf8')).toMatch(/concreteCounters: \[kvm-seq\]/);
    expect(verdicts(file, [])).toEqual(['holds', 'termination']);
    const renamed = join(mkdtempSync(join(tmpdir(), 'counters-')), 'b21.yaml');
    writeFileSync(
      renamed,
      readFileSync(file, 'utf8')
        .replace(/concreteCounters: \[kvm-seq\]\n/, '')
        .replace('era: ./v6.1-int-mmu-seq.ts', `era: ${era}`)
        .replace(/^# yaml-language-server.*\n/, ''),
    );
    expect(verdicts(renamed, [])).toEqual(['holds', 'holds']);
    expect(verdicts(renamed, ['--concrete-counters', 'kvm-seq'])).toEqual(['holds', 'termination']);
  });
});

describe('the command line', () => {
  it.each([
    [['--concrete-counters', 'kvm-seq'], 'vmamirror: --concrete-counters names the exceptions to --abstract-counters: give both\n'],
    [['--abstract-counters', '--concrete-counters', 'kvm-sequence'], /^vmamirror: --concrete-counters: no counter domain kvm-sequence \(the domains: page-gen, interval-seq, kvm-seq\)\n$/],
  ])('refuses %j, naming why', (flags, message) => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
