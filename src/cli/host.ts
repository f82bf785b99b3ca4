/**
 * The main thread of the `vmamirror` process: starts the command in a worker thread (worker.ts)
 * and keeps its own event loop free for signals (signals.ts). The first SIGINT or SIGTERM raises
 * the stop flag: the search stops within milliseconds, prints what it covered and exits 3. A second
 * signal ends the process at once by that signal (the shell's 130 for SIGINT, 143 for SIGTERM),
 * without results.
 */
import { Worker } from 'node:worker_threads';
import { onStopSignals, STOP_SIGNALS, StopFlag } from './signals.js';
import type { WorkerInput } from './worker.js';
import { EXIT_MODEL_ERROR } from './exit.js';

export function runCommand(argv: readonly string[]): void {
  const stop = new StopFlag();
  const input: WorkerInput = { argv, stop: stop.buffer, progress: process.stderr.isTTY === true };
  // Compiled: worker.js next to this file; under tsx (tests, scripts): worker.ts.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const worker = new Worker(new URL(`./worker.${ext}`, import.meta.url), { workerData: input });
  let code: number | undefined;
  const off = onStopSignals(
    (s) => stop.raise(STOP_SIGNALS[s]),
    (s) => {
      // Die of the signal itself (the shell sees 128 + its number), even if the worker is stuck in a system call.
      process.stderr.write(`vmamirror: ${s} again: stopped without results\n`, () => {
        off();
        process.kill(process.pid, s);
      });
    },
  );
  // A reader that went away (`| head`): stop searching, quietly. Another output error: one line.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && !stop.raised) process.stderr.write(`vmamirror: cannot write the output (${e.code ?? e.message})\n`);
    stop.raise(STOP_SIGNALS.SIGTERM);
  });
  worker.on('message', (m: { code: number }) => {
    code = m.code;
  });
  worker.on('error', (e: Error & { code?: string }) => {
    process.stderr.write(
      e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'vmamirror: out of memory before the run finished; --max-memory stops a run with what it covered\n' : `vmamirror: internal error: ${e.message}\n`,
    );
    code = EXIT_MODEL_ERROR;
  });
  worker.on('exit', () => {
    off();
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = code ?? EXIT_MODEL_ERROR;
  });
}
