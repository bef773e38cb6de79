import { registry } from "./registry.js";

// `npm start`: the example actors on the embedded SQLite store (in .troupe/ or TROUPE_DATA_DIR).
const port = process.env.PORT === undefined ? 6420 : Number(process.env.PORT);
const host = process.env.HOST ?? "127.0.0.1";
const server = await registry.listen({ port, host });
const u = server.url;

console.log(`
Troupe is serving the example actors at ${u}  (Ctrl-C stops it gracefully)

Call it with curl (the wire protocol is RivetKit's: docs/PROTOCOL.md):
  curl -s -X PUT ${u}/actors -H 'content-type: application/json' -d '{"name":"counter","key":"demo"}'
      # -> {"actor":{"actor_id":"<ID>",...},"created":true}
  curl -s -X POST ${u}/gateway/<ID>/action/increment -H 'content-type: application/json' -d '{"args":[5]}'
      # -> {"output":5}
  curl -s -X POST "${u}/gateway/jobBoard/queue/jobs?rvt-method=getOrCreate&rvt-key=main" -H 'content-type: application/json' -d '{"body":{"text":"hello queued world"},"wait":true}'
      # -> {"status":"completed","response":{...},"messageId":1}  (an actor addressed by name and key)
  curl -s ${u}/health
  curl -s ${u}/metadata
  curl -s ${u}/metrics -H "authorization: Bearer $TROUPE_METRICS_TOKEN"   # start with TROUPE_METRICS_TOKEN set

Call it with the client (TypeScript):
  import { createClient } from "troupe/client";
  import type { registry } from "./examples/registry.js";
  const client = createClient<typeof registry>("${u}");
  await client.counter.getOrCreate(["demo"]).increment(5);
  const room = client.chatRoom.getOrCreate(["lobby"]).connect({ params: { username: "ada" } });
  room.on("message", (m) => console.log(m));
  await room.post("hello");
  (or run: npm run example:client)
`);
