// SAS tokens the JS SDK builds (generateBlobSASQueryParameters,
// generateAccountSASQueryParameters, generateSasUrl) with its newest signed
// version, used by a second client that holds no key; and server-side copies
// (Copy Blob From URL, asynchronous Copy Blob). Expectations: Azure's "Create
// a service SAS" / "Create an account SAS" and Copy Blob REST reference.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobClient,
  BlobSASPermissions,
  BlobServiceClient,
  BlockBlobClient,
  ContainerClient,
  ContainerSASPermissions,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
  SASProtocol,
} from "@azure/storage-blob";

import {
  credential,
  endpoint,
  freshContainer,
  inOneHour,
  noRetry,
  randomData,
  rejection,
  serviceClient,
  uniqueName,
} from "./util.mjs";

test("Sas_blobSasReadOnly", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("secret.txt");
  await blob.upload("secret", 6);
  const sas = generateBlobSASQueryParameters(
    {
      containerName: container.containerName,
      blobName: "secret.txt",
      permissions: BlobSASPermissions.parse("r"),
      startsOn: new Date(Date.now() - 5 * 60 * 1000),
      expiresOn: inOneHour(),
      protocol: SASProtocol.HttpsAndHttp,
    },
    credential,
  );
  assert.ok(sas.version >= "2026-01-01", `the SDK signs its newest version, got ${sas.version}`);
  const reader = new BlobClient(`${blob.url}?${sas}`, undefined, noRetry);
  assert.equal((await reader.downloadToBuffer()).toString(), "secret");
  assert.equal((await reader.getProperties()).contentLength, 6);
  // r alone does not write: 403 AuthorizationPermissionMismatch.
  const denied = await rejection(new BlockBlobClient(`${blob.url}?${sas}`, undefined, noRetry).upload("x", 1));
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.code, "AuthorizationPermissionMismatch");
  // The SAS names this blob only.
  const elsewhere = new BlobClient(`${container.getBlobClient("other.txt").url}?${sas}`, undefined, noRetry);
  const other = await rejection(elsewhere.getProperties());
  assert.equal(other.statusCode, 403);
  // A tampered signature: 403 AuthenticationFailed.
  const forged = new BlobClient(`${blob.url}?${sas.toString().replace("sp=r", "sp=rw")}`, undefined, noRetry);
  const bad = await rejection(forged.download());
  assert.equal(bad.statusCode, 403);
  assert.equal(bad.code, "AuthenticationFailed");
});

test("Sas_expiredIsRefused", async (t) => {
  const container = await freshContainer(t);
  await container.getBlockBlobClient("x").upload("x", 1);
  const sas = generateBlobSASQueryParameters(
    {
      containerName: container.containerName,
      permissions: ContainerSASPermissions.parse("rl"),
      startsOn: new Date(Date.now() - 7200 * 1000),
      expiresOn: new Date(Date.now() - 3600 * 1000),
    },
    credential,
  );
  const c = new ContainerClient(`${container.url}?${sas}`, undefined, noRetry);
  const e = await rejection(c.getBlobClient("x").download());
  assert.equal(e.statusCode, 403);
  assert.equal(e.code, "AuthenticationFailed");
});

test("Sas_containerSasUrlWritesAndLists", async (t) => {
  const container = await freshContainer(t);
  const url = await container.generateSasUrl({
    permissions: ContainerSASPermissions.parse("racwdl"),
    expiresOn: inOneHour(),
  });
  const client = new ContainerClient(url, undefined, noRetry);
  const data = randomData(3 * 1024 * 1024 + 7);
  await client.getBlockBlobClient("up/load.bin").uploadData(data, { blockSize: 1024 * 1024, maxSingleShotSize: 1024 * 1024 });
  const names = [];
  for await (const b of client.listBlobsFlat({ prefix: "up/" })) names.push(b.name);
  assert.deepEqual(names, ["up/load.bin"]);
  assert.ok((await client.getBlobClient("up/load.bin").downloadToBuffer()).equals(data));
  await client.getBlobClient("up/load.bin").delete();
  assert.equal(await container.getBlobClient("up/load.bin").exists(), false);
});

test("Sas_blobClientGenerateSasUrl", async (t) => {
  const container = await freshContainer(t);
  const blob = container.getBlockBlobClient("shared.txt");
  await blob.upload("shared", 6);
  const url = await blob.generateSasUrl({ permissions: BlobSASPermissions.parse("rw"), expiresOn: inOneHour() });
  const client = new BlockBlobClient(url, undefined, noRetry);
  assert.equal((await client.downloadToBuffer()).toString(), "shared");
  await client.upload("changed", 7);
  assert.equal((await blob.downloadToBuffer()).toString(), "changed");
  // w does not delete: 403 AuthorizationPermissionMismatch.
  const e = await rejection(client.delete());
  assert.equal(e.statusCode, 403);
  assert.equal(e.code, "AuthorizationPermissionMismatch");
});

test("Sas_accountSas", async () => {
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn: inOneHour(),
      permissions: AccountSASPermissions.parse("rwdlac"),
      services: AccountSASServices.parse("b").toString(),
      resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
    },
    credential,
  );
  const service = new BlobServiceClient(`${endpoint}?${sas}`, undefined, noRetry);
  const name = uniqueName("nodesas");
  const container = service.getContainerClient(name);
  await container.create();
  try {
    await container.getBlockBlobClient("a/b.txt").upload("account sas", 11);
    const listed = [];
    for await (const c of service.listContainers({ prefix: name })) listed.push(c.name);
    assert.deepEqual(listed, [name]);
    assert.equal((await container.getBlobClient("a/b.txt").downloadToBuffer()).toString(), "account sas");
  } finally {
    await container.delete();
  }
  // The service client's own helper builds the same kind of URL; r and l only
  // cannot create a container.
  const readOnly = serviceClient().generateAccountSasUrl(
    inOneHour(),
    AccountSASPermissions.parse("rl"),
    AccountSASResourceTypes.parse("sco").toString(),
  );
  const ro = new BlobServiceClient(readOnly, undefined, noRetry);
  const e = await rejection(ro.getContainerClient(uniqueName("nodesas")).create());
  assert.equal(e.statusCode, 403);
  assert.equal(e.code, "AuthorizationPermissionMismatch");
});

test("Copy_syncCopyFromUrlWithSas", async (t) => {
  const container = await freshContainer(t);
  const src = container.getBlockBlobClient("src.bin");
  const data = randomData(300000);
  await src.upload(data, data.length, { metadata: { origin: "src" } });
  const srcUrl = await src.generateSasUrl({ permissions: BlobSASPermissions.parse("r"), expiresOn: inOneHour() });
  const dest = container.getBlockBlobClient("copies/dest.bin");
  const r = await dest.syncCopyFromURL(srcUrl);
  assert.equal(r.copyStatus, "success");
  assert.ok((await dest.downloadToBuffer()).equals(data));
  assert.deepEqual((await dest.getProperties()).metadata, { origin: "src" });
  // Without a SAS (and no public access) the source cannot be read: 403.
  const other = container.getBlockBlobClient("copies/denied.bin");
  const e = await rejection(other.syncCopyFromURL(src.url));
  assert.equal(e.statusCode, 403);
});

test("Copy_beginCopyFromUrl", async (t) => {
  const container = await freshContainer(t);
  const target = await freshContainer(t);
  const src = container.getBlockBlobClient("src.txt");
  await src.upload("copy me", 7);
  // Same account: the request's Shared Key authorizes the source too.
  const dest = target.getBlobClient("dest.txt");
  const poller = await dest.beginCopyFromURL(src.url, { intervalInMs: 50 });
  const done = await poller.pollUntilDone();
  assert.equal(done.copyStatus, "success");
  const props = await dest.getProperties();
  assert.equal(props.copyStatus, "success");
  assert.equal(props.copySource.split("?")[0], src.url);
  assert.equal((await dest.downloadToBuffer()).toString(), "copy me");
  // A missing source: 404 CannotVerifyCopySource (Azure's code for Copy Blob).
  const missing = await rejection(
    target.getBlobClient("none.txt").beginCopyFromURL(container.getBlobClient("absent.txt").url),
  );
  assert.equal(missing.statusCode, 404);
});
