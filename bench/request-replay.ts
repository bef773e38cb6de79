import net from "node:net";

// Replays one client's HTTP request, byte for byte as that client writes it, from a bare socket
// whose own cost per call is a few µs. Timed beside another client's request on the same server,
// the ratio is what the server spends on each kind of request, with no client's CPU in it.

export interface ReplayedRequest {
  /** Request line and headers, without the blank line or any framing header. */
  head: string;
  body: string;
  /** As undici sends a stream body: head and first chunk in one write, the last chunk in a second. */
  chunked: boolean;
}

export interface Replayer {
  call(req: ReplayedRequest): Promise<void>;
  close(): void;
}

export async function replayer(url: string): Promise<Replayer> {
  const u = new URL(url);
  const sock = net.connect(Number(u.port), u.hostname);
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  let buf = "";
  let waiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
  const fail = (e: Error) => {
    const w = waiter;
    waiter = null;
    w?.reject(e);
  };
  sock.on("error", fail);
  sock.on("close", () => fail(new Error("server closed the replay connection")));
  sock.setEncoding("latin1");
  sock.on("data", (d: string) => {
    buf += d;
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = buf.slice(0, end);
    const len = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!len) return fail(new Error(`replayed response has no content-length: ${head.slice(0, 200)}`));
    if (buf.length < end + 4 + Number(len[1])) return;
    buf = buf.slice(end + 4 + Number(len[1]));
    const w = waiter;
    waiter = null;
    if (!head.startsWith("HTTP/1.1 200")) w?.reject(new Error(`replayed request answered ${head.split("\r\n")[0]}`));
    else w?.resolve();
  });
  return {
    call: (req) =>
      new Promise<void>((resolve, reject) => {
        waiter = { resolve, reject };
        if (!req.chunked) {
          sock.write(`${req.head}content-length: ${Buffer.byteLength(req.body)}\r\n\r\n${req.body}`, "latin1");
          return;
        }
        sock.write(`${req.head}transfer-encoding: chunked\r\n\r\n${Buffer.byteLength(req.body).toString(16)}\r\n${req.body}`, "latin1");
        // undici writes the terminating chunk once its body stream reports the end, a turn later.
        setImmediate(() => sock.write("\r\n0\r\n\r\n", "latin1"));
      }),
    close: () => sock.destroy(),
  };
}
