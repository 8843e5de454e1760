import { afterAll, beforeAll } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { cliStoreSuite } from "./cli-store.suite.js";

let redis: PrivateRedis | undefined;
beforeAll(async () => {
  redis = await startPrivateRedis();
});
afterAll(async () => {
  await redis?.stop();
});

cliStoreSuite("redis", () => redis);
