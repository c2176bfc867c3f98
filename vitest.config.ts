import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'videos/**/*.test.ts',
      'examples/**/*.test.ts',
      'scripts/**/*.test.ts',
      'deploy/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests compile real clips with ffmpeg and bind UDP ports: run files one at a time
    // so two compiles do not fight over the machine's two cores.
    fileParallelism: false,
  },
});
