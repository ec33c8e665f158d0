// Exercises append blobs and the From URL operations of the geoblob
// emulator through the official JavaScript SDK. emulator/append_test.go
// starts an emulator and runs this script with the variables sdk-test.mjs
// takes. It prints one line per check and exits non-zero on the first
// failure.
import {
  BlobServiceClient,
  StorageSharedKeyCredential,
  BlobSASPermissions,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};

const account = env("GEOBLOB_ACCOUNT");
const cred = new StorageSharedKeyCredential(account, env("GEOBLOB_KEY"));
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
const text = async (client) => {
  const res = await client.download();
  const chunks = [];
  for await (const c of res.readableStreamBody) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
};

const containerName = `jsappend${Date.now()}`;
const container = service.getContainerClient(containerName);
await container.create();
const sasURL = (client) =>
  `${client.url}?${generateBlobSASQueryParameters(
    {
      containerName,
      blobName: client.name,
      permissions: BlobSASPermissions.parse("r"),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    cred,
  ).toString()}`;

const log = container.getAppendBlobClient("log");

await run("append blob create and append", async () => {
  await log.create({ metadata: { kind: "log" } });
  const a = await log.appendBlock("one,", 4);
  const b = await log.appendBlock("two", 3);
  check(a.blobAppendOffset === "0" && b.blobAppendOffset === "4", `offsets ${a.blobAppendOffset} ${b.blobAppendOffset}`);
  const p = await log.getProperties();
  check(p.blobType === "AppendBlob" && p.blobCommittedBlockCount === 2 && p.isSealed === false, `properties ${p.blobType} ${p.blobCommittedBlockCount} ${p.isSealed}`);
  check((await text(log)) === "one,two", "content");
});

await run("append position condition", async () => {
  await fails(() => log.appendBlock("x", 1, { conditions: { appendPosition: 1 } }), 412, "AppendPositionConditionNotMet");
});

const src = container.getBlockBlobClient("src");
await src.upload("0123456789", 10, { blobHTTPHeaders: { blobContentType: "text/plain" } });

await run("stage block from URL", async () => {
  const bb = container.getBlockBlobClient("staged");
  const id = Buffer.from("b1").toString("base64");
  await bb.stageBlockFromURL(id, sasURL(src), 2, 5);
  await bb.commitBlockList([id]);
  check((await text(bb)) === "23456", "content");
});

await run("put blob from URL", async () => {
  const bb = container.getBlockBlobClient("put");
  await bb.syncUploadFromURL(sasURL(src));
  const p = await bb.getProperties();
  check(p.contentType === "text/plain" && (await text(bb)) === "0123456789", "copy");
});

await run("copy blob from URL", async () => {
  const res = await container.getBlobClient("copy").syncCopyFromURL(sasURL(src));
  check(res.copyStatus === "success", `status ${res.copyStatus}`);
});

await run("append block from URL and seal", async () => {
  await log.appendBlockFromURL(sasURL(src), 0, 3);
  check((await text(log)) === "one,two012", "content");
  const s = await log.seal();
  check(s.isSealed === true, "not sealed");
  await fails(() => log.appendBlock("x", 1), 409, "BlobIsSealed");
});

await run("secondary refuses appends", async () => {
  const sec = secondary.getContainerClient(containerName).getAppendBlobClient("log");
  await fails(() => sec.appendBlock("x", 1), 403, "InsufficientAccountPermissions");
});
