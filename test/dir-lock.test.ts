import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { acquireDirLock, type DirLock } from "../src/storage/dir-lock.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Not the harness's tempDir: this file should need nothing but dir-lock.ts.
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the lock fixture; resolves with its first stdout line ("locked" or "refused: ..."). */
function lockChild(mode: "hold" | "try", dir: string) {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "test/fixtures/dir-lock-child.ts"), mode, dir], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const line = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    void exited.then(() => reject(new Error(`lock child exited without a line: ${err}`)));
  });
  return { child, exited, line };
}

// Blocks the thread without running the event loop, so Node cannot reap a killed child meanwhile.
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

test("a second acquire in this process is refused while the first is held", () => {
  const dir = tempDir("troupe-lock-");
  const first = acquireDirLock(dir);
  assert.throws(() => acquireDirLock(dir), (err: Error) => err.message.includes(dir) && /already open in this process/.test(err.message) && /TROUPE_DATA_DIR/.test(err.message));
  first.release();
  first.release();
  const second = acquireDirLock(dir);
  // An old handle's release must not free the new holder's lock.
  first.release();
  assert.throws(() => acquireDirLock(dir), /already open in this process/);
  second.release();
  acquireDirLock(dir).release();
});

test("another process is refused while this one holds the lock, and names this pid", async () => {
  const dir = tempDir("troupe-lock-");
  const lock = acquireDirLock(dir);
  // A refused attempt here opens and closes its own fd on LOCK.db; that must not drop the POSIX lock.
  assert.throws(() => acquireDirLock(dir));
  try {
    const other = lockChild("try", dir);
    const line = await other.line;
    await other.exited;
    assert.match(line, /^refused: /);
    assert.ok(line.includes(dir), line);
    assert.match(line, new RegExp(`in use by process ${process.pid}\\b.*another Troupe server.*TROUPE_DATA_DIR`));
  } finally {
    lock.release();
  }
  const after = lockChild("try", dir);
  assert.equal(await after.line, "locked");
  await after.exited;
});

test("a SIGKILLed holder releases the lock at once, before it is reaped", async () => {
  const dir = tempDir("troupe-lock-");
  const holder = lockChild("hold", dir);
  let lock: DirLock | undefined;
  try {
    assert.equal(await holder.line, "locked");
    assert.throws(() => acquireDirLock(dir), new RegExp(`in use by process ${holder.child.pid}\\b`));

    const pid = holder.child.pid!;
    const t0 = performance.now();
    holder.child.kill("SIGKILL");
    let attempts = 0;
    // Synchronous on purpose: the event loop does not run, so the child stays unreaped.
    while (!lock) {
      attempts++;
      try {
        lock = acquireDirLock(dir);
      } catch (err) {
        if (performance.now() - t0 > 200) throw err;
        pause(1);
      }
    }
    const ms = performance.now() - t0;
    assert.equal(holder.child.exitCode, null, "the exit has not been seen yet");
    assert.equal(holder.child.signalCode, null);
    const stat = `/proc/${pid}/stat`;
    const state = fs.existsSync("/proc/self/stat") ? (fs.existsSync(stat) ? fs.readFileSync(stat, "utf8").split(") ")[1]?.[0] : "gone") : "n/a";
    if (state !== "n/a") assert.notEqual(state, "gone", "the killed process is not reaped yet");
    console.log(`dir lock: re-acquired ${ms.toFixed(2)} ms after SIGKILL (${attempts} attempt(s)), killed process state ${state}, not reaped`);
  } finally {
    holder.child.kill("SIGKILL");
    lock?.release();
    await holder.exited;
  }
});

test("a stale pid file LOCK naming this very process does not block the lock", () => {
  const dir = tempDir("troupe-lock-");
  // As after a container restart: the dead server's pid file names the pid the new server got.
  fs.writeFileSync(path.join(dir, "LOCK"), String(process.pid));
  const lock = acquireDirLock(dir);
  assert.throws(() => acquireDirLock(dir), /already open in this process/);
  lock.release();
  assert.equal(fs.existsSync(path.join(dir, "LOCK")), false, "release removes the pid note");
  acquireDirLock(dir).release();
});
