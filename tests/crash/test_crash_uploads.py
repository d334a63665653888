"""Crash test (DESIGN invariants 1 and 4): SIGKILL the server while new
versions of blobs are being uploaded (Put Blob and Put Block/Put Block List,
concurrently), restart it on the same root, and check that every blob is
exactly its old or its new content, that its properties read back, and that
nothing is left in .strata/tmp."""
import hashlib
import os
import random
import shutil
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))

from azure.storage.blob import BlobServiceClient  # noqa: E402

from strata_server import StrataServer  # noqa: E402

KiB = 1024
MiB = 1 << 20
N_BLOBS = 12
CONTAINER = "crash"
# Workers upload continuously, so every kill lands mid-upload; different
# delays land it at different points (staging, block lists, commits).
KILL_DELAYS = [0.05, 0.15, 0.3, 0.5, 0.8, 1.1]
# Workers upload new versions until the kill; this only bounds the loop.
MAX_UPLOADS_PER_WORKER = 400


def payload(name, version, size):
    rnd = random.Random("%s/%d" % (name, version))
    head = rnd.randbytes(min(size, 64 * KiB))
    reps = size // max(len(head), 1) + 1
    return (head * reps)[:size] if size else b""


def spec(i, version):
    """(name, size, uses blocks) of blob i at a version. Contents are seeded
    by name and version (and sizes mostly differ), so a mix of two versions
    matches the MD5 of neither."""
    name = "dir%d/blob-%02d.bin" % (i % 3, i)
    rnd = random.Random(i * 1000 + version)
    blocks = i % 2 == 1
    size = rnd.randint(2 * MiB, 4 * MiB) if blocks else rnd.choice([0, 1, 777, 300 * KiB,
                                                                   1 * MiB + 3, 2 * MiB])
    return name, size, blocks


def clients_for(server):
    """(single, blocks): container clients that upload with one Put Blob and
    with Put Block + Put Block List (512 KiB blocks). No retries: the SDK
    would otherwise keep hammering a dead port."""
    out = []
    for single_max in (64 * MiB, 512 * KiB):
        svc = BlobServiceClient.from_connection_string(
            server.connection_string, retry_total=0, connection_timeout=5, read_timeout=10,
            max_single_put_size=single_max, max_block_size=512 * KiB)
        out.append(svc.get_container_client(CONTAINER))
    return out


def upload(clients, name, data, blocks):
    cc = clients[1] if blocks else clients[0]
    cc.upload_blob(name, data, overwrite=True, max_concurrency=1)


def tmp_residue(root):
    tmp = os.path.join(root, ".strata", "tmp")
    # Files staged in any gateway's directory under .strata/tmp.
    return sorted(os.path.relpath(os.path.join(dp, f), tmp) for dp, _, fs in os.walk(tmp) for f in fs)


def files_under(root):
    out = set()
    for dirpath, _, files in os.walk(root):
        for f in files:
            out.add(os.path.relpath(os.path.join(dirpath, f), root))
    return out


@pytest.fixture
def root():
    d = tempfile.mkdtemp(prefix="strata-crash-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_CrashDuringUploads_oldOrNew(root):
    server = StrataServer(root=root).start()
    try:
        clients = clients_for(server)
        clients[0].create_container()
        current = {}  # name -> md5 of the content known to be there
        for i in range(N_BLOBS):
            name, size, blocks = spec(i, 0)
            data = payload(name, 0, size)
            upload(clients, name, data, blocks)
            current[name] = hashlib.md5(data).hexdigest()
    except BaseException:
        server.kill()
        raise

    for rnd_no, delay in enumerate(KILL_DELAYS, start=1):
        clients = clients_for(server)
        # Per blob, the contents a reader may find after the crash, in the
        # order they were written: the current one, then every version an
        # upload was started for. Once an upload is acknowledged, only it
        # and later attempts remain acceptable.
        history = {name: [md5] for name, md5 in current.items()}
        acked = {name: 0 for name in current}
        acks = []
        stop = threading.Event()
        names = sorted(current)

        def worker(k):
            mine = names[k::4]
            for it in range(MAX_UPLOADS_PER_WORKER):
                if stop.is_set():
                    return
                i = names.index(mine[it % len(mine)])
                version = rnd_no * 1000 + it + 1
                name, size, blocks = spec(i, version)
                data = payload(name, version, size)
                history[name].append(hashlib.md5(data).hexdigest())
                try:
                    upload(clients, name, data, blocks)
                except Exception:
                    return  # the server died under us
                acked[name] = len(history[name]) - 1
                acks.append(name)

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(delay)
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=20)
            assert not t.is_alive(), "an upload thread hung after the kill"
        print("round %d: kill after %.2fs, %d uploads acknowledged, %d temp files left" % (
            rnd_no, delay, len(acks), len(tmp_residue(root))))

        server = StrataServer(root=root).start()
        try:
            assert tmp_residue(root) == [], "temp files survived a restart (invariant 4)"
            cc = clients_for(server)[0]
            # HNS: the listing holds the directories too (hdi_isfolder).
            entries = {b.name: b for b in cc.list_blobs(include=["metadata"])}
            dirs = {n for n, b in entries.items() if (b.metadata or {}).get("hdi_isfolder") == "true"}
            assert dirs == {n.rsplit("/", 1)[0] for n in names if "/" in n}
            listed = {n: b.size for n, b in entries.items() if n not in dirs}
            assert set(listed) == set(names), "blobs appeared or vanished"
            # Nothing but the blobs in the container directory.
            assert files_under(os.path.join(root, CONTAINER)) == set(names)
            for name in names:
                data = cc.get_blob_client(name).download_blob().readall()
                md5 = hashlib.md5(data).hexdigest()
                assert md5 in history[name], "%s is no version ever written (round %d, %d bytes)" % (
                    name, rnd_no, len(data))
                assert md5 in history[name][acked[name]:], \
                    "%s: an acknowledged upload was lost (round %d)" % (name, rnd_no)
                props = cc.get_blob_client(name).get_blob_properties()
                assert props.size == len(data) == listed[name]
                assert props.etag
                stored = props.content_settings.content_md5
                if stored:
                    assert bytes(stored).hex() == md5, "%s: Content-MD5 of the other version" % name
                with open(os.path.join(root, CONTAINER, name), "rb") as f:
                    assert hashlib.md5(f.read()).hexdigest() == md5
                current[name] = md5
        except BaseException:
            server.kill()
            raise
    try:
        # The restarted server takes writes again.
        cc = clients_for(server)[0]
        cc.upload_blob("after-crash", b"ok", overwrite=True)
        assert cc.download_blob("after-crash").readall() == b"ok"
    finally:
        server.stop()
    assert tmp_residue(root) == []
