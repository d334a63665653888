"""Disk full (ENOSPC): the server's root is a small tmpfs. Writes that do not
fit fail with an Azure error, the old blob stays intact (content, ETag,
Content-MD5), nothing is left in .strata/tmp, and the server recovers once
space is free again.

Azure has no error code for a full disk (its capacity is not the client's
concern), so a server-side status is expected: 500 InternalError or 503
ServerBusy, with the XML error body. Needs root (mount); skipped otherwise."""
import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import BlobServiceClient

import signing
from strata_server import StrataServer

MiB = 1 << 20
FS_SIZE = 8 * MiB


@pytest.fixture
def small_root():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tempfile.mkdtemp(prefix="strata-enospc-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % FS_SIZE, "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        os.rmdir(mnt)
        pytest.skip("cannot mount a tmpfs here: %s" % (p.stderr.strip() or p.returncode))
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(mnt, ignore_errors=True)


@pytest.fixture
def full_server(small_root):
    s = StrataServer(root=small_root).start()
    yield s
    s.stop()


def client(server):
    return BlobServiceClient.from_connection_string(
        server.connection_string, retry_total=0, max_single_put_size=64 * MiB)


def payload(size, seed):
    block = hashlib.sha256(b"%d" % seed).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def assert_disk_full_error(resp):
    assert resp.status_code in (500, 503), (resp.status_code, resp.text[:500])
    code = resp.headers.get("x-ms-error-code")
    assert code in ("InternalError", "ServerBusy"), code
    assert resp.headers.get("x-ms-request-id")
    root = ET.fromstring(resp.content)
    assert root.tag == "Error" and root.findtext("Code") == code
    # No internal detail reaches the client: no errno text, no host path.
    msg = root.findtext("Message") or ""
    for leak in ("No space", "ENOSPC", "errno", "strata-enospc", ".strata", "/tmp"):
        assert leak not in msg, msg


def tmp_entries(root):
    # Files staged in any gateway's directory under .strata/tmp.
    tmp = os.path.join(root, ".strata", "tmp")
    return sorted(os.path.relpath(os.path.join(dp, f), tmp) for dp, _, fs in os.walk(tmp) for f in fs)


def assert_intact(server, container, name, data, props):
    bc = container.get_blob_client(name)
    assert bc.download_blob().readall() == data
    now = bc.get_blob_properties()
    assert now.etag == props.etag
    assert now.size == len(data)
    assert bytes(now.content_settings.content_md5) == hashlib.md5(data).digest()
    assert now.metadata == props.metadata
    with open(os.path.join(server.root, container.container_name, name), "rb") as f:
        assert f.read() == data


def test_DiskFull_putBlobOverwriteKeepsOldBlob(full_server):
    cc = client(full_server).create_container("full")
    old = payload(1 * MiB, 1)
    cc.upload_blob("keep.bin", old, metadata={"version": "old"})
    props = cc.get_blob_client("keep.bin").get_blob_properties()

    # Larger than the whole file system: fails while the body is spooled.
    r = signing.request(full_server, "PUT", "/full/keep.bin",
                        headers={"x-ms-blob-type": "BlockBlob", "x-ms-meta-version": "new"},
                        body=payload(12 * MiB, 2))
    assert_disk_full_error(r)
    assert tmp_entries(full_server.root) == []
    assert_intact(full_server, cc, "keep.bin", old, props)

    # Fits the spool but not spool + committed copy: also fails cleanly.
    r = signing.request(full_server, "PUT", "/full/keep.bin",
                        headers={"x-ms-blob-type": "BlockBlob"}, body=payload(6 * MiB, 3))
    if r.status_code < 300:
        # Committing by rename needs no second copy: then the new blob is whole.
        assert cc.download_blob("keep.bin").readall() == payload(6 * MiB, 3)
    else:
        assert_disk_full_error(r)
        assert_intact(full_server, cc, "keep.bin", old, props)
    assert tmp_entries(full_server.root) == []


def test_DiskFull_putBlockAndCommit(full_server):
    cc = client(full_server).create_container("blocks")
    old = payload(1 * MiB, 4)
    cc.upload_blob("b.bin", old)
    props = cc.get_blob_client("b.bin").get_blob_properties()

    # A block larger than the file system.
    bid = base64.b64encode(b"huge-000").decode()
    r = signing.request(full_server, "PUT", "/blocks/b.bin", "comp=block&blockid=" + bid,
                        body=payload(12 * MiB, 5))
    assert_disk_full_error(r)
    assert tmp_entries(full_server.root) == []
    blocks = cc.get_blob_client("b.bin").get_block_list("uncommitted")[1]
    assert [b.id for b in blocks] == []

    # Blocks that fit, whose assembled blob does not.
    bc = cc.get_blob_client("b.bin")
    ids = []
    for i in range(3):
        ids.append(base64.b64encode(b"part-%03d" % i).decode())
        r = signing.request(full_server, "PUT", "/blocks/b.bin", "comp=block&blockid=" + ids[-1],
                            body=payload(2 * MiB, 10 + i))
        assert r.status_code == 201, r.text
    def block_list(order):
        return ("<BlockList>%s</BlockList>" % "".join("<Latest>%s</Latest>" % i for i in order)).encode()
    # Out of upload order the blocks are copied: 1 MiB blob + 6 MiB of blocks
    # used, the 6 MiB copy cannot fit.
    r = signing.request(full_server, "PUT", "/blocks/b.bin", "comp=blocklist", body=block_list(ids[::-1]))
    assert_disk_full_error(r)
    assert_intact(full_server, cc, "b.bin", old, props)
    assert tmp_entries(full_server.root) == []
    # The blocks are still there, uncommitted, as after any failed commit.
    assert len(bc.get_block_list("uncommitted")[1]) == 3
    # In upload order they already are the blob's bytes: the commit needs no
    # space and succeeds on the full file system.
    r = signing.request(full_server, "PUT", "/blocks/b.bin", "comp=blocklist", body=block_list(ids))
    assert r.status_code == 201, r.text
    assert bc.download_blob().readall() == b"".join(payload(2 * MiB, 10 + i) for i in range(3))
    assert bc.get_block_list("uncommitted")[1] == []
    assert tmp_entries(full_server.root) == []


def test_DiskFull_fullThenRecovers(full_server):
    cc = client(full_server).create_container("recover")
    old = payload(512 * 1024, 20)
    cc.upload_blob("keep.bin", old)
    props = cc.get_blob_client("keep.bin").get_blob_properties()
    # Fill the file system to the last byte behind the server's back.
    filler = os.path.join(full_server.root, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (MiB, 4096):
            for _ in range(FS_SIZE // chunk + 1):
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError:
                    break
    finally:
        os.close(fd)
    try:
        for method, path, query, headers, body, must_fail in [
                ("PUT", "/recover/keep.bin", "", {"x-ms-blob-type": "BlockBlob"},
                 payload(300 * 1024, 21), True),
                ("PUT", "/recover/new.bin", "", {"x-ms-blob-type": "BlockBlob"},
                 payload(300 * 1024, 22), True),
                ("PUT", "/recover/keep.bin", "comp=block&blockid=" +
                 base64.b64encode(b"x").decode(), {}, payload(300 * 1024, 23), True),
                # Empty files and metadata may still fit (inodes, xattrs).
                ("PUT", "/recover/app.bin", "", {"x-ms-blob-type": "AppendBlob"}, b"", False),
                ("PUT", "/recover/keep.bin", "comp=metadata", {"x-ms-meta-k": "v" * 4000}, b"",
                 False),
        ]:
            r = signing.request(full_server, method, path, query, headers=headers, body=body)
            if must_fail or r.status_code >= 300:
                assert_disk_full_error(r)
            if "metadata" in query and r.status_code < 300:
                props = cc.get_blob_client("keep.bin").get_blob_properties()
            assert tmp_entries(full_server.root) == []
            assert_intact(full_server, cc, "keep.bin", old, props)
    finally:
        os.unlink(filler)
    # Space is back: writes work again.
    cc.upload_blob("after.bin", payload(2 * MiB, 30), overwrite=True)
    assert cc.download_blob("after.bin").readall() == payload(2 * MiB, 30)
    cc.upload_blob("keep.bin", b"new", overwrite=True)
    assert cc.download_blob("keep.bin").readall() == b"new"
    assert tmp_entries(full_server.root) == []
