/** An error reported by the server in RivetKit's shape: `{ group, code, message, metadata }`. */
export class ActorError extends Error {
  constructor(
    readonly group: string,
    readonly code: string,
    message: string,
    readonly metadata?: unknown,
    /** The HTTP status, when the error came over HTTP. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "ActorError";
  }

  static from(payload: unknown, status?: number): ActorError {
    const p = (payload ?? {}) as { group?: unknown; code?: unknown; message?: unknown; metadata?: unknown };
    return new ActorError(
      typeof p.group === "string" ? p.group : "client",
      typeof p.code === "string" ? p.code : "unknown_error",
      typeof p.message === "string" ? p.message : `Request failed${status ? ` with status ${status}` : ""}`,
      p.metadata,
      status,
    );
  }
}
