/**
 * The status line on a terminal: it names the running cell, for a search and for a simulation
 * (which reports runs done), and is cleared before the results; without a terminal it stays silent.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../helpers/capture.js';

const io = captureOutput();
// Control sequences of the line: carriage return and erase-line, then the text.
const statusLines = () =>
  io.err
    .join('')
    .split('\r\x1b[2K')
    .filter((l) => l.length);

describe('the progress line', () => {
  it('names the cell a search is in, with its states', { timeout: 120_000 }, () => {
    // A cell of some seconds: the line is written every half second (introspect alone can end before the first).
    expect(main(['check', 'introspect-nested', '--variant', 'seed-2019-fixed', '--no-shrink'], { progress: true })).toBe(1);
    const lines = statusLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^introspect-nested\/seed-2019-fixed {2}\d+k? states {2}\S+\/s {2}frontier \S+ {2}depth \d+ {2}\d+ MiB {2}\d+\.\d s$/);
  });

  it('shows a simulation, naming its cell and the runs done', () => {
    expect(main(['check', 'introspect-nested', '--variant', 'interval', '--simulate', '--runs', '3000'], { progress: true })).toBe(0);
    const lines = statusLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^introspect-nested\/interval {2}run \d+k? of 3000 {2}\S+ steps {2}\S+ states {2}\d+ MiB {2}\d+\.\d s$/);
    // Cleared before the result line: the last write erases it.
    expect(io.err.at(-1)).toBe('\r\x1b[2K');
    expect(io.out.join('\n')).toMatch(/^introspect-nested\/interval: no-violation-found — 3000 random runs/);
  });

  it('stays silent without a terminal', () => {
    expect(main(['check', 'introspect-nested', '--variant', 'interval', '--simulate', '--runs', '3000'], { progress: false })).toBe(0);
    expect(io.err).toEqual([]);
  });
});
