import type { IncomingMessage } from "node:http";

/**
 * Reads a request's body, at most `limit` bytes of it: resolves `undefined`
 * as soon as more arrive, reading no further (the caller answers and closes
 * the connection). Rejects when the client goes away mid-body.
 */
export function readBodyWithin(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData).pause();
      chunks.length = 0;
      resolve(undefined);
    };
    req.on("data", onData);
    req.on("end", () => {
      if (size > limit) return;
      // In here, not in the listener's caller: an allocation that fails must reach the request's error handler, not the process.
      try {
        resolve(Buffer.concat(chunks, size));
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

/** The body length the client declared; Node's parser has checked that the header is a number and frames the body by it. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers["content-length"];
  return header === undefined ? undefined : Number(header);
}
