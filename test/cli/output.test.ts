import { describe, expect, it } from "vitest";
import { Output } from "../../src/cli/output.js";
import { startProgress } from "../../src/cli/progress.js";
import { isSecretName, redactStored, redactText, redactValue } from "../../src/read-model/redact.js";
import { collectingSink } from "./cli-harness.js";

describe("redaction", () => {
  it("hides sealed values and the credentials of any URL in a text", () => {
    expect(redactText("db sealed:v1:AbC_-12 at postgres://app:pw@db:5432/x and https://token@github.com/o/r, http://host/path")).toBe(
      "db [sealed] at postgres://[redacted]@db:5432/x and https://[redacted]@github.com/o/r, http://host/path",
    );
  });

  it.each([
    ["password", true],
    ["db_password", true],
    ["apiToken", true],
    ["API_KEY", true],
    ["private-key", true],
    ["clientSecret", true],
    ["auth", true],
    ["author", false],
    ["cache_key", false],
    ["url", false],
    ["tokens", true],
    ["keyTtlMs", false],
  ])("calls %j a secret name: %s", (name, secret) => {
    expect(isSecretName(name)).toBe(secret);
  });

  it("replaces every text named like a secret, at any depth, and leaves other values alone", () => {
    const checkpoint = { sha: "abc", outputs: { api_token: "t0k", url: "https://u:p@h/", count: 3 } };
    expect(redactValue({ token: checkpoint, tokens: ["a", "b"], empty: { password: "" } })).toEqual({
      token: { sha: "abc", outputs: { api_token: "[redacted]", url: "https://[redacted]@h/", count: 3 } },
      tokens: ["[redacted]", "[redacted]"],
      empty: { password: "" },
    });
  });

  it("keeps a stored value byte for byte unless something in it is redacted", () => {
    const untouched = '{"b": 1,  "a":"x"}';
    expect(redactStored(untouched)).toBe(untouched);
    expect(redactStored("ready")).toBe("ready");
    expect(redactStored('{"outputs":{"password":"pw"}}')).toBe('{"outputs":{"password":"[redacted]"}}');
    expect(redactStored("{not json sealed:v1:abc")).toBe("{not json [sealed]");
  });
});

describe("output", () => {
  it("prints tables padded to their widest cell, and redacts every line on its way out", () => {
    const stdout = collectingSink();
    const out = new Output(stdout, collectingSink());
    out.table(["A", "LONG HEADER", "C"], [["value", "postgres://a:very-long-password@h/", "x"], ["v", "y", "z"]]);
    expect(stdout.text).toBe(["A      LONG HEADER               C", "value  postgres://[redacted]@h/  x", "v      y                         z", ""].join("\n"));
  });

  it("draws progress only on a terminal, and clears its line when done", () => {
    const pipe = collectingSink(false);
    const quiet = startProgress(pipe, "export", 3);
    for (let i = 0; i < 3; i += 1) quiet.tick();
    quiet.done();
    expect(pipe.text).toBe("");

    const tty = collectingSink(true);
    const bar = startProgress(tty, "export", 2);
    bar.tick();
    bar.tick();
    bar.done();
    expect(tty.text.startsWith(`\rexport [${"-".repeat(24)}] 0/2\x1b[K`)).toBe(true);
    expect(tty.text).toContain(`\rexport [${"#".repeat(24)}] 2/2\x1b[K`);
    expect(tty.text.endsWith("\r\x1b[K")).toBe(true);
  });
});
