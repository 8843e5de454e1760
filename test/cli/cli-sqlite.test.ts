import { cliStoreSuite } from "./cli-store.suite.js";

cliStoreSuite("sqlite", () => undefined);
