import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/**
 * One GET of a readiness URL, as the reconciler makes it. The URL is the
 * operator's template filled with a step's `url` output, and a step runs the
 * PR's code: so it may point anywhere, and the request goes out from the
 * app's own network position. What it may not reach are the addresses that
 * answer with the machine's credentials: link-local ones (169.254.0.0/16,
 * fe80::/10), where the cloud metadata services live, and the metadata
 * services' other names and addresses. The check is made on the address the
 * connection then uses (the probe's own DNS lookup), so a name that resolves
 * to an allowed address when checked and to another when connecting (DNS
 * rebinding) cannot slip through.
 */

/** What a readiness GET learned: the status, and where a redirect points. Nothing of the body is read. */
export interface ProbeAnswer {
  status: number;
  location?: string;
}

export type ReadinessProbe = (url: URL, signal: AbortSignal) => Promise<ProbeAnswer>;

/** A readiness target the probe will not connect to; its message is what the PR may show. */
export class RefusedAddressError extends Error {
  override readonly name = "RefusedAddressError";
  constructor() {
    super("address not allowed (link-local or cloud metadata)");
  }
}

const REFUSED = new BlockList();
REFUSED.addSubnet("169.254.0.0", 16, "ipv4"); // link-local; AWS, GCP and Azure metadata at 169.254.169.254
REFUSED.addSubnet("fe80::", 10, "ipv6"); // link-local
REFUSED.addAddress("fd00:ec2::254", "ipv6"); // AWS metadata over IPv6
REFUSED.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud metadata
const REFUSED_NAMES = new Set(["metadata.google.internal", "metadata.google.internal."]);

/** Whether an IP address is one a readiness check may not reach (IPv4-mapped IPv6 included). */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && REFUSED.check(address, family === 4 ? "ipv4" : "ipv6");
}

type Resolve = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** The DNS lookup the connection uses, refusing a name with any refused address. */
function checkedLookup(resolve: Resolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      if (addresses.length === 0 || addresses.some(({ address }) => isRefusedAddress(address))) return callback(new RefusedAddressError(), "", 0);
      // Node asks for all addresses when it may try several (autoSelectFamily), for one otherwise.
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}

/** The probe over node:http(s); `resolve` is DNS unless a test resolves names itself. */
export function createReadinessProbe(resolve: Resolve = dnsLookup as Resolve): ReadinessProbe {
  const lookup = checkedLookup(resolve);
  return (url, signal) =>
    new Promise((done, fail) => {
      const host = url.hostname.replace(/^\[|\]$/g, "");
      // An address literal is connected to without a lookup: checked here instead.
      if (REFUSED_NAMES.has(host) || isRefusedAddress(host)) return fail(new RefusedAddressError());
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(url, { method: "GET", signal, agent: false, lookup, headers: { "user-agent": "ephemera-readiness" } }, (res) => {
        done({ status: res.statusCode ?? 0, ...(res.headers.location === undefined ? {} : { location: res.headers.location }) });
        res.destroy();
      });
      req.on("error", fail);
      req.end();
    });
}
