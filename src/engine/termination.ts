/**
 * The termination check, one definition for every driver. A *lone* actor is the only unfinished
 * one: nothing else can run, so nothing can change what it is waiting for. It must finish; it does
 * not terminate if it comes back to a state it was in (a retry loop that changes nothing) or runs
 * `LONE_BOUND` steps without finishing (a retry loop that changes only counters).
 *
 * `LoneWatch` follows one sequence of states (a replay, a shrink candidate) and says when its lone
 * actor loops; `SoloTermination` is the exhaustive search's form: from each state with a lone
 * actor it runs that actor alone, remembering the states from which it finishes so that each is
 * run at most once.
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import { FingerprintSet } from './visited.js';
import { LONE_BOUND, loneActor, type Found, type Verdicts } from './verdict.js';

export class LoneWatch {
  private lone = -1;
  private seen = new FingerprintSet(1 << 8);
  private steps = 0;

  constructor(private readonly verdicts: Verdicts) {}

  /** Forgets what was seen (a new sequence starts). */
  reset(): void {
    this.lone = -1;
  }

  /** Call in every state of the sequence, the first included: the termination violation, if the lone actor loops. */
  observe(w: World): Found | undefined {
    const only = loneActor(w);
    if (only < 0) {
      this.lone = -1;
      return undefined;
    }
    if (only !== this.lone) {
      this.lone = only;
      this.seen = new FingerprintSet(1 << 8);
      this.steps = 0;
    }
    if (!this.seen.add(w.v[0], w.v[1])) return this.verdicts.loops(w, only);
    if (this.steps++ >= LONE_BOUND) return this.verdicts.runsOn(w, only);
    return undefined;
  }
}

export class SoloTermination {
  /** States from which the lone actor finishes, or blocks for good (the exploration reports that deadlock). */
  private readonly finishes = new FingerprintSet(1 << 10);
  private readonly buf: Int32Array;
  private readonly watch: LoneWatch;

  constructor(
    private readonly w: World,
    verdicts: Verdicts,
  ) {
    this.buf = new Int32Array(w.layout.size);
    this.watch = new LoneWatch(verdicts);
  }

  get bytes(): number {
    return this.finishes.bytes;
  }

  /** The livelock from `state` (the violation and the lone actor's steps), if any; clobbers w.v. */
  check(state: Int32Array): { found: Found; steps: number[] } | undefined {
    const w = this.w;
    const undoing = w.undoing;
    w.undoing = false; // the lone run works on its own copy: nothing to take back
    try {
      return this.run(state);
    } finally {
      w.undoing = undoing;
    }
  }

  private run(state: Int32Array): { found: Found; steps: number[] } | undefined {
    const w = this.w;
    w.load(state);
    const lone = loneActor(w);
    if (lone < 0 || this.finishes.has(state[0], state[1])) return undefined;
    const buf = this.buf;
    buf.set(state);
    w.load(buf);
    this.watch.reset();
    const path: number[] = [];
    const fps: number[] = [];
    for (;;) {
      if (w.actorSp(lone) === 0 || this.finishes.has(buf[0], buf[1])) break;
      const found = this.watch.observe(w);
      if (found) return { found, steps: path };
      fps.push(buf[0], buf[1]);
      const r = execStep(w, lone);
      if (w.bugs.length) {
        // A BUG comes first on this path; the exploration reports it when it gets there.
        w.bugs.length = 0;
        return undefined;
      }
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) break; // blocked forever: the exploration reports the deadlock
      path.push(lone);
    }
    for (let i = 0; i < fps.length; i += 2) this.finishes.add(fps[i], fps[i + 1]);
    return undefined;
  }
}
