// Exercises page blobs, Blob Batch and container soft delete of the geoblob
// emulator through the official JavaScript SDK. emulator/js_pages_batch_test.go
// starts an emulator (with container soft delete on) and runs this script
// with the variables sdk-test.mjs takes. It prints one line per check and
// exits non-zero on the first failure.
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};

const cred = new StorageSharedKeyCredential(env("GEOBLOB_ACCOUNT"), env("GEOBLOB_KEY"));
const service = BlobServiceClient.fromConnectionString(env("GEOBLOB_CONNECTION_STRING"));
const secondary = new BlobServiceClient(env("GEOBLOB_SECONDARY_URL"), cred);

let step = "";
const check = (cond, what) => {
  if (!cond) throw new Error(`${step}: ${what}`);
};
const run = async (name, fn) => {
  step = name;
  await fn();
  console.log(`ok ${name}`);
};
const fails = async (fn, status, code) => {
  try {
    await fn();
  } catch (e) {
    check(e.statusCode === status && e.code === code, `got ${e.statusCode} ${e.code}, want ${status} ${code}`);
    return;
  }
  check(false, `succeeded, want ${status} ${code}`);
};
const bytes = async (client, offset, count) => {
  const res = await client.download(offset, count);
  const chunks = [];
  for await (const c of res.readableStreamBody) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
};
// ranges turns the SDK's page ranges ({offset, count} with count = end -
// start, the end inclusive) into [start, end] pairs.
const ranges = (list) => (list.pageRange || []).map((r) => [r.offset, r.offset + r.count]);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const containerName = `jspages${Date.now()}`;
const container = service.getContainerClient(containerName);
await container.create();

// ---- Page blobs ----

const pb = container.getPageBlobClient("disk");
const page = (ch) => Buffer.alloc(512, ch);

await run("page blob create and upload pages", async () => {
  await pb.create(4096, { blobSequenceNumber: 3 });
  await pb.uploadPages(Buffer.concat([page("a"), page("b")]), 0, 1024);
  await pb.uploadPages(page("c"), 2048, 512);
  const p = await pb.getProperties();
  check(p.blobType === "PageBlob" && p.contentLength === 4096 && p.blobSequenceNumber === 3, `properties ${p.blobType} ${p.contentLength} ${p.blobSequenceNumber}`);
  const got = await bytes(pb, 0, 4096);
  check(got.subarray(512, 1024).equals(page("b")) && got.subarray(2048, 2560).equals(page("c")) && got.subarray(1024, 2048).equals(Buffer.alloc(1024)), "content");
});

await run("get page ranges", async () => {
  check(same(ranges(await pb.getPageRanges()), [[0, 1023], [2048, 2559]]), `ranges ${JSON.stringify(ranges(await pb.getPageRanges()))}`);
  check(same(ranges(await pb.getPageRanges(2048, 1024)), [[2048, 2559]]), "ranges within a range");
});

await run("clear pages", async () => {
  await pb.clearPages(0, 512);
  check(same(ranges(await pb.getPageRanges()), [[512, 1023], [2048, 2559]]), `ranges ${JSON.stringify(ranges(await pb.getPageRanges()))}`);
  check((await bytes(pb, 0, 512)).equals(Buffer.alloc(512)), "cleared page reads as zeros");
});

await run("resize", async () => {
  await pb.resize(1024);
  const p = await pb.getProperties();
  check(p.contentLength === 1024, `length ${p.contentLength}`);
  check(same(ranges(await pb.getPageRanges()), [[512, 1023]]), "ranges after shrinking");
  await fails(() => pb.resize(1000), 400, "InvalidHeaderValue");
});

await run("sequence number", async () => {
  let r = await pb.updateSequenceNumber("increment");
  check(r.blobSequenceNumber === 4, `increment: ${r.blobSequenceNumber}`);
  r = await pb.updateSequenceNumber("max", 2);
  check(r.blobSequenceNumber === 4, `max: ${r.blobSequenceNumber}`);
  r = await pb.updateSequenceNumber("update", 10);
  check(r.blobSequenceNumber === 10, `update: ${r.blobSequenceNumber}`);
  await fails(
    () => pb.uploadPages(page("d"), 0, 512, { conditions: { ifSequenceNumberLessThan: 10 } }),
    412,
    "SequenceNumberConditionNotMet",
  );
  await pb.uploadPages(page("d"), 0, 512, { conditions: { ifSequenceNumberEqualTo: 10 } });
});

await run("secondary refuses page writes", async () => {
  const sec = secondary.getContainerClient(containerName).getPageBlobClient("disk");
  await fails(() => sec.uploadPages(page("x"), 0, 512), 403, "InsufficientAccountPermissions");
});

// ---- Blob Batch ----

// The service batch client; on the emulator's path-style URL it sends
// restype=container without a container, which the emulator takes for the
// account batch it means.
const batch = service.getBlobBatchClient();
const blobs = ["b0", "b1", "b2"].map((n) => container.getBlockBlobClient(n));

await run("batch set tier", async () => {
  for (const b of blobs) await b.upload(b.name, b.name.length);
  const res = await batch.setBlobsAccessTier(blobs, "Cool");
  check(res.subResponsesSucceededCount === 3 && res.subResponsesFailedCount === 0, `succeeded ${res.subResponsesSucceededCount}`);
  for (const b of blobs) {
    const p = await b.getProperties();
    check(p.accessTier === "Cool", `${b.name} tier ${p.accessTier}`);
  }
});

await run("batch delete", async () => {
  const missing = container.getBlockBlobClient("missing");
  const res = await batch.deleteBlobs([blobs[0], blobs[1], missing]);
  check(res.subResponsesSucceededCount === 2 && res.subResponsesFailedCount === 1, `succeeded ${res.subResponsesSucceededCount} failed ${res.subResponsesFailedCount}`);
  const failed = res.subResponses.find((r) => r.status !== 202);
  check(failed.status === 404 && failed.errorCode === "BlobNotFound" && failed._request.url.endsWith("/missing"), `failed ${failed.status} ${failed.errorCode}`);
  check(!(await blobs[0].exists()) && !(await blobs[1].exists()) && (await blobs[2].exists()), "what was deleted");
});

await run("container batch", async () => {
  const res = await container.getBlobBatchClient().setBlobsAccessTier([blobs[2]], "Hot");
  check(res.subResponsesSucceededCount === 1, `succeeded ${res.subResponsesSucceededCount}`);
  check((await blobs[2].getProperties()).accessTier === "Hot", "tier");
});

await run("secondary refuses a batch", async () => {
  const secBatch = secondary.getBlobBatchClient();
  const sec = secondary.getContainerClient(containerName).getBlobClient("b2");
  try {
    await secBatch.deleteBlobs([sec]);
  } catch (e) {
    check(e.statusCode === 403, `got ${e.statusCode} ${e.code}`);
    check(await blobs[2].exists(), "the secondary's batch deleted b2");
    return;
  }
  check(false, "succeeded on the secondary");
});

// ---- Container soft delete and restore ----

await run("container soft delete and undelete", async () => {
  const name = `jssoftdel${Date.now()}`;
  const c = service.getContainerClient(name);
  await c.create({ metadata: { owner: "js" } });
  await c.getBlockBlobClient("kept").upload("kept", 4);
  await c.delete();
  let deleted;
  for await (const item of service.listContainers({ prefix: name, includeDeleted: true, includeMetadata: true })) {
    if (item.name === name && item.deleted) deleted = item;
  }
  check(deleted && deleted.version && deleted.properties.deletedOn && deleted.properties.remainingRetentionDays === 7, `listed ${JSON.stringify(deleted)}`);
  await fails(() => secondary.undeleteContainer(name, deleted.version), 403, "InsufficientAccountPermissions");
  const { containerClient } = await service.undeleteContainer(name, deleted.version);
  check(containerClient.containerName === name, `restored as ${containerClient.containerName}`);
  check((await bytes(containerClient.getBlobClient("kept"))).toString() === "kept", "restored blob");
  const p = await containerClient.getProperties();
  check(p.metadata.owner === "js", `metadata ${JSON.stringify(p.metadata)}`);
  await fails(() => service.undeleteContainer(name, deleted.version), 409, "ContainerAlreadyExists");
});

await container.delete();
