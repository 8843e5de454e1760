import { testAppCredentials } from "../../test/helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../../test/helpers/fake-github.js";
import { waitFor } from "../../test/helpers/wait-for.js";
import type { BenchContext } from "./context.js";

/** The fake GitHub API every Ephemera process of the run talks to (loopback), and the App's credentials. */
export interface GitHub {
  readonly fake: FakeGitHub;
  readonly credentials: ReturnType<typeof testAppCredentials>;
  /** What an Ephemera process needs to reach it as its GitHub: GHE_HOST, GHE_PROTOCOL and the App's credentials. */
  readonly appEnv: Record<string, string>;
}

export async function startGitHub(ctx: BenchContext): Promise<GitHub> {
  const credentials = testAppCredentials();
  const fake = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY, rateLimit: 1_000_000 });
  ctx.defer(() => fake.close());
  return { fake, credentials, appEnv: { ...credentials, ...fake.env } };
}

/** Resolves once `fake` has received no request for `quietMs` (at most `timeoutMs`): the app's background work has settled. */
export async function githubQuiet(fake: FakeGitHub, quietMs: number, timeoutMs: number): Promise<void> {
  let seen = fake.requests.length;
  let since = Date.now();
  const quiet = () => {
    if (fake.requests.length === seen) return Date.now() - since >= quietMs;
    seen = fake.requests.length;
    since = Date.now();
    return false;
  };
  await waitFor(quiet, "GitHub requests to stop", timeoutMs, 100);
}
