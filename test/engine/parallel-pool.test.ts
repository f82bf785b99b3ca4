/**
 * The search threads started ahead of need (src/engine/parallel-pool.ts): a prestarted thread
 * serves the searches of its module one after another — with the one-thread results, a --driver
 * module loaded once for them all — and a search that failed ends its threads rather than give
 * them back. (In a file of its own: the pool is the test process's.)
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { parallelCell, type CellSource } from '../../src/cli/parallel-cell.js';
import { parallelCellModule } from '../../src/cli/prestart.js';
import { idleSearchWorkers, prestartSearchWorkers } from '../../src/engine/parallel-pool.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import dmirrorDriver from '../../examples/drivers/dmirror.js';
import { ROOT } from '../helpers/cli.js';

const module = parallelCellModule();
const together = (source: CellSource) => ({ ...parallelCell(2, source), together: true });
const pick = (r: ReturnType<typeof checkOne>) => ({ verdict: r.verdict, states: r.states, transitions: r.transitions, depth: r.depth, schedule: r.schedule });

describe('search threads kept between searches', () => {
  it('a prestarted thread serves search after search, a --driver loaded once, with the one-thread results', { timeout: 120_000 }, () => {
    prestartSearchWorkers(1, module);
    const [thread] = idleSearchWorkers(module);
    expect(thread).toBeGreaterThan(0);
    const spec = scenarioByName('introspect')!;
    const interval = variantByName('interval')!;
    const first = checkOne(spec, interval, { shrink: false, parallel: together({ scenario: 'introspect', variant: 'interval', drivers: [] }) });
    expect(pick(first)).toEqual(pick(checkOne(spec, interval, { shrink: false })));
    expect(idleSearchWorkers(module)).toEqual([thread]);
    // Twice with the same driver module: loading it again in the thread would be two designs of one name.
    const source = { scenario: 'introspect', variant: dmirrorDriver.name, drivers: [join(ROOT, 'examples/drivers/dmirror.ts')] };
    const alone = pick(checkOne(spec, dmirrorDriver, { shrink: false }));
    for (let i = 0; i < 2; i++) expect(pick(checkOne(spec, dmirrorDriver, { shrink: false, parallel: together(source) }))).toEqual(alone);
    expect(idleSearchWorkers(module)).toEqual([thread]);
  });

  it('a search whose thread failed ends it; the next search starts another and keeps it', { timeout: 120_000 }, () => {
    if (idleSearchWorkers(module).length === 0) prestartSearchWorkers(1, module);
    const [thread] = idleSearchWorkers(module);
    const spec = scenarioByName('exit')!;
    const interval = variantByName('interval')!;
    expect(() => checkOne(spec, interval, { parallel: together({ scenario: 'no-such-scenario', variant: 'interval', drivers: [] }) })).toThrow(/cannot rebuild no-such-scenario under interval/);
    expect(idleSearchWorkers(module)).toEqual([]);
    const r = checkOne(spec, interval, { shrink: false, parallel: together({ scenario: 'exit', variant: 'interval', drivers: [] }) });
    expect(pick(r)).toEqual(pick(checkOne(spec, interval, { shrink: false })));
    const [next] = idleSearchWorkers(module);
    expect(next).toBeGreaterThan(0);
    expect(next).not.toBe(thread);
  });
});
