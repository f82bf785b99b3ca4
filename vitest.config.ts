import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Exhaustive explorations run for seconds on a loaded CI machine; a test that is slow is not wrong.
    testTimeout: 30_000,
    include: ['test/**/*.test.ts'],
  },
});
