// Regenerates js_vectors.json: requests signed with Shared Key and SAS
// tokens produced by the official JavaScript SDK (@azure/storage-blob, the
// copy installed in testdata/js by .ci/run), so that the Go tests can check
// the verifier against them without needing Node.js.
//
//   node internal/auth/testdata/gen_js_vectors.mjs > internal/auth/testdata/js_vectors.json
//
// It listens on 127.0.0.1 only, records every request the SDK sends (raw
// target and raw headers) and answers 200 with an empty body.
import { createRequire } from "node:module";
import http from "node:http";

const require = createRequire(new URL("../../../testdata/js/package.json", import.meta.url));
const sb = require("@azure/storage-blob");
const sdkVersion = require("@azure/storage-blob/package.json").version;

const account = "devstoreaccount1";
const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const cred = new sb.StorageSharedKeyCredential(account, key);

const recorded = [];
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    recorded.push({ method: req.method, target: req.url, headers });
    res.writeHead(200, { "Content-Length": "0" });
    res.end();
  });
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;
const opts = { retryOptions: { maxTries: 1 } };
const quiet = async (p) => {
  try {
    await p;
  } catch {
    // the recorder answers 200 with no body; parse errors are expected
  }
};

for (const host of [`${base}/${account}`, `${base}/${account}-secondary`]) {
  const svc = new sb.BlobServiceClient(host, cred, opts);
  const cc = svc.getContainerClient("c1");
  await quiet(cc.create({ metadata: { "Hello-World": "x", a_b: "y", ab: "z" } }));
  for (const name of ["plain.txt", "dir/sub/b.bin", "with space+plus%percent#hash?q=1&x.txt", "ünïcödé/名前.txt", "quote'apos-hyphen_under~tilde!.txt"]) {
    const bb = cc.getBlockBlobClient(name);
    await quiet(bb.upload("hello, geoblob", 14, {
      blobHTTPHeaders: { blobContentType: "text/plain", blobContentLanguage: "en" },
      metadata: { "x-y": "1", xy: "2", x_y: "3" },
    }));
    await quiet(bb.download(2, 5, { conditions: { ifMatch: '"0x8DEADBEEF"', ifModifiedSince: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) } }));
    await quiet(bb.getProperties({ conditions: { ifNoneMatch: "*" } }));
    await quiet(bb.setMetadata({ Upper: "v a l" }));
    await quiet(bb.stageBlock(Buffer.from("block-0001").toString("base64"), "hello", 5));
    await quiet(bb.delete());
  }
  await quiet(cc.listBlobsFlat({ prefix: "dir/a b+c=d&e", includeMetadata: true }).byPage({ maxPageSize: 7 }).next());
  await quiet(svc.getProperties());
  await quiet(cc.delete());
}
server.close();

// SAS tokens at fixed times: valid from 2025-06-01T11:00Z to 13:00Z.
const startsOn = new Date(Date.UTC(2025, 5, 1, 11, 0, 0));
const expiresOn = new Date(Date.UTC(2025, 5, 1, 13, 0, 0));
const sas = [];
for (const version of [undefined, "2020-12-06", "2019-12-12", "2018-11-09", "2015-04-05"]) {
  const v = version ? { version } : {};
  sas.push({
    kind: "blob", version: version || "default", container: "c", blob: "dir/a b+c#.txt",
    query: sb.generateBlobSASQueryParameters({
      ...v, containerName: "c", blobName: "dir/a b+c#.txt", permissions: sb.BlobSASPermissions.parse("rw"),
      startsOn, expiresOn, protocol: sb.SASProtocol.HttpsAndHttp, contentType: "text/csv", cacheControl: "no-cache",
    }, cred).toString(),
  });
  sas.push({
    kind: "container", version: version || "default", container: "c", blob: "",
    query: sb.generateBlobSASQueryParameters({
      ...v, containerName: "c", permissions: sb.ContainerSASPermissions.parse("rl"), startsOn, expiresOn,
      ipRange: { start: "127.0.0.1", end: "127.0.0.255" },
    }, cred).toString(),
  });
  sas.push({
    kind: "policy", version: version || "default", container: "c", blob: "b",
    query: sb.generateBlobSASQueryParameters({ ...v, containerName: "c", blobName: "b", identifier: "pol1" }, cred).toString(),
  });
  sas.push({
    kind: "account", version: version || "default", container: "c", blob: "b",
    query: sb.generateAccountSASQueryParameters({
      ...v, permissions: sb.AccountSASPermissions.parse("rwl"), services: "b", resourceTypes: "sco", startsOn, expiresOn,
    }, cred).toString(),
  });
}

process.stdout.write(JSON.stringify({ sdk: `@azure/storage-blob ${sdkVersion}`, account, requests: recorded, sas }, null, 1) + "\n");
