"""Quotas: "max_bytes" and "max_files" per container (config file). A write
that would pass a limit is refused with 403 ShareSizeLimitReached, changes
nothing and leaves no residue; deletes give the room back; the usage of
what is already there is counted at start. Uncommitted blocks count against
"max_bytes" from Put Block until they are committed (then the blob's bytes
replace theirs) or dropped."""
import base64
import socket
from email.utils import formatdate
import json
import os
import tempfile
import urllib.parse

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

import signing
from strata_server import DEV_ACCOUNT, StrataServer

LIMITS = {
    "qbytes": {"max_bytes": 1000},
    "qfiles": {"max_files": 3},
    "qappend": {"max_bytes": 1000},
    "qblocks": {"max_bytes": 1000},
    "qdfs": {"max_bytes": 1000, "max_files": 2},
    "qcopy": {"max_bytes": 1000},
    "qrename": {"max_files": 1},
    "qearly": {"max_bytes": 1000},
    "qstage": {"max_bytes": 1000},
    "qstage-early": {"max_bytes": 1000},
    "qstage-over": {"max_bytes": 1000},
}


def staged_files(tmp):
    """Files staged in any gateway's directory under a .strata/tmp."""
    return sorted(os.path.relpath(os.path.join(dp, f), tmp) for dp, _, fs in os.walk(tmp) for f in fs)


def write_config(base, containers):
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"containers": containers}, f)
    return cfg


@pytest.fixture(scope="module")
def qserver():
    base = tempfile.mkdtemp(prefix="strata-quota-")
    s = StrataServer(root=os.path.join(base, "root"), config=write_config(base, LIMITS)).start()
    yield s
    s.stop()


@pytest.fixture
def svc(qserver):
    return BlobServiceClient.from_connection_string(qserver.connection_string)


@pytest.fixture
def lake(qserver):
    return qserver.lake_client()


def fresh(svc, name):
    try:
        svc.delete_container(name)
    except Exception:
        pass
    return svc.create_container(name)


def expect_full(fn):
    with pytest.raises(HttpResponseError) as e:
        fn()
    assert e.value.status_code == 403, e.value
    assert e.value.error_code == "ShareSizeLimitReached"


def no_residue(server):
    assert staged_files(os.path.join(server.root, ".strata", "tmp")) == []


def test_Quota_bytes_put_blob(qserver, svc):
    c = fresh(svc, "qbytes")
    c.upload_blob("a", b"a" * 600)
    expect_full(lambda: c.upload_blob("b", b"b" * 401))
    assert not c.get_blob_client("b").exists()
    c.upload_blob("b", b"b" * 400)  # exactly at the limit
    # Overwriting counts the difference: a 600-byte blob may become 600 again,
    # not 601, and a refused overwrite leaves the old blob intact.
    c.upload_blob("a", b"A" * 600, overwrite=True)
    expect_full(lambda: c.upload_blob("a", b"X" * 601, overwrite=True))
    assert c.download_blob("a").readall() == b"A" * 600
    no_residue(qserver)
    # A delete gives its bytes back.
    c.delete_blob("b")
    c.upload_blob("c", b"c" * 400)
    no_residue(qserver)


def test_Quota_files(qserver, svc):
    c = fresh(svc, "qfiles")
    for n in ["x/1", "x/2", "3"]:
        c.upload_blob(n, b"n")
    expect_full(lambda: c.upload_blob("x/4", b"n"))
    assert not c.get_blob_client("x/4").exists()
    assert not os.path.exists(os.path.join(qserver.root, "qfiles", "x", "4"))
    c.upload_blob("3", b"replaced", overwrite=True)  # a replacement is no new file
    assert c.download_blob("3").readall() == b"replaced"
    c.delete_blob("x/1")
    c.upload_blob("x/4", b"n")
    no_residue(qserver)


def test_Quota_append_block(qserver, svc):
    c = fresh(svc, "qappend")
    b = c.get_blob_client("log")
    b.create_append_blob()
    b.append_block(b"l" * 900)
    expect_full(lambda: b.append_block(b"m" * 101))
    assert b.download_blob().readall() == b"l" * 900
    b.append_block(b"m" * 100)
    assert b.get_blob_properties().size == 1000
    no_residue(qserver)


def test_Quota_put_block_list(qserver, svc):
    c = fresh(svc, "qblocks")
    c.upload_blob("old", b"o" * 500)
    b = c.get_blob_client("big")
    ids = [base64.b64encode(b"blk-%d" % i).decode() for i in range(3)]
    for i in ids[:2]:
        b.stage_block(i, b"z" * 200)  # 900 bytes with the staged blocks
    # A list naming a block twice makes a blob larger than its blocks: 600
    # bytes in place of the 400 staged would pass the limit.
    expect_full(lambda: b.commit_block_list([ids[0], ids[0], ids[1]]))
    assert not b.exists()
    # The uncommitted blocks stay (as on Azure after a failed commit).
    assert len(b.get_block_list("uncommitted")[1]) == 2
    b.commit_block_list(ids[:2])
    assert b.download_blob().readall() == b"z" * 400
    assert c.download_blob("old").readall() == b"o" * 500
    # Committed, the 400 bytes count once: 100 more fit, 101 do not.
    b2 = c.get_blob_client("more")
    b2.stage_block(ids[2], b"m" * 100)
    expect_full(lambda: c.upload_blob("one", b"1"))
    no_residue(qserver)


def test_Quota_put_block(qserver, svc):
    c = fresh(svc, "qstage")
    b = c.get_blob_client("staged")
    ids = [base64.b64encode(b"blk-%d" % i).decode() for i in range(3)]
    b.stage_block(ids[0], b"a" * 600)
    # Uncommitted bytes count: a block that would pass the limit is refused,
    # and leaves nothing.
    expect_full(lambda: b.stage_block(ids[1], b"b" * 401))
    assert [x.id for x in b.get_block_list("uncommitted")[1]] == [ids[0]]
    expect_full(lambda: c.upload_blob("other", b"o" * 401))
    b.stage_block(ids[1], b"b" * 400)  # exactly at the limit
    # A replacement counts the difference.
    expect_full(lambda: b.stage_block(ids[0], b"A" * 601))
    b.stage_block(ids[0], b"A" * 500)
    c.upload_blob("other", b"o" * 100)
    c.delete_blob("other")
    # The commit's bytes replace the blocks' (never both at once).
    b.commit_block_list(ids[:2])
    assert b.download_blob().readall() == b"A" * 500 + b"b" * 400
    expect_full(lambda: c.upload_blob("other", b"o" * 101))
    # A Put Blob over the blob drops its blocks, and gives their bytes back.
    b.stage_block(ids[2], b"c" * 100)
    b.upload_blob(b"new", overwrite=True)
    c.upload_blob("other", b"o" * 997)
    no_residue(qserver)


def test_Quota_put_blob_over_staged_blocks(qserver, svc):
    c = fresh(svc, "qstage-over")
    b = c.get_blob_client("b")
    b.stage_block(base64.b64encode(b"blk-0").decode(), b"a" * 900)
    # A Put Blob drops the blob's blocks: its 500 bytes replace their 900,
    # so it fits (checked before the body too).
    b.upload_blob(b"p" * 500)
    assert b.get_block_list("uncommitted")[1] == []
    c.upload_blob("other", b"o" * 500)
    expect_full(lambda: c.upload_blob("third", b"t"))
    no_residue(qserver)


def test_Quota_put_block_refused_before_the_body_is_sent(qserver, svc):
    c = fresh(svc, "qstage-early")
    c.get_blob_client("x").stage_block(base64.b64encode(b"blk-0").decode(), b"a" * 10)
    path = "/%s/qstage-early/x" % DEV_ACCOUNT
    query = "comp=block&blockid=" + urllib.parse.quote(
        base64.b64encode(base64.b64encode(b"blk-1")).decode(), safe="")
    headers = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True),
               "Content-Length": str(1 << 30), "Expect": "100-continue"}
    headers["Authorization"] = signing.sign("PUT", path, query, headers)
    head = "PUT %s?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (path, query, qserver.port) + \
        "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", qserver.port), timeout=10) as sock:
        sock.sendall(head.encode())
        reply = b""
        while b"\r\n\r\n" not in reply and len(reply) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.split(b"\r\n", 1)[0].startswith(b"HTTP/1.1 403"), reply[:300]
    assert b"sharesizelimitreached" in reply.lower()
    assert len(c.get_blob_client("x").get_block_list("uncommitted")[1]) == 1
    no_residue(qserver)


def test_Quota_copy_blob(qserver, svc):
    c = fresh(svc, "qcopy")
    c.upload_blob("src", b"s" * 600)
    dst = c.get_blob_client("dst")
    expect_full(lambda: dst.start_copy_from_url(c.get_blob_client("src").url))
    assert not dst.exists()
    no_residue(qserver)


def test_Quota_dfs_create_append_flush(qserver, svc, lake):
    fresh(svc, "qdfs")
    fs = lake.get_file_system_client("qdfs")
    f = fs.create_file("data/one.bin")
    f.append_data(b"1" * 700, 0, 700)
    f.flush_data(700)
    # An append that would pass the byte limit is refused before staging.
    expect_full(lambda: f.append_data(b"2" * 301, 700, 301))
    f.append_data(b"2" * 300, 700, 300)
    f.flush_data(1000)
    assert f.download_file().readall() == b"1" * 700 + b"2" * 300
    fs.create_file("two.bin")  # the second file: at the file limit
    expect_full(lambda: fs.create_file("three.bin"))
    assert not fs.get_file_client("three.bin").exists()
    fs.create_directory("dirs-do-not-count")
    # A recursive delete gives the tree's bytes and files back.
    fs.get_directory_client("data").delete_directory()
    g = fs.create_file("again.bin")
    g.append_data(b"3" * 1000, 0, 1000)
    g.flush_data(1000)
    no_residue(qserver)


def test_Quota_rename_between_containers(qserver, svc, lake):
    fresh(svc, "qrename")
    fresh(svc, "qfree")
    free = lake.get_file_system_client("qfree")
    free.create_file("t/a")
    free.create_file("t/b")
    # Two files into a container that takes one: refused, nothing moved.
    expect_full(lambda: free.get_directory_client("t").rename_directory("qrename/t"))
    assert free.get_file_client("t/a").exists()
    free.get_file_client("t/b").delete_file()
    free.get_directory_client("t").rename_directory("qrename/t")
    q = lake.get_file_system_client("qrename")
    assert q.get_file_client("t/a").exists()
    expect_full(lambda: q.create_file("second"))
    # Moving it back out frees the room again.
    q.get_directory_client("t").rename_directory("qfree/back")
    q.create_file("second")


def test_Quota_refused_before_the_body_is_sent(qserver, svc):
    fresh(svc, "qearly")
    # Expect: 100-continue and no body: the verdict must come without it.
    path = "/%s/qearly/big.bin" % DEV_ACCOUNT
    headers = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True),
               "x-ms-blob-type": "BlockBlob", "Content-Length": str(1 << 30),
               "Expect": "100-continue"}
    headers["Authorization"] = signing.sign("PUT", path, "", headers)
    head = "PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (path, qserver.port) + \
        "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", qserver.port), timeout=10) as sock:
        sock.sendall(head.encode())
        reply = b""
        while b"\r\n\r\n" not in reply and len(reply) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 403"), reply[:300]
    assert b"x-ms-error-code: ShareSizeLimitReached" in reply.lower().replace(
        b"sharesizelimitreached", b"ShareSizeLimitReached")
    assert not svc.get_container_client("qearly").get_blob_client("big.bin").exists()
    no_residue(qserver)


def test_Quota_existing_tree_is_counted_at_start():
    base = tempfile.mkdtemp(prefix="strata-quota-start-")
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "pre", "d"))
    with open(os.path.join(root, "pre", "d", "f"), "wb") as f:
        f.write(b"x" * 800)
    view = os.path.join(base, "view")
    os.makedirs(view)
    for i in range(2):
        with open(os.path.join(view, "v%d" % i), "wb") as f:
            f.write(b"v")
    cfg = write_config(base, {"pre": {"max_bytes": 1000},
                              "vqq": {"path": view, "max_files": 2}})
    s = StrataServer(root=root, config=cfg).start()
    try:
        svc = BlobServiceClient.from_connection_string(s.connection_string)
        pre = svc.get_container_client("pre")
        expect_full(lambda: pre.upload_blob("g", b"y" * 201))
        pre.upload_blob("g", b"y" * 200)
        vq = svc.get_container_client("vqq")
        expect_full(lambda: vq.upload_blob("v2", b"v"))
        assert sorted(os.listdir(view)) == [".strata", "v0", "v1"]
        assert staged_files(os.path.join(view, ".strata", "tmp")) == []
    finally:
        s.stop()


def test_Quota_config_refuses_bad_limits():
    base = tempfile.mkdtemp(prefix="strata-quota-bad-")
    for bad in [{"c1x": {"max_bytes": -1}}, {"c1x": {"max_files": "ten"}},
                {"c1x": {"max_bytes": 0}}, {"c1x": {"size": 10}}, {"Bad_Name": {"max_files": 1}}]:
        with pytest.raises(RuntimeError):
            StrataServer(root=os.path.join(base, "root"),
                         config=write_config(base, bad)).start(timeout=10)
