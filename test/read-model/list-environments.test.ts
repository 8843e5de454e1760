import { describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { EnvSnapshot } from "../../src/lifecycle/state-store.js";
import type { EnvironmentReader } from "../../src/read-model/describe-environment.js";
import { matchingEnvironments, repoIdsNamed } from "../../src/read-model/environment-filter.js";
import { listEnvironments } from "../../src/read-model/list-environments.js";
import { openIntent } from "../lifecycle/harness.js";

/** A store that holds `snapshots` and counts its loads; `gone` is listed but expired before it is loaded. */
function countingStore(snapshots: EnvSnapshot[], gone: EnvKey[] = []) {
  const loads: EnvKey[] = [];
  const store: EnvironmentReader = {
    listKeys: async () => [...snapshots.map((snapshot) => snapshot.key), ...gone],
    load: async (key) => {
      loads.push(key);
      return snapshots.find((snapshot) => snapshot.key.repoId === key.repoId && snapshot.key.pr === key.pr) ?? null;
    },
  };
  return { store, loads };
}

const ready: EnvSnapshot = {
  key: { repoId: 20, pr: 4 },
  fields: { status: "ready", expires_at: "2026-01-02T00:00:00.000Z", artifacts: { url: "https://pr4.preview.test/", deployments: {}, outputs: {} } },
  inbox: [openIntent("a".repeat(40), { repo: "Acme/Web" })],
  events: [{ at: "2026-01-01T00:00:00.000Z", event: "created" }],
  dueAt: null,
};
const fresh: EnvSnapshot = { key: { repoId: 10, pr: 7 }, fields: {}, inbox: [openIntent("b".repeat(40), { repo: "acme/api" })], events: [], dueAt: Date.now() };

describe("listEnvironments", () => {
  it("lists every environment from one load each, oldest repository and PR first", async () => {
    const { store, loads } = countingStore([ready, fresh], [{ repoId: 30, pr: 1 }]);
    expect(await listEnvironments(store)).toEqual([
      { repo: "acme/api", repoId: 10, pr: 7, status: "new", expiresAt: null, url: null, since: null },
      { repo: "Acme/Web", repoId: 20, pr: 4, status: "ready", expiresAt: "2026-01-02T00:00:00.000Z", url: "https://pr4.preview.test/", since: "2026-01-01T00:00:00.000Z" },
    ]);
    expect(loads).toHaveLength(3);
  });

  it("filters by repository ids and status; a name matches its repository whatever the case, an unknown name nothing", async () => {
    const environments = await listEnvironments(countingStore([ready, fresh]).store);
    expect(repoIdsNamed({ name: "acme/web" }, environments)).toEqual([20]);
    expect(repoIdsNamed({ name: "acme/unknown" }, environments)).toEqual([]);
    expect(repoIdsNamed({ id: 99 }, environments)).toEqual([99]);
    expect(matchingEnvironments(environments, { repoIds: [20] }).map((row) => row.pr)).toEqual([4]);
    expect(matchingEnvironments(environments, { status: "new" }).map((row) => row.pr)).toEqual([7]);
    expect(matchingEnvironments(environments, { repoIds: [20], status: "new" })).toEqual([]);
    expect(matchingEnvironments(environments, {})).toEqual(environments);
  });
});
