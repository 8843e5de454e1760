import { realpathSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseOperatorConfig } from "../../src/config/operator-config.js";
import { StepFailedError, type StepSpec } from "../../src/lifecycle/provider.js";
import { RunProvider } from "../../src/providers/run-provider.js";
import { stepContext } from "./sandbox/sandbox-fixtures.js";

/**
 * Operator secrets reach a `run` step as `${VAR}` references to the server's
 * environment (DESIGN §7): checked at config load, read when the step runs,
 * and masked in everything the step reports.
 */

const TOKEN = "tok-9f8e7d6c5b4a3210";
const serverEnv = { PATH: process.env.PATH, DEPLOY_TOKEN: TOKEN, REGION: "eu-west-1" };
let cwd: string;

beforeEach(async () => {
  cwd = realpathSync(await mkdtemp(join(tmpdir(), "ephemera-operator-env-")));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const context = stepContext({ repoId: 4242, pr: 42 });

function step(run: string, env: Record<string, string>): StepSpec {
  return { name: "deploy", run, env };
}

async function failureOf(spec: StepSpec): Promise<StepFailedError> {
  const error = await new RunProvider({ cwd, parentEnv: serverEnv, killGraceMs: 1000 }).create(spec, context).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(StepFailedError);
  return error as StepFailedError;
}

describe("${VAR} references in a step's env", () => {
  it("are resolved from the server's environment when the step runs", async () => {
    const spec = step(`echo "auth=$AUTH" >> "$EPHEMERA_OUTPUT"; echo "region=$REGION" >> "$EPHEMERA_OUTPUT"; [ "$AUTH" = "Bearer ${TOKEN}" ] && [ "$REGION" = eu-west-1 ]`, { AUTH: "Bearer ${DEPLOY_TOKEN}", REGION: "${REGION}" });
    const { outputs } = await new RunProvider({ cwd, parentEnv: serverEnv }).create(spec, context);
    // The step saw the values; the outputs it wrote keep only their masks, as every referenced value is masked.
    expect(outputs).toEqual({ auth: "Bearer ***", region: "***" });
  });

  it("mask the referenced value in the output tail, also when the step prints it in pieces across writes", async () => {
    const script = `printf '%s' "$(echo "$AUTH" | cut -c1-8)"; sleep 0.2; printf '%s\\n' "$(echo "$AUTH" | cut -c9-)"; echo "plain: $AUTH" >&2; exit 1`;
    const failure = await failureOf(step(script, { AUTH: "${DEPLOY_TOKEN}" }));
    expect(failure.outputTail).toBe("***\nplain: ***\n");
    expect(JSON.stringify(failure)).not.toContain(TOKEN);
  });

  it("mask the whole value of a variable named like a secret, even one written in the config", async () => {
    const cases = { API_TOKEN: "literal-token-1", db_password: "literal-pw-22", SigningKey: "literal-key-333", AWS_CREDENTIALS: "literal-cred-4444", CLIENT_SECRET: "literal-secret-5" };
    const failure = await failureOf(step(`for v in "$API_TOKEN" "$db_password" "$SigningKey" "$AWS_CREDENTIALS" "$CLIENT_SECRET" "$GREETING"; do echo "$v"; done; exit 1`, { ...cases, GREETING: "hello" }));
    expect(failure.outputTail).toBe("***\n***\n***\n***\n***\nhello\n");
  });

  it("fail the step terminally when the server's environment lacks the variable, naming it but no value", async () => {
    const failure = await failureOf(step("true", { AUTH: "${MISSING_TOKEN}" }));
    expect(failure).toMatchObject({ terminal: true, message: 'step "deploy" env.AUTH: ${MISSING_TOKEN} is not set in the server\'s environment' });
  });
});

describe("the operator config", () => {
  const config = (env: string) => `templates:\n  web:\n    steps:\n      - { name: build, run: "true" }\n      - { name: deploy, run: ./deploy.sh, env: ${env} }\n`;

  it("refuses a reference to a variable the server does not have, naming where", () => {
    expect(() => parseOperatorConfig(config('{ AUTH: "Bearer ${DEPLOY_TOKEN}", OTHER: "${NOPE}" }'), "ephemera.config.yml", serverEnv)).toThrow(
      "ephemera.config.yml: templates.web.steps[1].env.OTHER: ${NOPE} is not set in the server's environment",
    );
  });

  it("keeps the reference, not the value, in the parsed config", () => {
    const parsed = parseOperatorConfig(config('{ AUTH: "Bearer ${DEPLOY_TOKEN}" }'), "ephemera.config.yml", serverEnv);
    expect(parsed.templates.web?.steps[1]).toMatchObject({ env: { AUTH: "Bearer ${DEPLOY_TOKEN}" } });
    expect(JSON.stringify(parsed)).not.toContain(TOKEN);
  });
});
