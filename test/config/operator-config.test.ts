import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import {
  builtInOperatorConfig,
  loadOperatorConfig,
  parseOperatorConfig,
  type OperatorConfig,
} from "../../src/config/operator-config.js";

const M = 60_000;
const H = 60 * M;
const D = 24 * H;

const DESIGN_EXAMPLE = `
templates:
  default:
    ttl: 24h
    maxTtl: 7d
    steps:
      - name: database
        uses: postgres          # built-in provider
        with: { template: app_seed }
      - name: deploy
        run: ./deploy-preview.sh   # operator's command, /bin/sh
        timeout: 10m
        onUpdate: true          # re-run on every push
    teardown:
      - name: undeploy
        run: ./teardown-preview.sh
limits: { maxActivePerRepo: 10, maxActive: 200 }
policy: { forks: approve, drafts: skip, trigger: auto }   # the defaults
`;

const parse = (text: string): OperatorConfig => parseOperatorConfig(text, "ephemera.config.yml");

/** The lines of the ConfigError that parsing `text` throws. */
function problems(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split("\n");
  }
  throw new Error("expected a ConfigError");
}

/** A config with one template `default` whose body is `template` (YAML, indented by the caller). */
function withTemplate(template: string): string {
  return `templates:\n  default:\n${template}`;
}

describe("parseOperatorConfig", () => {
  it("reads the DESIGN example into milliseconds and typed steps", () => {
    const config = parse(DESIGN_EXAMPLE);
    const template = config.templates.default;
    expect(template).toMatchObject({ ttlMs: 24 * H, maxTtlMs: 7 * D, warnBeforeMs: H });
    expect(template?.steps).toEqual([
      { name: "database", timeoutMs: 10 * M, onUpdate: false, uses: "postgres", with: { template: "app_seed" } },
      { name: "deploy", timeoutMs: 10 * M, onUpdate: true, run: "./deploy-preview.sh", env: {} },
    ]);
    expect(template?.teardown).toEqual([{ name: "undeploy", run: "./teardown-preview.sh", timeoutMs: 10 * M }]);
    expect(template?.readiness).toBeUndefined();
    expect(config.limits).toEqual({ maxActivePerRepo: 10, maxActive: 200 });
    expect(config.policy).toEqual({ forks: "approve", drafts: "skip", trigger: "auto", label: "preview" });
  });

  it("gives the built-in default template for an empty file, and for no file", () => {
    for (const config of [parse(""), parse("# nothing yet\n"), builtInOperatorConfig()]) {
      expect(Object.keys(config.templates)).toEqual(["default"]);
      expect(config.templates.default).toEqual({
        ttlMs: 24 * H,
        maxTtlMs: 7 * D,
        warnBeforeMs: H,
        steps: [],
        teardown: [],
      });
      expect(config.limits).toEqual({ maxActivePerRepo: 10, maxActive: 200 });
    }
  });

  it("does not require a default template", () => {
    const config = parse("templates:\n  small: { ttl: 2h }\n  big: { ttl: 2d, maxTtl: 14d }\n");
    expect(Object.keys(config.templates)).toEqual(["small", "big"]);
    expect(config.templates.big?.maxTtlMs).toBe(14 * D);
  });

  it("reads readiness, env and provider settings, turning scalars into text", () => {
    const config = parse(
      withTemplate(`    steps:
      - { name: db, uses: postgres, with: { poolSize: 5, seed: true } }
      - { name: web, run: ./web.sh, timeout: 90s, env: { PORT: 3000, MODE: preview } }
    readiness: { url: "{{url}}/healthz", timeout: 2m }
`),
    );
    const template = config.templates.default;
    expect(template?.steps[0]).toMatchObject({ uses: "postgres", with: { poolSize: "5", seed: "true" } });
    expect(template?.steps[1]).toMatchObject({ run: "./web.sh", timeoutMs: 90_000, env: { PORT: "3000", MODE: "preview" } });
    expect(template?.readiness).toEqual({ url: "{{url}}/healthz", timeoutMs: 2 * M, intervalMs: 5000 });
  });

  it("names the file, the field and the bad duration", () => {
    expect(problems(withTemplate("    steps:\n      - { name: a, run: x }\n      - { name: b, run: y, timeout: 10x }\n"))).toEqual([
      'ephemera.config.yml: templates.default.steps[1].timeout: "10x" is not a duration (examples: 30m, 4h, 2d, 1h30m)',
    ]);
    expect(problems(withTemplate("    ttl: 24\n"))).toEqual([
      "ephemera.config.yml: templates.default.ttl: 24 is not a duration (examples: 30m, 4h, 2d, 1h30m)",
    ]);
  });

  it("reports every problem on its own line", () => {
    const lines = problems(`
templates:
  default:
    ttl: 1x
    stepz: []
limits: { maxActive: 0 }
policy: { forks: sometimes }
`);
    expect(lines).toEqual([
      'ephemera.config.yml: templates.default.ttl: "1x" is not a duration (examples: 30m, 4h, 2d, 1h30m)',
      'ephemera.config.yml: templates.default: unknown setting "stepz" (allowed: ttl, maxTtl, warnBefore, steps, teardown, readiness)',
      "ephemera.config.yml: limits.maxActive: must be more than 0",
      'ephemera.config.yml: policy.forks: "sometimes" is not one of: never, approve, always',
    ]);
  });

  it("lets templates share settings through YAML anchors and merge keys", () => {
    const config = parse(`
templates:
  default: &base
    ttl: 4h
    steps: [{ name: deploy, run: ./deploy.sh }]
  long:
    <<: *base
    ttl: 2d
`);
    expect(config.templates.long).toMatchObject({ ttlMs: 2 * D, steps: [{ name: "deploy", run: "./deploy.sh" }] });
    expect(config.templates.default?.ttlMs).toBe(4 * H);
  });

  it("reports YAML syntax errors with their position and without the code frame", () => {
    const lines = problems("templates:\n  default:\n    ttl: 1h\n   maxTtl: [\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^ephemera\.config\.yml: .+ at line \d+, column \d+$/);
  });

  it("reports duplicate keys (YAML would otherwise keep the last)", () => {
    expect(problems("templates:\n  a: {}\n  a: {}\n")[0]).toMatch(/^ephemera\.config\.yml: Map keys must be unique/);
  });

  it.each([
    ["both run and uses", "{ name: a, run: x, uses: postgres }", "templates.default.steps[0]: has both run and uses: a step does one or the other"],
    ["neither run nor uses", "{ name: a }", "templates.default.steps[0]: needs run (a command) or uses (a provider)"],
    ["with on a run step", "{ name: a, run: x, with: { k: v } }", "templates.default.steps[0].with: only a step with uses takes with"],
    ["env on a uses step", "{ name: a, uses: postgres, env: { K: v } }", "templates.default.steps[0].env: only a step with run takes env"],
    ["an unknown provider", "{ name: a, uses: mysql }", 'templates.default.steps[0].uses: "mysql" is not a known provider (known: postgres)'],
    ["a bad name", '{ name: "1st step", run: x }', 'templates.default.steps[0].name: "1st step" is not a valid name: use letters, digits, - and _, starting with a letter'],
    ["an empty command", '{ name: a, run: "" }', "templates.default.steps[0].run: must not be empty"],
    ["a reserved variable", "{ name: a, run: x, env: { EPHEMERA_SHA: y } }", 'templates.default.steps[0].env.EPHEMERA_SHA: "EPHEMERA_SHA" is reserved: EPHEMERA_* variables are set by Ephemera'],
    ["a bad variable name", '{ name: a, run: x, env: { "A B": y } }', 'templates.default.steps[0].env["A B"]: "A B" is not a variable name'],
    ["a structured variable value", "{ name: a, run: x, env: { A: [1] } }", "templates.default.steps[0].env.A: must be text, not a list"],
    ["onUpdate not a boolean", "{ name: a, run: x, onUpdate: yes please }", 'templates.default.steps[0].onUpdate: must be true or false, not "yes please"'],
  ])("rejects a step with %s", (_, step, message) => {
    expect(problems(withTemplate(`    steps:\n      - ${step}\n`))).toEqual([`ephemera.config.yml: ${message}`]);
  });

  it("rejects step names that clash once upper-cased with - as _", () => {
    const lines = problems(withTemplate("    steps:\n      - { name: db-main, run: x }\n      - { name: web, run: y }\n      - { name: DB_main, run: z }\n"));
    expect(lines).toEqual([
      'ephemera.config.yml: templates.default.steps[2].name: "DB_main" is already the name of an earlier step ("db-main")',
    ]);
  });

  it("checks teardown names separately from setup names", () => {
    expect(() => parse(withTemplate("    steps: [{ name: app, run: x }]\n    teardown: [{ name: app, run: y }]\n"))).not.toThrow();
    expect(problems(withTemplate("    teardown: [{ name: app, run: y }, { name: app, run: z }]\n"))).toEqual([
      'ephemera.config.yml: templates.default.teardown[1].name: "app" is already the name of an earlier step ("app")',
    ]);
    expect(problems(withTemplate("    teardown: [{ name: app, uses: postgres }]\n"))).toContain(
      'ephemera.config.yml: templates.default.teardown[0]: unknown setting "uses" (allowed: name, run, timeout)',
    );
  });

  it("requires ttl ≤ maxTtl and warnBefore < ttl", () => {
    expect(problems(withTemplate("    ttl: 8d\n"))).toEqual(["ephemera.config.yml: templates.default.ttl: 8d is longer than maxTtl (7d)"]);
    expect(problems(withTemplate("    ttl: 1h\n    maxTtl: 1h\n"))).toEqual([
      "ephemera.config.yml: templates.default.warnBefore: must be shorter than ttl (1h)",
    ]);
    expect(parse(withTemplate("    ttl: 7d\n    maxTtl: 7d\n    warnBefore: 6d 23h\n")).templates.default?.ttlMs).toBe(7 * D);
  });

  it.each([
    ["{ timeout: 1m }", "templates.default.readiness: needs url or run (or both)"],
    ["{ run: ./check.sh, interval: 10m }", "templates.default.readiness.interval: is longer than timeout"],
    ['{ url: "ftp://x/{{url}}" }', 'templates.default.readiness.url: "ftp://x/{{url}}" is not an http(s) URL (example: {{url}}/healthz)'],
    ['{ url: "{{host}}/healthz" }', 'templates.default.readiness.url: "{{host}}/healthz" is not an http(s) URL (example: {{url}}/healthz)'],
  ])("rejects readiness %s", (readiness, message) => {
    expect(problems(withTemplate(`    readiness: ${readiness}\n`))).toEqual([`ephemera.config.yml: ${message}`]);
  });

  it("accepts an absolute readiness URL", () => {
    const config = parse(withTemplate('    readiness: { url: "https://status.example.com/pr?u={{url}}" }\n'));
    expect(config.templates.default?.readiness?.url).toBe("https://status.example.com/pr?u={{url}}");
  });

  it("rejects an empty template list and bad template names", () => {
    expect(problems("templates: {}\n")).toEqual(["ephemera.config.yml: templates: must define at least one template"]);
    expect(problems("templates:\n  my tmpl: {}\n")).toEqual([
      'ephemera.config.yml: templates["my tmpl"]: "my tmpl" is not a valid name: use letters, digits, - and _, starting with a letter',
    ]);
  });

  it("rejects a file that is not a mapping, and wrong kinds of values", () => {
    expect(problems("- a\n- b\n")).toEqual(["ephemera.config.yml: must be a mapping, not a list"]);
    expect(problems("templates:\n  default:\n    steps: { name: a }\n")).toEqual([
      "ephemera.config.yml: templates.default.steps: must be a list, not a mapping",
    ]);
    expect(problems("limits: { maxActivePerRepo: 2.5 }\n")).toEqual([
      "ephemera.config.yml: limits.maxActivePerRepo: must be a whole number, not 2.5",
    ]);
    expect(problems('policy: { label: "" }\n')).toEqual(["ephemera.config.yml: policy.label: must not be empty"]);
  });

  it("puts no stack or zod wording in the message", () => {
    const [line] = problems(withTemplate("    steps: [{ name: a, run: x, timeout: 10x }]\n"));
    expect(line).not.toMatch(/ZodError|Invalid input|\n|at .*\.ts/);
  });
});

describe("loadOperatorConfig", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ephemera-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads and parses the file, naming it in errors", async () => {
    const path = join(dir, "good.yml");
    await writeFile(path, "templates:\n  small: { ttl: 2h }\n");
    expect((await loadOperatorConfig(path, { required: true })).templates.small?.ttlMs).toBe(2 * H);

    const bad = join(dir, "bad.yml");
    await writeFile(bad, "limits: { maxActive: lots }\n");
    await expect(loadOperatorConfig(bad, { required: true })).rejects.toThrow(
      `${bad}: limits.maxActive: must be a number, not "lots"`,
    );
  });

  it("falls back to the built-in configuration only when the file is optional", async () => {
    const missing = join(dir, "missing.yml");
    expect(await loadOperatorConfig(missing, { required: false })).toEqual(builtInOperatorConfig());
    await expect(loadOperatorConfig(missing, { required: true })).rejects.toThrow(`${missing}: file not found`);
  });

  it("reports a path that cannot be read", async () => {
    await expect(loadOperatorConfig(dir, { required: false })).rejects.toThrow(`${dir}: cannot be read (EISDIR)`);
  });
});
