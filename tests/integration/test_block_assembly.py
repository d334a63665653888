"""Put Block bodies written in place into the blob's assembly file: blocks
committed in upload order become the blob without a copy; every other list,
re-uploaded ids, refused or aborted bodies and chunked bodies still give the
exact bytes, and nothing is left behind."""
import base64
import glob
import hashlib
import os
import socket

import requests
from azure.storage.blob import BlobServiceClient

from blob_util import assert_no_residue, block_files, md5_b64, raw
import signing
from strata_server import DEV_ACCOUNT

MiB = 1024 * 1024


def bid(i):
    return base64.b64encode(b"block-%04d" % i).decode()


def data(i, size=MiB):
    return hashlib.sha256(b"%d" % i).digest() * (size // 32)


def put_block(server, container, name, i, body, headers=None):
    return raw(server, "PUT", container.container_name, name,
               query="comp=block&blockid=" + bid(i), headers=headers, body=body)


def commit(server, container, name, ids):
    body = "<BlockList>%s</BlockList>" % "".join("<Latest>%s</Latest>" % bid(i) for i in ids)
    return raw(server, "PUT", container.container_name, name, query="comp=blocklist",
               body=body.encode())


def signed(method, container, name, query, headers):
    """Path and headers of a SharedKey-signed request, for bodies the
    helpers cannot send (cut short, chunked)."""
    path = "/%s/%s/%s" % (DEV_ACCOUNT, container.container_name, name)
    headers = dict(headers, **{"x-ms-version": "2021-12-02",
                               "x-ms-date": signing.formatdate(usegmt=True)})
    headers["Authorization"] = signing.sign(method, path, query, headers)
    return path + "?" + query, headers


def assembly_files(server):
    return glob.glob(os.path.join(server.root, ".strata", "blocks", "*", "asm.*"))


def blob_file(server, container, name):
    return os.path.join(server.root, container.container_name, name)


def test_blocks_in_upload_order_become_the_blob_without_a_copy(server, container):
    for i in range(4):
        assert put_block(server, container, "in-order", i, data(i)).status_code == 201
    [asm] = assembly_files(server)
    ino = os.stat(asm).st_ino
    r = commit(server, container, "in-order", range(4))
    assert r.status_code == 201, r.text
    assert os.stat(blob_file(server, container, "in-order")).st_ino == ino
    blob = container.get_blob_client("in-order")
    assert blob.download_blob().readall() == b"".join(data(i) for i in range(4))
    committed, uncommitted = blob.get_block_list("all")
    assert [b.size for b in committed] == [MiB] * 4 and uncommitted == []
    assert block_files(server) == []
    assert_no_residue(server)


def test_a_parallel_sdk_upload_round_trips(server, container):
    payload = os.urandom(9 * MiB + 12345)
    # The SDK's own upload: 1 MiB blocks, four in flight.
    sdk = BlobServiceClient.from_connection_string(server.connection_string, max_block_size=MiB,
                                                   max_single_put_size=MiB)
    blob = sdk.get_blob_client(container.container_name, "parallel.bin")
    blob.upload_blob(payload, max_concurrency=4)
    assert blob.download_blob().readall() == payload
    assert len(blob.get_block_list("committed")[0]) == 10
    assert block_files(server) == []
    assert_no_residue(server)


def test_other_lists_are_copied_from_the_blocks_places(server, container):
    for i in range(4):
        assert put_block(server, container, "reorder", i, data(i)).status_code == 201
    r = commit(server, container, "reorder", [3, 1])
    assert r.status_code == 201, r.text
    blob = container.get_blob_client("reorder")
    assert blob.download_blob().readall() == data(3) + data(1)
    # The unlisted blocks went with the commit, the assembly file too.
    assert blob.get_block_list("uncommitted")[1] == []
    assert assembly_files(server) == []
    # A prefix of the upload is not the whole file: copied as well.
    for i in range(3):
        assert put_block(server, container, "prefix", i, data(10 + i)).status_code == 201
    assert commit(server, container, "prefix", [0, 1]).status_code == 201
    assert container.get_blob_client("prefix").download_blob().readall() == data(10) + data(11)
    assert block_files(server) == []


def test_a_block_uploaded_again_is_read_from_its_latest_place(server, container):
    for i, body in [(0, data(0)), (1, data(1)), (0, data(7))]:
        assert put_block(server, container, "again", i, body).status_code == 201
    assert commit(server, container, "again", [0, 1]).status_code == 201
    assert container.get_blob_client("again").download_blob().readall() == data(7) + data(1)
    assert block_files(server) == []


def test_a_refused_body_gives_its_place_back(server, container):
    # The first Put Block of a blob refused: no directory, no file stays.
    r = put_block(server, container, "refused", 0, data(0), headers={"Content-MD5": md5_b64(b"x")})
    assert r.status_code == 400 and "<Code>Md5Mismatch</Code>" in r.text
    assert block_files(server) == []
    # Refused between two good blocks: the file stays exact, so the commit
    # is still the file itself.
    assert put_block(server, container, "refused", 0, data(0)).status_code == 201
    r = put_block(server, container, "refused", 1, data(1), headers={"Content-MD5": md5_b64(b"x")})
    assert r.status_code == 400
    assert put_block(server, container, "refused", 1, data(2)).status_code == 201
    [asm] = assembly_files(server)
    ino = os.stat(asm).st_ino
    assert os.path.getsize(asm) == 2 * MiB
    assert commit(server, container, "refused", [0, 1]).status_code == 201
    assert os.stat(blob_file(server, container, "refused")).st_ino == ino
    assert container.get_blob_client("refused").download_blob().readall() == data(0) + data(2)
    assert block_files(server) == []
    assert_no_residue(server)


def test_an_aborted_body_leaves_the_other_blocks_whole(server, container):
    assert put_block(server, container, "aborted", 0, data(0)).status_code == 201
    # A Put Block whose client goes away half-way through its body.
    target, headers = signed("PUT", container, "aborted", "comp=block&blockid=" + bid(1),
                             {"Content-Length": str(MiB)})
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        head = "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % target
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode() + data(1)[: MiB // 2])
    assert put_block(server, container, "aborted", 2, data(2)).status_code == 201
    blob = container.get_blob_client("aborted")
    # (The SDK hands ids back decoded.)
    assert [b.id for b in blob.get_block_list("uncommitted")[1]] == ["block-0000", "block-0002"]
    assert commit(server, container, "aborted", [0, 2]).status_code == 201
    assert blob.download_blob().readall() == data(0) + data(2)
    assert block_files(server) == []


def test_chunked_bodies_mix_with_blocks_in_place(server, container):
    assert put_block(server, container, "chunked", 0, data(0)).status_code == 201

    def chunks():
        body = data(1)
        for off in range(0, len(body), 100000):
            yield body[off:off + 100000]
    target, headers = signed("PUT", container, "chunked", "comp=block&blockid=" + bid(1),
                             {"Transfer-Encoding": "chunked"})
    r = requests.put("http://127.0.0.1:%d%s" % (server.port, target), headers=headers,
                     data=chunks(), timeout=30)
    assert r.status_code == 201, r.text
    assert put_block(server, container, "chunked", 2, data(2)).status_code == 201
    assert commit(server, container, "chunked", [0, 1, 2]).status_code == 201
    got = container.get_blob_client("chunked").download_blob().readall()
    assert got == data(0) + data(1) + data(2)
    assert block_files(server) == []
    assert_no_residue(server)
