/**
 * What every view of the store goes through before a person sees it: the
 * CLI's output and exports, the admin API and the dashboard. The store
 * never holds a plain secret (secret step outputs are sealed), but an export
 * travels (an issue, a laptop) and an operator's step may write a credential
 * as an ordinary output, so the views are defensive:
 *
 * - a sealed value (`sealed:v1:…`) becomes `[sealed]`: the ciphertext is
 *   useless without the key, but there is no reason to hand it out;
 * - the user and password of a URL (`postgres://app:pw@db/x`) become
 *   `[redacted]`, wherever the URL appears in a text;
 * - any text named like a secret (`password`, `api_token`, `clientSecret`,
 *   `private_key`…) becomes `[redacted]`.
 *
 * Redaction is one way: an import brings the markers back as they are.
 */

export const SEALED_MARKER = "[sealed]";
export const REDACTED_MARKER = "[redacted]";

const SEALED_VALUE = /sealed:v1:[A-Za-z0-9_-]*/g;
/** `scheme://userinfo@`: everything between `//` and the first `@` before the host's end. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

const SECRET_WORDS = new Set(["password", "passwords", "passwd", "passphrase", "pass", "pwd", "secret", "secrets", "token", "tokens", "credential", "credentials", "auth", "apikey"]);
/** `<word>_key` that names a key, not an index (`api_key`, not `cache_key`). */
const SECRET_KEY_WORDS = new Set(["api", "private", "access", "secret", "signing", "ssh", "encryption"]);

/** Whether a name (of an output, a field) says its value is secret: `db_password`, `apiToken`, `PRIVATE_KEY`. */
export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((word, i) => SECRET_WORDS.has(word) || (word === "key" && SECRET_KEY_WORDS.has(words[i - 1] ?? "")));
}

/** Sealed values and URL credentials in free text (a log line, an error message). */
export function redactText(text: string): string {
  return text.replace(SEALED_VALUE, SEALED_MARKER).replace(URL_USERINFO, `$1${REDACTED_MARKER}@`);
}

/**
 * A structured value with every string redacted, and every string (or list
 * of strings) named secret replaced. Only a value's own name counts: the
 * names above it are often a person's choice (a step called `token` still
 * has a harmless `sha`).
 */
export function redactValue<T>(value: T, secretName = false): T {
  if (typeof value === "string") return (secretName && value !== "" ? REDACTED_MARKER : redactText(value)) as T;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secretName)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item, isSecretName(key))])) as T;
  }
  return value;
}

/**
 * A value as the store holds it: JSON (a record field, an intent, a log
 * entry) is redacted field by field and written back only when something
 * changed, so an untouched value stays byte for byte what was stored.
 */
export function redactStored(stored: string): string {
  const parsed = parseJsonStructure(stored);
  if (parsed === undefined) return redactText(stored);
  const redacted = redactValue(parsed);
  return JSON.stringify(redacted) === JSON.stringify(parsed) ? stored : JSON.stringify(redacted);
}

function parseJsonStructure(text: string): object | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}
