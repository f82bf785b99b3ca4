/**
 * The worker thread that runs the command (host.ts starts it): `mainAsync` (it may load --driver modules) with the shared stop flag
 * as its `shouldStop`, and stderr's TTY-ness from the main thread (a worker's stderr is a pipe).
 * The exit code goes back as a message; stdout and stderr are relayed by Node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mainAsync } from './main.js';
import { StopFlag } from './signals.js';

export interface WorkerInput {
  readonly argv: readonly string[];
  readonly stop: SharedArrayBuffer;
  readonly progress: boolean;
}

const input = workerData as WorkerInput;
const stop = new StopFlag(input.stop);
const code = await mainAsync(input.argv, { shouldStop: () => stop.raised, progress: input.progress });
parentPort!.postMessage({ code });
