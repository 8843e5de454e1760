import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Secret step outputs (a database URL with its password) are stored only in
 * sealed form: AES-256-GCM under a key derived with HKDF-SHA256 from the
 * operator's key material, written as `sealed:v1:<base64url iv|tag|ciphertext>`.
 * The version lets a later key or cipher coexist with values sealed today.
 */

const PREFIX = "sealed:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Fixed: the key material is already secret; `info` separates this use from any other key derived from it. */
const HKDF_SALT = "ephemera";
const HKDF_INFO = "ephemera secret outputs v1";

export interface Sealer {
  seal(plaintext: string): string;
  /** Throws `UnsealError` when the value is not sealed, was sealed under another key, or was altered. */
  unseal(sealed: string): string;
}

export class UnsealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsealError";
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function createSealer(keyMaterial: string): Sealer {
  if (keyMaterial.length === 0) throw new Error("the key material for sealing secrets is empty");
  const key = Buffer.from(hkdfSync("sha256", keyMaterial, HKDF_SALT, HKDF_INFO, 32));

  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64url");
    },
    unseal(sealed) {
      if (!isSealed(sealed)) throw new UnsealError(`not a sealed value (expected the "${PREFIX}" prefix)`);
      const packed = Buffer.from(sealed.slice(PREFIX.length), "base64url");
      if (packed.length < IV_BYTES + TAG_BYTES) throw new UnsealError("sealed value is truncated");
      const decipher = createDecipheriv("aes-256-gcm", key, packed.subarray(0, IV_BYTES));
      decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch {
        throw new UnsealError(
          "cannot unseal a secret output: it was sealed with a different key (was EPHEMERA_SECRET_KEY, or WEBHOOK_SECRET when that is unset, changed?) or it was altered",
        );
      }
    },
  };
}
