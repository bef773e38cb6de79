import type { RawData, WebSocket } from "ws";
import type { TroupeError } from "../common/errors.js";
import type { Limits } from "./limits.js";

/** A peer that ignores our close frame is cut this long after it. */
const CLOSE_GRACE_MS = 1_000;

/** How the server closes a socket for a cap or a timeout, so the close is counted as its own. */
export type Refuse = (code: number, err: TroupeError) => void;

/** How a protocol words a close reason: Troupe's `"<code>: <message>"`, RivetKit's `group.code#…`. */
export type CloseReason = (err: TroupeError) => string;

export const troupeCloseReason: CloseReason = (err) => `${err.code}: ${err.message}`.slice(0, 120);

/** Closes with a code and the protocol's reason, and cuts a peer that never answers the close. */
export function closeWith(ws: WebSocket, code: number, err: TroupeError, reason: CloseReason = troupeCloseReason): void {
  if (ws.readyState === ws.CLOSED) return;
  ws.close(code, reason(err));
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

/** Counts frames held before admission; says when the next one would pass a cap. */
export class EarlyFrames<T> {
  frames: T[] = [];
  private bytes = 0;
  constructor(private readonly limits: Limits) {}

  /** False when the frame would pass the cap (a lone frame always fits: maxBodyBytes bounds it). */
  push(frame: T, size: number): boolean {
    if (this.frames.length >= this.limits.maxEarlyFrames || (this.bytes > 0 && this.bytes + size > this.limits.maxEarlyBytes)) return false;
    this.frames.push(frame);
    this.bytes += size;
    return true;
  }

  take(): T[] {
    const out = this.frames;
    this.frames = [];
    this.bytes = 0;
    return out;
  }
}

/** Actions in flight on one connection, by count and request bytes, against the caps. */
export class PendingCalls {
  private calls = 0;
  private bytes = 0;
  constructor(private readonly limits: Limits) {}

  /** A settle function for a call of `size` bytes, or undefined when it would pass a cap. */
  admit(size: number): (() => void) | undefined {
    if (this.calls >= this.limits.maxPendingCalls || (this.bytes > 0 && this.bytes + size > this.limits.maxPendingCallBytes)) return undefined;
    this.calls++;
    this.bytes += size;
    return () => {
      this.calls--;
      this.bytes -= size;
    };
  }
}

export function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
