"""Helpers shared by the blob-level integration tests: residue checks on
the server's staging directory, MD5s as Azure sends them, SAS URLs, and
raw signed requests addressed by container and blob name."""
import base64
import datetime
import hashlib
import os
import urllib.parse

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
