import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { adminApiHandler } from "../../src/http/admin-api.js";
import { dashboardHandler } from "../../src/http/dashboard.js";
import { openStoreFixture, SHA, type StoreFixture } from "../cli/cli-world.js";
import { openIntent } from "../lifecycle/harness.js";

/**
 * The dashboard and the admin API served over real HTTP, as start.ts wires
 * them, on the CLI tests' world (environments the engine made in a SQLite
 * store, with sealed and planted secrets), plus one environment whose
 * repository and branch names are markup.
 */

export const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
export const HOSTILE = { key: { repoId: 2001, pr: 9 }, repo: "<script>alert(1)</script>/x", headRef: `"><img src=x onerror=alert(2)>` };

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

export interface Served {
  fixture: StoreFixture;
  /** A request to the server with EPHEMERA_ADMIN_TOKEN set. */
  get(path: string, init?: RequestInit): Promise<Response>;
  /** A request to the server without it (the routes off). */
  getWhenOff(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** A server per token setting, each answering 404 where every handler declines, as Probot's server does. */
export async function serveAdmin(): Promise<Served> {
  const fixture = await openStoreFixture("sqlite", undefined);
  await fixture.world.lifecycle.record(HOSTILE.key, openIntent(SHA, { repo: HOSTILE.repo, headRef: HOSTILE.headRef }));
  const { store } = fixture.world;
  const on = await listen([dashboardHandler(store, ADMIN_TOKEN), adminApiHandler(store, ADMIN_TOKEN)]);
  const off = await listen([dashboardHandler(store, undefined), adminApiHandler(store, undefined)]);
  return {
    fixture,
    get: (path, init) => fetch(`${on.url}${path}`, init),
    getWhenOff: (path, init) => fetch(`${off.url}${path}`, init),
    async close() {
      await Promise.all([on.close(), off.close()]);
      await fixture.dispose();
    },
  };
}

async function listen(handlers: Handler[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      for (const handle of handlers) if (await handle(req, res)) return;
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
