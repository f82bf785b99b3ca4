/**
 * The fair-termination check under actor symmetry (termination.ts, the product of the quotient's
 * region graph with the groups' permutations): a livelock whose cycle permutes the actors — which
 * the quotient alone shows as a cycle in which one actor never steps — is found, with the concrete
 * search's verdict and a lasso in concrete actors that replays to it; where the concrete search
 * holds, so does the symmetric one; a product beyond its bound, or beyond what the memory limit
 * leaves, is refused in the result, not thrown.
 */
import { describe, expect, it } from 'vitest';
import { Library } from '../../src/world/registry.js';
import { defineActorNames, defineStruct, type ActorRole } from '../../src/world/layout.js';
import type { World } from '../../src/world/world.js';
import { BLOCK_SLEEP, type AnyRoutine } from '../../src/world/routine.js';
import { explore, type ExploreOptions, type ExploreResult } from '../../src/engine/exhaustive.js';
import { actorSymmetryLine, resultLine } from '../../src/report/text.js';
import type { CheckResult } from '../../src/check/run.js';
import { dfs } from '../../src/engine/dfs.js';
import { judgeSchedule, replayRepaired } from '../../src/engine/replay.js';
import { TERMINATION } from '../../src/engine/verdict.js';
import { entryActor, entryOf } from '../../src/world/entry.js';
import { FairTermination, type ActorPermutations } from '../../src/engine/termination.js';
import { roleWorld } from '../helpers/role-world.js';

// `owner` names an actor (its lock-word protection says so); `bells` is a mask of actors (declared).
const BOX = defineStruct('symterm_box', ['owner', 'bells', 'lock', 'closed'] as const, { owner: 'lock-word:symterm', lock: 'lock-word:symterm_lock' });
const LIB = new Library('test-symmetric-termination');

/**
 * A claim on the box: a client that finds it claimed by another claims it (`polite`: whatever its
 * claim; `patient`: only a free box) and tries again; finding its own claim still there, it
 * completes (`patient`: giving the claim back). Polite clients can take turns for ever — each
 * round's claimer is another one — though every one keeps getting the CPU: a livelock under weak
 * fairness, whose cycle permutes the actors (all its states are one canonical state).
 */
const claimer = (patient: boolean) =>
  LIB.routine({
    name: `symterm_${patient ? 'patient' : 'polite'}`,
    params: [],
    steps: {
      again: {
        at: 'test:claim',
        run: (w) => {
          const b = w.obj(BOX, 0);
          if (b.owner === w.self) {
            if (patient) b.owner = 0;
            return w.ret(0);
          }
          if (!patient || b.owner === 0) b.owner = w.self;
          return w.retry('again');
        },
      },
    },
  });
const polite = claimer(false);
const patient = claimer(true);

/** Takes the box's lock (a fair acquire), rings its bell, drops the lock, and completes. */
const ringer = LIB.routine({
  name: 'symterm_ringer',
  params: [],
  steps: {
    lock: {
      at: 'test:mutex_lock',
      run: (w) => {
        w.fairAcquire = true;
        const b = w.obj(BOX, 0);
        if (b.lock) return BLOCK_SLEEP;
        b.lock = w.self;
        return 'ring';
      },
    },
    ring: {
      at: 'test:ring',
      run: (w) => {
        const b = w.obj(BOX, 0);
        b.bells = b.bells | (1 << w.actor);
        b.lock = 0;
        return w.ret(0);
      },
    },
  },
});

/**
 * A client that puts its name on a free token, then completes once the token names another
 * (blocked while it names itself), closing the game; and a daemon that hands a named token to the other client, for
 * ever (`3 - token`: the other's name, whichever holds it). Each client can run only half the
 * time, so weak fairness lets the daemon go round for ever: a livelock whose fairness rests on each
 * client being blocked somewhere — in the quotient always "the holder", in the product a
 * different concrete client in each copy.
 */
const tokenClient = LIB.routine({
  name: 'symterm_token_client',
  params: [],
  steps: {
    start: {
      at: 'test:take_token',
      run: (w) => {
        const b = w.obj(BOX, 0);
        if (b.owner === 0 && !b.closed) b.owner = w.self;
        return 'wait';
      },
    },
    wait: {
      at: 'test:wait_token',
      run: (w) => {
        const b = w.obj(BOX, 0);
        if (b.owner === w.self) return BLOCK_SLEEP;
        // Done with it: the game is closed, so the other completes too (no livelock once one has).
        b.owner = 0;
        b.closed = 1;
        return w.ret(0);
      },
    },
  },
});
const handsOn = LIB.routine({
  name: 'symterm_hands_on',
  params: [],
  steps: {
    flip: {
      at: 'test:hand_on',
      run: (w) => {
        const b = w.obj(BOX, 0);
        if (b.owner !== 0 && !b.closed) b.owner = 3 - b.owner;
        return 'flip';
      },
    },
  },
});

defineActorNames({ name: 'test-symmetric-termination', fields: [{ struct: BOX, field: 'bells', encoding: 'bits' }] });

/** `n` clients running `r` (interchangeable; no adversary: the region is every state where one has not completed). */
function world(r: AnyRoutine, n: number): World {
  return roleWorld(
    BOX,
    LIB,
    Array.from({ length: n }, (_, i): [string, ActorRole, AnyRoutine] => [`c${i}`, 'client', r]),
  );
}
const group = (n: number) => [Array.from({ length: n }, (_, a) => a)];

/** The concrete search's and the symmetric one's results. */
function both(r: AnyRoutine, n: number, opts: ExploreOptions = {}) {
  const concrete = explore(world(r, n), opts);
  const symmetric = explore(world(r, n), { ...opts, actorGroups: group(n), equivarianceEvery: 1 });
  return { concrete, symmetric };
}

describe('fair termination under actor symmetry', () => {
  for (const n of [2, 3]) {
    it(`finds the livelock of ${n} polite clients taking turns (a cycle that permutes them), with a concrete lasso that replays to it`, () => {
      const { concrete, symmetric } = both(polite, n);
      expect(concrete.violation?.property).toBe(TERMINATION);
      expect(symmetric.violation?.property).toBe(TERMINATION);
      expect(symmetric.states).toBeLessThan(concrete.states);
      expect(symmetric.actorSymmetry).toEqual({ groups: [Array.from({ length: n }, (_, a) => `c${a}`)], fairTermination: 'checked' });
      const s = symmetric.violation!.schedule;
      // The message names concrete actors, as the replay of the lasso does.
      expect(symmetric.violation!.message).toMatch(/^c\d \(at symterm_polite:again\)(, c\d \(at symterm_polite:again\))* never complete/);
      expect(judgeSchedule(world(polite, n), s)).toEqual({ property: TERMINATION, message: symmetric.violation!.message });
      const again = replayRepaired(world(polite, n), s);
      expect(again.found?.property).toBe(TERMINATION);
      expect(again.schedule).toEqual(s);
      // The cycle is fair in concrete actors: every client still running steps in it.
      const stepped = new Set(s.map(entryActor));
      for (let a = 0; a < n; a++) expect(stepped.has(a), `c${a} steps in the lasso`).toBe(true);
    });
  }

  it('finds a livelock that is fair because each client is blocked somewhere, the blocked one a different client in each copy', () => {
    const tokens = () =>
      roleWorld(BOX, LIB, [
        ['c0', 'client', tokenClient],
        ['c1', 'client', tokenClient],
        ['d', 'daemon', handsOn],
      ]);
    const concrete = explore(tokens());
    const symmetric = explore(tokens(), { actorGroups: group(2), equivarianceEvery: 1 });
    expect(concrete.violation?.property).toBe(TERMINATION);
    expect(symmetric.violation?.property).toBe(TERMINATION);
    expect(symmetric.states).toBeLessThan(concrete.states);
    expect(judgeSchedule(tokens(), symmetric.violation!.schedule)).toEqual({ property: TERMINATION, message: symmetric.violation!.message });
  });

  it('finds it depth-first too, and holds where the concrete search holds', () => {
    expect(explore(world(polite, 3), { actorGroups: group(3), strategy: dfs }).violation?.property).toBe(TERMINATION);
    for (const r of [patient, ringer]) {
      for (const n of [2, 3]) {
        const { concrete, symmetric } = both(r, n);
        expect(concrete.verdict, `${r.name} ×${n}`).toBe('holds');
        expect(symmetric.verdict, `${r.name} ×${n}`).toBe('holds');
        expect(symmetric.states).toBeLessThan(concrete.states);
        expect(symmetric.actorSymmetry?.fairTermination).toBe('checked');
      }
    }
  });

  it('refuses a product beyond its bound in the result, naming the sizes (the check not made), makes one within a memory limit, and says nothing with termination off', () => {
    const r = explore(world(polite, 3), { actorGroups: group(3), maxTerminationProduct: 10 });
    expect(r.verdict).toBe('holds');
    expect(r.actorSymmetry).toEqual({
      groups: [['c0', 'c1', 'c2']],
      fairTermination: 'not checked',
      reason: expect.stringMatching(/^the region graph \(\d+ states, \d+ edges\) times the 6 permutations of the actor groups exceeds 10 nodes or edges$/),
    });
    // The text report says which, under a "holds".
    const line = (x: ExploreResult) => actorSymmetryLine(x as unknown as CheckResult);
    expect(line(r)).toMatch(/^\n {2}actor symmetry: c0, c1, c2 interchangeable; the fair-termination check is not made: the region graph \(\d+ states, \d+ edges\) times the 6 permutations/);
    expect(line(explore(world(patient, 3), { actorGroups: group(3) }))).toBe('\n  actor symmetry: c0, c1, c2 interchangeable; fair termination checked on the region graph times the 6 permutations');
    // Under a memory limit, the product is made within what the limit leaves.
    const rss = process.memoryUsage().rss;
    const tight = explore(world(polite, 3), { actorGroups: group(3), maxMemoryBytes: rss + (64 << 20) });
    expect(tight.actorSymmetry?.fairTermination, 'with room').toBe('checked');
    const off = explore(world(polite, 3), { actorGroups: group(3), liveness: false });
    expect(off.actorSymmetry).toEqual({ groups: [['c0', 'c1', 'c2']] });
    expect(line(off)).toBe('\n  actor symmetry: c0, c1, c2 interchangeable');
    // Under a violation too (a search that went on past its violations, then had no room for the product), and only then.
    const asViolation = (x: ExploreResult) =>
      resultLine({ ...x, scenario: 's', variant: 'v', verdict: 'violation', violation: { property: 'kernel-bug', message: 'BUG', schedule: [0] }, schedule: 's/v:0' } as unknown as CheckResult);
    expect(asViolation(r)).toContain(line(r));
    expect(asViolation(tight)).not.toContain('actor symmetry:');
  });

  it('refuses a product that would take more bytes than the memory limit leaves, naming its size, and makes it with a byte more', () => {
    // Two polite clients, one region state (both running) whose one edge, c0's claim, leads back to
    // it with the clients swapped: in the product, c0 then c1 claim for ever, a livelock.
    const swap: ActorPermutations = { size: 2, image: (k) => Int32Array.from(k ? [1, 0] : [0, 1]), after: (k, s) => k ^ s };
    const product = (room: number) => {
      const fair = new FairTermination(world(polite, 2), swap);
      const r = fair.discover(0, 1, 2);
      fair.beginEdges(r);
      fair.edge(r, entryOf(0, 0), 1, 1);
      fair.endEdges(0b11, 0);
      return {
        lasso: fair.find(
          () => [],
          () => undefined,
          room,
        ),
        refused: fair.refused,
      };
    };
    // 2 nodes of 35 bytes (six tables of 4, the components' 11) and 2 edges of 16: 102 bytes.
    expect(product(101)).toEqual({ lasso: undefined, refused: 'the region graph (1 states, 1 edges) times the 2 permutations of the actor groups would take 1 MiB, beyond the memory limit' });
    const made = product(102);
    expect(made.refused).toBeUndefined();
    expect(made.lasso?.found.property).toBe(TERMINATION);
    // A cycle of the product: both clients claim in it.
    expect(new Set(made.lasso?.schedule.map(entryActor))).toEqual(new Set([0, 1]));
  });

  it('refuses a group whose actors have different roles', () => {
    const w = roleWorld(BOX, LIB, [
      ['c0', 'client', polite],
      ['c1', 'daemon', polite],
    ]);
    expect(() => explore(w, { actorGroups: group(2) })).toThrow(/^actor symmetry: actors c0 \(client\) and c1 \(daemon\) are grouped but have different roles$/);
  });
});
