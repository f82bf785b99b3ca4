/**
 * One status line on a terminal (stderr), rewritten in place: the running cell, states, states/s,
 * frontier, the process's memory, elapsed. Only used when stderr is a TTY and the output is not
 * JSON; it shows up once a run has lasted about half a second (the explorer reports twice a second).
 */
import type { Progress } from '../engine/exhaustive.js';

export class ProgressLine {
  private shown = false;
  /** The cell being checked (`scenario/variant`). */
  cell = '';

  show(p: Progress): void {
    const rate = p.elapsedMs > 0 ? Math.round((p.states / p.elapsedMs) * 1000) : 0;
    const line = `${this.cell ? `${this.cell}  ` : ''}${fmt(p.states)} states  ${fmt(rate)}/s  frontier ${fmt(p.frontier)}  depth ${p.depth}  ${(p.rss / 2 ** 20).toFixed(0)} MiB  ${(p.elapsedMs / 1000).toFixed(1)} s`;
    process.stderr.write(`\r\x1b[2K${line}`);
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
