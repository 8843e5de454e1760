/** A scheme, `//`, and the user-info of the authority: everything up to its last `@` before the host ends. */
const USER_INFO = /([a-z][a-z\d+.-]*:\/\/)[^\s/?#\\]*@/gi;

/**
 * `url` as it may be shown (the PR comment, a deployment's
 * `environment_url`, an error): without `user:pass@`, wherever in the text a
 * URL carries one, and also in the forms only a URL parser reads as
 * credentials (`http:user:pass@host`). Anything else is left as it was,
 * byte for byte.
 */
export function withoutCredentials(url: string): string {
  const stripped = url.replace(USER_INFO, "$1");
  let parsed: URL;
  try {
    parsed = new URL(stripped);
  } catch {
    return stripped;
  }
  if (parsed.username === "" && parsed.password === "") return stripped;
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}
