"""Copy sources in another account of this server (issue 11, "Accounts"): as
on Azure, a copy reads a source in any account, authorized by that account:
a SAS of the source account in the source URL (verified with its keys), or
public access on the source container. The destination's credential (the
key of account A) never reaches a private blob of account B: 403
CannotVerifyCopySource. What this rests on: "Copy Blob" and "Copy Blob From
URL" (REST reference: the source may be in another account, authorized by
a SAS or public; a source in the same account may use the request's own
Shared Key), and the recorded SDK tests that copy across accounts with a
source SAS (azure-sdk-for-python, test_common_blob.py,
test_copy_blob_async_private_blob_with_sas)."""
import base64
import datetime
import json
import os
import tempfile
import uuid

import pytest
from azure.storage.blob import BlobServiceClient, generate_blob_sas, generate_container_sas

import signing
from blob_util import raw
from strata_server import DEV_ACCOUNT, DEV_KEY, StrataServer

SRC_ACCOUNT = "bravo"
SRC_KEY = base64.b64encode(b"b" * 64).decode()
SRC_KEY2 = base64.b64encode(b"c" * 64).decode()
DATA = b"bravo's private bytes"


@pytest.fixture(scope="module")
def xserver():
    base = tempfile.mkdtemp(prefix="strata-xacct-")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"accounts": [{"name": SRC_ACCOUNT, "key": SRC_KEY, "key2": SRC_KEY2,
                                 "root": os.path.join(base, SRC_ACCOUNT)}]}, f)
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg).start()
    yield s
    s.stop()


def _svc(server, account, key):
    return BlobServiceClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
        "BlobEndpoint=http://127.0.0.1:%d/%s;" % (account, key, server.port, account))


@pytest.fixture
def src(xserver):
    """A private container of account bravo holding blob "b"."""
    c = _svc(xserver, SRC_ACCOUNT, SRC_KEY).create_container("s" + uuid.uuid4().hex[:16])
    c.upload_blob("b", DATA)
    return c


@pytest.fixture
def dst(xserver):
    return _svc(xserver, DEV_ACCOUNT, DEV_KEY).create_container("d" + uuid.uuid4().hex[:16])


def _exp():
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


def _url(server, c, b="b", query="", account=SRC_ACCOUNT):
    return "http://127.0.0.1:%d/%s/%s/%s%s" % (server.port, account, c, b,
                                               "?" + query if query else "")


def _headers(kind, source):
    h = {"x-ms-copy-source": source}
    if kind == "sync":
        h["x-ms-requires-sync"] = "true"
    elif kind == "put_from_url":
        h["x-ms-blob-type"] = "BlockBlob"
    return h


KINDS = ["async", "sync", "put_from_url"]


def _read(server, c, b):
    return _svc(server, DEV_ACCOUNT, DEV_KEY).get_blob_client(c, b).download_blob().readall()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", [SRC_KEY, SRC_KEY2])
def test_CrossAccountCopy_source_sas_of_the_other_account(xserver, src, dst, kind, key):
    """A SAS of bravo (made with key1 or key2) reads bravo's private blob."""
    sas = generate_blob_sas(SRC_ACCOUNT, src.container_name, "b", account_key=key,
                            permission="r", expiry=_exp())
    r = raw(xserver, "PUT", dst.container_name, "copy",
            headers=_headers(kind, _url(xserver, src.container_name, query=sas)))
    assert r.status_code in (201, 202), r.text
    assert _read(xserver, dst.container_name, "copy") == DATA


@pytest.mark.parametrize("kind", KINDS)
def test_CrossAccountCopy_destination_key_does_not_reach_other_account(xserver, src, dst, kind):
    """The request is signed with devstoreaccount1's key; bravo's blob is
    private and the source URL carries no SAS."""
    r = raw(xserver, "PUT", dst.container_name, "copy",
            headers=_headers(kind, _url(xserver, src.container_name)))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert raw(xserver, "HEAD", dst.container_name, "copy").status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_CrossAccountCopy_sas_of_the_destination_account_is_refused(xserver, src, dst, kind):
    """A SAS signed with devstoreaccount1's key names bravo's blob: it does
    not verify with bravo's keys."""
    sas = generate_blob_sas(SRC_ACCOUNT, src.container_name, "b", account_key=DEV_KEY,
                            permission="r", expiry=_exp())
    r = raw(xserver, "PUT", dst.container_name, "copy",
            headers=_headers(kind, _url(xserver, src.container_name, query=sas)))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


def test_CrossAccountCopy_sas_without_read_is_refused(xserver, src, dst):
    sas = generate_container_sas(SRC_ACCOUNT, src.container_name, account_key=SRC_KEY,
                                 permission="w", expiry=_exp())
    r = raw(xserver, "PUT", dst.container_name, "copy",
            headers=_headers("sync", _url(xserver, src.container_name, query=sas)))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


@pytest.mark.parametrize("kind", KINDS)
def test_CrossAccountCopy_public_source_container(xserver, dst, kind):
    pub = _svc(xserver, SRC_ACCOUNT, SRC_KEY).create_container(
        "p" + uuid.uuid4().hex[:16], public_access="blob")
    pub.upload_blob("b", b"public bytes")
    r = raw(xserver, "PUT", dst.container_name, "copy",
            headers=_headers(kind, _url(xserver, pub.container_name)))
    assert r.status_code in (201, 202), r.text
    assert _read(xserver, dst.container_name, "copy") == b"public bytes"


def test_CrossAccountCopy_host_style_source(xserver, src, dst):
    """http://bravo.DOMAIN:PORT/c/b names account bravo as Azure's URLs do."""
    sas = generate_blob_sas(SRC_ACCOUNT, src.container_name, "b", account_key=SRC_KEY,
                            permission="r", expiry=_exp())
    url = "http://%s.blob.localhost:%d/%s/b?%s" % (SRC_ACCOUNT, xserver.port,
                                                  src.container_name, sas)
    r = raw(xserver, "PUT", dst.container_name, "copy", headers=_headers("sync", url))
    assert r.status_code == 202, r.text
    assert _read(xserver, dst.container_name, "copy") == DATA


def test_CrossAccountCopy_sdk_start_copy_from_url(xserver, src, dst):
    """The Python SDK's own call, with a SAS URL of the other account."""
    sas = generate_blob_sas(SRC_ACCOUNT, src.container_name, "b", account_key=SRC_KEY,
                            permission="r", expiry=_exp())
    b = dst.get_blob_client("sdkcopy")
    props = b.start_copy_from_url(_url(xserver, src.container_name, query=sas))
    assert props["copy_status"] == "success"
    assert b.download_blob().readall() == DATA


def test_CrossAccountCopy_unknown_account_is_refused(xserver, dst):
    r = raw(xserver, "PUT", dst.container_name, "copy",
            headers=_headers("sync", _url(xserver, "c", account="nosuchacct")))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


def test_CrossAccountCopy_put_block_from_url(xserver, src, dst):
    sas = generate_blob_sas(SRC_ACCOUNT, src.container_name, "b", account_key=SRC_KEY2,
                            permission="r", expiry=_exp())
    r = raw(xserver, "PUT", dst.container_name, "blk", query="comp=block&blockid=QUFBQQ%3D%3D",
            headers={"x-ms-copy-source": _url(xserver, src.container_name, query=sas)})
    assert r.status_code == 201, r.text
    r = raw(xserver, "PUT", dst.container_name, "blk2", query="comp=block&blockid=QUFBQQ%3D%3D",
            headers={"x-ms-copy-source": _url(xserver, src.container_name)})
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
