/**
 * The worker thread that runs the command (host.ts starts it): `mainAsync` (it may load --driver modules) with the shared stop flag
 * as its `shouldStop`, and stderr's TTY-ness from the main thread (a worker's stderr is a pipe).
 * The exit code goes back as a message; stdout and stderr are relayed by Node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { prestartSearchWorkers } from '../engine/parallel-pool.js';
import { parallelCellModule, workersAsked } from './prestart.js';
import { StopFlag } from './signals.js';

export interface WorkerInput {
  readonly argv: readonly string[];
  readonly stop: SharedArrayBuffer;
  readonly progress: boolean;
}

const input = workerData as WorkerInput;
// Before this thread loads the command's modules, so that the search threads load theirs meanwhile.
const threads = workersAsked(input.argv);
if (threads > 1) prestartSearchWorkers(threads - 1, parallelCellModule());
const { mainAsync } = await import('./main.js');
const stop = new StopFlag(input.stop);
const code = await mainAsync(input.argv, { shouldStop: () => stop.raised, progress: input.progress });
parentPort!.postMessage({ code });
