import type { Logger } from "pino";
import type { StoreWrite } from "../storage/types.js";
import type { ActorType } from "./actor-type.js";
import type { MessageOutcome, QueueHost, QueueMetrics, QueueSpec } from "./queue.js";
import type { InstanceHost, Task } from "./task.js";
import type { Turn } from "./turn.js";

/** What the queues' wiring reads from their instance. */
export interface QueueWiringHost {
  readonly id: string;
  readonly type: ActorType;
  readonly log: Logger;
  /** Queues a task for its turn. */
  enqueue(task: Task): void;
  /** The staging buffer of the code running now. */
  currentTurn(): Turn;
}

const ignore = (): void => {};

/** An instance's queues, connected to its turns and its runtime by methods rather than a closure apiece. */
export class QueueWiring implements QueueHost {
  constructor(
    private readonly instance: QueueWiringHost,
    private readonly runtime: Pick<InstanceHost, "messageSettled">,
  ) {}

  get id(): string {
    return this.instance.id;
  }

  get actorName(): string {
    return this.instance.type.name;
  }

  get specs(): ReadonlyMap<string, QueueSpec> {
    return this.instance.type.queues;
  }

  get metrics(): ReadonlyMap<string, QueueMetrics> | undefined {
    return this.instance.type.metrics?.queues;
  }

  get log(): Logger {
    return this.instance.log;
  }

  runHandler(label: string, run: (ctx: unknown) => unknown, finish: (ok: boolean, output: unknown, error: unknown) => void): void {
    this.instance.enqueue({
      label,
      run: (_target, ctx) => run(ctx),
      resolve: ignore,
      reject: ignore,
      finalWrites: (_target, ok, output, error) => finish(ok, output, error),
      noRequeue: true,
      fateOnTimeout: true,
    });
  }

  stageWith(write: StoreWrite, undo: () => void, settle: () => void): void {
    const turn = this.instance.currentTurn();
    turn.addWrite(write);
    turn.addUndo(undo);
    turn.addSettle(settle);
  }

  decided(seq: number, outcome: MessageOutcome): void {
    // A dead letter keeps its attempt count, so a sender told from the redo hears the same error.
    const attempts = outcome.ok ? undefined : (outcome.error.metadata as { attempts?: number } | undefined)?.attempts;
    this.instance.currentTurn().addOutcome([seq, outcome.ok, outcome.ok ? outcome.output : attempts]);
  }

  messageSettled(seq: number, outcome: MessageOutcome): void {
    this.runtime.messageSettled(seq, outcome);
  }
}
