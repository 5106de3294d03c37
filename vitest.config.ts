import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Cluster and soak tests are opt-in (npm run test:opt-in): long, and fixed ports.
    exclude: process.env.IA_OPT_IN ? [] : ['test/opt-in/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites each start their own nats-server; two cores, so keep forks few.
    pool: 'forks',
    maxWorkers: 2,
  },
});
