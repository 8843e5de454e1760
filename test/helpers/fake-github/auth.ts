import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";

/** How a request authenticated, as recorded on it. */
export type AuthKind = "installation" | "app" | "none" | "invalid";

export type Caller =
  | { kind: "installation"; installationId: number; /** Set when the token was made for these repositories only. */ repositoryIds?: readonly number[] }
  | { kind: "app" }
  | { kind: "none" }
  | { kind: "invalid"; reason: string };

export interface IssuedToken {
  token: string;
  installationId: number;
  /** `repository_ids` the token was asked for; absent: every repository of the installation. */
  repositoryIds?: readonly number[];
  expiresAt: Date;
}

/**
 * Issues installation tokens and tells callers apart. An App JWT has three
 * dot-separated parts; anything else after `token`/`bearer` must be a token this
 * fake issued, as GitHub would answer 401 to a token it never issued.
 */
export class Authenticator {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly publicKey: KeyObject | undefined;

  constructor(
    private readonly appId: string,
    privateKeyPem: string | undefined,
    private readonly now: () => Date,
  ) {
    // The public half is derived from the private key so tests hand over the one PEM they already have.
    this.publicKey = privateKeyPem === undefined ? undefined : createPublicKey(privateKeyPem);
  }

  issue(installationId: number, repositoryIds?: readonly number[]): IssuedToken {
    const issued = {
      token: `ghs_${randomBytes(18).toString("hex")}`,
      installationId,
      ...(repositoryIds && { repositoryIds }),
      expiresAt: new Date(this.now().getTime() + 3_600_000),
    };
    this.tokens.set(issued.token, issued);
    return issued;
  }

  /** Makes every issued token fail with 401, as after expiry; clients must fetch new ones. */
  revokeAll(): void {
    this.tokens.clear();
  }

  identify(authorization: string | undefined): Caller {
    if (!authorization) return { kind: "none" };
    const match = /^(token|bearer)\s+(\S+)$/i.exec(authorization.trim());
    if (!match) return { kind: "invalid", reason: "Bad credentials" };
    const credential = match[2]!;
    if (credential.split(".").length === 3) return this.checkJwt(credential);
    const issued = this.tokens.get(credential);
    if (!issued || issued.expiresAt <= this.now()) return { kind: "invalid", reason: "Bad credentials" };
    return { kind: "installation", installationId: issued.installationId, ...(issued.repositoryIds && { repositoryIds: issued.repositoryIds }) };
  }

  /** Checks what GitHub checks: RS256 signature (when the fake knows the key), `iss` = the App id, not expired. */
  private checkJwt(jwt: string): Caller {
    const [header, payload, signature] = jwt.split(".") as [string, string, string];
    let claims: { iss?: unknown; exp?: unknown; iat?: unknown };
    try {
      const decoded = JSON.parse(Buffer.from(header, "base64url").toString());
      if (decoded.alg !== "RS256") return { kind: "invalid", reason: "A JSON web token could not be decoded" };
      claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    } catch {
      return { kind: "invalid", reason: "A JSON web token could not be decoded" };
    }
    if (this.publicKey) {
      const signed = Buffer.from(`${header}.${payload}`);
      if (!verify("sha256", signed, this.publicKey, Buffer.from(signature, "base64url"))) {
        return { kind: "invalid", reason: "A JSON web token could not be decoded" };
      }
    }
    if (String(claims.iss) !== this.appId) return { kind: "invalid", reason: "Integration not found" };
    const nowSeconds = this.now().getTime() / 1000;
    if (typeof claims.exp !== "number" || claims.exp <= nowSeconds) {
      return { kind: "invalid", reason: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires" };
    }
    return { kind: "app" };
  }
}
