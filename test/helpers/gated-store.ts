import { MemoryStore } from "../../src/storage/memory-store.js";
import type { StoreWrite } from "../../src/storage/types.js";

/**
 * A memory store whose commits the test controls: hold them open to prove nothing is
 * answered before commit, or make them fail to prove nothing is half-applied.
 */
export class GatedStore extends MemoryStore {
  held = false;
  failNext = 0;
  private waiting: Array<() => void> = [];
  readonly committed: StoreWrite[][] = [];

  override async write(batch: readonly StoreWrite[]): Promise<void> {
    if (this.held) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("simulated disk failure");
    }
    await super.write(batch);
    this.committed.push([...batch]);
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) r();
  }

  get waitingCount(): number {
    return this.waiting.length;
  }
}
