"""Put Block: block ids, Content-MD5, blob types, and no residue."""
import base64
import hashlib
import os
import socket
import statistics
import time
import urllib.parse
from email.utils import formatdate

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, BlobType

import signing
from blob_util import assert_no_residue, block_files, crc64_b64, md5_b64, raw
from strata_server import DEV_ACCOUNT, StrataServer


def bid(s):
    return base64.b64encode(s.encode()).decode()


def wire(s):
    """The id on the wire of a block the SDK stages as bid(s) (it encodes again)."""
    return base64.b64encode(bid(s).encode()).decode()


def test_PutBlock_stages_uncommitted(server, container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("block-1"), b"a" * 100)
    blob.stage_block(bid("block-2"), b"b" * 50)
    committed, uncommitted = blob.get_block_list("all")
    assert committed == []
    assert [(b.id, b.size) for b in uncommitted] == [(bid("block-1"), 100), (bid("block-2"), 50)]
    # A blob with only uncommitted blocks does not exist yet.
    with pytest.raises(ResourceNotFoundError) as e:
        blob.get_blob_properties()
    assert e.value.error_code == "BlobNotFound"
    assert [b.name for b in container.list_blobs()] == []
    assert_no_residue(server)


def test_PutBlock_raw_response(server, container):
    # From version 2019-02-02 Azure answers a block sent without Content-MD5
    # with the CRC-64 it computed, and no MD5.
    r = raw(server, "PUT", container.container_name, "b", query="comp=block&blockid=" + bid("x1"),
            body=b"abc")
    assert r.status_code == 201
    assert r.headers["x-ms-content-crc64"] == crc64_b64(b"abc")
    assert "Content-MD5" not in r.headers
    assert r.headers["x-ms-request-server-encrypted"] == "true"


def test_PutBlock_answers_md5_when_sent_one(server, container):
    q = "comp=block&blockid=" + bid("x1")
    r = raw(server, "PUT", container.container_name, "b", query=q, body=b"abc",
            headers={"Content-MD5": md5_b64(b"abc")})
    assert r.status_code == 201
    assert r.headers["Content-MD5"] == md5_b64(b"abc")
    assert "x-ms-content-crc64" not in r.headers
    # Without one, CRC-64 from the oldest version served on (issue 11:
    # 2019-02-02; 2018-11-09, which answered MD5, is refused now).
    r = raw(server, "PUT", container.container_name, "b", query=q, body=b"abc",
            headers={"x-ms-version": "2019-02-02"})
    assert r.status_code == 201
    assert r.headers["x-ms-content-crc64"] == crc64_b64(b"abc")
    assert "Content-MD5" not in r.headers


def test_PutBlock_checks_a_sent_crc64(server, container):
    q = "comp=block&blockid=" + bid("x1")
    body = bytes(range(256)) * 300  # more than one read, so the digest runs beside the reads
    r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
            headers={"x-ms-content-crc64": crc64_b64(body)})
    assert r.status_code == 201
    assert r.headers["x-ms-content-crc64"] == crc64_b64(body)
    r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
            headers={"x-ms-content-crc64": crc64_b64(body[:-1])})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Crc64Mismatch"
    for bad in ("not-base64!", base64.b64encode(b"1234567").decode()):
        r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
                headers={"x-ms-content-crc64": bad})
        assert r.status_code == 400
        assert r.headers["x-ms-error-code"] == "InvalidHeaderValue"
    r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
            headers={"x-ms-content-crc64": crc64_b64(body), "Content-MD5": md5_b64(body)})
    assert r.status_code == 400
    _, uncommitted = container.get_blob_client("b").get_block_list("uncommitted")
    assert [b.size for b in uncommitted] == [len(body)]  # only the accepted upload


def test_PutBlock_same_id_replaces(container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("same"), b"first")
    blob.stage_block(bid("same"), b"second, longer")
    _, uncommitted = blob.get_block_list("uncommitted")
    assert [(b.id, b.size) for b in uncommitted] == [(bid("same"), 14)]
    blob.commit_block_list([bid("same")])
    assert blob.download_blob().readall() == b"second, longer"


def test_PutBlock_missing_blockid(server, container):
    r = raw(server, "PUT", container.container_name, "b", query="comp=block", body=b"abc")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "MissingRequiredQueryParameter"
    assert_no_residue(server)


@pytest.mark.parametrize("blockid", ["%%%not-base64", "", base64.b64encode(b"x" * 65).decode()])
def test_PutBlock_invalid_blockid(server, container, blockid):
    r = raw(server, "PUT", container.container_name, "b",
            query="comp=block&blockid=" + urllib.parse.quote(blockid, safe=""), body=b"abc")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidQueryParameterValue"
    assert_no_residue(server)


def test_PutBlock_ids_of_different_lengths(server, container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("aaaa"), b"1")
    before = block_files(server)
    with pytest.raises(HttpResponseError) as e:
        blob.stage_block(bid("bbbbbbbb"), b"2")
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidBlobOrBlock"
    _, uncommitted = blob.get_block_list("uncommitted")
    assert [b.id for b in uncommitted] == [bid("aaaa")]
    assert block_files(server) == before
    assert_no_residue(server)


def test_PutBlock_id_length_must_match_committed(server, container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("aaaa"), b"1")
    blob.commit_block_list([bid("aaaa")])
    with pytest.raises(HttpResponseError) as e:
        blob.stage_block(bid("bb"), b"2")
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidBlobOrBlock"
    assert_no_residue(server)


def test_PutBlock_md5_mismatch(server, container):
    before = block_files(server)
    r = raw(server, "PUT", container.container_name, "b", query="comp=block&blockid=" + bid("m1"),
            headers={"Content-MD5": md5_b64(b"not it")}, body=b"data")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Md5Mismatch"
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client("b").get_block_list("all")
    assert block_files(server) == before
    assert_no_residue(server)


def test_PutBlock_md5_good(server, container):
    r = raw(server, "PUT", container.container_name, "b", query="comp=block&blockid=" + wire("m1"),
            headers={"Content-MD5": md5_b64(b"data")}, body=b"data")
    assert r.status_code == 201
    container.get_blob_client("b").stage_block(bid("m2"), b"more", validate_content=True)
    assert len(container.get_blob_client("b").get_block_list("uncommitted")[1]) == 2


def test_PutBlock_to_append_blob(server, container):
    blob = container.get_blob_client("ap")
    blob.create_append_blob()
    with pytest.raises(HttpResponseError) as e:
        blob.stage_block(bid("x"), b"1")
    assert e.value.status_code == 409
    assert e.value.error_code == "InvalidBlobType"
    assert blob.get_blob_properties().blob_type == BlobType.AppendBlob
    assert_no_residue(server)


def test_PutBlock_container_not_found(server, service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_blob_client(container_name, "b").stage_block(bid("x"), b"1")
    assert e.value.error_code == "ContainerNotFound"
    assert_no_residue(server)


def test_PutBlock_existing_blob_unchanged(container):
    blob = container.get_blob_client("b")
    blob.upload_blob(b"committed data")
    etag = blob.get_blob_properties().etag
    blob.stage_block(bid("new"), b"pending")
    props = blob.get_blob_properties()
    assert props.etag == etag
    assert blob.download_blob().readall() == b"committed data"


def test_PutBlock_no_block_files_outside_strata(server, container):
    blob = container.get_blob_client("dir/b")
    blob.stage_block(bid("x"), b"1")
    # Uncommitted blocks live under .strata, not in the container tree.
    assert os.listdir(os.path.join(server.root, container.container_name)) == []


# ---- the limit of uncommitted blocks, and what one more block costs

def head_only(server, method, path, query, headers):
    """Sends a signed request head with Expect: 100-continue and no body;
    returns the reply's head (the verdict must come without the body)."""
    headers = dict(headers, **{"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True),
                               "Expect": "100-continue"})
    headers["Authorization"] = signing.sign(method, path, query, headers)
    head = "%s %s?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, path, query, server.port) + \
        "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode())
        reply = b""
        while b"\r\n\r\n" not in reply and len(reply) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply


@pytest.fixture(scope="module")
def limited_server():
    # Azure's limit is 100,000 uncommitted blocks per blob; a hidden flag
    # lowers it so the test stays quick.
    s = StrataServer(extra_args=["--max-uncommitted-blocks", "4"]).start()
    yield s
    s.stop()


def test_PutBlock_uncommitted_block_limit(limited_server):
    svc = BlobServiceClient.from_connection_string(limited_server.connection_string)
    c = svc.create_container("limit")
    blob = c.get_blob_client("b")
    for i in range(4):
        blob.stage_block(bid("blk-%d" % i), b"x")
    q = "comp=block&blockid=" + urllib.parse.quote(wire("blk-4"), safe="")
    r = raw(limited_server, "PUT", "limit", "b", query=q, body=b"y")
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "BlockCountExceedsLimit"
    assert b"The uncommitted block count cannot exceed the maximum limit of 100,000 blocks." in r.content
    # Refused before the body is read.
    reply = head_only(limited_server, "PUT", "/%s/limit/b" % DEV_ACCOUNT, q,
                      {"Content-Length": str(1 << 30)})
    assert reply.startswith(b"HTTP/1.1 409"), reply[:300]
    assert b"BlockCountExceedsLimit" in reply
    assert len(blob.get_block_list("uncommitted")[1]) == 4
    # A block of an id already staged replaces it: still 4 blocks.
    blob.stage_block(bid("blk-1"), b"again")
    assert sorted(b.size for b in blob.get_block_list("uncommitted")[1]) == [1, 1, 1, 5]
    # Other blobs have their own count; a commit makes room again.
    c.get_blob_client("other").stage_block(bid("blk-4"), b"o")
    blob.commit_block_list([bid("blk-%d" % i) for i in range(4)])
    assert blob.download_blob().readall() == b"xagainxx"
    blob.stage_block(bid("blk-4"), b"y")
    assert_no_residue(limited_server)


def test_PutBlock_cost_does_not_grow_with_uncommitted_blocks(server, container):
    # 20,000 uncommitted blocks of one blob, laid down as an older strata
    # left them (one entry per block id, no tally): the first Put Block counts
    # them once; after that one more block costs what it costs on a blob with
    # a single block (it used to list and stat every block: ~60 ms at 17,800).
    n = 20000
    name = "%s/many" % container.container_name
    d = os.path.join(server.root, ".strata", "blocks", hashlib.md5(name.encode()).hexdigest())
    os.makedirs(d)
    with open(os.path.join(d, ".name"), "w") as f:
        f.write(name)
    first = os.path.join(d, bid("b%07d" % 0).encode().hex())
    with open(first, "wb") as f:
        f.write(b"x")
    for i in range(1, n):
        os.link(first, os.path.join(d, bid("b%07d" % i).encode().hex()))
    many, few = container.get_blob_client("many"), container.get_blob_client("few")
    many.stage_block(bid("b%07d" % n), b"y")  # counts the blocks once
    few.stage_block(bid("b%07d" % 0), b"y")
    t_many, t_few = [], []
    for i in range(1, 10):  # interleaved, so both see the same machine load
        for blob, times in ((many, t_many), (few, t_few)):
            t = time.perf_counter()
            blob.stage_block(bid("b%07d" % (n + i)), b"y")
            times.append(time.perf_counter() - t)
    med_many, med_few = statistics.median(t_many), statistics.median(t_few)
    assert med_many < 2 * med_few + 0.015, (med_many, med_few)
    assert len(many.get_block_list("uncommitted")[1]) == n + 10
