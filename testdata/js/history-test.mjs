// Exercises the blob history features of the geoblob emulator through the
// official JavaScript SDK: snapshots, versions, blob soft delete, container
// soft delete, page range diffs and Abort Copy. emulator/js_history_test.go
// starts an emulator with versioning and container soft delete on and runs
// this script with the variables sdk-test.mjs takes and GEOBLOB_CONTROL_URL
// (the control API's base, ending in /_geoblob/). It prints one line per
// check and exits non-zero on the first failure.
import { BlobSASPermissions, BlobServiceClient } from "@azure/storage-blob";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};

const service = BlobServiceClient.fromConnectionString(env("GEOBLOB_CONNECTION_STRING"));

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
const text = async (client) => (await client.downloadToBuffer()).toString();
const list = async (c, opts) => {
  const out = [];
  for await (const item of c.listBlobsFlat(opts)) out.push(item);
  return out;
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const stamp = Date.now();
const container = service.getContainerClient(`jshistory${stamp}`);
await container.create();

// ---- Snapshots ----

await run("snapshot create, read and list", async () => {
  const b = container.getBlockBlobClient("snap");
  await b.upload("one", 3, { metadata: { gen: "1" } });
  const { snapshot } = await b.createSnapshot();
  check(typeof snapshot === "string" && snapshot.length > 0, `snapshot ${snapshot}`);
  await b.upload("two!", 4);
  const old = b.withSnapshot(snapshot);
  check((await text(old)) === "one", "snapshot content");
  const p = await old.getProperties();
  check(p.contentLength === 3 && p.metadata.gen === "1", `snapshot properties ${p.contentLength} ${JSON.stringify(p.metadata)}`);
  check((await text(b)) === "two!", "base content");
  const items = await list(container, { prefix: "snap", includeSnapshots: true });
  const snaps = items.filter((i) => i.snapshot);
  check(snaps.length === 1 && snaps[0].snapshot === snapshot && snaps[0].properties.contentLength === 3, `listed snapshots ${JSON.stringify(snaps.map((i) => [i.snapshot, i.properties.contentLength]))}`);
  const plain = await list(container, { prefix: "snap" });
  check(plain.length === 1 && !plain[0].snapshot, `listing without snapshots ${plain.length}`);
  await fails(() => b.delete(), 409, "SnapshotsPresent");
});

await run("delete snapshots only, then include", async () => {
  const b = container.getBlockBlobClient("snap");
  await b.createSnapshot();
  await b.delete({ deleteSnapshots: "only" });
  check((await text(b)) === "two!", "base survives deleteSnapshots only");
  let snaps = (await list(container, { prefix: "snap", includeSnapshots: true })).filter((i) => i.snapshot);
  check(snaps.length === 0, `snapshots left ${snaps.length}`);
  const { snapshot } = await b.createSnapshot();
  await b.delete({ deleteSnapshots: "include" });
  check(!(await b.exists()), "base deleted");
  check(!(await b.withSnapshot(snapshot).exists()), "snapshot deleted");
  await fails(() => b.withSnapshot(snapshot).download(), 404, "BlobNotFound");
});

// ---- Versions ----

await run("versions on upload, read and list", async () => {
  const b = container.getBlockBlobClient("ver");
  const v1 = (await b.upload("v1", 2)).versionId;
  const v2 = (await b.upload("v2v2", 4)).versionId;
  check(v1 && v2 && v1 !== v2, `version ids ${v1} ${v2}`);
  check((await text(b.withVersion(v1))) === "v1", "version 1 content");
  check((await text(b.withVersion(v2))) === "v2v2", "version 2 content");
  const p = await b.getProperties();
  check(p.versionId === v2 && p.isCurrentVersion === true, `current ${p.versionId} ${p.isCurrentVersion}`);
  const items = await list(container, { prefix: "ver", includeVersions: true });
  const got = items.map((i) => [i.versionId, !!i.isCurrentVersion, i.properties.contentLength]);
  check(same(got, [[v1, false, 2], [v2, true, 4]]), `listed ${JSON.stringify(got)}`);
});

await run("delete a version, promote an old version by copy", async () => {
  const b = container.getBlockBlobClient("ver");
  const items = await list(container, { prefix: "ver", includeVersions: true });
  const [v1, v2] = items.map((i) => i.versionId);
  const v3 = (await b.upload("v3", 2)).versionId;
  // Delete the middle (no longer current) version.
  await b.withVersion(v2).delete();
  let ids = (await list(container, { prefix: "ver", includeVersions: true })).map((i) => i.versionId);
  check(same(ids, [v1, v3]), `after version delete ${JSON.stringify(ids)} want ${JSON.stringify([v1, v3])}`);
  check(!(await b.withVersion(v2).exists()), "deleted version still readable");
  // Promote v1 with a synchronous copy of its URL. Copy Blob From URL
  // authorizes its source separately: a bare URL is refused, a SAS works.
  await fails(() => b.syncCopyFromURL(b.withVersion(v1).url), 403, "CannotVerifyCopySource");
  // The emulator refuses version SASs (sr=bv), so the source carries a
  // blob SAS (sr=b) and names the version with versionid.
  const sas = await b.generateSasUrl({ permissions: BlobSASPermissions.parse("r"), expiresOn: new Date(Date.now() + 3600e3) });
  const sync = await b.syncCopyFromURL(sas.replace("?", `?versionid=${encodeURIComponent(v1)}&`));
  check(sync.copyStatus === "success", `sync copy status ${sync.copyStatus}`);
  check((await text(b)) === "v1", "promoted content (sync copy)");
  const v4 = (await b.getProperties()).versionId;
  check(v4 && ![v1, v3].includes(v4), `promotion made a new version ${v4}`);
  // Promote v3 with an asynchronous copy.
  const poller = await b.beginCopyFromURL(b.withVersion(v3).url);
  const res = await poller.pollUntilDone();
  check(res.copyStatus === "success", `async copy status ${res.copyStatus}`);
  check((await text(b)) === "v3", "promoted content (async copy)");
  ids = (await list(container, { prefix: "ver", includeVersions: true })).map((i) => i.versionId);
  check(ids.length === 4 && ids[0] === v1 && ids[1] === v3 && ids[2] === v4, `versions after promotion ${JSON.stringify(ids)}`);
  // Deleting the base blob keeps its versions, none of them current.
  await b.delete();
  check(!(await b.exists()), "base blob after delete");
  const left = await list(container, { prefix: "ver", includeVersions: true });
  check(left.length === 4 && left.every((i) => !i.isCurrentVersion), `after base delete ${JSON.stringify(left.map((i) => [i.versionId, i.isCurrentVersion]))}`);
  check((await text(b.withVersion(v1))) === "v1", "old version readable after base delete");
});

// ---- Blob soft delete ----

await run("blob soft delete, list deleted, undelete", async () => {
  // With versioning on, a delete keeps the blob as a previous version and
  // Undelete Blob does not bring the base blob back (as in Azure), so blob
  // soft delete is checked with versioning off, through the control API.
  const sw = await fetch(`${env("GEOBLOB_CONTROL_URL")}versioning`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ enabled: false }) });
  check(sw.status === 200 && (await sw.json()).enabled === false, `versioning off: ${sw.status}`);
  await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 1 } });
  const props = await service.getProperties();
  check(props.deleteRetentionPolicy.enabled === true && props.deleteRetentionPolicy.days === 1, `policy ${JSON.stringify(props.deleteRetentionPolicy)}`);
  const c = service.getContainerClient(`jssoftblob${stamp}`);
  await c.create();
  const b = c.getBlockBlobClient("gone");
  await b.upload("keep me", 7, { metadata: { k: "v" } });
  await b.delete();
  check(!(await b.exists()), "deleted blob still visible");
  const plain = await list(c, {});
  check(plain.length === 0, `plain listing shows ${plain.length}`);
  const del = (await list(c, { includeDeleted: true })).filter((i) => i.deleted);
  check(del.length === 1 && del[0].name === "gone", `deleted listing ${JSON.stringify(del.map((i) => [i.name, i.deleted, i.versionId]))}`);
  const d = del[0];
  check(d.properties.deletedOn instanceof Date && d.properties.remainingRetentionDays === 1, `deleted properties ${d.properties.deletedOn} ${d.properties.remainingRetentionDays}`);
  await b.undelete();
  check((await text(b)) === "keep me", "content after undelete");
  check((await b.getProperties()).metadata.k === "v", "metadata after undelete");
  const after = (await list(c, { includeDeleted: true })).filter((i) => i.deleted);
  check(after.length === 0, `still listed deleted after undelete ${after.length}`);
  await c.delete();
});

// ---- Container soft delete ----

await run("container soft delete survives a blob policy change and restores", async () => {
  // The blob policy was set through this SDK above; the container policy
  // (set by the Go test) must still be in force.
  const name = `jsrestore${stamp}`;
  const c = service.getContainerClient(name);
  await c.create();
  await c.getBlockBlobClient("inside").upload("inside", 6);
  await c.delete();
  const deleted = [];
  for await (const item of service.listContainers({ prefix: name, includeDeleted: true })) {
    if (item.name === name && item.deleted) deleted.push(item);
  }
  check(deleted.length === 1 && deleted[0].version && deleted[0].properties.remainingRetentionDays === 3, `listed ${JSON.stringify(deleted)}`);
  const { containerClient } = await service.undeleteContainer(name, deleted[0].version);
  check((await text(containerClient.getBlobClient("inside"))) === "inside", "restored blob content");
  const again = [];
  for await (const item of service.listContainers({ prefix: name, includeDeleted: true })) again.push([item.name, !!item.deleted]);
  check(same(again, [[name, false]]), `after restore ${JSON.stringify(again)}`);
  await containerClient.delete();
});

// ---- Page range diff ----

await run("page ranges diff against a snapshot", async () => {
  const pb = container.getPageBlobClient("diffdisk");
  const page = (ch) => Buffer.alloc(512, ch);
  await pb.create(4096);
  await pb.uploadPages(Buffer.concat([page("a"), page("b")]), 0, 1024);
  await pb.uploadPages(page("c"), 3072, 512);
  const { snapshot } = await pb.createSnapshot();
  await pb.uploadPages(page("d"), 1024, 512);
  await pb.clearPages(3072, 512);
  const diff = await pb.getPageRangesDiff(0, 4096, snapshot);
  const changed = (diff.pageRange || []).map((r) => [r.offset, r.offset + r.count]);
  const cleared = (diff.clearRange || []).map((r) => [r.offset, r.offset + r.count]);
  check(same(changed, [[1024, 1535]]) && same(cleared, [[3072, 3583]]), `diff changed ${JSON.stringify(changed)} cleared ${JSON.stringify(cleared)}`);
  const none = await pb.getPageRangesDiff(0, 4096, (await pb.createSnapshot()).snapshot);
  check((none.pageRange || []).length === 0 && (none.clearRange || []).length === 0, `diff against an identical snapshot ${JSON.stringify(none)}`);
});

// ---- Abort Copy ----

await run("abort copy without a pending copy", async () => {
  const src = container.getBlockBlobClient("copysrc");
  await src.upload("source", 6);
  const dst = container.getBlockBlobClient("copydst");
  const poller = await dst.beginCopyFromURL(src.url);
  const res = await poller.pollUntilDone();
  check(res.copyStatus === "success" && res.copyId, `copy ${res.copyStatus} ${res.copyId}`);
  check((await text(dst)) === "source", "copied content");
  await fails(() => dst.abortCopyFromURL(res.copyId), 409, "NoPendingCopyOperation");
});

await container.delete();
