/**
 * Schedules that broke an invariant, by the seed and fast-check path that generate them. The
 * first was found on the code; the others were found with one fix reverted at a time (the
 * `npm run sim` search, seeds 1 to 4, 600 schedules each) and guard that fix. A path names a
 * schedule of today's generators (test/sim/run.ts): changing those changes what it replays.
 * These were recorded before every other write named its actor by key (`byKeyWrites`), and
 * replay as they were found; a schedule found since says `byKeyWrites: true`.
 */
export const REGRESSIONS: ReadonlyArray<{ bug: string; seed: number; path: string; byKeyWrites?: boolean }> = [
  { bug: "an alarm requeued from a crashed instance ran although a later turn cancelled it", seed: 3, path: "1261" },
  { bug: "a message sent to a waking actor was delivered twice (queue depth went negative)", seed: 1, path: "11:0:0:0:3:0:0:0:6:11:16:15:16:16:8" },
  {
    bug: "writes discarded after a failed commit were acknowledged (an alarm of a failed write fired)",
    seed: 1,
    path: "143:51:34:34:37:41:50:48:41:44:50:50:56:60:5:24:33:7:30:33:40:51:48:51:57:39:56:68:74:30:37:42:36:42:42:47:47:47:47:50:38:61:60:60:69:67:72:80:80:87:96:5:10:24:24:24:28:14:14:14:14:57:43:41:17:47:35:28:52:52:52:34:37:38:19:27:20:18",
  },
  { bug: "an alarm staged in onCreate woke a second instance (a reply left before its commit)", seed: 1, path: "13:0:0:0:1:1:3:5:5:22:26:26:2:2:7:8:7:7" },
  { bug: "a connection whose onConnect threw stayed registered (the actor never slept)", seed: 1, path: "2:0:0:0:0:1:0:0:0:0:1:2:3" },
  { bug: "A→B→A through c.client() waited for the timeout instead of failing with call_cycle", seed: 1, path: "0:0:0:0:0:2:0:2:4:4:2:2" },
  { bug: "a queue handler that never settled blocked its actor forever (only actions timed out)", seed: 1, path: "3:0:0:0:0:1:1:0:3:5:7:7:5:4:2:3:3:4" },
  { bug: "a turn's SQL committed apart from its state batch (an acknowledged SQL write was lost)", seed: 1, path: "1:0:1:0:0:0:0:1:2:2:2:2:2" },
  {
    bug: "a message sent to an actor whose wake failed (a refused redo commit) waited for the next caller",
    seed: 2066513983,
    path: "149:2:36:68:62:34:83:43:36:71:45:97:42:42:42:42:58:58:64:69:56:56:56:56:48:78:82:66:79:73:76:75:75:82:82:94:94:51:20:55:65:1:51:46:47:53:58:53:66:58:71:70:70:71:71:51:50:49",
  },
  {
    bug: "a raw socket opened while its actor went to sleep stayed registered on the old instance (and was closed by it)",
    seed: 835686040,
    path: "13:0:0:0:6:4:0:12:13:21:11:6:11:11:14:16:16:20:19:19:19:19:22:22:22:25:30:20:26:25:30:32:29:22",
  },
  { bug: "a destroy whose commit was refused stranded the actor's queued messages", seed: 402969713, path: "197" },
  { bug: "a send whose actor lookup predated a destroy was acknowledged, though the store skipped the message", seed: 2055384849, path: "104" },
  {
    bug: "a failed creation's cleanup deleted the actor's SQL database under a second instance a getOrCreate had started meanwhile (an acknowledged SQL write lost)",
    seed: 770712550,
    path: "108:2:2:36:37:39:39:43:44:44:47:48:49:49:52:53:54:59:60:68:70:69:69:59:59",
  },
  {
    bug: "an actor entered before a crash whose next first turn failed was removed, with a message a getOrCreate caller had sent it since (queue depth stuck at 1)",
    seed: 303,
    path: "416:0:1:21:1:15:20:20:24:12:41:15:21:21:28:36:42:45:45:45:45:48:46:47:49:49:50:51:45:46:46:47:48:48",
  },
  {
    bug: "a stateless call of an actor with an auth hook, moved to a fresh instance after a restart, ran its action on the old one (a cancel answered true for an alarm that had fired)",
    seed: 3,
    path: "1261",
  },
  {
    bug: "an SQL queue handler's turn freed its queue before its commit; the commit found the disk full, and the message was handled and acknowledged twice (queue depth −1)",
    seed: 782371973,
    path: "21:0:2:50:0:1:15:21:20:29:4:3:13:13:19:29:31:34:36:37:42:43:46:10:14:4:15:17:17:19:25:29:30:34:41:4:1:21:35:36:37:39:22:34:36:15:32:38:38:40:42:41:25:33:14:25:29:24:24:27:19:23:25:28:29",
  },
  {
    bug: "a commit that failed after its instance had timed out did not discard the commits queued behind it (a later turn's state carried a write told failed)",
    seed: 2084309368,
    path: "193:1:3:4:3:3:11:15:18:19:23:24:23:24:27:27:30:31:31:31:36:36:35:35:38:24:25:35:35:43:45:49:49:49:52:52",
    byKeyWrites: true,
  },
  {
    bug: "a sender waiting on a message handled by a SQL turn heard only when the store applied the redo, which a refusing store retried past the liveness bound",
    seed: 505745651,
    path: "83:1:1:33:32:34:36:35:35:37:37",
    byKeyWrites: true,
  },
];
