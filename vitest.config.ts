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
    // The AWS SDK's notice that its releases after early 2027 need Node 22 (the lockfile pins one
    // that runs on 20) would otherwise print in every test file that loads it.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
