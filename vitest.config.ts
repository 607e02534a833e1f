import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Quiet logs under test; a test that reads logs makes its own logger or passes its own level.
    env: { UPCALL_LOG_LEVEL: 'silent' },
  },
});
