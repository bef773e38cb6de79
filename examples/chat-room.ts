import { actor, UserError } from "../src/index.js";

export interface Message {
  id: number;
  from: string;
  text: string;
  at: number;
}

/** A chat room: connections carry a username, messages are kept and broadcast to members. */
export const chatRoom = actor({
  state: { messages: [] as Message[], nextId: 1 },
  createConnState: (_c, params: { username: string } | undefined) => ({ username: params?.username ?? "anonymous" }),
  onBeforeConnect: (_c, params: { username: string } | undefined) => {
    const name = params?.username;
    if (name !== undefined && (typeof name !== "string" || name.length === 0 || name.length > 32)) {
      throw new UserError("username must be 1 to 32 characters", { code: "invalid_username" });
    }
  },
  onConnect: (c, conn) => c.broadcast("joined", conn.state.username),
  onDisconnect: (c, conn) => c.broadcast("left", conn.state.username),
  actions: {
    // Not `send`: RivetKit's clients use that name for queue messages (handle.send, conn.send).
    post: (c, text: string) => {
      if (typeof text !== "string" || text.length === 0 || text.length > 2000) {
        throw new UserError("text must be 1 to 2000 characters", { code: "invalid_message" });
      }
      const from = c.conn?.state.username ?? "http";
      const message: Message = { id: c.state.nextId++, from, text, at: Date.now() };
      c.state.messages.push(message);
      // Keep the room's state small: the last 200 messages.
      if (c.state.messages.length > 200) c.state.messages.splice(0, c.state.messages.length - 200);
      c.broadcast("message", message);
      return message;
    },
    history: (c, limit: number = 50) => c.state.messages.slice(-Math.max(1, Math.min(200, limit))),
    members: (c) => [...c.conns.values()].map((conn) => conn.state.username),
  },
});
