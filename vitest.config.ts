import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Compiled programs of the suite go to one folder of its own, not the user's ~/.cache (tests of the cache
    // itself use folders of their own).
    env: { FVIZ_CACHE: process.env['FVIZ_CACHE'] ?? join(tmpdir(), 'fviz-test-programs'), FVIZ_CACHE_MAX_MB: '2048' },
  },
});
