"""Background Copy Blob across gateways: a copy one gateway runs is seen
pending and progressing on the others, is aborted from another, and ends
failed when its gateway dies (a survivor's sweep), as copy_jobs.h says."""
import os
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from cluster import StrataCluster

A, B, C = 0, 1, 2
BIG = 12 << 20
# Copies of 1 MiB and more run in the background, 1 MiB a step with a pause
# (about two seconds a copy); sweeps every second.
SLOW_ARGS = ["--copy-async-threshold", str(1 << 20), "--copy-step", str(1 << 20),
             "--copy-step-delay-ms", "150", "--copy-sweep-interval", "1"]


@pytest.fixture(scope="module")
def cluster():
    c = StrataCluster(3, extra_args=SLOW_ARGS).start()
    yield c
    c.cleanup()


@pytest.fixture(scope="module")
def big_data():
    return os.urandom(BIG)


def container_on(gateway, name):
    return BlobServiceClient.from_connection_string(
        gateway.connection_string).get_container_client(name)


@pytest.fixture
def names(cluster, big_data):
    name = "c" + uuid.uuid4().hex[:16]
    container_on(cluster.gateways[A], name).create_container()
    container_on(cluster.gateways[A], name).upload_blob("src", big_data)
    return name


def wait_until(fn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def strata_files(cluster, sub):
    d = os.path.join(cluster.root, ".strata", sub)
    return sorted(os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs)


def start_copy(cluster, names, on=A):
    a = container_on(cluster.gateways[on], names)
    src = a.get_blob_client("src").url
    resp = a.get_blob_client("dst").start_copy_from_url(src)
    assert resp["copy_status"] == "pending"
    return resp["copy_id"]


def test_copy_started_on_one_gateway_seen_and_finished_on_others(cluster, names, big_data):
    copy_id = start_copy(cluster, names)
    b = container_on(cluster.gateways[B], names).get_blob_client("dst")
    p = b.get_blob_properties()
    assert p.copy.status == "pending" and p.copy.id == copy_id
    done = wait_until(lambda: (lambda q: q if q.copy.status != "pending" else None)(
        b.get_blob_properties()))
    assert done and done.copy.status == "success", done and done.copy
    c = container_on(cluster.gateways[C], names).get_blob_client("dst")
    assert c.download_blob().readall() == big_data
    assert wait_until(lambda: strata_files(cluster, "copies") == [], 5)


def test_copy_aborted_from_another_gateway(cluster, names):
    copy_id = start_copy(cluster, names)
    b = container_on(cluster.gateways[B], names).get_blob_client("dst")
    b.abort_copy(copy_id)
    c = container_on(cluster.gateways[C], names).get_blob_client("dst")
    p = c.get_blob_properties()
    assert p.copy.status == "aborted" and p.size == 0
    with pytest.raises(HttpResponseError) as e:  # nothing pending any more
        c.abort_copy(copy_id)
    assert e.value.error_code == "NoPendingCopyOperation"
    # The job on A sees the abort at its next step and removes what it staged.
    assert wait_until(lambda: strata_files(cluster, "copies") == [], 5), \
        strata_files(cluster, "copies")
    assert wait_until(lambda: strata_files(cluster, "tmp") == [], 5), strata_files(cluster, "tmp")
    time.sleep(0.5)  # a step or three: the aborted destination stays as it was
    p = c.get_blob_properties()
    assert p.copy.status == "aborted" and p.size == 0


def test_copy_whose_gateway_dies_ends_failed(cluster, names):
    start_copy(cluster, names, on=A)
    assert wait_until(lambda: strata_files(cluster, "copies"), 5)
    cluster.kill(A)
    try:
        b = container_on(cluster.gateways[B], names).get_blob_client("dst")
        failed = wait_until(lambda: (lambda q: q if q.copy.status != "pending" else None)(
            b.get_blob_properties()), 10)
        assert failed and failed.copy.status == "failed", failed and failed.copy
        assert wait_until(lambda: strata_files(cluster, "copies") == [], 5)
        # Its staged copy goes with the dead gateway's directory.
        assert wait_until(lambda: strata_files(cluster, "tmp") == [], 20), \
            strata_files(cluster, "tmp")
    finally:
        cluster.restart(A)
    a = container_on(cluster.gateways[A], names).get_blob_client("dst")
    assert a.get_blob_properties().copy.status == "failed"
