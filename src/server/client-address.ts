import type { IncomingMessage } from "node:http";
import { isIPv6 } from "node:net";

/** What `setup({ clientAddress })` sees to name the client behind a request or an upgrade. */
export interface ClientInfo {
  /** The socket's peer address, when Troupe's own server (or upgrade handler) saw the socket. */
  remoteAddress: string | undefined;
  headers: { get(name: string): string | null };
}

/** Names the client, e.g. from a header your trusted proxy sets; `undefined` falls back to the socket. */
export type ClientAddressFn = (info: ClientInfo) => string | undefined;

/** Every request whose client cannot be told shares this one key (and so one budget). */
export const UNKNOWN_ADDRESS = "unknown";

// Fetch handlers never see the socket: listen() notes each request's peer here, keyed by the
// very Request object it hands to the handler, so nothing a client sends can forge it.
const peers = new WeakMap<Request, string>();

export function notePeerAddress(request: Request, address: string | undefined): void {
  if (address) peers.set(request, address);
}

/** The key a Fetch request's per-address budgets are kept under. */
export function requestAddress(request: Request, custom?: ClientAddressFn): string {
  const remoteAddress = peers.get(request);
  return addressKey(custom?.({ remoteAddress, headers: request.headers }) ?? remoteAddress);
}

/** The key an upgrade request's per-address budgets are kept under. */
export function upgradeAddress(req: IncomingMessage, custom?: ClientAddressFn): string {
  const remoteAddress = req.socket.remoteAddress;
  const headers = { get: (name: string) => headerOf(req, name) };
  return addressKey(custom?.({ remoteAddress, headers }) ?? remoteAddress);
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

/**
 * IPv4 (also IPv4-mapped IPv6) as is; IPv6 by its /64, since one host usually holds a whole
 * /64 and could otherwise take a fresh address for every attempt.
 */
export function addressKey(address: string | undefined): string {
  const a = address?.trim().toLowerCase();
  if (!a) return UNKNOWN_ADDRESS;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!isIPv6(a)) return a;
  const [head, tail] = a.split("%")[0]!.split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
