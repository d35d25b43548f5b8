/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  // Integration tests start real Envoy processes; keep parallelism within a 2-core machine.
  maxWorkers: 2,
  testTimeout: 60000,
  // Every file's tmpDir() directories are removed when it ends (test/support/tmp.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/cleanup.ts'],
  // In the clone, not in TMPDIR: scripts/test-isolated.sh gives each run a fresh TMPDIR that must end up empty.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
};
