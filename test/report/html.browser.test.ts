/**
 * The HTML report in a real browser: Chromium driven by playwright-core, the system's if the machine
 * has one, else the one the `@sparticuz/chromium` dev dependency ships (test/helpers/browser.ts). A
 * real check finds a real counterexample; the report is written to a temp file and opened from disk
 * (file://); the pfns the page shows in the source and mirror tables are compared with a replay done
 * here. No Chromium that launches is a failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { checkOne, type CheckResult } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { pte } from '../../src/kernel/pgtable.js';
import { spte } from '../../src/kvm/topology.js';
import { KVM } from '../../src/kvm/structs.js';
import { runSchedule, type TraceStep } from '../../src/world/runner.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { counterexampleTrace } from '../../src/report/trace.js';
import { findChromium, type Browser } from '../helpers/browser.js';

// The README's picture is refreshed only on request (UPDATE_SCREENSHOT=1); a plain test run must
// not rewrite tracked files, so it saves the screenshot to a temporary directory.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? fileURLToPath(new URL('../../docs/report-screenshot.png', import.meta.url))
  : join(mkdtempSync(join(tmpdir(), 'vmamirror-shot-')), 'report-screenshot.png');

interface Expected {
  source: number;
  mirror: number;
  sourceEpt: number;
  /** kvm->mmu_invalidate_in_progress of the source's KVM. */
  kvmInProgress: number;
}

/** What the layers hold after each step, computed here by an independent replay. */
function replayExpectations(result: CheckResult): { trace: TraceStep[]; after: Expected[] } {
  const { world } = buildScenario(scenarioByName(result.scenario)!, variantByName(result.variant)!);
  const trace: TraceStep[] = [];
  const after: Expected[] = [];
  for (const a of result.violation!.schedule) {
    trace.push(...runSchedule(world, [a]).map((s) => ({ ...s, index: trace.length })));
    after.push({ source: pte(world, 0, 0).pfn, mirror: pte(world, 1, 0).pfn, sourceEpt: spte(world, 0, 0).pfn, kvmInProgress: world.v[world.layout.slot(KVM, 0, 'invalidateInProgress')] });
  }
  return { trace, after };
}

describe('HTML report in Chromium', () => {
  let browser: Browser;
  let dir: string;
  let context: BrowserContext;
  let page: Page;
  let result: CheckResult;
  let expected: ReturnType<typeof replayExpectations>;
  const errors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    browser = await findChromium();
    result = checkOne(scenarioByName('introspect')!, variantByName('start-only')!);
    expected = replayExpectations(result);
    dir = mkdtempSync(join(tmpdir(), 'vmamirror-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtmlReport({ result, trace: counterexampleTrace(result) }));
    try {
      context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath: browser.executablePath,
        headless: true,
        viewport: { width: 1440, height: 960 },
        args: browser.args,
      });
    } catch (e) {
      throw new Error(`Chromium from ${browser.source} (${browser.executablePath}) did not launch: ${(e as Error).message}`);
    }
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cell = (id: string) => page.getByTestId(id);
  const selected = async (i: number) => (await page.getByTestId(`step-${i}`).getAttribute('aria-selected')) === 'true';

  it('has a Chromium, the system one or the npm-shipped one', () => {
    expect(existsSync(browser.executablePath), `${browser.source}: ${browser.executablePath}`).toBe(true);
  });

  it('shows the verdict, the statistics and the violated property', async () => {
    expect(result.verdict).toBe('violation');
    await expect.poll(() => cell('verdict').textContent()).toBe('violation');
    expect(await cell('stat-scenario').textContent()).toBe('introspect');
    expect(await cell('stat-variant').textContent()).toBe('start-only');
    expect(await cell('stat-states').textContent()).toBe(String(result.states));
    expect(await cell('violation-property').textContent()).toBe(result.violation!.property);
    expect(await cell('violation-message').textContent()).toBe(result.violation!.message);
    expect(await cell('violation-description').textContent()).toMatch(/mirror pte/);
  });

  it('draws one swimlane per actor with every step of the trace in its actor lane', async () => {
    const n = expected.trace.length;
    expect(await page.locator('[data-testid^="step-"]').count()).toBe(n);
    expect(await cell('lane-0').textContent()).toBe('vcpu');
    for (const i of [0, n - 1]) {
      const text = await cell(`step-${i}`).textContent();
      expect(text).toContain(expected.trace[i].where);
      expect(text).toContain(expected.trace[i].at);
      const lane = await cell(`step-${i}`).evaluate((b) => b.parentElement!.dataset.lane);
      expect(lane).toBe(String(result.violation!.schedule[i]));
    }
  });

  it('shows the layers at the first and the last step, and the violation on the last', async () => {
    const n = expected.trace.length;
    await cell('step-0').click();
    expect(await selected(0)).toBe(true);
    expect(await cell('selected-step').textContent()).toContain('Step 0 (of 0');
    expect(await cell('cell-source-0-pfn').textContent()).toBe(String(expected.after[0].source));
    expect(await cell('cell-mirror-0-pfn').textContent()).toBe(String(expected.after[0].mirror));
    expect(await cell('cell-source-ept-0-pfn').textContent()).toBe(String(expected.after[0].sourceEpt));
    expect(await cell('violation-explanation').count()).toBe(0);

    await cell(`step-${n - 1}`).click();
    expect(await selected(n - 1)).toBe(true);
    expect(await selected(0)).toBe(false);
    const last = expected.after[n - 1];
    expect(await cell('cell-source-0-pfn').textContent()).toBe(String(last.source));
    expect(await cell('cell-mirror-0-pfn').textContent()).toBe(String(last.mirror));
    expect(last.mirror).not.toBe(last.source); // that is the violation
    expect(await cell('layer-frames').isVisible()).toBe(true);
    expect(await cell(`frame-${last.mirror}-free`).textContent()).toBe('0');
    const explanation = await cell('violation-explanation').textContent();
    expect(explanation).toContain(result.violation!.property);
    expect(explanation).toContain(result.violation!.message);
    // The last step (try_to_migrate) unmapped the source page: its cells are marked changed.
    expect(await cell('cell-source-0-pfn').getAttribute('class')).toContain('changed');
    expect(await cell('cell-mirror-0-pfn').getAttribute('class')).not.toContain('changed');
  });

  it('marks the cells the selected step changed', async () => {
    const insert = expected.trace.findIndex((s) => s.changes.some((c) => c.what === 'pte[introspector@0].pfn'));
    expect(insert).toBeGreaterThan(0);
    await cell(`step-${insert}`).click();
    expect(await cell('cell-mirror-0-pfn').getAttribute('class')).toContain('changed');
    expect(await cell('cell-mirror-0-pfn').textContent()).toBe(String(expected.after[insert].mirror));
    await cell(`step-${insert - 1}`).click();
    expect(await cell('cell-mirror-0-pfn').getAttribute('class')).not.toContain('changed');
  });

  it('shows the kernel objects after the selected step: notifiers, sequence numbers, locks', async () => {
    const seqRow = page.getByTestId('state-sequences').locator('tr', { hasText: 'mmu_invalidate_in_progress' });
    // A step after which KVM's invalidation count differs from the step before: the cell is marked changed.
    const bump = expected.after.findIndex((a, i) => i > 0 && a.kvmInProgress !== expected.after[i - 1].kvmInProgress);
    expect(bump).toBeGreaterThan(0);
    for (const i of [0, bump]) {
      await cell(`step-${i}`).click();
      expect(await cell('state-tables').isVisible()).toBe(true);
      for (const id of ['state-notifiers', 'state-locks']) expect(await cell(id).isVisible(), id).toBe(true);
      expect(await seqRow.locator('td').nth(2).textContent()).toBe(String(expected.after[i].kvmInProgress));
      expect(await seqRow.locator('td').nth(2).getAttribute('class')).toBe(i === bump ? 'changed' : '');
    }
  });

  it('steps through the trace with the arrow keys', async () => {
    const n = expected.trace.length;
    await cell(`step-${n - 1}`).click();
    await page.keyboard.press('ArrowLeft');
    expect(await selected(n - 2)).toBe(true);
    expect(await selected(n - 1)).toBe(false);
    expect(await cell('selected-step').textContent()).toContain(`Step ${n - 2} (of 0`);
    expect(await cell('cell-source-0-pfn').textContent()).toBe(String(expected.after[n - 2].source));
    await page.keyboard.press('ArrowUp');
    expect(await selected(n - 3)).toBe(true);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    expect(await selected(n - 1)).toBe(true);
    await page.keyboard.press('ArrowRight'); // stays on the last step
    expect(await selected(n - 1)).toBe(true);

    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('goes to the first and the last step with Home and End, focus following the selection', async () => {
    const n = expected.trace.length;
    await cell(`step-${n - 2}`).click();
    await page.keyboard.press('Home');
    expect(await selected(0)).toBe(true);
    expect(await cell('selected-step').textContent()).toContain('Step 0 (of 0');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('step-0');
    await page.keyboard.press('End');
    expect(await selected(n - 1)).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(`step-${n - 1}`);
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(`step-${n - 2}`);
  });

  it('marks the racing steps, the last one among them', async () => {
    const racing = page.locator('.step.racing');
    expect(await racing.count()).toBeGreaterThan(1);
    expect(await cell(`step-${expected.trace.length - 1}`).getAttribute('class')).toContain('racing');
  });

  it('cuts nothing off at 800 px: no horizontal scrolling, every part of the page reachable', async () => {
    await page.setViewportSize({ width: 800, height: 900 });
    try {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      for (const id of ['lane-0', 'layer-frames', 'state-locks', 'verdict']) {
        const box = await cell(id).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.x).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width, id).toBeLessThanOrEqual(800);
      }
      await page.keyboard.press('End');
      expect(await selected(expected.trace.length - 1)).toBe(true);
    } finally {
      await page.setViewportSize({ width: 1440, height: 960 });
    }
  });

  it('loaded nothing from the network and raised no script error', () => {
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  });
});
