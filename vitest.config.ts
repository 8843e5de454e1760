import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests talk to real Redis, PostgreSQL and child processes: allow them time, never hang CI.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: more workers only contend for them.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
