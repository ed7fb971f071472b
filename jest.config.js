/** Three tiers: `unit` (engine, loaders, commands; fast, runs in any clone once built), `integration`
 * (the built CLI with outside programs: packaging into an npm tarball, a standalone executable and a
 * krew release, completion in real shells under tmux, the shared conformance checker in python)
 * and `e2e` (the built CLI against a real kube-apiserver started by test/e2e/global-setup).
 * Test files are transpiled one at a time by esbuild (test/support/esbuild-transform.js; tsconfig.json
 * has isolatedModules): `tsc --noEmit` checks the types. */
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': '<rootDir>/test/support/esbuild-transform.js' },
  testEnvironment: 'node',
};

export default {
  testResultsProcessor: '<rootDir>/test/support/results-processor.js',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/test/integration/', '/test/e2e/'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
    },
  ],
};
