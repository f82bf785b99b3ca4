/**
 * `check --swarm --shard i/N`: this process is member i of a swarm of N diversified searches
 * (src/check/swarm.ts) over the selected cells, within one budget; `--json` writes the member's
 * document for `merge`, which gives one verdict per cell with what the swarm covered. Any batch
 * engine runs the members: a CI matrix, a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` as i),
 * GNU parallel (README "Swarm").
 */
import { describeMember, runSwarmCell, swarmMember, type SwarmCellResult, type SwarmShardResult } from '../check/swarm.js';
import { cellName, formatShard, type Shard } from '../check/shard.js';
import { Budget, type RunContext } from './budget.js';
import { fail } from './exit.js';
import { incompleteSentence, simulationExitCode } from './outcome.js';
import { ProgressLine } from './progress.js';
import type { Selection } from './selection.js';
import { finalNote } from './check.js';

export interface SwarmCliOptions {
  shard?: Shard;
  seed?: number;
  runs?: number;
  maxSteps?: number;
  maxStates?: number;
  maxMemory?: number;
  timeLimit?: number;
  json?: boolean;
}

export function checkSwarm(sel: Selection, opts: SwarmCliOptions, ctx: RunContext): number {
  if (!opts.shard) fail('--swarm needs --shard i/N: which member of a swarm of N this process is');
  const shard = opts.shard;
  const seed = opts.seed ?? 1;
  const member = swarmMember(shard.index, seed);
  const budget = new Budget(opts.timeLimit, ctx.shouldStop);
  const progress = ctx.progress && !opts.json ? new ProgressLine() : undefined;
  if (!opts.json) console.log(`swarm member ${formatShard(shard)} (seed ${seed}): ${describeMember(member)}`);
  const cells: SwarmCellResult[] = [];
  for (const c of sel.cells) {
    if (progress) progress.cell = cellName(c);
    const r = runSwarmCell(c.scenario, c.variant, shard, seed, {
      timeLimitMs: budget.remainingMs(),
      maxStates: opts.maxStates,
      maxMemoryBytes: opts.maxMemory,
      runs: opts.runs,
      maxSteps: opts.maxSteps,
      shouldStop: budget.shouldStop,
    });
    progress?.clear();
    cells.push(r);
    if (!opts.json) console.log(memberLine(r));
  }
  const doc: SwarmShardResult = { kind: 'swarm', shard: { ...shard }, seed, member, cells };
  if (opts.json) console.log(JSON.stringify(doc, null, 2));
  // Exits as one check of its search would (1 violation, 3 incomplete): the merge gives the verdict.
  finalNote(incompleteSentence(cells), 0, opts.json);
  return simulationExitCode(cells);
}

function memberLine(c: SwarmCellResult): string {
  const what = c.runs !== undefined ? `${c.runs} runs` : `${c.states.toLocaleString('en-US')} states`;
  const v = c.violation ? ` — ${c.violation.property}: ${c.violation.message}\n  schedule: ${c.schedule}` : '';
  const covered = c.coveredPreemptions !== undefined ? `, every schedule with at most ${c.coveredPreemptions} preemptions` : c.complete ? ', every state' : '';
  return `${c.scenario}/${c.variant}: ${c.verdict}${v} (${what}${covered}, ${(c.elapsedMs / 1000).toFixed(2)} s)`;
}
