"""SAS permission letters by operation, where Azure's rules go beyond "the
route needs letter X":

- Create (c) writes a new blob or copies to a new one; replacing an existing
  blob needs write (w). Put Blob, Put Block List, Copy Blob, Copy Blob From
  URL and Put Blob From URL to a new name are accepted with c alone, and
  refused with 403 AuthorizationPermissionMismatch onto an existing blob,
  which stays as it was. Rests on Microsoft's SAS permission reference (the
  SDKs' BlobSasPermissions/AccountSasPermissions: "create: write a new blob,
  snapshot a blob, or copy a blob to a new blob"; account SAS "c: users can
  create new blobs or files, but may not overwrite existing blobs or files").
- A container (service) SAS cannot read or write the container's own
  properties or metadata, lease it or delete it (ContainerSasPermissions:
  "You cannot grant permissions to read or write container properties or
  metadata, nor to lease a container, with a container SAS"; "... to delete a
  container"). Azure answers Get Container Properties with such a SAS 403
  AuthorizationFailure (reported against the service in
  Azure/azure-sdk-for-net#17142 and Azure/azure-sdk-for-python#24227).
  List Blobs and blob operations stay allowed; an account SAS may do all of it.
- A SAS that names `sig` twice is refused (which one was signed?).
"""
import datetime
import urllib.parse

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (AccountSasPermissions, BlobClient, BlobSasPermissions,
                                ContainerClient, ContainerSasPermissions, ResourceTypes,
                                generate_account_sas, generate_blob_sas, generate_container_sas)

import signing
from blob_util import raw
from strata_server import DEV_ACCOUNT, DEV_KEY


def _exp():
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


def _blob_sas(c, b, letters):
    return generate_blob_sas(DEV_ACCOUNT, c, b, account_key=DEV_KEY,
                             permission=BlobSasPermissions.from_string(letters), expiry=_exp())


def _container_sas(c, letters):
    return generate_container_sas(DEV_ACCOUNT, c, account_key=DEV_KEY,
                                  permission=ContainerSasPermissions.from_string(letters),
                                  expiry=_exp())


def _account_sas(letters, types="sco"):
    return generate_account_sas(DEV_ACCOUNT, DEV_KEY, ResourceTypes.from_string(types),
                                AccountSasPermissions.from_string(letters), expiry=_exp())


def _url(server, c, b="", query=""):
    path = "/%s/%s" % (DEV_ACCOUNT, c) + ("/" + urllib.parse.quote(b) if b else "")
    return "http://127.0.0.1:%d%s%s" % (server.port, path, "?" + query if query else "")


def _put(server, c, b, sas, headers=None, body=b"", extra=""):
    h = {"x-ms-version": "2021-12-02"}
    h.update(headers or {})
    q = "&".join(x for x in (extra, sas) if x)
    return requests.put(_url(server, c, b, q), headers=h, data=body, timeout=30)


def _sas_kinds(c, b, letters):
    return [("blob SAS", _blob_sas(c, b, letters)),
            ("container SAS", _container_sas(c, letters)),
            ("account SAS", _account_sas(letters))]


def _content(server, c, b):
    r = raw(server, "GET", c, b)
    return r.content if r.status_code == 200 else None


# ---- create (c) versus write (w) ----

def test_PutBlob_create_only_creates_but_never_replaces(server, container):
    c = container.container_name
    for kind, sas in _sas_kinds(c, "new", "c"):
        container.get_blob_client("new").delete_blob() if _content(server, c, "new") else None
        r = _put(server, c, "new", sas, {"x-ms-blob-type": "BlockBlob"}, b"first")
        assert r.status_code == 201, (kind, r.text)
        r = _put(server, c, "new", sas, {"x-ms-blob-type": "BlockBlob"}, b"second")
        assert r.status_code == 403, (kind, r.text)
        assert signing.error_code(r) == "AuthorizationPermissionMismatch", kind
        assert _content(server, c, "new") == b"first", kind
        # An append blob is created the same way, and not replaced either.
        r = _put(server, c, "new", sas, {"x-ms-blob-type": "AppendBlob"})
        assert signing.error_code(r) == "AuthorizationPermissionMismatch", kind
    # With w the same request replaces the blob.
    r = _put(server, c, "new", _blob_sas(c, "new", "cw"), {"x-ms-blob-type": "BlockBlob"}, b"third")
    assert r.status_code == 201
    assert _content(server, c, "new") == b"third"
    r = _put(server, c, "new", _blob_sas(c, "new", "w"), {"x-ms-blob-type": "BlockBlob"}, b"4th")
    assert r.status_code == 201


def test_PutBlob_create_only_sdk(server, container):
    c = container.container_name
    blob = BlobClient(server.endpoint, c, "sdk", credential=_blob_sas(c, "sdk", "c"))
    blob.upload_blob(b"one")
    with pytest.raises(HttpResponseError) as e:
        blob.upload_blob(b"two", overwrite=True)
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    assert container.download_blob("sdk").readall() == b"one"


def test_PutBlockList_create_only(server, container):
    c = container.container_name
    body = (b'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>QUFBQQ==</Latest>'
            b'</BlockList>')
    container.upload_blob("taken", b"old")  # first: Put Blob drops uncommitted blocks
    for b in ("fresh", "taken"):
        r = raw(server, "PUT", c, b, query="comp=block&blockid=QUFBQQ%3D%3D", body=b"blk-" + b.encode())
        assert r.status_code == 201
    sas = _container_sas(c, "c")
    r = _put(server, c, "fresh", sas, body=body, extra="comp=blocklist")
    assert r.status_code == 201, r.text
    assert _content(server, c, "fresh") == b"blk-fresh"
    r = _put(server, c, "taken", sas, body=body, extra="comp=blocklist")
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "AuthorizationPermissionMismatch"
    assert _content(server, c, "taken") == b"old"
    # The blocks are still there for a caller that may replace.
    r = _put(server, c, "taken", _container_sas(c, "w"), body=body, extra="comp=blocklist")
    assert r.status_code == 201, r.text
    assert _content(server, c, "taken") == b"blk-taken"


@pytest.mark.parametrize("kind", ["async", "sync", "put_from_url"])
def test_Copy_create_only(server, container, kind):
    c = container.container_name
    container.upload_blob("src", b"source bytes")
    container.upload_blob("taken", b"old")
    src = _url(server, c, "src", _blob_sas(c, "src", "r"))
    headers = {"x-ms-copy-source": src}
    if kind == "sync":
        headers["x-ms-requires-sync"] = "true"
    if kind == "put_from_url":
        headers["x-ms-blob-type"] = "BlockBlob"
    sas = _container_sas(c, "c")
    r = _put(server, c, "copy", sas, headers)
    assert r.status_code in (201, 202), r.text
    assert _content(server, c, "copy") == b"source bytes"
    for target in ("taken", "copy"):
        r = _put(server, c, target, sas, headers)
        assert r.status_code == 403, (target, r.text)
        assert signing.error_code(r) == "AuthorizationPermissionMismatch"
    assert _content(server, c, "taken") == b"old"
    r = _put(server, c, "taken", _container_sas(c, "w"), headers)
    assert r.status_code in (201, 202), r.text
    assert _content(server, c, "taken") == b"source bytes"


def test_CreateOnly_other_operations_still_need_their_letters(server, container):
    c = container.container_name
    container.upload_blob("b", b"x")
    sas = _container_sas(c, "c")
    for query, headers in (("comp=metadata", {"x-ms-meta-k": "v"}),
                           ("comp=properties", {"x-ms-blob-content-type": "text/plain"})):
        r = _put(server, c, "b", sas, headers, extra=query)
        assert r.status_code == 403
        assert signing.error_code(r) == "AuthorizationPermissionMismatch"
    r = _put(server, c, "b2", sas, extra="comp=block&blockid=QUFBQQ%3D%3D", body=b"blk")
    assert signing.error_code(r) == "AuthorizationPermissionMismatch"


# ---- what a container SAS may not do ----

CONTAINER_LEVEL = [
    ("GET", "restype=container", {}),
    ("HEAD", "restype=container", {}),
    ("GET", "restype=container&comp=metadata", {}),
    ("HEAD", "restype=container&comp=metadata", {}),
    ("PUT", "restype=container&comp=metadata", {"x-ms-meta-k": "v"}),
    ("PUT", "restype=container&comp=lease", {"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"}),
    ("GET", "restype=container&comp=acl", {}),
    ("DELETE", "restype=container", {}),
]


@pytest.mark.parametrize("method,query,headers", CONTAINER_LEVEL,
                         ids=["%s?%s" % (m, q) for m, q, _ in CONTAINER_LEVEL])
def test_ContainerSas_cannot_touch_the_container(server, container, method, query, headers):
    c = container.container_name
    container.set_container_metadata({"secret": "1"})
    sas = _container_sas(c, "racwdxltmeop")
    h = {"x-ms-version": "2021-12-02"}
    h.update(headers)
    r = requests.request(method, _url(server, c, query=query + "&" + sas), headers=h, timeout=30)
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "AuthorizationFailure"
    assert "secret" not in r.headers.get("x-ms-meta-secret", "") and "x-ms-meta-secret" not in r.headers
    props = container.get_container_properties()
    assert props.metadata == {"secret": "1"}
    assert props.lease.state == "available"
    # An account SAS with the letters may.
    r = requests.request(method, _url(server, c, query=query + "&" + _account_sas("racwdl", "c")),
                         headers=h, timeout=30)
    assert r.status_code in (200, 201, 202), r.text


def test_ContainerSas_sdk_get_container_properties(server, container):
    c = container.container_name
    cc = ContainerClient(server.endpoint, c, credential=_container_sas(c, "rl"))
    with pytest.raises(HttpResponseError) as e:
        cc.get_container_properties()
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthorizationFailure"
    # What it is for still works: listing and reading blobs.
    container.upload_blob("a", b"A")
    assert [b.name for b in cc.list_blobs()] == ["a"]
    assert cc.download_blob("a").readall() == b"A"


# ---- a field given twice ----

def test_Sas_sig_twice_refused(server, container):
    c = container.container_name
    container.upload_blob("a", b"A")
    good = _blob_sas(c, "a", "r")
    assert requests.get(_url(server, c, "a", good), timeout=30).status_code == 200
    sig = urllib.parse.parse_qs(good)["sig"][0]
    for query in (good + "&sig=" + urllib.parse.quote(sig, safe=""),   # the same signature twice
                  good + "&sig=AAAA",                                  # a forged one after it
                  "sig=AAAA&" + good):                                 # and before it
        r = requests.get(_url(server, c, "a", query), timeout=30)
        assert r.status_code == 403, query
        assert signing.error_code(r) == "AuthenticationFailed"
        assert b"A" != r.content
