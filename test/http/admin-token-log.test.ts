import { expect, it } from "vitest";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { spawnApp } from "../helpers/app-process.js";

const TOKEN = "admin-token-that-must-stay-secret";

it("never writes the admin token to a log line, however it is sent", async () => {
  const app = await spawnApp({
    env: { ...testAppCredentials(), GHE_HOST: "127.0.0.1:1", GHE_PROTOCOL: "http", LOG_FORMAT: "json", LOG_LEVEL: "debug", EPHEMERA_ADMIN_TOKEN: TOKEN },
  });
  try {
    const basic = `Basic ${Buffer.from(`ops:${TOKEN}`).toString("base64")}`;
    for (const authorization of [`Bearer ${TOKEN}`, basic, "Bearer wrong-token-also-secret"]) {
      const response = await fetch(app.url("/dashboard"), { headers: { authorization, cookie: `session=${TOKEN}` } });
      expect([200, 401]).toContain(response.status);
    }
    expect(app.output()).toContain("/dashboard");
    expect(app.output()).not.toContain(TOKEN);
    expect(app.output()).not.toContain(Buffer.from(`ops:${TOKEN}`).toString("base64"));
    expect(app.output()).not.toContain("wrong-token-also-secret");
  } finally {
    await app.dispose();
  }
});
