import { AsyncLocalStorage } from "node:async_hooks";
import type { StoreWrite } from "../storage/types.js";
import type { RedoOutcome } from "./sql-turn.js";

/** Shared by turns that staged nothing of a kind: most turns stage nothing, and this is the hot path. */
const NONE = Object.freeze([]) as unknown as never[];

/** What one turn staged: written with its commit, undone by its rollback, settled once durable. */
export class Turn {
  writes: StoreWrite[] = NONE;
  undo: Array<() => void> = NONE;
  settle: Array<() => void> = NONE;
  /** Queue outcomes the turn decided, kept in its SQL redo record for senders waiting on them. */
  outcomes: RedoOutcome[] = NONE;
  /** The turn's events, released with its commit. */
  outbox: Array<() => void> = NONE;

  /** `inTask`: events wait for this turn's commit; outside a task they wait for the newest barrier. */
  constructor(readonly inTask: boolean) {}

  addWrite(w: StoreWrite): void {
    this.writes = add(this.writes, w);
  }
  addUndo(f: () => void): void {
    this.undo = add(this.undo, f);
  }
  addSettle(f: () => void): void {
    this.settle = add(this.settle, f);
  }
  addOutcome(o: RedoOutcome): void {
    this.outcomes = add(this.outcomes, o);
  }
  addEvent(send: () => void): void {
    this.outbox = add(this.outbox, send);
  }
  clear(): void {
    this.writes = this.undo = this.settle = this.outcomes = this.outbox = NONE;
  }
}

/** Appends to a turn's list, replacing the shared empty one on first use. */
function add<T>(list: T[], item: T): T[] {
  if (list === NONE) return [item];
  list.push(item);
  return list;
}

export const newTurn = (inTask: boolean): Turn => new Turn(inTask);

/** Reentrant turns run concurrently: each finds its own staging buffer through its async context. */
export const reentrantTurn = new AsyncLocalStorage<Turn>();

/** What a turn that ran past its timeout rejects with, inside the instance. */
export const TIMED_OUT = Symbol("timed out");

export function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

export function withTimeout<T>(p: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(TIMED_OUT), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
