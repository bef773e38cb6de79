import { keyToString } from "../actor/key.js";
import { type ActorRecord, type ActorStore, type StoreWrite } from "./types.js";

/** Keeps everything in process memory: for tests and throwaway servers, never durable. */
export class MemoryStore implements ActorStore {
  readonly kind = "memory";
  private readonly records = new Map<string, ActorRecord>();
  private readonly byKey = new Map<string, string>();
  private readonly states = new Map<string, Uint8Array>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined> {
    const id = this.byKey.get(indexKey(name, key));
    return id === undefined ? undefined : this.records.get(id);
  }

  async findById(id: string): Promise<ActorRecord | undefined> {
    return this.records.get(id);
  }

  async loadState(id: string): Promise<Uint8Array | undefined> {
    return this.states.get(id);
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    for (const w of batch) {
      if (w.kind === "create") {
        if (this.byKey.has(indexKey(w.record.name, w.record.key))) continue;
        this.records.set(w.record.id, w.record);
        this.byKey.set(indexKey(w.record.name, w.record.key), w.record.id);
        this.states.set(w.record.id, w.state);
      } else if (w.kind === "state") {
        if (this.records.has(w.actorId)) this.states.set(w.actorId, w.state);
      } else {
        const rec = this.records.get(w.actorId);
        if (rec) this.byKey.delete(indexKey(rec.name, rec.key));
        this.records.delete(w.actorId);
        this.states.delete(w.actorId);
      }
    }
  }
}

function indexKey(name: string, key: readonly string[]): string {
  return `${name}\u0000${keyToString([...key])}`;
}
