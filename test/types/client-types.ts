// Compile-time proof that types flow from the registry into the client. `npm test` runs the
// typecheck over this file: every @ts-expect-error must be an error, every other line must pass.
import { actor, setup } from "../../src/index.js";
import { createClient } from "../../src/client/index.js";

const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, by: number = 1) => (c.state.count += by),
    get: (c) => c.state.count,
    label: async (c, prefix: string, upper: boolean) => (upper ? `${prefix}${c.state.count}`.toUpperCase() : `${prefix}${c.state.count}`),
  },
});

const greeter = actor({
  createState: (_c, input: { greeting: string }) => ({ greeting: input.greeting }),
  createConnState: (_c, params: { user: string }) => ({ user: params.user, joinedAt: Date.now() }),
  actions: {
    greet: (c, name: string) => `${c.state.greeting}, ${name} (from ${c.conn?.state.user ?? "http"})`,
  },
});

const registry = setup({ use: { counter, greeter }, storage: { driver: "memory" } });
const client = createClient<typeof registry>("http://127.0.0.1:1");

export async function typeChecks(): Promise<void> {
  const n: number = await client.counter.getOrCreate(["a"]).increment(5);
  const m: number = await client.counter.getOrCreate("a").increment();
  const s: string = await client.counter.get(["a"]).label("#", true);
  const id: string = await client.counter.getOrCreate(["a"]).resolve();
  const conn = client.counter.getForId(id).connect();
  const viaConn: number = await conn.increment(1);
  const g: string = await (await client.greeter.create(["g"], { input: { greeting: "hi" } })).greet("ada");
  client.greeter.getOrCreate(["g"]).connect({ params: { user: "ada" } });
  void [n, m, s, viaConn, g];

  // @ts-expect-error wrong argument type
  await client.counter.getOrCreate(["a"]).increment("5");
  // @ts-expect-error missing required argument
  await client.counter.getOrCreate(["a"]).label("#");
  // @ts-expect-error return type is number, not string
  const wrong: string = await client.counter.getOrCreate(["a"]).get();
  // @ts-expect-error unknown action
  await client.counter.getOrCreate(["a"]).decrement();
  // @ts-expect-error unknown actor type
  client.nope.getOrCreate(["a"]);
  // @ts-expect-error input has the wrong shape
  await client.greeter.create(["g"], { input: { greting: "hi" } });
  // @ts-expect-error params have the wrong shape
  client.greeter.getOrCreate(["g"]).connect({ params: { name: "ada" } });
  // @ts-expect-error actions over a connection are typed too
  await conn.increment("x");
  void wrong;
}

// Inside actions, `c` is typed from the state.
actor({
  state: { items: [] as string[] },
  actions: {
    // @ts-expect-error items holds strings
    add: (c, item: number) => c.state.items.push(item),
  },
});
