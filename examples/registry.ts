import { setup } from "../src/index.js";
import { chatRoom } from "./chat-room.js";
import { counter } from "./counter.js";
import { jobBoard } from "./job-board.js";

export const registry = setup({ use: { counter, chatRoom, jobBoard } });
