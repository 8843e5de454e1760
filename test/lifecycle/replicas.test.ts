import { describe, expect, it } from "vitest";
import { sharingRefusal, STORE_PROTOCOL, type SeenReplica, type StoreSharingFacts } from "../../src/lifecycle/replicas.js";

const self = { owner: "web-2:200:bbbb", protocol: STORE_PROTOCOL, startedAt: "2026-12-06T10:00:00.000Z" };
const seen = (owner: string, protocol: number): SeenReplica => ({ owner, protocol, startedAt: "2026-12-06T09:00:00.000Z", lastSeenAt: "2026-12-06T10:00:05.000Z" });
const facts = (overrides: Partial<StoreSharingFacts>): StoreSharingFacts => ({ replicas: [], hasRegistry: true, hasEnvironments: true, takeover: false, ...overrides });

describe("which replicas may share a store", () => {
  it("shares it with replicas of its own protocol, and an empty store with anyone", () => {
    expect(sharingRefusal(self, facts({ replicas: [seen("web-1:100:aaaa", STORE_PROTOCOL), { ...self, lastSeenAt: self.startedAt }] }))).toBeUndefined();
    expect(sharingRefusal(self, facts({ hasRegistry: false, hasEnvironments: false }))).toBeUndefined();
  });

  it("refuses beside an older protocol, naming each such replica, why, and what to do", () => {
    const refusal = sharingRefusal(self, facts({ replicas: [seen("web-1:100:aaaa", STORE_PROTOCOL - 1), seen("web-3:300:cccc", STORE_PROTOCOL)] }));
    expect(refusal).toBe(
      `this store is in use by replicas of another release: web-1:100:aaaa (store protocol ${STORE_PROTOCOL - 1}, last seen 2026-12-06T10:00:05.000Z). ` +
        `This release (store protocol ${STORE_PROTOCOL}) cannot share the store with them, because the notifier now keeps the PR's comment and deployment ids in its own \`github\` key under the \`notify_lock\` (no longer in \`artifacts\` through a \`shown\` intent), ` +
        "and GitHub writes are paced by token buckets in the store (no longer by Probot's Bottleneck in Redis): beside each other the two would make a second comment or deployment for a head sha and overrun GitHub's write limits: " +
        "stop those replicas first, then start this one",
    );
  });

  it("refuses beside a newer protocol too: an older release does not know what the newer one writes", () => {
    const refusal = sharingRefusal(self, facts({ replicas: [seen("web-9:900:eeee", STORE_PROTOCOL + 1)] }));
    expect(refusal).toMatch(/web-9:900:eeee \(store protocol \d+, last seen .*\)\..*because a later release writes the store in a form this one does not know: stop those replicas first/);
  });

  it("on a store with environments and no registry: refuses unless the operator takes it over", () => {
    const refusal = sharingRefusal(self, facts({ hasRegistry: false }));
    expect(refusal).toMatch(/^this store was last written by a release before store protocol 2 that does not register its replicas, so none of them can be seen; /);
    expect(refusal).toMatch(/: stop every replica of it, then start with EPHEMERA_STORE_TAKEOVER=1 once$/);
    expect(sharingRefusal(self, facts({ hasRegistry: false, takeover: true }))).toBeUndefined();
  });

  it("takes no store over from a live replica of another protocol, whatever the operator says", () => {
    expect(sharingRefusal(self, facts({ hasRegistry: false, takeover: true, replicas: [seen("web-1:100:aaaa", STORE_PROTOCOL + 1)] }))).toMatch(/web-1:100:aaaa/);
  });
});
