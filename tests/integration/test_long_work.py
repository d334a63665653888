"""No request holds an I/O thread for long: copies and block-list joins that
copy run on the worker pool, so a small GET stays fast while they run. The
server has one I/O thread, so a request that held it would stall every
other connection for as long as it ran."""
import http.client
import os
import threading
import time
import uuid

import pytest
from azure.storage.blob import BlobBlock, BlobServiceClient

from strata_server import StrataServer

BIG = 1 << 30  # a sparse file: copying it still writes 1 GiB


@pytest.fixture(scope="module")
def one_thread_server():
    s = StrataServer(extra_args=["--threads", "1", "--durability", "none"]).start()
    yield s
    s.stop()


@pytest.fixture
def public(one_thread_server):
    svc = BlobServiceClient.from_connection_string(one_thread_server.connection_string)
    c = svc.create_container("t" + uuid.uuid4().hex[:20], public_access="blob")
    c.get_blob_client("small").upload_blob(os.urandom(1024))
    yield c
    c.delete_container()


def get_latencies_while(server, container, work, min_samples=20):
    """Runs the callables of `work` in threads and GETs a 1 KiB blob over one
    keep-alive connection until they end; returns the GET latencies (s)."""
    errors = []

    def run(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    path = "/devstoreaccount1/%s/small" % container.container_name
    lat = []
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while (any(t.is_alive() for t in threads) or len(lat) < min_samples) and time.time() < deadline:
        t0 = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        lat.append(time.perf_counter() - t0)
        assert r.status == 200 and len(body) == 1024
    for t in threads:
        t.join(60)
    conn.close()
    assert not errors, errors
    return sorted(lat)


def p99(lat):
    return lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def test_SmallGet_stays_fast_during_two_large_copies(one_thread_server, public):
    src = public.get_blob_client("big")
    with open(os.path.join(one_thread_server.root, public.container_name, "big"), "wb") as f:
        f.truncate(BIG)  # a file written through POSIX is a blob too
    dests = [public.get_blob_client("copy%d" % i) for i in range(2)]
    t0 = time.time()
    lat = get_latencies_while(one_thread_server, public, [
        lambda d=d: d.start_copy_from_url(src.url, requires_sync=True) for d in dests])
    took = time.time() - t0
    for d in dests:
        assert d.get_blob_properties().size == BIG
    assert p99(lat) < 0.25, "GET p99 %.3f s over %d GETs during %.1f s of copies" % (
        p99(lat), len(lat), took)


def test_SmallGet_stays_fast_during_two_copying_block_lists(one_thread_server, public):
    # Two blobs of two committed 64 MiB blocks; listing those blocks eight
    # times makes each Put Block List copy 1 GiB from the committed blob.
    chunk = os.urandom(64 << 20)
    blobs = []
    for i in range(2):
        b = public.get_blob_client("blocks%d" % i)
        ids = ["%032d" % n for n in range(2)]
        for bid in ids:
            b.stage_block(bid, chunk)
        b.commit_block_list([BlobBlock(bid) for bid in ids])
        blobs.append((b, ids))
    lat = get_latencies_while(one_thread_server, public, [
        lambda b=b, ids=ids: b.commit_block_list([BlobBlock(bid) for bid in ids * 8])
        for b, ids in blobs])
    for b, _ in blobs:
        assert b.get_blob_properties().size == 16 * (64 << 20)
    assert p99(lat) < 0.25, "GET p99 %.3f s over %d GETs" % (p99(lat), len(lat))
