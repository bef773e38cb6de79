import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { actor } from "../src/index.js";
import { startServer } from "./helpers/harness.js";
import { reactMissing, setupReactDom, type ReactDomEnv, type RivetReactModule } from "./helpers/react-dom-env.js";

// @rivetkit/react 2.3.11's `useActor` (over the real rivetkit 2.3.19 client, both from bench/peer)
// against a Troupe server, rendered by React 19 into a jsdom document: the hook connects, a
// click posts through its connection, and the broadcasts it hears end up in the DOM.

const missing = reactMissing();

const live = { connects: 0, disconnects: 0 };

const chatRoom = actor({
  state: { messages: [] as string[] },
  // Stateless calls run these hooks too (a connection for the length of the call): count the hook's only.
  createConnState: (_c, params: { via?: string } | undefined) => ({ http: params?.via === "http" }),
  onConnect: (_c, conn) => void (conn.state.http || live.connects++),
  onDisconnect: (_c, conn) => void (conn.state.http || live.disconnects++),
  actions: {
    post: (c, text: string) => {
      c.state.messages.push(text);
      c.broadcast("newMessage", text);
      return c.state.messages.length;
    },
  },
});

/** Polls until `ready()` holds, failing after `timeoutMs` with `detail()` (the DOM, say) in the message. */
async function waitFor(ready: () => boolean, what: string, detail: () => string = () => "", timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail() ? `; ${detail()}` : ""}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("@rivetkit/react useActor against Troupe, rendered in jsdom", { skip: missing }, () => {
  let h: Awaited<ReturnType<typeof startServer<{ chatRoom: typeof chatRoom }>>>;
  let env: ReactDomEnv;
  const consoleErrors: unknown[][] = [];
  const consoleError = console.error;

  before(async () => {
    process.env.RIVET_LOG_LEVEL ??= "silent";
    h = await startServer({ use: { chatRoom } });
    env = await setupReactDom();
    // React reports misuse (hook order, keys, updates after unmount) with console.error.
    console.error = (...args: unknown[]) => void consoleErrors.push(args);
  });
  after(async () => {
    console.error = consoleError;
    env?.close();
    await h?.close();
  });

  /** The chat component: status, a post button, and one <li> per `newMessage` event. */
  function ChatRoom({ useActor, roomKey, statuses }: { useActor: ReturnType<RivetReactModule["createRivetKit"]>["useActor"]; roomKey: string; statuses: string[] }) {
    const { createElement: el, useState } = env.React;
    const room = useActor({ name: "chatRoom", key: ["rooms", roomKey] });
    const [messages, setMessages] = useState<string[]>([]);
    room.useEvent("newMessage", (text: string) => setMessages((prev) => [...prev, text]));
    if (statuses.at(-1) !== room.connStatus) statuses.push(room.connStatus);
    return el(
      "main",
      null,
      el("p", { id: "status" }, room.connStatus),
      room.error ? el("p", { id: "error" }, String(room.error)) : null,
      el("button", { id: "post", disabled: room.connStatus !== "connected", onClick: () => void room.connection?.post("hello from the button") }, "post"),
      el(
        "ul",
        { id: "messages" },
        messages.map((m, i) => el("li", { key: i }, m)),
      ),
    );
  }

  // The default (a bare endpoint string, as in RivetKit's docs) is bare; json and cbor by config.
  const cases = [
    { name: "default encoding (bare), endpoint as a string", encoding: undefined },
    { name: "json", encoding: "json" },
    { name: "cbor", encoding: "cbor" },
  ] as const;

  for (const { name, encoding } of cases) {
    test(`${name}: connects, and the event a click causes (and one from another client) is rendered`, async () => {
      const { document } = env;
      const { useActor } = env.RivetReact.createRivetKit(encoding ? { endpoint: h.url, encoding } : h.url);
      const roomKey = encoding ?? "default";
      const statuses: string[] = [];
      const container = document.createElement("div");
      document.body.append(container);
      const text = (sel: string) => container.querySelector(sel)?.textContent ?? "";
      const items = () => Array.from(container.querySelectorAll("#messages li"), (li) => li.textContent);
      const dump = () => `DOM: ${container.innerHTML}`;
      const connectsBefore = live.connects;
      const disconnectsBefore = live.disconnects;

      const root = env.ReactDomClient.createRoot(container);
      try {
        root.render(env.React.createElement(ChatRoom, { useActor, roomKey, statuses }));
        await waitFor(() => text("#status") === "connected", "the hook to connect", dump);
        assert.equal(live.connects, connectsBefore + 1, "one connection for the hook");
        assert.deepEqual(statuses, ["idle", "connecting", "connected"]);
        assert.equal(container.querySelector("#error"), null);

        // A click in the page: React's onClick calls the action over the hook's connection.
        const button = container.querySelector("#post") as HTMLButtonElement;
        assert.equal(button.disabled, false);
        button.dispatchEvent(new env.window.MouseEvent("click", { bubbles: true }));
        await waitFor(() => items().length === 1, "the broadcast from the click", dump);
        assert.deepEqual(items(), ["hello from the button"]);

        // A broadcast caused elsewhere (Troupe's own client, over HTTP) reaches the hook too.
        assert.equal(await h.client.chatRoom.getOrCreate(["rooms", roomKey], { params: { via: "http" } }).post("hello from elsewhere"), 2);
        await waitFor(() => items().length === 2, "the broadcast from the other client", dump);
        assert.deepEqual(items(), ["hello from the button", "hello from elsewhere"]);
        assert.equal(text("#status"), "connected");
      } finally {
        root.unmount();
        container.remove();
      }
      // The hook disposes its connection (a timer after the unmount): the actor sees it go.
      await waitFor(() => live.disconnects === disconnectsBefore + 1, "the hook's connection to close after unmount");
      assert.deepEqual(consoleErrors, [], "React logged no errors");
    });
  }
});
