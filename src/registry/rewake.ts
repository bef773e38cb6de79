import type { Logger } from "pino";
import { errors, TroupeError } from "../common/errors.js";

/** What waking actors with stranded work needs. */
export interface RewakeHost {
  readonly logger: Logger;
  accepting(): boolean;
  isDestroying(actorId: string): boolean;
  transition(actorId: string): Promise<void> | undefined;
  instance(actorId: string): Promise<unknown>;
}

/** Attempts, and the first backoff, for waking an actor whose wake keeps failing. */
const ATTEMPTS = 8;
const BACKOFF_MS = 50;

/**
 * Actors with stored work nobody is calling for (queued messages, an SQL turn to catch up):
 * they are woken once their unload or crash recovery ends, and, while their store refuses,
 * again with backoff, so the work is never stranded until the next caller.
 */
export class Rewaker {
  private readonly marked = new Set<string>();

  constructor(private readonly host: RewakeHost) {}

  /** Wake the actor once it is down. */
  mark(actorId: string): void {
    this.marked.add(actorId);
  }

  /** Wake the actor once its transition ends, or after a pause. */
  later(actorId: string): void {
    this.marked.add(actorId);
    const t = this.host.transition(actorId);
    if (t) void t.then(() => this.run(actorId));
    else setTimeout(() => this.run(actorId), BACKOFF_MS).unref();
  }

  /** Wakes the actor if it was marked. */
  run(actorId: string, attempt = 0): void {
    if (attempt === 0 && !this.marked.delete(actorId)) return;
    if (!this.host.accepting() || this.host.isDestroying(actorId)) return;
    this.host.instance(actorId).catch((err) => {
      if (err instanceof TroupeError && err.code === errors.actorNotFound("").code) return;
      if (attempt >= ATTEMPTS) {
        this.host.logger.error({ err, actorId }, "could not wake an actor with pending work; it runs on its next call");
        return;
      }
      this.host.logger.warn({ err, actorId, attempt }, "could not wake an actor with pending work; retrying");
      setTimeout(() => this.run(actorId, attempt + 1), BACKOFF_MS * 2 ** attempt).unref();
    });
  }
}
