"""Helpers shared by the blob-level integration tests: residue checks on
the server's staging directory, MD5s as Azure sends them, SAS URLs, and
raw signed requests addressed by container and blob name."""
import base64
import datetime
import hashlib
import os
import select
import time
import urllib.parse
from email.utils import formatdate

from azure.storage.blob import BlobSasPermissions, generate_blob_sas

import signing
from strata_server import DEV_ACCOUNT, DEV_KEY


def tmp_files(server):
    """Every file left under ROOT/.strata/tmp (uploads in flight)."""
    tmp = os.path.join(server.root, ".strata", "tmp")
    found = []
    for dirpath, _, files in os.walk(tmp):
        found += [os.path.join(dirpath, f) for f in files]
    return found


def block_files(server):
    """Every uncommitted block file under ROOT/.strata/blocks."""
    blocks = os.path.join(server.root, ".strata", "blocks")
    found = []
    for dirpath, _, files in os.walk(blocks):
        found += [os.path.join(dirpath, f) for f in files]
    return sorted(found)


def assert_no_residue(server):
    left = tmp_files(server)
    assert left == [], "staged files left behind: %r" % left


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def crc64_b64(data):
    """x-ms-content-crc64 of data: CRC-64/NVME, 8 little-endian bytes, Base64."""
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x9A6C9329AC4BC9B5 if crc & 1 else crc >> 1
    return base64.b64encode((crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")).decode()


def blob_path(container, blob):
    """The request path of a blob: "/container/quoted-name"."""
    return "/%s/%s" % (container, urllib.parse.quote(blob, safe="/~"))


def raw(server, method, container, blob="", query="", headers=None, body=b""):
    """A SharedKey-signed request to a blob (or container when blob is "")."""
    path = blob_path(container, blob) if blob else "/" + container
    return signing.request(server, method, path, query=query, headers=headers, body=body)


def read_sas_url(blob_client, permission=None):
    """The blob's URL with a service SAS granting read (by default) for an hour."""
    sas = generate_blob_sas(
        DEV_ACCOUNT, blob_client.container_name, blob_client.blob_name, account_key=DEV_KEY,
        permission=permission or BlobSasPermissions(read=True),
        expiry=datetime.datetime.utcnow() + datetime.timedelta(hours=1))
    return blob_client.url + "?" + sas


def disk_path(server, container, blob):
    return os.path.join(server.root, container, *blob.split("/"))


def signed_put_head(port, container, blob, length, account=DEV_ACCOUNT, key=DEV_KEY):
    """The bytes of a SharedKey-signed Put Blob header of `length` bytes of
    body, for tests that send the body themselves (slowly, in part, never)."""
    path = "/%s/%s/%s" % (account, container, blob)
    h = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True),
         "x-ms-blob-type": "BlockBlob", "Content-Length": str(length)}
    h["Authorization"] = signing.sign("PUT", path, "", h, account=account, key=key)
    lines = ["PUT %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port]
    lines += ["%s: %s" % kv for kv in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock, timeout):
    """All the server sends until it closes (or timeout); (bytes, closed)."""
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False
