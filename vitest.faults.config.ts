import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault, kill and bad-input suite (issue 5). Files run one at a time
// (each starts several OCR worker processes); the global teardown prints the table of figures.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['test/faults/global-setup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
