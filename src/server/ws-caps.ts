import type { RawData, WebSocket } from "ws";
import { errors, type TroupeError } from "../common/errors.js";
import type { Limits } from "./limits.js";

/** A peer that ignores our close frame is cut this long after it. */
const CLOSE_GRACE_MS = 1_000;

/** How the server closes a socket for a cap or a timeout, so the close is counted as its own. */
export type Refuse = (code: number, err: TroupeError) => void;

/** A close frame's reason may hold at most 123 bytes; cut on a character boundary. */
function fitCloseReason(text: string): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.byteLength <= 123) return text;
  return new TextDecoder().decode(buf.subarray(0, 123)).replace(/\uFFFD+$/, "");
}

/**
 * A close reason as RivetKit's client parses it, `group.code#…`: it reads what follows `#` as a
 * ray id and only shows it, so that slot carries the message (Troupe has no ray ids).
 */
export function closeReason(err: TroupeError): string {
  return fitCloseReason(`${err.group}.${err.code}#${err.message}`);
}

/** Closes with a code and the error as its reason, and cuts a peer that never answers the close. */
export function closeWith(ws: WebSocket, code: number, err: TroupeError): void {
  if (ws.readyState === ws.CLOSED) return;
  ws.close(code, closeReason(err));
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

/**
 * `ws` closes a socket whose frame passes `maxPayload` with 1009 and no reason, before any
 * handler sees the frame. RivetKit's client reads the reason to tell the caller why (it rejects
 * the pending calls with message/incoming_too_long): give that close the reason.
 */
export function nameOversizeCloses(ws: WebSocket, limit: number): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => close(code, code === 1009 && !reason ? closeReason(errors.messageTooLong(limit)) : reason);
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
