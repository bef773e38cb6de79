import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ChildServer {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  /** Starts refused because the data directory was still locked (see `lockRetryMs`). */
  lockRetries: number;
}

export interface StartOptions {
  /**
   * Restart right after a SIGKILL: while the kernel has not yet torn the old process down its
   * data-dir lock may still be held, so a refused start is retried for up to this long.
   */
  lockRetryMs?: number;
}

/** Starts `script` in a fresh Node process and waits for the line announcing its URL. */
export async function startChild(script: string, env: Record<string, string>, timeoutMs = 20_000, nodeArgs: readonly string[] = [], opts: StartOptions = {}): Promise<ChildServer> {
  const deadline = Date.now() + (opts.lockRetryMs ?? 0);
  for (let lockRetries = 0; ; lockRetries++) {
    try {
      return { ...(await startOnce(script, env, timeoutMs, nodeArgs)), lockRetries };
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() >= deadline) throw err;
    }
  }
}

class LockedError extends Error {}

async function startOnce(script: string, env: Record<string, string>, timeoutMs: number, nodeArgs: readonly string[]): Promise<Omit<ChildServer, "lockRetries">> {
  const logDir = process.env.TROUPE_TEST_LOG_DIR;
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", path.join(root, script)], {
    cwd: root,
    env: { ...process.env, TROUPE_LOG_LEVEL: logDir ? "trace" : (process.env.TROUPE_TEST_LOG_LEVEL ?? "warn"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  if (logDir) {
    // Keep everything the child wrote for the suite-wide secrets grep.
    const file = fs.createWriteStream(path.join(logDir, `child-${child.pid}.log`));
    child.stdout!.pipe(file);
    child.stderr!.on("data", (d) => file.write(d));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`child did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stdout!.on("data", (d) => {
      out += d;
      // Log lines are JSON too: the announcement is the line with a url (or the example server's banner).
      const line = out.split("\n").find((l) => l.startsWith('{"url"'));
      const banner = /serving the example actors at (http:\/\/\S+)/.exec(out);
      if (line || banner) {
        clearTimeout(timer);
        resolve(line ? (JSON.parse(line) as { url: string }).url : banner![1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const message = `child exited early (${code ?? signal}): ${err}`;
      reject(/Data directory .* (is in use by|is already open in)/.test(err) ? new LockedError(message) : new Error(message));
    });
  });
  return { url, child, exited, stderr: () => err };
}
