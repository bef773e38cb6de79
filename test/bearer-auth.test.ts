import assert from "node:assert/strict";
import crypto from "node:crypto";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { checkBearer, tokenAuth, type AuthResult } from "../src/routes/bearer-auth.js";

// Pins the structure of the token check rather than its timing (bench/constant-time.ts measures
// that): SHA-256 of both sides, one crypto.timingSafeEqual, and its answer decides. A `===` or
// any raw-string compare fails here.
const TOKEN = "k7Qx2-bearer-structure-token-9fA3zLm0";
const digest = (tokenAuth(TOKEN) as { digest: Buffer }).digest;
const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest();

/** [what, Authorization header, expected result, the token the check must hash] */
const cases: Array<[string, string | null, AuthResult, string]> = [
  ["the right token", `Bearer ${TOKEN}`, "ok", TOKEN],
  ["the right token, lowercase scheme and extra spaces", `  bearer   ${TOKEN}  `, "ok", TOKEN],
  ["a wrong token of the same length", `Bearer ${TOKEN.slice(0, -1)}X`, "invalid", `${TOKEN.slice(0, -1)}X`],
  ["a wrong first byte", `Bearer X${TOKEN.slice(1)}`, "invalid", `X${TOKEN.slice(1)}`],
  ["a prefix of the token", `Bearer ${TOKEN.slice(0, 5)}`, "invalid", TOKEN.slice(0, 5)],
  ["the token with a suffix", `Bearer ${TOKEN}x`, "invalid", `${TOKEN}x`],
  ["a very long token", `Bearer ${"a".repeat(10_000)}`, "invalid", "a".repeat(10_000)],
  ["an empty header", "", "malformed", ""],
  ["a scheme with no token", "Bearer ", "malformed", ""],
  ["another scheme", `Basic ${TOKEN}`, "malformed", ""],
  ["a missing header", null, "missing", ""],
];

describe("checkBearer compares SHA-256 digests with crypto.timingSafeEqual", () => {
  let spy: ReturnType<typeof mock.method<typeof crypto, "timingSafeEqual">>;
  beforeEach(() => {
    spy = mock.method(crypto, "timingSafeEqual");
  });
  afterEach(() => mock.restoreAll());

  for (const [what, header, expected, hashed] of cases) {
    test(`${what}: ${expected}, after exactly one timingSafeEqual of two 32-byte digests`, () => {
      assert.equal(checkBearer(header, digest), expected);
      assert.equal(spy.mock.callCount(), 1, "one timingSafeEqual per check");
      const [a, b] = spy.mock.calls[0]!.arguments as unknown as [Buffer, Buffer];
      assert.ok(Buffer.isBuffer(a) && Buffer.isBuffer(b), "both sides are buffers");
      assert.equal(a.length, 32, "the presented side is a SHA-256 digest");
      assert.equal(b.length, 32, "the configured side is a SHA-256 digest");
      assert.ok(a.equals(sha256(hashed)), "the presented side is the SHA-256 of the header's token");
      assert.ok(b.equals(digest), "the configured side is the stored digest");
      assert.equal(spy.mock.calls[0]!.result, expected === "ok", "timingSafeEqual itself answered");
    });
  }

  test("timingSafeEqual's answer decides, not a separate comparison of the strings", () => {
    spy.mock.mockImplementation(() => false);
    assert.equal(checkBearer(`Bearer ${TOKEN}`, digest), "invalid", "the right token is refused when the digests are said to differ");
    spy.mock.mockImplementation(() => true);
    assert.equal(checkBearer("Bearer wrong", digest), "ok", "a wrong token passes when the digests are said to match");
    assert.equal(spy.mock.callCount(), 2);
  });

  test("the configured token is stored only as its SHA-256 digest", () => {
    const auth = tokenAuth(TOKEN);
    assert.deepEqual(Object.keys(auth).sort(), ["digest", "mode"]);
    assert.ok((auth as { digest: Buffer }).digest.equals(sha256(TOKEN)));
  });
});
