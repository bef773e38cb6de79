import * as v1 from "./generated/v1.js";
import * as v2 from "./generated/v2.js";
import * as v3 from "./generated/v3.js";
import * as v4 from "./generated/v4.js";

/**
 * A BARE message of RivetKit's client protocol starts with its schema version as a u16,
 * little-endian (vbare's `serializeWithEmbeddedVersion`), then the BARE body of that version.
 * rivetkit 2.3.19 writes version 4 (its CURRENT_VERSION) and reads 1 to 4, upgrading older
 * bodies; so does this module. Writing an older version is not offered: no 2.3.19 peer needs it.
 */
export const CURRENT_VERSION = 4;

export interface Versioned<T> {
  /** The versions `decode` reads. */
  readonly versions: readonly number[];
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export class UnsupportedVersionError extends Error {
  constructor(readonly version: number, readonly supported: readonly number[]) {
    super(`BARE message of client protocol version ${version}; this side reads versions ${supported.join(", ")}`);
    this.name = "UnsupportedVersionError";
  }
}

export function embedVersion(version: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.length);
  new DataView(out.buffer).setUint16(0, version, true);
  out.set(payload, 2);
  return out;
}

export function splitVersion(bytes: Uint8Array): { version: number; payload: Uint8Array } {
  if (bytes.length < 2) throw new RangeError("BARE message too short to hold its version");
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0, true);
  return { version, payload: bytes.subarray(2) };
}

function versioned<T>(encode: (value: T) => Uint8Array, decoders: Record<number, (payload: Uint8Array) => T>): Versioned<T> {
  const versions = Object.keys(decoders).map(Number);
  return {
    versions,
    encode: (value) => embedVersion(CURRENT_VERSION, encode(value)),
    decode: (bytes) => {
      const { version, payload } = splitVersion(bytes);
      const decode = decoders[version];
      if (!decode) throw new UnsupportedVersionError(version, versions);
      return decode(payload);
    },
  };
}

// The same upgrades as rivetkit's client-protocol-versioned.ts: v2 dropped Init.connectionToken,
// v4 added the optional `actor` to errors. Everything else is unchanged across versions.
function upgradeToClient(message: v1.ToClient | v2.ToClient | v3.ToClient): v4.ToClient {
  const body = message.body;
  switch (body.tag) {
    case "Init":
      return { body: { tag: "Init", val: { actorId: body.val.actorId, connectionId: body.val.connectionId } } };
    case "Error":
      return { body: { tag: "Error", val: { ...body.val, actor: null } } };
    default:
      return { body };
  }
}

const upgradeError = (error: v1.HttpResponseError): v4.HttpResponseError => ({ ...error, actor: null });

export const toServer = versioned<v4.ToServer>(v4.encodeToServer, {
  1: v1.decodeToServer,
  2: v2.decodeToServer,
  3: v3.decodeToServer,
  4: v4.decodeToServer,
});

export const toClient = versioned<v4.ToClient>(v4.encodeToClient, {
  1: (b) => upgradeToClient(v1.decodeToClient(b)),
  2: (b) => upgradeToClient(v2.decodeToClient(b)),
  3: (b) => upgradeToClient(v3.decodeToClient(b)),
  4: v4.decodeToClient,
});

export const httpActionRequest = versioned<v4.HttpActionRequest>(v4.encodeHttpActionRequest, {
  1: v1.decodeHttpActionRequest,
  2: v2.decodeHttpActionRequest,
  3: v3.decodeHttpActionRequest,
  4: v4.decodeHttpActionRequest,
});

export const httpActionResponse = versioned<v4.HttpActionResponse>(v4.encodeHttpActionResponse, {
  1: v1.decodeHttpActionResponse,
  2: v2.decodeHttpActionResponse,
  3: v3.decodeHttpActionResponse,
  4: v4.decodeHttpActionResponse,
});

// Queue messages first appear in version 3.
export const httpQueueSendRequest = versioned<v4.HttpQueueSendRequest>(v4.encodeHttpQueueSendRequest, {
  3: v3.decodeHttpQueueSendRequest,
  4: v4.decodeHttpQueueSendRequest,
});

export const httpQueueSendResponse = versioned<v4.HttpQueueSendResponse>(v4.encodeHttpQueueSendResponse, {
  3: v3.decodeHttpQueueSendResponse,
  4: v4.decodeHttpQueueSendResponse,
});

export const httpResponseError = versioned<v4.HttpResponseError>(v4.encodeHttpResponseError, {
  1: (b) => upgradeError(v1.decodeHttpResponseError(b)),
  2: (b) => upgradeError(v2.decodeHttpResponseError(b)),
  3: (b) => upgradeError(v3.decodeHttpResponseError(b)),
  4: v4.decodeHttpResponseError,
});
