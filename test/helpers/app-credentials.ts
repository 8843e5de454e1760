import { generateKeyPairSync } from "node:crypto";

/** A throw-away RSA key in the PEM form GitHub hands out, for an App id of our choosing. */
export function testAppCredentials() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    APP_ID: "4242",
    PRIVATE_KEY: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    WEBHOOK_SECRET: "test-webhook-secret",
  };
}
