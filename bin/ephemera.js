#!/usr/bin/env node
// `npx ephemera …`. The compiled CLI when there is one (`npm run build`, which
// `npm start` runs too, so the CLI is the same code as the server it works
// beside, and starts fastest); otherwise, in a development checkout that was
// never built, the TypeScript source through tsx (a dev dependency,
// registered in this process so signals and exit codes stay the CLI's own).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    process.stderr.write("ephemera: the CLI is not built and tsx is not installed: run `npm run build` first\n");
    process.exit(1);
  }
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
