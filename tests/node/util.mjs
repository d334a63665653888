// Shared by the Node SDK tests: the server under test (from the environment
// the pytest driver tests/clients/test_node_sdk.py sets), credentials, fresh
// names, and stream helpers.
import { randomBytes, randomUUID } from "node:crypto";

import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

// Path style, as the dev account is addressed: http://127.0.0.1:PORT/ACCOUNT.
export const endpoint = required("STRATA_ENDPOINT");
export const account = required("STRATA_ACCOUNT");
export const accountKey = required("STRATA_KEY");
export const credential = new StorageSharedKeyCredential(account, accountKey);

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these through tests/clients/test_node_sdk.py`);
  return v;
}

// Retries off: a failure must show at once, not after the SDK's backoff.
export const noRetry = { retryOptions: { maxTries: 1 } };

export function serviceClient() {
  return new BlobServiceClient(endpoint, credential, noRetry);
}

// A name no other case uses (container and filesystem names: 3-63 of [a-z0-9-]).
export function uniqueName(prefix = "n") {
  return prefix + randomUUID().replaceAll("-", "").slice(0, 20);
}

// A fresh container, deleted when the test ends (t: node:test's TestContext).
export async function freshContainer(t, service = serviceClient()) {
  const container = service.getContainerClient(uniqueName("node"));
  await container.create();
  t.after(() => container.deleteIfExists());
  return container;
}

export function randomData(n) {
  return randomBytes(n);
}

export async function streamToBuffer(readable) {
  const chunks = [];
  for await (const chunk of readable) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// The RestError a promise rejects with (fails when it resolves).
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected the request to fail, and it succeeded");
}

export function inOneHour() {
  return new Date(Date.now() + 3600 * 1000);
}
