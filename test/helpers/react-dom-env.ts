import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// React 19, react-dom, jsdom and @rivetkit/react from bench/peer (installed apart from Troupe by
// bench/peer/setup.sh), loaded so that the hooks and the renderer share bench/peer's one copy of
// React, with a jsdom window installed as the globals react-dom expects.

const PEER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/peer");
const MODULES = path.join(PEER, "node_modules");
const PACKAGES = ["rivetkit", "@rivetkit/react", "react", "react-dom", "jsdom"] as const;

function installedVersion(name: string, dir = MODULES): string | undefined {
  const pkg = path.join(dir, name, "package.json");
  return fs.existsSync(pkg) ? (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version : undefined;
}

/** Why the React client cannot be loaded, or undefined when it can. */
export function reactMissing(): string | undefined {
  const absent = PACKAGES.filter((name) => installedVersion(name) === undefined);
  if (absent.length > 0) return `${absent.join(", ")} not installed in bench/peer (run \`sh bench/peer/setup.sh\`)`;
  const rivetkit = installedVersion("rivetkit");
  if (rivetkit !== "2.3.19") return `bench/peer has rivetkit ${rivetkit}, these checks are for 2.3.19`;
  // The hooks must drive the same rivetkit the other tests check, not a copy of their own.
  for (const owner of ["@rivetkit/react", "@rivetkit/framework-base"]) {
    const nested = installedVersion("rivetkit", path.join(MODULES, owner, "node_modules"));
    if (nested !== undefined) return `${owner} has its own rivetkit ${nested} in bench/peer (the override to 2.3.19 did not apply)`;
  }
  return undefined;
}

/** The parts of React used by the tests (bench/peer has no @types/react). */
export interface ReactModule {
  createElement(type: unknown, props?: Record<string, unknown> | null, ...children: unknown[]): unknown;
  useState<T>(initial: T): [T, (next: T | ((prev: T) => T)) => void];
  version: string;
}

export interface ReactRoot {
  render(element: unknown): void;
  unmount(): void;
}

export interface ReactDomClientModule {
  createRoot(container: Element): ReactRoot;
}

/** What `useActor` returns (@rivetkit/react 2.3.11, dist/mod.d.ts), with the connection untyped. */
export interface UseActorState {
  connection: any;
  connStatus: "idle" | "connecting" | "connected" | "disconnected";
  error: Error | null;
  isConnected: boolean;
  useEvent(eventName: string, handler: (...args: any[]) => void): void;
}

export interface RivetReactModule {
  createRivetKit(clientInput?: string | Record<string, unknown>): {
    useActor(opts: { name: string; key: string | string[]; params?: unknown; enabled?: boolean }): UseActorState;
  };
}

export interface ReactDomEnv {
  React: ReactModule;
  ReactDomClient: ReactDomClientModule;
  RivetReact: RivetReactModule;
  window: Window & typeof globalThis;
  document: Document;
  /** Versions as installed in bench/peer. */
  versions: Record<(typeof PACKAGES)[number], string>;
  /** Closes the jsdom window and removes the globals it installed. */
  close(): void;
}

// What react-dom reads from the global scope, or the tests use by name. WebSocket is left out on
// purpose: the client then uses `ws` as it does on Node 20.
const GLOBALS = ["window", "document", "navigator", "Node", "Element", "HTMLElement", "HTMLButtonElement", "Text", "MouseEvent", "getComputedStyle"];

/**
 * Creates a jsdom window at `url`, installs it as the globals above (only those Node lacks), then
 * loads react, react-dom/client and @rivetkit/react from bench/peer. Call after `reactMissing()`.
 */
export async function setupReactDom(url = "http://localhost/"): Promise<ReactDomEnv> {
  const require = createRequire(path.join(PEER, "package.json"));
  const { JSDOM } = require("jsdom") as { JSDOM: new (html: string, opts: { url: string }) => { window: Window & typeof globalThis } };
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { url });
  const g = globalThis as Record<string, unknown>;
  // Node 21+ has its own `navigator`: the page's replaces it, as in a browser, and comes back after.
  const saved = new Map<string, PropertyDescriptor | undefined>();
  for (const name of GLOBALS) {
    if (name in globalThis && name !== "navigator") continue;
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    const value = name === "window" ? dom.window : (dom.window as unknown as Record<string, unknown>)[name];
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  // No `act`: the tests wait for the DOM as a user would, so React must not expect act scopes.
  g.IS_REACT_ACT_ENVIRONMENT = false;

  const load = async <T>(specifier: string, file?: string): Promise<T> => {
    const mod = (await import(pathToFileURL(file ?? require.resolve(specifier)).href)) as T & { default?: T };
    // react and react-dom are CommonJS: their exports are the default export's properties.
    return (mod.default ?? mod) as T;
  };
  const React = await load<ReactModule>("react");
  const ReactDomClient = await load<ReactDomClientModule>("react-dom/client");
  // Its ESM entry, as a bundler would pick it (`require.resolve` would give the CommonJS one).
  const rivetReactPkg = JSON.parse(fs.readFileSync(path.join(MODULES, "@rivetkit/react/package.json"), "utf8")) as { exports: { ".": { import: { default: string } } } };
  const RivetReact = (await import(pathToFileURL(path.join(MODULES, "@rivetkit/react", rivetReactPkg.exports["."].import.default)).href)) as RivetReactModule;

  const versions = Object.fromEntries(PACKAGES.map((name) => [name, installedVersion(name) ?? "?"])) as ReactDomEnv["versions"];
  return {
    React,
    ReactDomClient,
    RivetReact,
    window: dom.window,
    document: dom.window.document,
    versions,
    close() {
      dom.window.close();
      for (const [name, descriptor] of saved) {
        delete g[name];
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      }
      delete g.IS_REACT_ACT_ENVIRONMENT;
    },
  };
}
