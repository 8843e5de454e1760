import net from "node:net";

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;

/**
 * Pipelined writes to Redis over one raw connection, as `redis-cli --pipe`
 * does them: commands are encoded as RESP into ~1 MB chunks and written with
 * back-pressure, replies are only counted (every command sent here answers
 * with one line: `+OK`, `:n` or an `-ERR`). Millions of commands go through
 * in seconds, where one client object per command would take minutes.
 */
export class RespPipe {
  private readonly socket: net.Socket;
  private parts: string[] = [];
  private pendingBytes = 0;
  private sent = 0;
  private replies = 0;
  private errors = 0;
  private firstError = "";
  private atLineStart = true;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.count(chunk));
    socket.on("error", (error) => {
      this.failure = error;
      this.waiter?.();
    });
  }

  static async open(port: number): Promise<RespPipe> {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RespPipe(socket);
  }

  /** Queues one command (call `flushIfFull` now and then). */
  add(args: readonly (string | number)[]): void {
    this.addEncoded(encodeCommand(args), 1);
  }

  /** Queues `commands` commands already encoded as RESP (for the hot loop of a bulk load). */
  addEncoded(encoded: string, commands: number): void {
    this.parts.push(encoded);
    this.pendingBytes += encoded.length;
    this.sent += commands;
  }

  /** Writes the queued commands once ~1 MB is queued, waiting for the socket to drain. */
  async flushIfFull(): Promise<void> {
    if (this.pendingBytes >= CHUNK_BYTES) await this.flush();
  }

  /** Writes what is queued and waits for every reply; throws when any command failed. */
  async finish(): Promise<{ commands: number }> {
    await this.flush();
    const deadline = Date.now() + 300_000;
    while (this.replies < this.sent && !this.failure) {
      if (Date.now() > deadline) throw new Error(`Redis answered ${this.replies} of ${this.sent} pipelined commands within 5 minutes`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
    if (this.failure) throw this.failure;
    if (this.errors > 0) throw new Error(`${this.errors} of ${this.sent} pipelined commands failed, the first: ${this.firstError}`);
    return { commands: this.sent };
  }

  close(): void {
    this.socket.destroy();
  }

  private async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join("");
    this.parts = [];
    this.pendingBytes = 0;
    if (!this.socket.write(chunk)) await new Promise<void>((resolve) => this.socket.once("drain", resolve));
    if (this.failure) throw this.failure;
  }

  /** Counts reply lines; an error reply is a line that starts with `-`. */
  private count(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      if (this.atLineStart && start < chunk.length && chunk[start] === MINUS) {
        this.errors++;
        if (!this.firstError) this.firstError = chunk.subarray(start, Math.min(chunk.length, start + 200)).toString("utf8").split("\r\n")[0] ?? "";
      }
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        // Mid-line until the next chunk brings its end.
        if (start < chunk.length) this.atLineStart = false;
        break;
      }
      this.replies++;
      this.atLineStart = true;
      start = newline + 1;
    }
    if (this.replies >= this.sent) this.waiter?.();
  }
}

/** One command in RESP: an array of bulk strings. */
export function encodeCommand(args: readonly (string | number)[]): string {
  let encoded = `*${args.length}\r\n`;
  for (const arg of args) encoded += bulkString(String(arg));
  return encoded;
}

export function bulkString(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}
