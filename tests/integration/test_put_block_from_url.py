"""Put Block From URL (issue 11, "Accounts"): a block staged from a source
URL's bytes, x-ms-source-range choosing a part, then committed by Put Block
List like any block. What this rests on: REST reference "Put Block From
URL" (PUT ?comp=block&blockid=... with x-ms-copy-source; the source is
public or carries a SAS, also for a source in the same account;
x-ms-source-range "bytes=start-end"; 201 with Content-MD5; blocks up to
4000 MiB) and the Python SDK's BlobClient.stage_block_from_url."""
import base64
import datetime
import hashlib
import uuid

from azure.storage.blob import BlobBlock, generate_blob_sas

import signing
from blob_util import raw
from strata_server import DEV_ACCOUNT, DEV_KEY

DATA = bytes(range(256)) * 64  # 16 KiB


def _sas_url(server, c, b):
    sas = generate_blob_sas(DEV_ACCOUNT, c, b, account_key=DEV_KEY, permission="r",
                            expiry=datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=1))
    return "http://127.0.0.1:%d/%s/%s/%s?%s" % (server.port, DEV_ACCOUNT, c, b, sas)


def _bid(n):
    return base64.b64encode(b"block-%03d" % n).decode()


def test_PutBlockFromUrl_sdk_ranges_then_commit(server, container):
    container.upload_blob("src", DATA)
    dst = container.get_blob_client("dst")
    url = _sas_url(server, container.container_name, "src")
    dst.stage_block_from_url(_bid(1), url, source_offset=0, source_length=1000)
    dst.stage_block_from_url(_bid(2), url, source_offset=1000, source_length=len(DATA) - 1000)
    dst.commit_block_list([BlobBlock(_bid(1)), BlobBlock(_bid(2))])
    assert dst.download_blob().readall() == DATA


def test_PutBlockFromUrl_answers_block_md5(server, container):
    container.upload_blob("src", DATA)
    r = raw(server, "PUT", container.container_name, "dst",
            query="comp=block&blockid=" + _bid(1),
            headers={"x-ms-copy-source": _sas_url(server, container.container_name, "src"),
                     "x-ms-source-range": "bytes=10-19"})
    assert r.status_code == 201, r.text
    assert r.headers["Content-MD5"] == base64.b64encode(hashlib.md5(DATA[10:20]).digest()).decode()
    blocks = container.get_blob_client("dst").get_block_list("uncommitted")[1]
    assert [b.size for b in blocks] == [10]


def test_PutBlockFromUrl_source_needs_sas_or_public(server, container):
    """As Copy Blob From URL: the request's own key does not cover the source."""
    container.upload_blob("src", DATA)
    src = "http://127.0.0.1:%d/%s/%s/src" % (server.port, DEV_ACCOUNT, container.container_name)
    r = raw(server, "PUT", container.container_name, "dst",
            query="comp=block&blockid=" + _bid(1), headers={"x-ms-copy-source": src})
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


def test_PutBlockFromUrl_bad_range_and_md5(server, container):
    container.upload_blob("src", DATA)
    url = _sas_url(server, container.container_name, "src")
    for rng in ("bytes=5-1", "5-10", "bytes=a-b"):
        r = raw(server, "PUT", container.container_name, "dst",
                query="comp=block&blockid=" + _bid(1),
                headers={"x-ms-copy-source": url, "x-ms-source-range": rng})
        assert r.status_code == 400, (rng, r.text)
        assert signing.error_code(r) == "InvalidHeaderValue"
    r = raw(server, "PUT", container.container_name, "dst", query="comp=block&blockid=" + _bid(1),
            headers={"x-ms-copy-source": url, "x-ms-source-range": "bytes=%d-%d" % (len(DATA), len(DATA) + 5)})
    assert r.status_code == 416, r.text
    r = raw(server, "PUT", container.container_name, "dst", query="comp=block&blockid=" + _bid(1),
            headers={"x-ms-copy-source": url,
                     "x-ms-source-content-md5": base64.b64encode(b"0" * 16).decode()})
    assert r.status_code == 400, r.text
    assert signing.error_code(r) == "Md5Mismatch"
    # Nothing was staged: the blob has no blocks at all.
    r = raw(server, "GET", container.container_name, "dst", query="comp=blocklist&blocklisttype=all")
    assert r.status_code == 404, r.text


def test_PutBlockFromUrl_missing_source(server, container):
    url = _sas_url(server, container.container_name, "nothere")
    r = raw(server, "PUT", container.container_name, "dst", query="comp=block&blockid=" + _bid(1),
            headers={"x-ms-copy-source": url})
    assert r.status_code == 404, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
