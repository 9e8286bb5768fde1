import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // DynamoDB Local and fauxqs start once per run; each test file makes its own tables and queues.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    env: {
      // Credentials the emulators accept; nothing here can reach AWS.
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'ap-northeast-2',
      POWERTOOLS_DEV: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    },
  },
});
