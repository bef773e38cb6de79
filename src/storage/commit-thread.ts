import { Worker } from "node:worker_threads";
import type { StoreWrite } from "./types.js";

/** A batch the commit thread refused; `code` is SQLite's (SQLITE_FULL, …). */
export class CommitThreadError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = "SqliteError";
  }
}

/**
 * The main thread's side of the SQLite commit thread (sqlite-commit-worker.ts). The group
 * committer sends one batch at a time; each resolves once its transaction is durable. If the
 * thread dies, every batch in flight and every later one fails: nothing is acknowledged unwritten.
 */
export class CommitThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  private dead: Error | undefined;
  private closed: Promise<void> | undefined;
  /** Resolves once the thread's connection is open; rejects if it could not open. */
  readonly ready: Promise<void>;

  constructor(file: string, synchronous: "FULL" | "NORMAL") {
    this.worker = startWorker({ file, synchronous });
    let opened!: () => void;
    let failed!: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => ((opened = resolve), (failed = reject)));
    this.ready.catch(() => {});
    this.worker.on("message", (msg: { id: number; error?: { message: string; code?: string } } | "closed" | "ready") => {
      if (msg === "ready") return opened();
      if (msg === "closed") return;
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new CommitThreadError(msg.error.message, msg.error.code));
      else p?.resolve();
    });
    this.worker.on("error", (err) => {
      this.fail(err);
      failed(err);
    });
    this.worker.on("exit", (code) => {
      this.fail(new Error(`the SQLite commit thread exited (code ${code})`));
      failed(this.dead!);
    });
    // An idle commit thread does not keep the process alive; its start and a pending batch do (see write).
    this.ready.then(() => this.pending.size === 0 && this.worker.unref(), () => {});
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  /** Nothing sent is unfinished: a commit made elsewhere now cannot overtake one of this thread's. */
  get idle(): boolean {
    return !this.dead && this.pending.size === 0;
  }

  write(batch: readonly StoreWrite[]): Promise<void> {
    return this.send({ batch });
  }

  /**
   * Copies the WAL into the database on the thread. Until it is done the thread is not idle,
   * so no commit runs beside it: it then ends with nothing left, and the next commit starts the
   * WAL from its beginning (a WAL that only grows makes every fsync dearer). Never fails.
   */
  checkpoint(): Promise<void> {
    return this.send({ checkpoint: true }).catch(() => {});
  }

  private send(msg: { batch: readonly StoreWrite[] } | { checkpoint: true }): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, {
        resolve: () => {
          if (this.pending.size === 0) this.worker.unref();
          resolve();
        },
        reject: (err) => {
          if (this.pending.size === 0) this.worker.unref();
          reject(err);
        },
      });
      this.worker.postMessage({ id, ...msg });
    });
  }

  /** Closes the thread's connection after the batches already sent, then ends the thread. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (!this.dead) {
        this.worker.ref();
        await new Promise<void>((resolve) => {
          const done = (msg: unknown) => {
            if (msg !== "closed") return;
            this.worker.off("message", done);
            resolve();
          };
          this.worker.on("message", done);
          this.worker.once("exit", () => resolve());
          this.worker.postMessage("close");
        });
      }
      this.dead ??= new Error("the SQLite store is closed");
      await this.worker.terminate();
    })();
    return this.closed;
  }
}

/**
 * Built, this module is JavaScript and so is the worker. Run from source under tsx (tests,
 * `npm start`), Node 20 does not carry tsx's loader into a worker, so the worker registers it
 * before it imports its TypeScript entry.
 */
function startWorker(workerData: { file: string; synchronous: string }): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./sqlite-commit-worker.js", import.meta.url), { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./sqlite-commit-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
