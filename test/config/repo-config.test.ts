import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { builtInOperatorConfig, parseOperatorConfig } from "../../src/config/operator-config.js";
import { resolveRepoSettings, type RepoSettingsResult } from "../../src/config/repo-config.js";

const H = 3_600_000;
const D = 24 * H;

const operator = parseOperatorConfig(
  `
templates:
  default: { ttl: 24h, maxTtl: 7d }
  small: { ttl: 2h, maxTtl: 8h, warnBefore: 30m }
policy: { forks: approve, drafts: provision, trigger: auto, label: preview }
`,
  "ephemera.config.yml",
);

/** The repository file as Probot hands it over: parsed YAML. */
const resolve = (yaml: string, config = operator): RepoSettingsResult => resolveRepoSettings(config, parseYaml(yaml));

function errorsOf(result: RepoSettingsResult): string[] {
  if (result.ok) throw new Error("expected errors");
  return result.errors;
}

describe("resolveRepoSettings", () => {
  it("gives the operator's default template, its ttl and the operator's policy when the repository has no file", () => {
    for (const raw of [null, undefined]) {
      expect(resolveRepoSettings(operator, raw)).toEqual({
        ok: true,
        settings: {
          templateName: "default",
          template: operator.templates.default,
          ttlMs: 24 * H,
          policy: operator.policy,
        },
      });
    }
  });

  it("treats an empty file like no file", () => {
    expect(resolve("")).toMatchObject({ ok: true, settings: { templateName: "default" } });
  });

  it("picks a template and a ttl within its maxTtl", () => {
    const result = resolve("template: small\nttl: 4h\n");
    expect(result).toEqual({
      ok: true,
      settings: { templateName: "small", template: operator.templates.small, ttlMs: 4 * H, policy: operator.policy },
    });
  });

  it("accepts a ttl equal to maxTtl", () => {
    expect(resolve("ttl: 7d\n")).toMatchObject({ ok: true, settings: { ttlMs: 7 * D } });
  });

  it("rejects a ttl above the template's maxTtl instead of capping it", () => {
    expect(errorsOf(resolve("template: small\nttl: 1d\n"))).toEqual([
      "ttl: 1d is longer than the template's maxTtl (8h)",
    ]);
  });

  it("names a bad duration", () => {
    expect(errorsOf(resolve("ttl: 4x\n"))).toEqual(['ttl: "4x" is not a duration (examples: 30m, 4h, 2d, 1h30m)']);
  });

  it("names an unknown template and lists the operator's", () => {
    expect(errorsOf(resolve("template: big\n"))).toEqual(['template: "big" is not one of: default, small']);
  });

  it("does not mistake object properties for templates", () => {
    expect(errorsOf(resolve("template: constructor\n"))).toEqual(['template: "constructor" is not one of: default, small']);
    expect(errorsOf(resolve("template: __proto__\n"))).toEqual(['template: "__proto__" is not one of: default, small']);
  });

  it("requires a template when the operator has no default", () => {
    const optIn = parseOperatorConfig("templates:\n  small: {}\n  big: {}\n", "ephemera.config.yml");
    expect(errorsOf(resolveRepoSettings(optIn, null))).toEqual([
      'template: required, because the operator has no "default" template (choose one of: small, big)',
    ]);
    expect(resolve("template: big\n", optIn)).toMatchObject({ ok: true, settings: { templateName: "big" } });
  });

  it("rejects unknown keys, listing the allowed ones", () => {
    expect(errorsOf(resolve("templat: small\n"))).toEqual([
      'unknown setting "templat" (allowed: template, ttl, policy)',
    ]);
    expect(errorsOf(resolve("policy: { fork: never }\n"))).toEqual([
      'policy: unknown setting "fork" (allowed: forks, drafts, trigger, label)',
    ]);
  });

  it("rejects a file that is not a mapping", () => {
    expect(errorsOf(resolve("- template: small\n"))).toEqual(["must be a mapping, not a list"]);
    expect(errorsOf(resolve("just text\n"))).toEqual(['must be a mapping, not "just text"']);
  });

  it("lets a repository make the policy stricter and set its label", () => {
    const result = resolve("policy: { forks: never, drafts: skip, trigger: label, label: needs-preview }\n");
    expect(result).toMatchObject({
      ok: true,
      settings: { policy: { forks: "never", drafts: "skip", trigger: "label", label: "needs-preview" } },
    });
  });

  it("keeps the operator's value for each policy field the repository leaves out", () => {
    expect(resolve("policy: { forks: never }\n")).toMatchObject({
      ok: true,
      settings: { policy: { forks: "never", drafts: "provision", trigger: "auto", label: "preview" } },
    });
  });

  it("accepts the operator's own values", () => {
    expect(resolve("policy: { forks: approve, drafts: provision, trigger: auto }\n").ok).toBe(true);
  });

  it("rejects each looser policy field, naming the operator's value", () => {
    const strict = parseOperatorConfig("policy: { forks: never, drafts: skip, trigger: label }\n", "ephemera.config.yml");
    expect(errorsOf(resolve("policy: { forks: always, drafts: provision, trigger: auto }\n", strict))).toEqual([
      'policy.forks: "always" is looser than the operator\'s "never"; a repository may only make it stricter (strictest first: never, approve, always)',
      'policy.drafts: "provision" is looser than the operator\'s "skip"; a repository may only make it stricter (strictest first: skip, provision)',
      'policy.trigger: "auto" is looser than the operator\'s "label"; a repository may only make it stricter (strictest first: label, auto)',
    ]);
    expect(errorsOf(resolve("policy: { forks: always }\n"))[0]).toMatch(/^policy\.forks: "always" is looser than the operator's "approve"/);
  });

  it("reports the ttl and the policy problems together", () => {
    expect(errorsOf(resolve("template: small\nttl: 9h\npolicy: { forks: always }\n"))).toHaveLength(2);
  });

  it("rejects unknown policy values", () => {
    expect(errorsOf(resolve("policy: { drafts: sometimes }\n"))).toEqual([
      'policy.drafts: "sometimes" is not one of: skip, provision',
    ]);
  });

  it("works against the built-in configuration", () => {
    expect(resolveRepoSettings(builtInOperatorConfig(), { ttl: "4h" })).toMatchObject({
      ok: true,
      settings: { templateName: "default", ttlMs: 4 * H },
    });
  });
});
