import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // OCR-heavy end-to-end files must not run side by side on a 2-core machine
    fileParallelism: true,
    maxWorkers: 2,
  },
});
