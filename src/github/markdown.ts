import { withoutCredentials } from "../lifecycle/without-credentials.js";

/**
 * Putting untrusted text (from a PR, a repository's config, a step's
 * output) into GitHub markdown so it shows as written and cannot add
 * markup, HTML, mentions, or lines that end the block it sits in.
 */

const HTML_ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/** Inline text: one line, HTML and markdown punctuation escaped, `@` defused so nobody is pinged. */
function escapeText(text: string): string {
  return (
    text
      // One line: a line break could start a heading, a quote or a list, or end the enclosing block.
      .replace(/[\s\u0000-\u001f\u007f]+/g, " ")
      .replace(/[&<>]/g, (char) => HTML_ENTITIES[char] ?? char)
      .replace(/[\\`*_{}[\]()#+\-.!|~]/g, "\\$&")
      // A zero-width space after `@` keeps the text readable but is no mention.
      .replace(/@/g, "@&#8203;")
  );
}

/**
 * Plain text in which backticks mark code, as Ephemera's own messages write
 * it ("approve it with `/preview deploy`"): the code spans are kept, the rest
 * is escaped. Safe for any input: an unpaired backtick is shown as text.
 */
export function escapeProse(text: string): string {
  const parts = text.split("`");
  return parts
    .map((part, i) => {
      if (i % 2 === 0) return escapeText(part);
      return i < parts.length - 1 ? codeSpan(part) : escapeText(`\`${part}`);
    })
    .join("");
}

/** Inline code: fenced by more backticks than any run inside (CommonMark), on one line. */
export function codeSpan(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, " ");
  const fence = "`".repeat(longestBacktickRun(oneLine) + 1);
  const pad = oneLine.startsWith("`") || oneLine.endsWith("`") ? " " : "";
  return `${fence}${pad}${oneLine}${pad}${fence}`;
}

/** A fenced code block that no line of `text` can close: the fence is longer than any backtick run inside. */
export function codeBlock(text: string): string {
  const body = text.replace(/\r\n?/g, "\n");
  const fence = "`".repeat(Math.max(3, longestBacktickRun(body) + 1));
  return `${fence}text\n${body}\n${fence}`;
}

/**
 * A markdown link to an http(s) URL, without any credentials in it; any
 * other URL (`javascript:`, junk) is shown as text, its credentials stripped
 * too, and not linked.
 */
export function safeLink(url: string): string {
  const shown = withoutCredentials(url);
  let parsed: URL;
  try {
    parsed = new URL(shown);
  } catch {
    return escapeText(shown);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return escapeText(shown);
  // `href` already percent-encodes spaces, quotes and angle brackets; parentheses would end the link.
  const target = parsed.href.replace(/\(/g, "%28").replace(/\)/g, "%29");
  return `[${escapeText(parsed.href)}](${target})`;
}

function longestBacktickRun(text: string): number {
  return (text.match(/`+/g) ?? []).reduce((longest, run) => Math.max(longest, run.length), 0);
}
