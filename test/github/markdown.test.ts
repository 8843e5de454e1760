import { describe, expect, it } from "vitest";
import { codeBlock, codeSpan, escapeProse, safeLink } from "../../src/github/markdown.js";

describe("escapeProse", () => {
  it("turns HTML into entities, so no comment, tag or marker survives", () => {
    const escaped = escapeProse("<!-- ephemera:env:pr-1 --> </details> <img src=x onerror=alert(1)> &amp;");
    expect(escaped).not.toMatch(/[<>]/);
    expect(escaped).toContain("&lt;/details&gt;");
    expect(escaped).toContain("&amp;amp;");
  });

  it("escapes markdown punctuation", () => {
    expect(escapeProse("**bold** _it_ [x](http://e.com) # h ~s~ | !")).toBe(
      "\\*\\*bold\\*\\* \\_it\\_ \\[x\\]\\(http://e\\.com\\) \\# h \\~s\\~ \\| \\!",
    );
  });

  it("keeps the text on one line, so it cannot start a heading, quote or list or end a block", () => {
    expect(escapeProse("a\n# heading\r\n> quote\n\n- item\u0000b")).toBe("a \\# heading &gt; quote \\- item b");
  });

  it("defuses mentions", () => {
    expect(escapeProse("ping @octocat and @org/team")).toBe("ping @&#8203;octocat and @&#8203;org/team");
  });

  it("keeps backtick-marked code as code spans", () => {
    expect(escapeProse("approve it with `/preview deploy`.")).toBe("approve it with `/preview deploy`\\.");
    expect(escapeProse("label `<b>x</b>` here")).toBe("label `<b>x</b>` here");
  });

  it("shows an unpaired backtick as text", () => {
    expect(escapeProse("a `b` c `d")).toBe("a `b` c \\`d");
  });
});

describe("codeSpan", () => {
  it("fences with more backticks than any run inside", () => {
    expect(codeSpan("abc1234")).toBe("`abc1234`");
    expect(codeSpan("a`b")).toBe("``a`b``");
    expect(codeSpan("a``b`")).toBe("``` a``b` ```");
  });

  it("stays on one line", () => {
    expect(codeSpan("a\n\nb")).toBe("`a b`");
  });
});

describe("codeBlock", () => {
  it("uses a fence that no line inside can close", () => {
    const text = "before\n```\nnot the end\n````\n~~~\nafter";
    const block = codeBlock(text);
    const lines = block.split("\n");
    expect(lines[0]).toBe("`````text");
    expect(lines.at(-1)).toBe("`````");
    expect(lines.slice(1, -1).join("\n")).toBe(text);
    expect(lines.slice(1, -1).some((line) => /^ {0,3}`{5,}\s*$/.test(line))).toBe(false);
  });

  it("uses three backticks at least and normalizes line endings", () => {
    expect(codeBlock("a\r\nb\rc")).toBe("```text\na\nb\nc\n```");
  });
});

describe("safeLink", () => {
  it("links http(s) URLs", () => {
    expect(safeLink("https://pr-42.preview.example.com/")).toBe(
      "[https://pr\\-42\\.preview\\.example\\.com/](https://pr-42.preview.example.com/)",
    );
  });

  it("encodes what would end the link", () => {
    expect(safeLink("https://e.com/a (b)<c>")).toBe("[https://e\\.com/a%20\\(b\\)%3Cc%3E](https://e.com/a%20%28b%29%3Cc%3E)");
  });

  it("drops credentials", () => {
    expect(safeLink("https://user:s3cret@e.com/")).toBe("[https://e\\.com/](https://e.com/)");
  });

  it("does not link other schemes or junk", () => {
    expect(safeLink("javascript:alert(1)")).toBe("javascript:alert\\(1\\)");
    expect(safeLink("not a url <b>")).toBe("not a url &lt;b&gt;");
  });
});
