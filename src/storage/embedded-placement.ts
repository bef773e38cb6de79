import { randomFillSync } from "node:crypto";
import type { ActorStore, ListQuery } from "./driver.js";
import type { GroupCommitter } from "./group-commit.js";
import type { ActorHost, CreateRequest, PlacementDriver, PlacementRuntime, StoppedReason } from "./placement.js";
import type { ActorRecord, StoreWrite } from "./types.js";

/**
 * Placement for one process: the directory is the embedded store's, every actor runs here,
 * and a start is asked of this runtime directly. Directory changes go through the group
 * committer, so a create or destroy shares its fsync with other actors' turns.
 */
export class EmbeddedPlacement implements PlacementDriver {
  readonly kind = "embedded";
  readonly localDirectory = true;
  private runtime: PlacementRuntime | undefined;
  /** Started here and not stopped since. */
  private readonly running = new Set<string>();

  constructor(
    private readonly store: ActorStore,
    private readonly committer: GroupCommitter,
    private readonly newId: () => string = newActorId,
  ) {}

  attach(runtime: PlacementRuntime): void {
    this.runtime = runtime;
  }

  findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined> {
    return this.store.findByKey(name, key);
  }

  findById(actorId: string): Promise<ActorRecord | undefined> {
    return this.store.findById(actorId);
  }

  list(q: ListQuery): Promise<ActorRecord[]> {
    return this.store.listActors(q);
  }

  async create(req: CreateRequest, attempt = 0): Promise<{ record: ActorRecord; created: boolean }> {
    const record = this.newRecord(req);
    await this.committer.enqueue({ kind: "create", record });
    // The store skips a create whose key is taken: the key's holder is whoever committed first.
    const holder = await this.store.findByKey(req.name, req.key);
    if (holder?.id === record.id) return { record: holder, created: true };
    if (holder) return { record: holder, created: false };
    // Taken when we committed, and destroyed since: free again, so try again (a few times: a
    // store whose lookup cannot find what it just stored must not loop forever).
    if (attempt >= 3) throw new Error(`EmbeddedPlacement: the key of a new ${req.name} was neither ours nor held after ${attempt + 1} attempts`);
    return this.create(req, attempt + 1);
  }

  entry(req: CreateRequest): { record: ActorRecord; writes: StoreWrite[] } {
    const record = this.newRecord(req);
    return { record, writes: [{ kind: "create", record, exclusive: true }] };
  }

  async destroy(actorId: string): Promise<void> {
    await this.committer.enqueue({ kind: "destroy", actorId });
    this.running.delete(actorId);
  }

  async hostOf(actorId: string): Promise<ActorHost | undefined> {
    return this.running.has(actorId) ? { kind: "local" } : undefined;
  }

  async requestStart(actorId: string): Promise<void> {
    if (!this.runtime) throw new Error("EmbeddedPlacement: no runtime attached");
    await this.runtime.start(actorId);
    this.running.add(actorId);
  }

  stopped(actorId: string, _reason: StoppedReason): void {
    this.running.delete(actorId);
  }

  private newRecord(req: CreateRequest): ActorRecord {
    return { id: this.newId(), name: req.name, key: [...req.key], createdAt: Date.now(), input: req.input };
  }
}

const RANDOM_BYTES = 9;
// One random draw per 512 ids: a draw per id was a visible share of creation's CPU.
const pool = Buffer.alloc(RANDOM_BYTES * 512);
let poolAt = pool.length;

/**
 * A new actor id: the creation time in milliseconds (9 base-36 digits, so ids sort by creation
 * until the year 5188) and 72 random bits. New ids land at the right edge of the directory's
 * B-tree instead of all over it, which keeps creation's page writes few at a million actors.
 */
export function newActorId(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const id = Date.now().toString(36).padStart(9, "0") + pool.toString("base64url", poolAt, poolAt + RANDOM_BYTES);
  poolAt += RANDOM_BYTES;
  return id;
}
