/**
 * What "holds" means under hash compaction: the birthday bound on a state hidden by a 64-bit
 * fingerprint collision, reported with every proof (text, table, JSON, HTML).
 */
import { describe, expect, it } from 'vitest';
import { collisionBound } from '../../src/engine/visited.js';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { resultLine, verdictTable } from '../../src/report/text.js';
import { renderHtmlReport } from '../../src/report/html.js';

describe('the fingerprint collision bound', () => {
  it('is n(n-1)/2 / 2^64, 0 for one state, capped at 1', () => {
    expect(collisionBound(0)).toBe(0);
    expect(collisionBound(1)).toBe(0);
    expect(collisionBound(2)).toBe(2 ** -64);
    expect(collisionBound(3_252_084)).toBeCloseTo((3_252_084 * 3_252_083) / 2 ** 65, 20);
    expect(collisionBound(3_252_084)).toBeLessThan(3e-7);
    expect(collisionBound(2 ** 40)).toBe(1);
  });

  it('is stated with every proof: its line, the table, the JSON field and the HTML report', () => {
    const r = checkOne(scenarioByName('munmap')!, variantByName('interval')!);
    expect(r.verdict).toBe('holds');
    expect(r.missedStateBound).toBe(collisionBound(r.states));
    expect(resultLine(r)).toContain(`fingerprint collision has probability ≤ ${collisionBound(r.states).toPrecision(2)} (birthday bound over ${r.states} states)`);
    expect(verdictTable([r])).toMatch(/Every "holds" is a proof up to the chance that a 64-bit fingerprint collision hid a state: at most \S+ for the largest \(munmap\/interval, \d+ states\)\./);
    expect(JSON.parse(JSON.stringify(r)).missedStateBound).toBe(r.missedStateBound);
    expect(renderHtmlReport({ result: r })).toContain(`data-testid="stat-missed">${collisionBound(r.states).toPrecision(2)}<`);
  });
});
