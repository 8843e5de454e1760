import type { StatusOrNew } from "../lifecycle/transitions.js";
import { describeEnvironment, environmentSince, repoNameOf, type EnvironmentReader, type EnvironmentView } from "./describe-environment.js";

/** One environment as `list --json` and `GET /api/environments` show it: DESIGN §8's fields, and when it came to be. */
export interface ListedEnvironment {
  repo: string;
  repoId: number;
  pr: number;
  status: StatusOrNew;
  expiresAt: string | null;
  url: string | null;
  /** When it was created (or came back after a teardown); null when not known. */
  since: string | null;
}

/** Every environment in the store, oldest repository and PR first: one load each. */
export async function listEnvironments(store: EnvironmentReader): Promise<ListedEnvironment[]> {
  const views = await Promise.all((await store.listKeys()).map((key) => describeEnvironment(store, key)));
  return views
    .filter((view) => view !== null)
    .map(listed)
    .sort((a, b) => a.repoId - b.repoId || a.pr - b.pr);
}

function listed(view: EnvironmentView): ListedEnvironment {
  const { key, fields } = view;
  return {
    repo: repoNameOf(view),
    repoId: key.repoId,
    pr: key.pr,
    status: fields.status ?? "new",
    expiresAt: fields.expires_at ?? null,
    url: fields.artifacts?.url ?? null,
    since: environmentSince(view),
  };
}
