import { createClient } from "../src/client/index.js";
import type { registry } from "./registry.js";

// `npm run example:client` against a running `npm start`.
const endpoint = process.env.TROUPE_URL ?? "http://127.0.0.1:6420";
const client = createClient<typeof registry>(endpoint);

const total = await client.counter.getOrCreate(["demo"]).increment(5);
console.log(`counter "demo" is now ${total}`);

const room = client.chatRoom.getOrCreate(["lobby"]).connect({ params: { username: "ada" } });
room.on("message", (m: { from: string; text: string }) => console.log(`[lobby] ${m.from}: ${m.text}`));
await room.post("hello from the example client");
console.log("history:", (await room.history(5)).map((m) => m.text));
await room.dispose();

// The job board: durable queue in, SQL results out.
const board = client.jobBoard.getOrCreate(["main"]);
const done = await board.send("jobs", { text: "the quick brown fox jumps over the lazy dog" }, { wait: true });
console.log("job result:", done.output, "totals:", await board.totals());
