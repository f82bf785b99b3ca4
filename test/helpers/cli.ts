/**
 * The real `vmamirror` binary as a child process (bin/vmamirror.js, which runs dist/): for the
 * contract tests that need a process — signals, memory, exit codes and what reaches stdout and
 * stderr. test/helpers/build.ts (vitest's global setup) rebuilds dist/ first when src/ is newer.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/vmamirror.js', import.meta.url));

export interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `vmamirror ARGS` to the end. */
export function vmamirror(args: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Ran {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, VMAMIRROR_DEBUG: '' } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export interface Signalled extends Ran {
  /** From the signal to the process's exit. */
  readonly latencyMs: number;
  /** The process's peak resident memory (VmHWM), read from /proc while it ran; 0 where there is no /proc. */
  readonly peakRss: number;
}

/** Runs the CLI; with `signal`, sends it once the process has used `afterMs` of CPU time (and again `againMs` later, if given). */
export function vmamirrorUntil(args: readonly string[], signal?: NodeJS.Signals, afterMs = 0, againMs?: number): Promise<Signalled> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, VMAMIRROR_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    let sentAt = 0;
    let peakRss = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = `/proc/${child.pid}/status`;
    const stat = `/proc/${child.pid}/stat`;
    let again: NodeJS.Timeout | undefined;
    const send = () => {
      sentAt = performance.now();
      child.kill(signal);
      if (againMs !== undefined) again = setTimeout(() => child.kill(signal), againMs);
    };
    const watch = setInterval(() => {
      try {
        if (existsSync(status)) peakRss = Math.max(peakRss, Number(/VmHWM:\s*(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1] ?? 0) * 1024);
        // The signal goes once the child has run `afterMs` of CPU time (utime + stime, in 10 ms
        // ticks), not of wall time: on a loaded machine it would otherwise come before the
        // command has even loaded.
        if (signal && !sentAt && existsSync(stat)) {
          const line = readFileSync(stat, 'utf8');
          const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
          if ((Number(f[11]) + Number(f[12])) * 10 >= afterMs) send();
        }
      } catch {
        // the process is gone
      }
    }, 10);
    child.on('close', (code, sig) => {
      clearInterval(watch);
      clearTimeout(again);
      resolve({ code, signal: sig, stdout, stderr, latencyMs: sentAt ? performance.now() - sentAt : 0, peakRss });
    });
  });
}

/** No Node stack trace, no internal error: what every input must give. */
export function tidy(r: Ran): boolean {
  return !/\n\s+at |internal error|Error:/.test(r.stderr) && !/\n\s+at /.test(r.stdout);
}
