import assert from "node:assert/strict";
import { test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-metadata (tests/driver/actor-metadata.test.ts):
// c.name in actions and onWake (tags and region are test values kept in state, as in RivetKit's
// fixture), with the real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor metadata", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, actionFixtures, encoding);

  test("c.name is the name the actor is registered under", T, async (t) => {
    const { client } = await setup(t);
    assert.equal(await client.metadataActor.getOrCreate().getActorName(), "metadataActor");
  });

  test("onWake sees c.name too", T, async (t) => {
    const { client } = await setup(t);
    assert.equal(await client.metadataActor.getOrCreate().getStoredActorName(), "metadataActor");
  });

  test("tags set by an action are read back, whole and one by one", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.metadataActor.getOrCreate();
    await handle.setupTestTags({ env: "test", purpose: "metadata-test" });
    assert.deepEqual(await handle.getTags(), { env: "test", purpose: "metadata-test" });
    await handle.setupTestTags({ category: "test-actor", version: "1.0" });
    assert.equal(await handle.getTag("category"), "test-actor");
    assert.equal(await handle.getTag("version"), "1.0");
    assert.equal(await handle.getTag("nonexistent"), null);
  });

  test("the metadata object holds the name, tags and region", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.metadataActor.getOrCreate();
    await handle.setupTestTags({ type: "metadata-test" });
    await handle.setupTestRegion("us-west-1");
    const metadata = await handle.getMetadata();
    assert.equal(metadata.name, "metadataActor");
    assert.equal(metadata.tags.type, "metadata-test");
    assert.equal(metadata.region, "us-west-1");
    await handle.setupTestRegion("eu-central-1");
    assert.equal(await handle.getRegion(), "eu-central-1");
  });
});
