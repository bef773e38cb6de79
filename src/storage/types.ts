/**
 * The storage seam. The embedded default is SQLite; a distributed engine will implement
 * the same interface later, which is why every method is async even where SQLite is not.
 */
export interface ActorRecord {
  id: string;
  name: string;
  key: string[];
  createdAt: number;
}

export type StoreWrite =
  | { kind: "create"; record: ActorRecord; state: Uint8Array }
  | { kind: "state"; actorId: string; state: Uint8Array }
  | { kind: "destroy"; actorId: string };

export interface ActorStore {
  /** A short name for logs and metadata, e.g. "sqlite" or "memory". */
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined>;
  findById(id: string): Promise<ActorRecord | undefined>;
  loadState(id: string): Promise<Uint8Array | undefined>;
  /**
   * Applies every write or none: a batch is one atomic, durable commit. A `create` whose
   * (name, key) is already taken is skipped rather than failing the batch, because one
   * batch carries many actors' commits; the creator checks the winner with findByKey.
   */
  write(batch: readonly StoreWrite[]): Promise<void>;
}
