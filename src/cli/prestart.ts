/**
 * The search threads a command will want, started before it loads its own modules (worker.ts):
 * `check --workers n` searches each cell on n threads, and a thread's start is mostly loading the
 * model (src/engine/parallel-pool.ts). This reads the option from the raw arguments, before the
 * command line is parsed (which needs the modules): a count the parser later refuses, or an
 * option that was another's value, costs only idle threads, which end with the command.
 */
import { availableParallelism } from 'node:os';

/** The module a search thread rebuilds a cell from (parallel-cell.ts); the compiled one when this runs from source (tests): threads run plain JavaScript. */
export function parallelCellModule(): string {
  return (import.meta.url.endsWith('.ts') ? new URL('../../dist/cli/parallel-cell.js', import.meta.url) : new URL('./parallel-cell.js', import.meta.url)).href;
}

/** The threads `--workers <n>` (or `--workers=<n>`) asks for in `argv`, if it is a count the parser accepts; else 1. */
export function workersAsked(argv: readonly string[]): number {
  let value: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--workers') value = argv[i + 1];
    else if (a.startsWith('--workers=')) value = a.slice('--workers='.length);
  });
  const n = value === 'auto' ? availableParallelism() : value !== undefined && /^\d+$/.test(value) ? Number(value) : 1;
  return n >= 2 && n <= availableParallelism() ? n : 1;
}
