// Exercises the geoblob emulator through the official JavaScript SDK.
// emulator/js_sdk_test.go starts an emulator and runs this script with:
//   GEOBLOB_CONNECTION_STRING  connection string of the primary (with BlobSecondaryEndpoint)
//   GEOBLOB_SECONDARY_URL      Blob service URL of the secondary
//   GEOBLOB_ACCOUNT, GEOBLOB_KEY
// It prints one line per check and exits non-zero on the first failure.
import {
  BlobServiceClient,
  StorageSharedKeyCredential,
  ContainerClient,
  BlobSASPermissions,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";
import { randomBytes } from "node:crypto";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};

const conn = env("GEOBLOB_CONNECTION_STRING");
const secondaryURL = env("GEOBLOB_SECONDARY_URL");
const account = env("GEOBLOB_ACCOUNT");
const cred = new StorageSharedKeyCredential(account, env("GEOBLOB_KEY"));

let step = "";
const check = (cond, what) => {
  if (!cond) throw new Error(`${step}: ${what}`);
};
const run = async (name, fn) => {
  step = name;
  await fn();
  console.log(`ok ${name}`);
};

const streamToBuffer = async (stream) => {
  const chunks = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const service = BlobServiceClient.fromConnectionString(conn);
const containerName = `jstest${Date.now()}`;
const container = service.getContainerClient(containerName);
const small = Buffer.from("hello from the JavaScript SDK");
const big = randomBytes(5 * 1024 * 1024 + 123);

await run("connection string + create container", async () => {
  const res = await container.create({ metadata: { origin: "js" } });
  check(res.etag, "no etag");
  const props = await container.getProperties();
  check(props.metadata.origin === "js", "metadata not stored");
});

await run("upload", async () => {
  const blob = container.getBlockBlobClient("small.txt");
  await blob.upload(small, small.length, { blobHTTPHeaders: { blobContentType: "text/plain" } });
  const props = await blob.getProperties();
  check(props.contentLength === small.length, `length ${props.contentLength}`);
  check(props.contentType === "text/plain", `content type ${props.contentType}`);
});

await run("parallel block upload", async () => {
  const blob = container.getBlockBlobClient("big.bin");
  await blob.uploadData(big, { blockSize: 1024 * 1024, concurrency: 4, maxSingleShotSize: 1024 * 1024 });
  const list = await blob.getBlockList("committed");
  check(list.committedBlocks.length === 6, `committed blocks ${list.committedBlocks.length}`);
});

await run("download", async () => {
  const blob = container.getBlockBlobClient("big.bin");
  const res = await blob.download();
  const got = await streamToBuffer(res.readableStreamBody);
  check(got.equals(big), "downloaded bytes differ");
  const buf = await blob.downloadToBuffer(undefined, undefined, { blockSize: 1024 * 1024, concurrency: 4 });
  check(buf.equals(big), "parallel ranged download differs");
  const part = await blob.download(10, 100);
  check(part.contentLength === 100, `range length ${part.contentLength}`);
  const partBytes = await streamToBuffer(part.readableStreamBody);
  check(partBytes.equals(big.subarray(10, 110)), "range bytes differ");
});

await run("list", async () => {
  const names = [];
  for await (const b of container.listBlobsFlat()) names.push(b.name);
  check(names.join(",") === "big.bin,small.txt", `names ${names}`);
  const pages = container.listBlobsFlat().byPage({ maxPageSize: 1 });
  let count = 0;
  for await (const page of pages) count += page.segment.blobItems.length;
  check(count === 2, `paged count ${count}`);
});

await run("SAS", async () => {
  const sas = generateBlobSASQueryParameters(
    {
      containerName,
      blobName: "small.txt",
      permissions: BlobSASPermissions.parse("r"),
      startsOn: new Date(Date.now() - 60_000),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    cred,
  ).toString();
  const url = `${container.url}/small.txt?${sas}`;
  const anon = new ContainerClient(`${container.url}?${sas}`).getBlobClient("small.txt");
  check(anon.url.includes("sig="), "no signature");
  const res = await fetch(url);
  check(res.status === 200, `SAS read status ${res.status}`);
  check(Buffer.from(await res.arrayBuffer()).equals(small), "SAS read bytes differ");
  const denied = await fetch(`${container.url}/small.txt?${sas.replace(/sig=[^&]+/, "sig=AAAA")}`);
  check(denied.status === 403, `tampered SAS status ${denied.status}`);
  const noWrite = await fetch(url, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "x" });
  check(noWrite.status === 403, `write with read-only SAS status ${noWrite.status}`);
});

await run("secondary read", async () => {
  const secondary = new BlobServiceClient(secondaryURL, cred);
  const blob = secondary.getContainerClient(containerName).getBlobClient("small.txt");
  let got = null;
  for (let i = 0; i < 100 && got === null; i++) {
    try {
      got = await blob.downloadToBuffer();
    } catch (e) {
      if (e.statusCode !== 404) throw e;
      await sleep(100);
    }
  }
  check(got !== null && got.equals(small), "blob never replicated to the secondary");
  const stats = await secondary.getStatistics();
  check(stats.geoReplication.status === "live", `status ${stats.geoReplication.status}`);
  check(stats.geoReplication.lastSyncOn instanceof Date, "no LastSyncTime");
  let refused = false;
  try {
    await secondary.getContainerClient(containerName).getBlockBlobClient("nope").upload("x", 1);
  } catch (e) {
    refused = e.statusCode >= 400 && e.statusCode < 500;
  }
  check(refused, "the secondary accepted a write");
});

await run("tags, tiers and container lease", async () => {
  const blob = container.getBlockBlobClient("tagged.txt");
  await blob.upload(small, small.length, { tags: { project: "geo", rank: "05" }, tier: "Cool" });
  const tags = await blob.getTags();
  check(tags.tags.project === "geo" && tags.tags.rank === "05", `tags ${JSON.stringify(tags.tags)}`);
  await blob.setTags({ project: "geo", rank: "07" });
  const found = [];
  for await (const b of service.findBlobsByTags(`@container = '${containerName}' AND "rank" > '06'`)) found.push(b.name);
  check(found.join(",") === "tagged.txt", `found ${found}`);
  let props = await blob.getProperties();
  check(props.accessTier === "Cool" && props.tagCount === 2, `tier ${props.accessTier} tags ${props.tagCount}`);
  await blob.setAccessTier("Archive");
  let archived = false;
  try {
    await blob.download();
  } catch (e) {
    archived = e.statusCode === 409 && e.code === "BlobArchived";
  }
  check(archived, "an archived blob was readable");
  await blob.setAccessTier("Hot", { rehydratePriority: "High" });
  props = await blob.getProperties();
  check(props.archiveStatus === "rehydrate-pending-to-hot", `archive status ${props.archiveStatus}`);
  const lease = container.getBlobLeaseClient();
  await lease.acquireLease(-1);
  const cprops = await container.getProperties();
  check(cprops.leaseState === "leased" && cprops.leaseDuration === "infinite", `container lease ${cprops.leaseState}`);
  let guarded = false;
  try {
    await container.delete();
  } catch (e) {
    guarded = e.statusCode === 412;
  }
  check(guarded, "a leased container was deleted without its lease id");
  await lease.releaseLease();
});

await run("delete container", async () => {
  await container.delete();
});
