// @azure/storage-blob (the version package.json pins) against strata: the
// basics the Python SDK tests cover, as today's JS SDK sends them (its newest
// x-ms-version). Expectations are Azure's documented behaviour (REST
// reference of each operation) and the SDK's own typed results.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";

import {
  AppendBlobClient,
  BlobServiceClient,
  BlockBlobClient,
} from "@azure/storage-blob";

import {
  credential,
  endpoint,
  freshContainer,
  noRetry,
  randomData,
  rejection,
  serviceClient,
  streamToBuffer,
  uniqueName,
} from "./util.mjs";

const MiB = 1024 * 1024;

test("Containers_createListPropertiesDelete", async () => {
  const service = serviceClient();
  const prefix = uniqueName("nodelist");
  const names = [prefix + "a", prefix + "b", prefix + "c"];
  for (const n of names) await service.createContainer(n, { metadata: { owner: n } });
  try {
    // Creating one again: 409 ContainerAlreadyExists.
    const again = await rejection(service.getContainerClient(names[0]).create());
    assert.equal(again.statusCode, 409);
    assert.equal(again.code, "ContainerAlreadyExists");

    const listed = [];
    for await (const c of service.listContainers({ prefix, includeMetadata: true })) listed.push(c);
    assert.deepEqual(listed.map((c) => c.name), names);
    assert.deepEqual(listed.map((c) => c.metadata.owner), names);

    // Pagination: two pages of at most two, joined by a continuation token.
    const pages = [];
    for await (const page of service.listContainers({ prefix }).byPage({ maxPageSize: 2 }))
      pages.push(page.containerItems.map((c) => c.name));
    assert.deepEqual(pages, [names.slice(0, 2), names.slice(2)]);

    const container = service.getContainerClient(names[1]);
    await container.setMetadata({ color: "blue", size: "7" });
    const props = await container.getProperties();
    assert.deepEqual(props.metadata, { color: "blue", size: "7" });
    assert.ok(props.etag);
    assert.ok(props.lastModified instanceof Date);
    assert.equal(await container.exists(), true);
  } finally {
    for (const n of names) await service.deleteContainer(n);
  }
  const gone = await rejection(service.getContainerClient(names[0]).getProperties());
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.code, "ContainerNotFound");
  assert.equal(await service.getContainerClient(names[0]).exists(), false);
});

test("ConnectionString_blobEndpoint", async (t) => {
  // The connection string strata prints at start (BlobEndpoint, path style).
  const conn =
    `DefaultEndpointsProtocol=http;AccountName=${credential.accountName};` +
    `AccountKey=${process.env.STRATA_KEY};BlobEndpoint=${endpoint};`;
  const service = BlobServiceClient.fromConnectionString(conn, noRetry);
  const container = await freshContainer(t, service);
  await container.getBlockBlobClient("hello.txt").upload("hello", 5);
  const got = await container.getBlobClient("hello.txt").downloadToBuffer();
  assert.equal(got.toString(), "hello");
});

test("Upload_singleShotWithHeadersAndMetadata", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("dir/one.json");
  const body = Buffer.from('{"a": 1}');
  const put = await blob.upload(body, body.length, {
    blobHTTPHeaders: {
      blobContentType: "application/json",
      blobCacheControl: "max-age=60",
      blobContentDisposition: "attachment",
      blobContentLanguage: "en",
    },
    metadata: { source: "node", n: "1" },
  });
  assert.ok(put.etag);
  const props = await blob.getProperties();
  assert.equal(props.contentLength, body.length);
  assert.equal(props.contentType, "application/json");
  assert.equal(props.cacheControl, "max-age=60");
  assert.equal(props.contentDisposition, "attachment");
  assert.equal(props.contentLanguage, "en");
  assert.equal(props.blobType, "BlockBlob");
  assert.equal(props.etag, put.etag);
  assert.deepEqual(props.metadata, { source: "node", n: "1" });
  // Put Blob stores the body's MD5 (Azure computes it when none is sent).
  assert.equal(
    Buffer.from(props.contentMD5).toString("hex"),
    (await import("node:crypto")).createHash("md5").update(body).digest("hex"),
  );

  // Set Blob Metadata and Set Blob Properties change the ETag.
  await blob.setMetadata({ replaced: "yes" });
  assert.deepEqual((await blob.getProperties()).metadata, { replaced: "yes" });
  await blob.setHTTPHeaders({ blobContentType: "text/plain" });
  const after = await blob.getProperties();
  assert.equal(after.contentType, "text/plain");
  assert.notEqual(after.etag, put.etag);
});

test("Upload_stagedBlocksAndCommit", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("staged.bin");
  const parts = [randomData(1000), randomData(1), randomData(4096)];
  const ids = parts.map((_, i) => Buffer.from(`block-${String(i).padStart(4, "0")}`).toString("base64"));
  for (let i = 0; i < parts.length; i++) await blob.stageBlock(ids[i], parts[i], parts[i].length);
  const uncommitted = await blob.getBlockList("uncommitted");
  assert.deepEqual(uncommitted.uncommittedBlocks.map((b) => b.name).sort(), [...ids].sort());
  assert.equal(await blob.exists(), false);

  // Committed in another order than staged: the blob follows the list.
  const order = [ids[2], ids[0], ids[1]];
  await blob.commitBlockList(order, { blobHTTPHeaders: { blobContentType: "application/x-test" } });
  const list = await blob.getBlockList("committed");
  assert.deepEqual(list.committedBlocks.map((b) => b.name), order);
  assert.deepEqual(list.committedBlocks.map((b) => b.size), [4096, 1000, 1]);
  const got = await container.getBlobClient("staged.bin").downloadToBuffer();
  assert.deepEqual(got, Buffer.concat([parts[2], parts[0], parts[1]]));
  assert.equal((await blob.getProperties()).contentType, "application/x-test");
});

test("Upload_multiMiBInSmallBlocks", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("big/ten.bin");
  const data = randomData(10 * MiB + 3);
  await blob.uploadData(data, { blockSize: MiB, maxSingleShotSize: MiB, concurrency: 4 });
  const list = await blob.getBlockList("committed");
  assert.equal(list.committedBlocks.length, 11);
  assert.equal((await blob.getProperties()).contentLength, data.length);
  // Parallel ranged reads put it back together.
  const got = await blob.downloadToBuffer(0, undefined, { blockSize: MiB, concurrency: 4 });
  assert.ok(got.equals(data));

  // A stream upload (uploadStream: blocks of 512 KiB, 3 in flight).
  const streamed = container.getBlockBlobClient("big/streamed.bin");
  const chunks = [randomData(700 * 1024), randomData(900 * 1024), randomData(1)];
  await streamed.uploadStream(Readable.from(chunks), 512 * 1024, 3);
  const back = await streamToBuffer((await streamed.download()).readableStreamBody);
  assert.ok(back.equals(Buffer.concat(chunks)));
});

test("Download_wholeAndRanges", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("ranged.bin");
  const data = randomData(100000);
  await blob.upload(data, data.length);

  const whole = await blob.download();
  assert.equal(whole.contentLength, data.length);
  assert.ok((await streamToBuffer(whole.readableStreamBody)).equals(data));

  const part = await blob.download(1000, 500);
  assert.equal(part.contentLength, 500);
  assert.equal(part.contentRange, `bytes 1000-1499/${data.length}`);
  assert.ok((await streamToBuffer(part.readableStreamBody)).equals(data.subarray(1000, 1500)));

  // From an offset to the end; a range past the end is clipped.
  const tail = await blob.downloadToBuffer(99990);
  assert.ok(tail.equals(data.subarray(99990)));
  const clipped = await streamToBuffer((await blob.download(99000, 5000)).readableStreamBody);
  assert.ok(clipped.equals(data.subarray(99000)));

  // A range that starts past the end: 416 InvalidRange.
  const bad = await rejection(blob.download(200000, 10));
  assert.equal(bad.statusCode, 416);
  assert.equal(bad.code, "InvalidRange");
});

test("ListBlobs_prefixDelimiterPagination", async (t) => {
  // strata is an HNS account: a directory on a blob's path is listed too, as
  // a zero-length blob with metadata hdi_isfolder=true, and with a delimiter
  // as both that blob and a prefix (as Azure lists an HNS account; the
  // Python tests in tests/integration/test_list_blobs.py say the same).
  const container = await freshContainer(t);
  const names = ["a.txt", "dir/b.txt", "dir/c.txt", "dir/sub/d.txt", "e/f.txt"];
  for (const n of names)
    await container.getBlockBlobClient(n).upload(n, n.length, { metadata: { name: n.replaceAll("/", "_") } });
  const all = ["a.txt", "dir", "dir/b.txt", "dir/c.txt", "dir/sub", "dir/sub/d.txt", "e", "e/f.txt"];
  const dirs = new Set(["dir", "dir/sub", "e"]);

  const flat = [];
  for await (const b of container.listBlobsFlat({ includeMetadata: true })) flat.push(b);
  assert.deepEqual(flat.map((b) => b.name), all);
  for (const b of flat) {
    if (dirs.has(b.name)) {
      assert.deepEqual(b.metadata, { hdi_isfolder: "true" });
      assert.equal(b.properties.contentLength, 0);
    } else {
      assert.equal(b.metadata.name, b.name.replaceAll("/", "_"));
      assert.equal(b.properties.contentLength, b.name.length);
    }
  }

  const prefixed = [];
  for await (const b of container.listBlobsFlat({ prefix: "dir/" })) prefixed.push(b.name);
  assert.deepEqual(prefixed, ["dir/b.txt", "dir/c.txt", "dir/sub", "dir/sub/d.txt"]);

  const top = [];
  for await (const item of container.listBlobsByHierarchy("/")) top.push(`${item.kind}:${item.name}`);
  assert.deepEqual(top.sort(), ["blob:a.txt", "blob:dir", "blob:e", "prefix:dir/", "prefix:e/"]);
  const inDir = [];
  for await (const item of container.listBlobsByHierarchy("/", { prefix: "dir/" }))
    inDir.push(`${item.kind}:${item.name}`);
  assert.deepEqual(inDir.sort(), ["blob:dir/b.txt", "blob:dir/c.txt", "blob:dir/sub", "prefix:dir/sub/"]);

  const pages = [];
  let token;
  for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 3 })) {
    pages.push(page.segment.blobItems.map((b) => b.name));
    token = page.continuationToken;
  }
  assert.deepEqual(pages, [all.slice(0, 3), all.slice(3, 6), all.slice(6)]);
  assert.ok(!token);
  // A page resumed from a continuation token starts where the last one ended.
  const first = await container.listBlobsFlat().byPage({ maxPageSize: 5 }).next();
  assert.ok(first.value.continuationToken);
  const resumed = await container
    .listBlobsFlat()
    .byPage({ maxPageSize: 5, continuationToken: first.value.continuationToken })
    .next();
  assert.deepEqual(resumed.value.segment.blobItems.map((b) => b.name), all.slice(5));
});

test("Lease_acquireRenewChangeReleaseBreak", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("leased.txt");
  await blob.upload("v1", 2);
  const proposed = "ca761232-ed42-11ce-bacd-00aa0057b223";
  const lease = blob.getBlobLeaseClient(proposed);
  const acquired = await lease.acquireLease(15);
  assert.equal(acquired.leaseId, proposed);
  const props = await blob.getProperties();
  assert.equal(props.leaseState, "leased");
  assert.equal(props.leaseStatus, "locked");
  assert.equal(props.leaseDuration, "fixed");

  // A write without the lease id: 412 LeaseIdMissing; with it, accepted.
  const missing = await rejection(blob.upload("v2", 2));
  assert.equal(missing.statusCode, 412);
  assert.equal(missing.code, "LeaseIdMissing");
  await blob.upload("v2", 2, { conditions: { leaseId: proposed } });
  // Acquiring it with another id: 409 LeaseAlreadyPresent.
  const other = await rejection(blob.getBlobLeaseClient("11111111-2222-3333-4444-555555555555").acquireLease(15));
  assert.equal(other.statusCode, 409);
  assert.equal(other.code, "LeaseAlreadyPresent");

  await lease.renewLease();
  const changedTo = "0f0f0f0f-1111-2222-3333-444444444444";
  await lease.changeLease(changedTo);
  assert.equal(lease.leaseId, changedTo);
  const stale = await rejection(blob.delete({ conditions: { leaseId: proposed } }));
  assert.equal(stale.statusCode, 412);
  assert.equal(stale.code, "LeaseIdMismatchWithBlobOperation");
  await lease.releaseLease();
  assert.equal((await blob.getProperties()).leaseState, "available");

  // An infinite lease broken at once; then the blob can be leased again.
  const infinite = blob.getBlobLeaseClient();
  await infinite.acquireLease(-1);
  assert.equal((await blob.getProperties()).leaseDuration, "infinite");
  const broken = await infinite.breakLease(0);
  assert.equal(broken.leaseTime, 0);
  assert.equal((await blob.getProperties()).leaseState, "broken");
  await blob.delete();

  // A container lease blocks Delete Container without its id.
  const clease = container.getBlobLeaseClient();
  await clease.acquireLease(20);
  const blocked = await rejection(container.delete());
  assert.equal(blocked.statusCode, 412);
  assert.equal(blocked.code, "LeaseIdMissing");
  await clease.releaseLease();
});

test("Conditions_etagAndTime", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("cond.txt");
  const first = await blob.upload("one", 3);
  const etag = first.etag;

  // If-None-Match: * on an existing blob: 409 BlobAlreadyExists.
  const exists = await rejection(blob.upload("two", 3, { conditions: { ifNoneMatch: "*" } }));
  assert.equal(exists.statusCode, 409);
  assert.equal(exists.code, "BlobAlreadyExists");
  // If-Match with another ETag: 412 ConditionNotMet.
  const mismatch = await rejection(blob.upload("two", 3, { conditions: { ifMatch: '"0x1"' } }));
  assert.equal(mismatch.statusCode, 412);
  assert.equal(mismatch.code, "ConditionNotMet");
  const second = await blob.upload("two", 3, { conditions: { ifMatch: etag } });
  assert.notEqual(second.etag, etag);

  // Reads: If-None-Match with the current ETag is 304; If-Match with an old one 412.
  const notModified = await rejection(blob.getProperties({ conditions: { ifNoneMatch: second.etag } }));
  assert.equal(notModified.statusCode, 304);
  const stale = await rejection(blob.download(0, undefined, { conditions: { ifMatch: etag } }));
  assert.equal(stale.statusCode, 412);
  assert.equal(stale.code, "ConditionNotMet");
  const future = new Date(Date.now() + 3600 * 1000);
  const unmodified = await rejection(blob.download(0, undefined, { conditions: { ifModifiedSince: future } }));
  assert.equal(unmodified.statusCode, 304);
  const past = new Date(Date.now() - 3600 * 1000);
  const old = await rejection(blob.setMetadata({ a: "b" }, { conditions: { ifUnmodifiedSince: past } }));
  assert.equal(old.statusCode, 412);
  const got = await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: second.etag } });
  assert.equal(got.toString(), "two");
  // A new blob only if absent: accepted once.
  const fresh = container.getBlockBlobClient("new.txt");
  await fresh.upload("x", 1, { conditions: { ifNoneMatch: "*" } });
  assert.equal((await rejection(fresh.upload("y", 1, { conditions: { ifNoneMatch: "*" } }))).statusCode, 409);
});

test("AppendBlob_createAppendConditions", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getAppendBlobClient("log.txt");
  await blob.create({ blobHTTPHeaders: { blobContentType: "text/plain" } });
  const r1 = await blob.appendBlock("line 1\n", 7);
  assert.equal(r1.blobAppendOffset, "0");
  const r2 = await blob.appendBlock("line 2\n", 7, { conditions: { appendPosition: 7 } });
  assert.equal(r2.blobAppendOffset, "7");
  assert.equal(r2.blobCommittedBlockCount, 2);
  // A wrong append position: 412 AppendPositionConditionNotMet; too big: MaxBlobSizeConditionNotMet.
  const pos = await rejection(blob.appendBlock("x", 1, { conditions: { appendPosition: 3 } }));
  assert.equal(pos.statusCode, 412);
  assert.equal(pos.code, "AppendPositionConditionNotMet");
  const max = await rejection(blob.appendBlock("x", 1, { conditions: { maxSize: 14 } }));
  assert.equal(max.statusCode, 412);
  assert.equal(max.code, "MaxBlobSizeConditionNotMet");

  const props = await blob.getProperties();
  assert.equal(props.blobType, "AppendBlob");
  assert.equal(props.blobCommittedBlockCount, 2);
  assert.equal(props.contentType, "text/plain");
  const got = await container.getBlobClient("log.txt").downloadToBuffer();
  assert.equal(got.toString(), "line 1\nline 2\n");

  // Append Block to a block blob: 409 InvalidBlobType.
  await container.getBlockBlobClient("block.txt").upload("b", 1);
  const wrong = await rejection(new AppendBlobClient(container.getBlobClient("block.txt").url, credential, noRetry).appendBlock("x", 1));
  assert.equal(wrong.statusCode, 409);
  assert.equal(wrong.code, "InvalidBlobType");
  assert.equal((await blob.createIfNotExists()).succeeded, false);
});

test("Delete_blobAndMissing", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("doomed.txt");
  await blob.upload("bye", 3);
  assert.equal(await blob.exists(), true);
  await blob.delete();
  assert.equal(await blob.exists(), false);
  const again = await rejection(blob.delete());
  assert.equal(again.statusCode, 404);
  assert.equal(again.code, "BlobNotFound");
  assert.equal((await blob.deleteIfExists()).succeeded, false);
  const read = await rejection(blob.download());
  assert.equal(read.statusCode, 404);
  assert.equal(read.code, "BlobNotFound");
  // deleteBlob through the container client, and a missing container.
  await blob.upload("again", 5);
  await container.deleteBlob("doomed.txt");
  const nowhere = new BlockBlobClient(`${endpoint}/${uniqueName("absent")}/x`, credential, noRetry);
  const nc = await rejection(nowhere.upload("x", 1));
  assert.equal(nc.statusCode, 404);
  assert.equal(nc.code, "ContainerNotFound");
});
