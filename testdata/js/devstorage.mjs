// Checks that a client configured for Azurite with the shortcut connection
// string "UseDevelopmentStorage=true" works unchanged against geoblob serve's
// defaults (127.0.0.1:10000, devstoreaccount1). Run by emulator/js_sdk_test.go.
import { BlobServiceClient } from "@azure/storage-blob";

const service = BlobServiceClient.fromConnectionString("UseDevelopmentStorage=true");
const container = service.getContainerClient(`devstorage${Date.now()}`);
await container.create();
const blob = container.getBlockBlobClient("hello.txt");
await blob.upload("hello", 5);
const got = (await blob.downloadToBuffer()).toString();
if (got !== "hello") throw new Error(`downloaded ${JSON.stringify(got)}`);
await container.delete();
console.log("ok UseDevelopmentStorage=true");
