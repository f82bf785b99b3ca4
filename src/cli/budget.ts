/**
 * What a command run may spend, over all of its cells: the time limit is one deadline for the whole
 * command (each cell gets what is left), and a stop request (Ctrl-C, SIGTERM: host.ts) ends the
 * cell that runs and every cell after it at its first state.
 */

/** What the process gives the command: the stop flag the signal handlers raise, and whether stderr is a terminal. */
export interface RunContext {
  readonly shouldStop?: () => boolean;
  /** Show the status line (stderr is a terminal and the output is not JSON). */
  readonly progress?: boolean;
}

export type BudgetStop = 'interrupted' | 'time';

export class Budget {
  private readonly deadline: number;
  readonly shouldStop: () => boolean;

  constructor(timeLimitSeconds: number | undefined, shouldStop: (() => boolean) | undefined) {
    this.deadline = timeLimitSeconds === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeLimitSeconds * 1000;
    this.shouldStop = shouldStop ?? (() => false);
  }

  /** Why no more work may start, if so. */
  spent(): BudgetStop | undefined {
    if (this.shouldStop()) return 'interrupted';
    return performance.now() >= this.deadline ? 'time' : undefined;
  }

  /** The time left, as a cell's time limit (undefined: none). */
  remainingMs(): number | undefined {
    return this.deadline === Number.POSITIVE_INFINITY ? undefined : Math.max(0, this.deadline - performance.now());
  }
}
