import type { EnvKey } from "../../lifecycle/environment.js";
import type { OwnedResource, ResourceOwner } from "../../lifecycle/provider.js";
import { envOfWorkdirName, listWorkdirs } from "./workdirs.js";

/**
 * The orphan audit's view of this host's working directories: one whose
 * environment is no longer live is stale scratch, and removing it also kills
 * what is left of that environment's processes and frees its uid.
 */
export function workdirOwner(root: string, release: (env: EnvKey) => Promise<void>): ResourceOwner {
  return {
    name: "run",
    async listOwned(): Promise<OwnedResource[]> {
      return (await listWorkdirs(root)).map(({ name, env }) => ({ provider: "run", kind: "workdir", name, env }));
    },
    async removeOwned(resource: OwnedResource): Promise<void> {
      const env = envOfWorkdirName(resource.name);
      if (resource.kind !== "workdir" || env === null) throw new Error(`"${resource.name}" is not a working directory of an environment`);
      await release(env);
    },
  };
}
