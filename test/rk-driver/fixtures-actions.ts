import { actor, UserError } from "../../src/index.js";

// Fixture actors of RivetKit's driver suite (fixtures/driver-test-suite/) re-expressed in
// Troupe's API: actions, timeouts, errors, input, state, vars and metadata.

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A long wait that does not keep the test process alive once the test is over. */
const unrefDelay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** action-inputs.ts: keeps the input createState and onCreate saw. */
export const inputActor = actor({
  createState: (_c, input: unknown) => ({ initialInput: input, onCreateInput: undefined as unknown }),
  onCreate: (c, input) => {
    c.state.onCreateInput = input;
  },
  actions: {
    getInputs: (c) => ({ initialInput: c.state.initialInput, onCreateInput: c.state.onCreateInput }),
  },
});

// action-timeout.ts: RivetKit's `options.actionTimeout` is Troupe's `options.actionTimeoutMs`.
export const shortTimeoutActor = actor({
  state: { value: 0 },
  options: { actionTimeoutMs: 50 },
  actions: {
    quickAction: async () => "quick response",
    slowAction: async () => {
      await delay(100);
      return "slow response";
    },
  },
});

export const longTimeoutActor = actor({
  state: { value: 0 },
  options: { actionTimeoutMs: 200 },
  actions: {
    delayedAction: async () => {
      await delay(100);
      return "delayed response";
    },
  },
});

export const defaultTimeoutActor = actor({
  state: { value: 0 },
  actions: {
    normalAction: async () => {
      await delay(50);
      return "normal response";
    },
  },
});

export const syncTimeoutActor = actor({
  state: { value: 0 },
  options: { actionTimeoutMs: 50 },
  actions: { syncAction: () => "sync response" },
});

// action-types.ts
export const syncActionActor = actor({
  state: { value: 0 },
  actions: {
    increment: (c, amount = 1) => (c.state.value += amount),
    getInfo: (c) => ({ currentValue: c.state.value, timestamp: Date.now() }),
    reset: (c) => {
      c.state.value = 0;
    },
  },
});

export const asyncActionActor = actor({
  state: { value: 0, data: null as null | { id: string; timestamp: number } },
  actions: {
    delayedIncrement: async (c, amount = 1) => {
      await Promise.resolve();
      return (c.state.value += amount);
    },
    fetchData: async (c, id: string) => {
      await Promise.resolve();
      const data = { id, timestamp: Date.now() };
      c.state.data = data;
      return data;
    },
    asyncWithError: async (_c, shouldError: boolean) => {
      await Promise.resolve();
      if (shouldError) throw new UserError("Intentional error");
      return "Success";
    },
  },
});

/** RivetKit dispatches actions concurrently; Troupe does so for a `reentrant` actor. */
export const concurrentActionActor = actor({
  state: { events: [] as string[] },
  options: { reentrant: true },
  actions: {
    runWithDelay: async (c, label: string, delayMs: number) => {
      c.state.events.push(`start:${label}`);
      await delay(delayMs);
      c.state.events.push(`finish:${label}`);
      return label;
    },
    getEvents: (c) => [...c.state.events],
  },
});

/**
 * RivetKit's nested `actions: { calculator: { add, read } }` travel as the dotted names
 * `calculator.add`; Troupe declares those names directly.
 */
export const nestedActionActor = actor({
  state: { total: 0 },
  actions: {
    "calculator.add": (c, amount: number) => (c.state.total += amount),
    "calculator.read": (c) => c.state.total,
  },
});

export const promiseActor = actor({
  state: { results: [] as string[] },
  actions: {
    resolvedPromise: () => Promise.resolve("resolved value"),
    delayedPromise: (c) =>
      new Promise<string>((resolve) => {
        c.state.results.push("delayed");
        resolve("delayed value");
      }),
    rejectedPromise: () => Promise.reject(new UserError("promised rejection")),
    getResults: (c) => c.state.results,
  },
});

// error-handling.ts
export const errorHandlingActor = actor({
  state: { errorLog: [] as string[] },
  options: { actionTimeoutMs: 500 },
  actions: {
    throwSimpleError: () => {
      throw new UserError("Simple error message");
    },
    throwDetailedError: () => {
      throw new UserError("Detailed error message", { code: "detailed_error", metadata: { reason: "test", timestamp: Date.now() } });
    },
    throwInternalError: () => {
      throw new Error("This is an internal error");
    },
    successfulAction: () => "success",
    timeoutAction: async () => {
      await unrefDelay(10_000);
      return "This should not be reached if timeout works";
    },
    delayedAction: async (_c, delayMs: number) => {
      await delay(delayMs);
      return `Completed after ${delayMs}ms`;
    },
  },
});

export const customTimeoutActor = actor({
  state: {},
  options: { actionTimeoutMs: 200 },
  actions: {
    quickAction: async () => {
      await delay(50);
      return "Quick action completed";
    },
    slowAction: async () => {
      await delay(300);
      return "Slow action completed";
    },
  },
});

/** stateless.ts: no state declared; reading c.state or c.db should throw. */
export const statelessActor = actor({
  actions: {
    ping: () => "pong",
    echo: (_c, message: string) => message,
    getActorId: (c) => c.actorId,
    tryGetState: (c) => {
      try {
        const state = c.state;
        return { success: true, state };
      } catch (error) {
        return { success: false, error: (error as Error).message };
      }
    },
    tryGetDb: (c) => {
      try {
        c.db;
        return { success: true };
      } catch (error) {
        return { success: false, error: (error as Error).message };
      }
    },
  },
});

/** RivetKit's static `vars` option, which Troupe's ActorConfig does not declare: passed as is. */
function withStaticVars<C extends object>(vars: unknown, config: C): C {
  return { ...config, vars } as C;
}

// vars.ts
export const staticVarActor = actor(
  withStaticVars(
    { counter: 42, name: "test-actor" },
    {
      state: { value: 0 },
      connState: { hello: "world" },
      actions: {
        getVars: (c: any) => c.vars,
        getName: (c: any) => c.vars?.name,
      },
    },
  ),
);

export const nestedVarActor = actor(
  withStaticVars(
    { counter: 42, nested: { value: "original", array: [1, 2, 3], obj: { key: "value" } } },
    {
      state: { value: 0 },
      connState: { hello: "world" },
      actions: {
        getVars: (c: any) => c.vars,
        modifyNested: (c: any) => {
          c.vars.nested.value = "modified";
          c.vars.nested.array.push(4);
          c.vars.nested.obj.key = "new-value";
          return c.vars;
        },
      },
    },
  ),
);

export const dynamicVarActor = actor({
  state: { value: 0 },
  connState: { hello: "world" },
  createVars: () => ({ random: Math.random(), computed: `Actor-${Math.floor(Math.random() * 1000)}` }),
  actions: { getVars: (c) => c.vars },
});

export const uniqueVarActor = actor({
  state: { value: 0 },
  connState: { hello: "world" },
  createVars: () => ({ id: Math.floor(Math.random() * 1_000_000) }),
  actions: { getVars: (c) => c.vars },
});

/** RivetKit hands createVars a driver context as its second argument; Troupe hands none. */
export const driverCtxActor = actor({
  state: { value: 0 },
  connState: { hello: "world" },
  createVars: (...args: unknown[]) => ({ hasDriverCtx: Boolean((args[1] as { isTest?: boolean } | undefined)?.isTest) }),
  actions: { getVars: (c) => c.vars },
});

/** metadata.ts: the actor's name, plus tags and region kept in state. */
export const metadataActor = actor({
  state: { lastMetadata: null as unknown, actorName: "", storedTags: {} as Record<string, string>, storedRegion: null as string | null },
  onWake: (c) => {
    c.state.actorName = c.name;
  },
  actions: {
    setupTestTags: (c, tags: Record<string, string>) => (c.state.storedTags = tags),
    setupTestRegion: (c, region: string) => (c.state.storedRegion = region),
    getMetadata: (c) => {
      const metadata = { name: c.name, tags: c.state.storedTags, region: c.state.storedRegion };
      c.state.lastMetadata = metadata;
      return metadata;
    },
    getActorName: (c) => c.name,
    getTag: (c, key: string) => c.state.storedTags[key] || null,
    getTags: (c) => c.state.storedTags,
    getRegion: (c) => c.state.storedRegion,
    getStoredActorName: (c) => c.state.actorName,
  },
});

export const actionFixtures = {
  inputActor,
  shortTimeoutActor,
  longTimeoutActor,
  defaultTimeoutActor,
  syncTimeoutActor,
  syncActionActor,
  asyncActionActor,
  concurrentActionActor,
  nestedActionActor,
  promiseActor,
  errorHandlingActor,
  customTimeoutActor,
  statelessActor,
  staticVarActor,
  nestedVarActor,
  dynamicVarActor,
  uniqueVarActor,
  driverCtxActor,
  metadataActor,
};
