"""Helpers for the real-client tests: the mixed-size tree, MD5 of trees,
and container SAS URLs."""
import datetime
import hashlib
import os
import random

from azure.storage.blob import (AccountSasPermissions, ContainerSasPermissions, ResourceTypes,
                                generate_account_sas, generate_container_sas)

from strata_server import DEV_ACCOUNT, DEV_KEY

MiB = 1 << 20

# (relative path, size): 0 B to 64 MiB, odd sizes, nested directories.
TREE = [
    ("empty.bin", 0),
    ("one.txt", 1),
    ("odd/prime.bin", 7919),
    ("odd/just-under-4m.bin", 4 * MiB - 1),
    ("nested/a/b/c/deep.dat", 65537),
    ("nested/a/sibling.dat", 3 * MiB + 12345),
    ("nested/with space/file name.txt", 1234),
    ("big/sixty-four.bin", 64 * MiB),
    ("big/nine-and-a-bit.bin", 9 * MiB + 3),
]


def write_file(path, size, seed):
    """Writes `size` pseudo-random bytes, cheaply: a random 4 KiB pattern
    repeated, interleaved with a counter of the MiB, so no two MiB are equal."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rnd = random.Random(seed)
    base = rnd.randbytes(min(size, 4096))
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            block = (i.to_bytes(8, "little") + base) * (MiB // (len(base) + 8) + 1)
            n = min(left, MiB)
            f.write(block[:n])
            left -= n
            i += 1


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            b = f.read(MiB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def tree_md5s(root):
    """{relative path: md5} of every regular file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = md5_file(full)
    return out


def container_sas_url(server, container_name, hours=2):
    sas = generate_container_sas(
        DEV_ACCOUNT, container_name, account_key=DEV_KEY,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True,
                                           delete=True, list=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours))
    return "%s/%s?%s" % (server.endpoint, container_name, sas)


def account_sas(hours=2):
    """An account SAS for every operation (azcopy make creates containers)."""
    return generate_account_sas(
        DEV_ACCOUNT, DEV_KEY, ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True,
                              create=True, update=True, process=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours))
