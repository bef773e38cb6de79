import type { IncomingMessage } from "node:http";

// listen() notes the Node request behind each Fetch request it hands on, keyed by that very
// object, so a body sent without a length can be read from it directly (see readIncomingLimited).
const incomings = new WeakMap<Request, IncomingMessage>();

/** Notes only a request whose body is chunked: one with a length is read through its fast path anyway. */
export function noteIncoming(request: Request, incoming: IncomingMessage | undefined): void {
  if (incoming?.headers["transfer-encoding"] !== undefined) incomings.set(request, incoming);
}

/**
 * Reads a body that declares no length (chunked, as RivetKit's client streams every body) from
 * the Node request under `request`, counting as it reads and stopping past `limit`. Building the
 * WHATWG body stream and its AbortSignal instead cost a few hundred microseconds a call. Returns
 * undefined when there is no Node request to read (a mounted handler), or it is read already.
 */
export function readIncomingLimited(request: Request, limit: number, tooLarge: () => Error): Promise<Uint8Array> | undefined {
  const incoming = incomings.get(request);
  incomings.delete(request);
  if (!incoming || incoming.readableEnded || incoming.readableDidRead) return undefined;
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (): void => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (total <= limit) {
        chunks.push(chunk);
        return;
      }
      // Past the cap: stop reading and answer 413; Node discards the rest once the answer is sent.
      done();
      incoming.pause();
      reject(tooLarge());
    };
    const onEnd = (): void => {
      done();
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      resolve(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    const onClose = (): void => {
      done();
      reject(new Error("the request closed before its body ended"));
    };
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("close", onClose);
  });
}
