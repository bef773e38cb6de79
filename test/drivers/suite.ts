import { describe } from "node:test";
import { suiteTools, type DriverPair } from "./fixtures.js";
import { placementCases } from "./placement-cases.js";
import { storageCases } from "./storage-cases.js";

export type { DriverPair } from "./fixtures.js";

/**
 * The tests every driver pair must pass, through the two interfaces only: an engine driver
 * joins by adding a `driverSuite(...)` call, so nothing here may know a driver's internals.
 * `make` returns a pair over empty storage.
 */
export function driverSuite(name: string, make: () => Promise<DriverPair>): void {
  describe(`driver suite: ${name}`, () => {
    const tools = suiteTools(make);
    placementCases(tools);
    storageCases(tools);
  });
}
