// @azure/storage-blob (the version package.json pins) against a cached
// container: lists a prefix of the remote dataset, reads a blob whose MD5 the
// caller knows, writes one. Run by tests/tier/test_cache.py with
// STRATA_ENDPOINT, STRATA_ACCOUNT, STRATA_KEY, CACHE_CONTAINER, EXPECT_PREFIX,
// EXPECT_COUNT, READ_NAME, READ_MD5, WRITE_NAME; prints one JSON line.
import { createHash } from "node:crypto";

import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

const env = process.env;
const service = new BlobServiceClient(
  env.STRATA_ENDPOINT,
  new StorageSharedKeyCredential(env.STRATA_ACCOUNT, env.STRATA_KEY),
);
const container = service.getContainerClient(env.CACHE_CONTAINER);

const names = [];
for await (const item of container.listBlobsFlat({ prefix: env.EXPECT_PREFIX })) {
  names.push(item.name);
}
const body = await container.getBlobClient(env.READ_NAME).downloadToBuffer();
const md5 = createHash("md5").update(body).digest("hex");
await container.getBlockBlobClient(env.WRITE_NAME).upload("from node", 9, {
  metadata: { writer: "node" },
});
console.log(JSON.stringify({ count: names.length, first: names[0], md5 }));
