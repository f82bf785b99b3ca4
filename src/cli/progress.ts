/**
 * One status line on a terminal (stderr), rewritten in place: the running cell, then for a search
 * states, states/s, frontier, depth, and for a simulation runs done of those asked, steps, distinct
 * states; the process's memory and the time elapsed. Only used when stderr is a TTY and the output
 * is not JSON; it shows up once a run has lasted about half a second (both engines report twice a
 * second).
 */
import type { Progress } from '../engine/exhaustive.js';
import type { SimulateProgress } from '../engine/simulate.js';

export class ProgressLine {
  private shown = false;
  /** The cell being checked (`scenario/variant`). */
  cell = '';

  show(p: Progress): void {
    const rate = p.elapsedMs > 0 ? Math.round((p.states / p.elapsedMs) * 1000) : 0;
    this.write(`${fmt(p.states)} states  ${fmt(rate)}/s  frontier ${fmt(p.frontier)}  depth ${p.depth}`, p.rss, p.elapsedMs);
  }

  showRuns(p: SimulateProgress): void {
    this.write(`run ${fmt(p.runs)} of ${fmt(p.runsRequested)}  ${fmt(p.steps)} steps  ${fmt(p.states)} states`, process.memoryUsage.rss(), p.elapsedMs);
  }

  private write(figures: string, rss: number, elapsedMs: number): void {
    process.stderr.write(`\r\x1b[2K${this.cell ? `${this.cell}  ` : ''}${figures}  ${(rss / 2 ** 20).toFixed(0)} MiB  ${(elapsedMs / 1000).toFixed(1)} s`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : String(n);
}
