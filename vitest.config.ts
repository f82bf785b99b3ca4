import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

type Floor = { lines: number; branches: number; functions: number; statements: number };

/**
 * Coverage floors, per source folder, in percent; `npm test` (vitest run --coverage) fails when a
 * folder drops below its floor. Each is set just under what the suite measured when it was added.
 * The kernel model (src/kernel) and the search engine (src/engine) carry the highest floors: one
 * point under their measurement, where the other folders get two. (Measured 2026-11-29, lines %:
 * world 93.3 (the footprint recorder runs only under `npm run footprints`), kernel 96.5, kvm 99.3,
 * mirror 100, engine 98.1, check 98.2, scenario 92.5, report 84.8, cli 84.3.)
 * When a folder is renamed or split, move its row: a row whose
 * folder is gone, or a src/ folder without a row, stops the run here rather than passing silently.
 */
const FLOORS: Record<string, Floor> = {
  'src/world': { lines: 91, branches: 76, functions: 90, statements: 86 },
  'src/kernel': { lines: 94, branches: 85, functions: 96, statements: 91 },
  'src/kvm': { lines: 97, branches: 88, functions: 98, statements: 93 },
  'src/mirror': { lines: 98, branches: 81, functions: 98, statements: 93 },
  'src/engine': { lines: 96, branches: 87, functions: 95, statements: 93 },
  'src/check': { lines: 96, branches: 82, functions: 89, statements: 89 },
  'src/scenario': { lines: 90, branches: 78, functions: 92, statements: 88 },
  'src/report': { lines: 82, branches: 66, functions: 88, statements: 81 },
  'src/cli': { lines: 82, branches: 68, functions: 78, statements: 75 },
  // The loader (load.ts, hooks.ts) runs in the binary's worker (test/cli/driver.test.ts): not in-process coverage.
  'src/driver': { lines: 40, branches: 30, functions: 30, statements: 40 },
  // Measured 2026-11-29 by test/driver/tables alone: lines 96.7, branches 80.7, functions 100, statements 89.8.
  'src/layers': { lines: 94, branches: 78, functions: 98, statements: 87 },
};

const root = new URL('./', import.meta.url);
for (const folder of Object.keys(FLOORS)) {
  if (!existsSync(new URL(folder, root))) throw new Error(`vitest.config.ts: coverage floor for ${folder}, which no longer exists`);
}
for (const entry of readdirSync(new URL('src/', root), { withFileTypes: true })) {
  if (entry.isDirectory() && !FLOORS[`src/${entry.name}`]) throw new Error(`vitest.config.ts: src/${entry.name} has no coverage floor in FLOORS`);
}

export default defineConfig({
  // A driver module imports 'vmamirror': in tests, the sources (the binary resolves it to the running package).
  resolve: { alias: { vmamirror: new URL('src/index.ts', root).pathname } },
  test: {
    // One test file per core: Vitest's default leaves one core free, which on CI's two cores runs
    // the whole suite on one worker (the suite's files are single-threaded searches).
    maxWorkers: availableParallelism(),
    // Exhaustive explorations run for seconds on a loaded CI machine; a test that is slow is not wrong.
    testTimeout: 30_000,
    include: ['test/**/*.test.ts'],
    // The command's contract tests run the built binary: rebuild dist/ first if src/ is newer.
    globalSetup: ['test/helpers/build.ts'],
    // `npm run footprints` (scripts/footprints.ts) records what every step does while the suite runs.
    setupFiles: process.env.VMAMIRROR_RECORD_FOOTPRINTS ? ['test/helpers/record-footprints.ts'] : [],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'], // the code; src/scenario/schema.json is data
      // A parallel search's worker (src/engine/parallel.ts) runs compiled, in worker threads: test/engine/parallel.test.ts checks what it does, not in-process coverage.
      exclude: ['src/engine/parallel-worker.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: Object.fromEntries(Object.entries(FLOORS).map(([folder, floor]) => [`${folder}/**`, floor])),
    },
  },
});
