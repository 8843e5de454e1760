import { describe, expect, it } from "vitest";
import { COMMANDS_HELP } from "../../src/github/commands/parse-command.js";
import {
  renderCommandReply,
  renderComment,
  renderExpiryWarning,
  type CommentView,
} from "../../src/github/render-comment.js";

const M = 60_000;
const H = 60 * M;
const D = 24 * H;

const NOW = "2025-06-01T10:50:00.000Z";
const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs).toISOString();

const ready: CommentView = {
  pr: 42,
  status: "ready",
  url: "https://pr-42.preview.example.com/",
  headSha: "abc1234def5678900000000000000000000000ff",
  expiresAt: "2025-06-01T14:00:00.000Z",
  now: NOW,
  steps: [
    { name: "database", state: "done" },
    { name: "deploy", state: "done" },
  ],
};

const render = (overrides: Partial<CommentView>) => renderComment({ ...ready, ...overrides });
const linesOf = (body: string) => body.split("\n");

/** The lines between a fenced block's opening fence and the first line that closes it. */
function fencedContent(body: string): string[] {
  const lines = linesOf(body);
  const open = lines.findIndex((line) => /^`{3,}text$/.test(line));
  const fence = lines[open]!.replace("text", "");
  const close = lines.findIndex((line, i) => i > open && line.trim().startsWith(fence));
  return lines.slice(open + 1, close);
}

/** The body with its fenced block removed: what markdown reads as markup. */
function outsideFence(body: string): string {
  const content = fencedContent(body).join("\n");
  return body.replace(content, "");
}

describe("renderComment", () => {
  it("starts with the marker for the PR", () => {
    expect(linesOf(renderComment(ready))[0]).toBe("<!-- ephemera:env:pr-42 -->");
    expect(linesOf(render({ pr: 7 }))[0]).toBe("<!-- ephemera:env:pr-7 -->");
  });

  it("shows status, URL, short sha, expiry, steps and the commands", () => {
    const lines = linesOf(renderComment(ready));
    expect(lines).toContain("### ✅ Preview environment: ready");
    expect(lines).toContain("- **URL:** [https://pr\\-42\\.preview\\.example\\.com/](https://pr-42.preview.example.com/)");
    expect(lines).toContain("- **Commit:** `abc1234`");
    expect(lines).toContain("- **Expires:** 2025-06-01 14:00 UTC (in 3h)");
    expect(lines).toContain("- ✅ `database` done");
    expect(lines).toContain("- ✅ `deploy` done");
    expect(renderComment(ready)).toContain(`<details><summary>Commands</summary>\n\n${COMMANDS_HELP}\n\n</details>`);
  });

  it("gives byte-identical output for the same view", () => {
    expect(renderComment({ ...ready, steps: [...ready.steps] })).toBe(renderComment(ready));
  });

  it("rounds the relative expiry to the hour while an hour or more away", () => {
    const expiresAt = at(3 * H + 10 * M);
    const bodies = [0, 5 * M, 20 * M].map((elapsed) => render({ expiresAt, now: at(elapsed) }));
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]).toContain("(in 3h)");
    expect(render({ expiresAt: at(2 * D + 5 * H + 20 * M) })).toContain("(in 2d 5h)");
  });

  it("counts minutes within the last hour, and says when it is past", () => {
    expect(render({ expiresAt: at(42 * M) })).toContain("- **Expires:** 2025-06-01 11:32 UTC (in 42m)");
    expect(render({ expiresAt: at(-3 * M) })).toContain("- **Expired:** 2025-06-01 10:47 UTC (3m ago)");
  });

  it("shows the URL only when ready", () => {
    for (const status of ["pending", "provisioning", "failed", "tearing_down", "deleted"] as const) {
      expect(render({ status })).not.toContain("**URL:**");
    }
  });

  it("shows no credentials of the URL, linked or not", () => {
    expect(render({ url: "https://deploy:s3cret@pr-42.preview.example.com/" })).toContain("](https://pr-42.preview.example.com/)");
    for (const url of ["ftp://deploy:s3cret@files.example.com/pr-42", "https://deploy:s3cret@pr 42.example.com/"]) {
      expect(render({ url })).not.toContain("s3cret");
    }
  });

  it("does not link a URL that is not http(s)", () => {
    const body = render({ url: "javascript:alert(1)" });
    expect(body).toContain("- **URL:** javascript:alert\\(1\\)");
    expect(body).not.toContain("](javascript");
  });

  it.each([
    ["pending", "### 🕓 Preview environment: starting"],
    ["provisioning", "### 🔄 Preview environment: setting up"],
    ["failed", "### ❌ Preview environment: setup failed"],
    ["tearing_down", "### 🧹 Preview environment: being torn down"],
    ["deleted", "### 🗑️ Preview environment: torn down"],
  ] as const)("heads a %s environment with %j", (status, heading) => {
    expect(linesOf(render({ status }))).toContain(heading);
  });

  it("shows the place in the queue", () => {
    expect(linesOf(render({ status: "queued", queuePosition: 3 }))).toContain("### ⏳ Preview environment: queued (number 3 in line)");
  });

  it("shows each step's progress", () => {
    const body = render({
      status: "provisioning",
      steps: [
        { name: "database", state: "done" },
        { name: "migrate", state: "skipped" },
        { name: "deploy", state: "running" },
        { name: "smoke", state: "pending" },
      ],
    });
    expect(body).toContain("**Setup**\n- ✅ `database` done\n- ⏭️ `migrate` skipped\n- 🔄 `deploy` running\n- ⚪ `smoke` pending");
  });

  it("after teardown, shows why and no expiry", () => {
    const body = render({ status: "deleted", tornDownReason: "the PR was closed", steps: [] });
    expect(linesOf(body)).toContain("- **Reason:** the PR was closed");
    expect(body).not.toContain("Expire");
  });

  it("says why nothing was created, keeping the reason's code spans and escaping the rest", () => {
    const body = render({
      status: "pending",
      notCreatedReason: "Environments are created for PRs labelled `needs <b>preview</b>`, or with `/preview deploy`. <img src=x>",
      steps: [],
    });
    const lines = linesOf(body);
    expect(lines).toContain("### ⏸️ Preview environment: not created");
    expect(lines).toContain(
      "Environments are created for PRs labelled `needs <b>preview</b>`, or with `/preview deploy`\\. &lt;img src=x&gt;",
    );
    expect(body).not.toContain("Expire");
  });

  it("lists invalid repository config errors, escaped and capped", () => {
    const errors = ['ttl: "4x" is not a duration (examples: 30m, 4h, 2d, 1h30m)', "policy: unknown setting \"<!-- x -->\""];
    const lines = linesOf(render({ configErrors: errors, steps: [] }));
    expect(lines).toContain("### ⏸️ Preview environment: not created");
    expect(lines).toContain("`.github/ephemera.yml` is not valid, so nothing was provisioned:");
    expect(lines).toContain('- ttl: "4x" is not a duration \\(examples: 30m, 4h, 2d, 1h30m\\)');
    expect(lines).toContain('- policy: unknown setting "&lt;\\!\\-\\- x \\-\\-&gt;"');

    const many = render({ configErrors: Array.from({ length: 25 }, (_, i) => `e${i}`) });
    expect(many).toContain("- e19\n- and 5 more");
    expect(many).not.toContain("- e20");
  });

  describe("a step's error", () => {
    const hostile = [
      "npm ERR! build failed",
      "<!-- ephemera:env:pr-1 -->",
      "</details>",
      "```",
      "`````` six backticks",
      "# not a heading",
      "@octocat",
    ].join("\n");
    const body = render({ status: "failed", error: { step: "deploy", message: hostile } });

    it("shows the whole output, verbatim, inside a fence it cannot close", () => {
      expect(fencedContent(body)).toEqual(hostile.split("\n"));
      expect(body).toContain("**Step `deploy` failed.** The end of its output:\n\n```````text\n");
    });

    it("forges no marker and breaks no layout outside the fence", () => {
      const markup = outsideFence(body);
      expect(markup.match(/<!-- ephemera:env:/g)).toHaveLength(1);
      expect(linesOf(body)[0]).toBe("<!-- ephemera:env:pr-42 -->");
      expect(markup.match(/<\/details>/g)).toHaveLength(1);
      expect(markup.match(/<details>/g)).toHaveLength(1);
    });

    it("keeps only the end of a huge output", () => {
      const message = `${"early line\n".repeat(20_000)}the real error`;
      const big = render({ status: "failed", error: { step: "deploy", message } });
      expect(big.length).toBeLessThan(10_000);
      expect(fencedContent(big).at(-1)).toBe("the real error");
      expect(fencedContent(big)[0]).toMatch(/^…/);
    });
  });
});

describe("renderExpiryWarning", () => {
  it("says when, absolute and relative, and how to extend", () => {
    const body = renderExpiryWarning({ expiresAt: at(H), now: NOW, ttlMs: 24 * H, maxTtlMs: 7 * D });
    expect(body).toContain("will be torn down at 2025-06-01 11:50 UTC (in 1h)");
    expect(body).toContain("`/preview extend` (adds 1d)");
    expect(body).toContain("`/preview extend 4h`");
    expect(body).toContain("up to 7d from now");
    expect(body).not.toContain("ephemera:env");
  });
});

describe("renderCommandReply", () => {
  it("replies to help with the commands", () => {
    expect(renderCommandReply({ kind: "help" })).toContain(COMMANDS_HELP);
  });

  it("says what was wrong, escaped, and points to help", () => {
    const body = renderCommandReply({ kind: "invalid", reason: '"<b>x</b>" is not a command; the commands are: help' });
    expect(body).toBe('⚠️ "&lt;b&gt;x&lt;/b&gt;" is not a command; the commands are: help\n\nComment `/preview help` for the commands.');
  });

  it("refuses without write access, naming the command", () => {
    expect(renderCommandReply({ kind: "no-permission", verb: "destroy" })).toBe(
      "⚠️ `/preview destroy` needs write access to this repository (write, maintain or admin).",
    );
  });

  it("explains the cap on extending", () => {
    const body = renderCommandReply({ kind: "over-cap", maxTtlMs: 7 * D, expiresAt: at(7 * D), now: NOW });
    expect(body).toBe(
      "⚠️ The expiry cannot go past 7d from now (this template's limit). The environment expires at 2025-06-08 10:50 UTC (in 7d).",
    );
  });

  it("never carries the sticky marker", () => {
    for (const reply of [{ kind: "help" }, { kind: "invalid", reason: "x" }, { kind: "no-permission", verb: "deploy" }] as const) {
      expect(renderCommandReply(reply)).not.toContain("<!--");
    }
  });
});
