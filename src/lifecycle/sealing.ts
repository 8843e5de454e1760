import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Secret step outputs (a database URL with its password) are stored only in
 * sealed form: AES-256-GCM under a key derived with HKDF-SHA256 from the
 * operator's key material, written as `sealed:v1:<base64url iv|tag|ciphertext>`.
 * The version lets a later cipher coexist with values sealed today. Keys
 * rotate by listing the old ones after the new: the first seals, unsealing
 * tries each (GCM's tag tells a wrong key from the right one).
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

/** `keyMaterial`: one key, or several newest first (the first seals). */
export function createSealer(keyMaterial: string | readonly string[]): Sealer {
  const materials = typeof keyMaterial === "string" ? [keyMaterial] : keyMaterial;
  if (materials.length === 0 || materials.some((material) => material.length === 0)) throw new Error("the key material for sealing secrets is empty");
  const keys = materials.map((material) => Buffer.from(hkdfSync("sha256", material, HKDF_SALT, HKDF_INFO, 32)));
  const sealingKey = keys[0] as Buffer;

  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", sealingKey, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64url");
    },
    unseal(sealed) {
      if (!isSealed(sealed)) throw new UnsealError(`not a sealed value (expected the "${PREFIX}" prefix)`);
      const packed = Buffer.from(sealed.slice(PREFIX.length), "base64url");
      if (packed.length < IV_BYTES + TAG_BYTES) throw new UnsealError("sealed value is truncated");
      for (const key of keys) {
        const plaintext = openWith(key, packed);
        if (plaintext !== undefined) return plaintext;
      }
      throw new UnsealError(
        "cannot unseal a secret output: it was sealed with a key EPHEMERA_SECRET_KEY does not list (was it, or WEBHOOK_SECRET when it is unset, changed without keeping the old key after the new?) or it was altered",
      );
    },
  };
}

/** The plaintext, or undefined when `key` is not the one it was sealed with (or it was altered). */
function openWith(key: Buffer, packed: Buffer): string | undefined {
  const decipher = createDecipheriv("aes-256-gcm", key, packed.subarray(0, IV_BYTES));
  decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
