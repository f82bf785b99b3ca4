// The SPIN peer of the growth ladder (bench/peers/ladder.pml) is at our step granularity: one
// d_step per step label of ours, each named in a comment that this file checks against the model's
// routines, and they are the labels a search of the ladder runs. With spin (and gcc)
// installed, every rung's model parses, and SPIN without its reduction stores exactly our states
// without ours (plus the one state before its initialisation) — the same granularity, counted.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSpinOutput, peerSteps, peerUnmodelled, spinBuild } from '../../bench/lib.js';
import { checkOne, productModel } from '../../src/check/run.js';
import { explore } from '../../src/engine/exhaustive.js';
import { buildScenario } from '../../src/scenario/build.js';
import { loadScenarioFile } from '../../src/scenario/load.js';

const PML = join(import.meta.dirname, '../../bench/peers/ladder.pml');
const pml = readFileSync(PML, 'utf8');
const steps = peerSteps(pml);
const unmodelled = peerUnmodelled(pml);
const model = productModel();
const ladder = (n: number) => loadScenarioFile(join(import.meta.dirname, '../../bench/scenarios', `ladder-${n}.yaml`));

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SPIN = has('spin');
const GCC = has('gcc');
const skipped = SPIN ? (GCC ? '' : ' (skipped: gcc is not installed)') : ' (skipped: spin is not installed; apt-get install -y spin)';

describe('bench/peers/ladder.pml documents our steps', () => {
  it('every d_step names a label of one of our routines, once', () => {
    expect(steps.length).toBeGreaterThan(80);
    expect(new Set(steps).size).toBe(steps.length);
    for (const s of steps) {
      const [routine, label] = s.split(':');
      const r = model.byNameOf(routine);
      expect(r?.labels, `${s}: no such routine in the model`).toBeDefined();
      expect(r?.labels, `${s}: no such label of ${routine}`).toContain(label);
    }
  });

  it('every label of a routine it models is a d_step or listed as left out, with why', () => {
    const routines = new Set(steps.map((s) => s.split(':')[0]));
    for (const routine of routines) {
      for (const label of model.byNameOf(routine)!.labels) {
        const s = `${routine}:${label}`;
        expect(steps.includes(s) || unmodelled.has(s), `${s} is neither modelled nor listed UNMODELLED`).toBe(true);
        expect(steps.includes(s) && unmodelled.has(s), `${s} is both modelled and listed UNMODELLED`).toBe(false);
      }
    }
  });

  it('a search of ladder-5 with one preemption runs exactly its d_steps', () => {
    // Exhaustive ladder-5 takes minutes; one preemption already runs every label the peer models.
    const l = ladder(5);
    const { world } = buildScenario(l.spec, l.variants[0]);
    world.trackReached();
    explore(world, { merge: false, preemptions: 1 });
    const ran = world.model.routines.flatMap((r, id) => r.labels.filter((_, pc) => world.reached![id][pc]).map((label) => `${r.name}:${label}`));
    expect(ran.filter((s) => !steps.includes(s))).toEqual([]);
    expect(steps.filter((s) => !ran.includes(s))).toEqual([]);
  }, 60_000);
});

describe(`SPIN on bench/peers/ladder.pml${skipped}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmamirror-spin-peer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(PML, join(dir, 'model.pml'));
  const run = (cmd: string, args: readonly string[]) => {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
  };
  /** spin -a, gcc, ./pan for a rung (extra defines for spin -a first); pan's result. */
  const pan = (actors: number, defines: string[] = []) => {
    const b = spinBuild(actors, false, 1024);
    expect(run('spin', [...defines, ...b.spin]).status).toBe(0);
    // -O0: this test times nothing, and gcc is much quicker without optimisation.
    expect(run('gcc', ['-O0', ...b.gcc.filter((f) => f !== '-O2')]).status).toBe(0);
    return parseSpinOutput(run('./pan', ['-m100000', '-w20']).out, false, 0);
  };

  it.skipIf(!SPIN)('every rung of the ladder parses (spin -a)', () => {
    for (let n = 2; n <= 6; n++) {
      const r = run('spin', spinBuild(n, true, 1024).spin);
      expect(r.status, `spin -DACTORS=${n} -a: ${r.out}`).toBe(0);
    }
  });

  it.skipIf(!SPIN || !GCC)(
    'ladder-2: SPIN -DNOREDUCE stores our --no-por states plus its initial one, and catches the dropped recheck',
    () => {
      const l = ladder(2);
      const ours = checkOne(l.spec, l.variants[0], { merge: false });
      const spin = pan(2);
      expect([spin.verdict, spin.states]).toEqual([ours.verdict, ours.states + 1]);
      expect(pan(2, ['-DDROP_RECHECK']).verdict).toBe('violation(refinement)');
    },
    60_000,
  );
});

describe('bench/peers/README.md', () => {
  it('maps every d_step of the peer to its step of ours, in the peer order', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../bench/peers/README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z_0-9]+:[A-Za-z]+)` \| `STEP\(/gm)].map((m) => m[1]);
    expect(rows).toEqual(steps);
  });
});
