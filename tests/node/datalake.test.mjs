// @azure/storage-file-datalake (the version package.json pins) against
// strata's dfs path API on the path-style endpoint: filesystems,
// directories, files, listing, access control, move() and recursive delete.
// Expectations: Azure's Data Lake Storage Gen2 REST reference (Path Create,
// Update, Read, List, Get Properties, Delete) and the SDK's typed results.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DataLakeFileSystemClient,
  DataLakeServiceClient,
  FileSystemSASPermissions,
} from "@azure/storage-file-datalake";

import {
  credential,
  endpoint,
  inOneHour,
  noRetry,
  randomData,
  rejection,
  streamToBuffer,
  uniqueName,
} from "./util.mjs";

const MiB = 1024 * 1024;

function lake() {
  return new DataLakeServiceClient(endpoint, credential, noRetry);
}

async function freshFileSystem(t) {
  const fs = lake().getFileSystemClient(uniqueName("lake"));
  await fs.create();
  t.after(() => fs.deleteIfExists());
  return fs;
}

test("FileSystem_createListPropertiesDelete", async () => {
  const service = lake();
  const name = uniqueName("lake");
  const fs = service.getFileSystemClient(name);
  await fs.create({ metadata: { team: "ml" } });
  try {
    assert.equal(await fs.exists(), true);
    assert.deepEqual((await fs.getProperties()).metadata, { team: "ml" });
    const listed = [];
    for await (const f of service.listFileSystems({ prefix: name })) listed.push(f.name);
    assert.deepEqual(listed, [name]);
    const again = await rejection(fs.create());
    assert.equal(again.statusCode, 409);
  } finally {
    await fs.delete();
  }
  assert.equal(await fs.exists(), false);
});

test("Files_createAppendFlushRead", async (t) => {
  const fs = await freshFileSystem(t);
  const file = fs.getFileClient("raw/part-0.txt");
  await file.create();
  const a = Buffer.from("hello, ");
  const b = Buffer.from("data lake");
  await file.append(a, 0, a.length);
  await file.append(b, a.length, b.length);
  // Appended but not flushed: the file is still empty.
  assert.equal((await file.getProperties()).contentLength, 0);
  await file.flush(a.length + b.length);
  assert.equal((await file.readToBuffer()).toString(), "hello, data lake");
  // An append at the wrong offset: 400 InvalidFlushPosition on flush.
  const gap = await rejection(file.flush(a.length + b.length + 5));
  assert.equal(gap.statusCode, 400);
  assert.equal(gap.code, "InvalidFlushPosition");

  // Ranged reads.
  const part = await file.read(7, 4);
  assert.equal(part.contentLength, 4);
  assert.equal((await streamToBuffer(part.readableStreamBody)).toString(), "data");
  assert.equal((await file.readToBuffer(11)).toString(), " lake");
});

test("Files_uploadInChunks", async (t) => {
  const fs = await freshFileSystem(t);
  const file = fs.getFileClient("checkpoints/step-1.bin");
  const data = randomData(5 * MiB + 11);
  await file.upload(data, {
    chunkSize: MiB,
    singleUploadThreshold: MiB,
    maxConcurrency: 4,
    metadata: { step: "1" },
    pathHttpHeaders: { contentType: "application/octet-stream" },
  });
  const props = await file.getProperties();
  assert.equal(props.contentLength, data.length);
  assert.equal(props.metadata.step, "1");
  assert.equal(props.contentType, "application/octet-stream");
  assert.ok((await file.readToBuffer(0, undefined, { chunkSize: MiB, concurrency: 4 })).equals(data));
  // The same bytes through the Blob face (one namespace).
  const small = fs.getFileClient("small.txt");
  await small.upload(Buffer.from("tiny"));
  assert.equal((await small.readToBuffer()).toString(), "tiny");
});

test("Directories_propertiesAndListPaths", async (t) => {
  const fs = await freshFileSystem(t);
  await fs.getDirectoryClient("a/b").create();
  for (const p of ["a/one.txt", "a/b/two.txt", "c.txt"]) await fs.getFileClient(p).upload(Buffer.from(p));
  const dirProps = await fs.getDirectoryClient("a/b").getProperties();
  // A directory reads through the Blob face as a folder blob (HNS).
  assert.equal(dirProps.metadata.hdi_isfolder, "true");
  assert.equal(dirProps.contentLength, 0);
  const fileProps = await fs.getFileClient("a/one.txt").getProperties();
  assert.equal(fileProps.metadata.hdi_isfolder, undefined);
  assert.equal(fileProps.contentLength, "a/one.txt".length);

  const recursive = [];
  for await (const p of fs.listPaths({ recursive: true }))
    recursive.push(`${p.isDirectory ? "d" : "f"}:${p.name}:${p.isDirectory ? "" : p.contentLength}`);
  assert.deepEqual(recursive, ["d:a:", "d:a/b:", "f:a/b/two.txt:11", "f:a/one.txt:9", "f:c.txt:5"]);
  const top = [];
  for await (const p of fs.listPaths()) top.push(p.name);
  assert.deepEqual(top, ["a", "c.txt"]);
  const under = [];
  for await (const p of fs.listPaths({ path: "a" })) under.push(p.name);
  assert.deepEqual(under, ["a/b", "a/one.txt"]);
  // Paging through a recursive listing.
  const pages = [];
  for await (const page of fs.listPaths({ recursive: true }).byPage({ maxPageSize: 2 }))
    pages.push(page.pathItems.map((p) => p.name));
  assert.deepEqual(pages.flat(), ["a", "a/b", "a/b/two.txt", "a/one.txt", "c.txt"]);
  assert.ok(pages.length >= 3);
  // A missing directory: 404 PathNotFound.
  const missing = await rejection(fs.getDirectoryClient("nope").getProperties());
  assert.equal(missing.statusCode, 404);
});

test("AccessControl_setAndGet", async (t) => {
  const fs = await freshFileSystem(t);
  const file = fs.getFileClient("secure.txt");
  await file.create();
  await file.setPermissions({
    owner: { read: true, write: true, execute: false },
    group: { read: true, write: false, execute: false },
    other: { read: false, write: false, execute: false },
    stickyBit: false,
    extendedAcls: false,
  });
  let acl = await file.getAccessControl();
  assert.deepEqual(acl.permissions.owner, { read: true, write: true, execute: false });
  assert.deepEqual(acl.permissions.group, { read: true, write: false, execute: false });
  assert.deepEqual(acl.permissions.other, { read: false, write: false, execute: false });

  const user = "11111111-2222-3333-4444-555555555555";
  await file.setAccessControl([
    { accessControlType: "user", entityId: "", defaultScope: false, permissions: { read: true, write: true, execute: true } },
    { accessControlType: "user", entityId: user, defaultScope: false, permissions: { read: true, write: false, execute: false } },
    { accessControlType: "group", entityId: "", defaultScope: false, permissions: { read: true, write: false, execute: true } },
    { accessControlType: "mask", entityId: "", defaultScope: false, permissions: { read: true, write: false, execute: true } },
    { accessControlType: "other", entityId: "", defaultScope: false, permissions: { read: false, write: false, execute: false } },
  ]);
  acl = await file.getAccessControl();
  const named = acl.acl.find((e) => e.accessControlType === "user" && e.entityId === user);
  assert.ok(named, `the named user entry is kept: ${JSON.stringify(acl.acl)}`);
  assert.deepEqual(named.permissions, { read: true, write: false, execute: false });
  assert.deepEqual(acl.permissions.owner, { read: true, write: true, execute: true });
  assert.equal(acl.permissions.extendedAcls, true);

  // Directories take default-scope entries.
  const dir = fs.getDirectoryClient("shared");
  await dir.create();
  await dir.setAccessControl([
    { accessControlType: "user", entityId: "", defaultScope: false, permissions: { read: true, write: true, execute: true } },
    { accessControlType: "group", entityId: "", defaultScope: false, permissions: { read: true, write: false, execute: true } },
    { accessControlType: "other", entityId: "", defaultScope: false, permissions: { read: false, write: false, execute: false } },
    { accessControlType: "user", entityId: user, defaultScope: true, permissions: { read: true, write: false, execute: true } },
  ]);
  const dirAcl = await dir.getAccessControl();
  assert.ok(dirAcl.acl.some((e) => e.defaultScope && e.entityId === user));
});

test("Move_fileAndDirectory", async (t) => {
  const fs = await freshFileSystem(t);
  const file = fs.getFileClient("in/a.txt");
  await file.upload(Buffer.from("moving"));
  // A destination whose parent does not exist: 404
  // RenameDestinationParentPathNotFound (Azure makes no parents on a rename).
  const orphan = await rejection(file.move("out/renamed.txt"));
  assert.equal(orphan.statusCode, 404);
  assert.equal(orphan.code, "RenameDestinationParentPathNotFound");
  // A file: to another directory and name.
  await fs.getDirectoryClient("out").create();
  await file.move("out/renamed.txt");
  assert.equal(await file.exists(), false);
  assert.equal((await fs.getFileClient("out/renamed.txt").readToBuffer()).toString(), "moving");

  // A directory with its contents.
  await fs.getFileClient("tree/x/1.txt").upload(Buffer.from("1"));
  await fs.getFileClient("tree/2.txt").upload(Buffer.from("22"));
  await fs.getDirectoryClient("tree").move("moved-tree");
  assert.equal(await fs.getDirectoryClient("tree").exists(), false);
  const names = [];
  for await (const p of fs.listPaths({ path: "moved-tree", recursive: true })) names.push(p.name);
  assert.deepEqual(names, ["moved-tree/2.txt", "moved-tree/x", "moved-tree/x/1.txt"]);

  // To another filesystem of the account.
  const other = await freshFileSystem(t);
  await fs.getFileClient("out/renamed.txt").move(other.name, "landed.txt");
  assert.equal((await other.getFileClient("landed.txt").readToBuffer()).toString(), "moving");

  // With a filesystem SAS the SDK built (no key): the SAS rides on both the
  // source and the destination URL.
  const sasUrl = await other.generateSasUrl({
    permissions: FileSystemSASPermissions.parse("racwdlm"),
    expiresOn: inOneHour(),
  });
  const bySas = new DataLakeFileSystemClient(sasUrl, undefined, noRetry);
  await bySas.getFileClient("landed.txt").move("by-sas.txt");
  assert.equal((await other.getFileClient("by-sas.txt").readToBuffer()).toString(), "moving");
  assert.equal(await other.getFileClient("landed.txt").exists(), false);

  // A missing source: 404 SourcePathNotFound.
  const missing = await rejection(fs.getFileClient("absent.txt").move("x.txt"));
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.code, "SourcePathNotFound");
});

test("Delete_recursive", async (t) => {
  const fs = await freshFileSystem(t);
  await fs.getFileClient("d/e/f.txt").upload(Buffer.from("f"));
  await fs.getFileClient("d/g.txt").upload(Buffer.from("g"));
  const dir = fs.getDirectoryClient("d");
  // Not recursive on a non-empty directory: 409 DirectoryNotEmpty.
  const full = await rejection(dir.delete(false));
  assert.equal(full.statusCode, 409);
  assert.equal(full.code, "DirectoryNotEmpty");
  await dir.delete(true);
  assert.equal(await dir.exists(), false);
  const left = [];
  for await (const p of fs.listPaths({ recursive: true })) left.push(p.name);
  assert.deepEqual(left, []);
  await fs.getFileClient("solo.txt").create();
  await fs.getFileClient("solo.txt").delete();
  const gone = await rejection(fs.getFileClient("solo.txt").delete());
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.code, "PathNotFound");
});
