"""The capacity tier when the remote misbehaves: a FaultProxy in front of a
real Azurite counts bytes and requests, answers 503, stalls, and goes down."""
import hashlib
import os
import threading
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from azurite import azurite, proxy, remote_container  # noqa: F401  (fixtures)
from tier_util import (MIB, TierServer, journal_files, raw_header, remote_names, tmp_files,
                       wait_state)


@pytest.fixture
def tiered(proxy, remote_container):  # noqa: F811
    s = TierServer(remote_container.with_base(proxy.url).sas_url,
                   extra_args=["--threads", "2"]).start()
    yield s
    s.stop()


def no_retry_service(server):
    return BlobServiceClient.from_connection_string(server.connection_string, retry_total=0)


def fresh(server, name="b.bin", data=None):
    c = server.service().create_container("t" + uuid.uuid4().hex[:16])
    b = c.get_blob_client(name)
    b.upload_blob(data)
    return c, b


def offload(b):
    b.set_standard_blob_tier("Cool")
    wait_state(b, "offloaded", timeout=120)


def test_ranged_read_of_offloaded_256MiB_fetches_only_the_range(tiered, proxy):
    data = os.urandom(256 * MIB)
    c, b = fresh(tiered, "big.bin", data)
    offload(b)
    proxy.reset_counts()
    off, n = 137 * MIB + 12345, 3 * MIB + 7
    got = b.download_blob(offset=off, length=n).readall()
    assert got == data[off:off + n]
    gets = [r for r in proxy.requests if r.method == "GET"]
    assert len(gets) == 1, gets
    assert gets[0].range == "bytes=%d-%d" % (off, off + n - 1)
    assert proxy.bytes_out("GET") == n      # only that range crossed the wire
    # A full read streams the whole blob, still from the remote.
    assert hashlib.md5(b.download_blob().readall()).digest() == hashlib.md5(data).digest()
    assert raw_header(b, "x-strata-tier-state") == "offloaded"


def test_remote_unreachable_reads_503_while_local_works(tiered, proxy):
    data = os.urandom(300_000)
    c, b = fresh(tiered, "off.bin", data)
    offload(b)
    local = c.get_blob_client("local.bin")
    local.upload_blob(b"local bytes")
    proxy.go_down()
    nb = no_retry_service(tiered).get_container_client(c.container_name).get_blob_client("off.bin")
    with pytest.raises(HttpResponseError) as e:
        nb.download_blob().readall()
    assert e.value.status_code == 503 and e.value.error_code == "ServerBusy"
    assert e.value.response.headers.get("x-ms-request-id")
    assert e.value.response.headers.get("x-ms-version")
    # HEAD and listings never touch the remote.
    assert nb.get_blob_properties().size == len(data)
    assert [x.name for x in c.list_blobs()] == ["local.bin", "off.bin"]
    assert local.download_blob().readall() == b"local bytes"
    local.upload_blob(b"new local", overwrite=True)
    assert local.download_blob().readall() == b"new local"
    proxy.come_back()
    assert b.download_blob().readall() == data


def test_hanging_remote_never_stalls_local_traffic(tiered, proxy):
    data = os.urandom(200_000)
    c, b = fresh(tiered, "off.bin", data)
    offload(b)
    local = c.get_blob_client("local.bin")
    local.upload_blob(b"x" * 1000)
    proxy.stall_next(1, seconds=8, method="GET")
    result = {}

    def slow_read():
        try:
            result["data"] = b.download_blob().readall()
        except Exception as e:  # noqa: BLE001
            result["error"] = e
    t = threading.Thread(target=slow_read)
    t.start()
    deadline = time.time() + 5
    while proxy.count(method="GET") == 0 and time.time() < deadline:
        time.sleep(0.01)
    # With two I/O threads, 40 local requests complete while the remote read
    # hangs: no I/O thread waits on the remote.
    for i in range(20):
        local.upload_blob(b"y" * i, overwrite=True)
        assert local.download_blob().readall() == b"y" * i
    assert t.is_alive()
    t.join(timeout=60)
    assert result.get("data") == data, result


def test_503_then_recovery(tiered, proxy):
    data = os.urandom(500_000)
    c, b = fresh(tiered, "r.bin", data)
    # A few 503s (with Retry-After) during the offload are retried.
    proxy.fail_next(3, status=503, retry_after=0)
    offload(b)
    assert proxy.count(status=503) == 3
    # More 503s than the remote client's attempts: the read answers 503.
    proxy.fail_next(100, status=503, retry_after=0, method="GET")
    nb = no_retry_service(tiered).get_container_client(c.container_name).get_blob_client("r.bin")
    with pytest.raises(HttpResponseError) as e:
        nb.download_blob().readall()
    assert e.value.status_code == 503 and e.value.error_code == "ServerBusy"
    proxy.clear_faults()
    assert nb.download_blob().readall() == data
    # A recall that meets 503s waits and resumes.
    proxy.fail_next(100, status=503, retry_after=0, method="GET")
    b.set_standard_blob_tier("Hot")
    time.sleep(0.5)
    assert raw_header(b, "x-strata-tier-state") == "offloaded"
    proxy.clear_faults()
    wait_state(b, "hot")
    assert b.download_blob().readall() == data


def test_remote_stopped_mid_offload(tiered, proxy, remote_container):  # noqa: F811
    # 48 MiB goes up as 8 MiB blocks and a block list: the remote stops
    # once the first block is in, before the list.
    data = os.urandom(48 * MIB)
    c, b = fresh(tiered, "mid.bin", data)
    etag = b.get_blob_properties().etag
    b.set_standard_blob_tier("Cool")
    deadline = time.time() + 60
    while proxy.count(method="PUT", query_contains="comp=block") == 0 and time.time() < deadline:
        time.sleep(0.005)
    proxy.go_down()
    committed = proxy.count(query_contains="comp=blocklist")
    time.sleep(0.5)
    if committed == 0:   # stopped before the copy existed: nothing released
        assert raw_header(b, "x-strata-tier-state") == "hot"
    assert b.download_blob().readall() == data
    proxy.come_back()
    wait_state(b, "offloaded", timeout=120)
    assert b.get_blob_properties().etag == etag
    assert b.download_blob().readall() == data
    names = remote_names(remote_container)
    assert names == ["strata/%s/mid.bin" % c.container_name]
    deadline = time.time() + 30
    while journal_files(tiered.root) and time.time() < deadline:
        time.sleep(0.05)
    assert journal_files(tiered.root) == []


def test_remote_stopped_mid_recall(tiered, proxy, remote_container):  # noqa: F811
    data = os.urandom(8 * MIB)
    c, b = fresh(tiered, "rec.bin", data)
    offload(b)
    proxy.stall_next(1, seconds=3, method="GET")
    b.set_standard_blob_tier("Hot")
    deadline = time.time() + 10
    while proxy.count(method="GET") == 0 and time.time() < deadline:
        time.sleep(0.01)
    proxy.go_down()
    time.sleep(1)
    assert raw_header(b, "x-strata-tier-state") == "offloaded"   # the stub stands
    proxy.come_back()
    wait_state(b, "hot", timeout=120)
    assert b.download_blob().readall() == data
    assert remote_names(remote_container) == []
    assert tmp_files(tiered.root) == []


def test_corrupt_remote_copy_refused_on_recall(tiered, proxy, remote_container):  # noqa: F811
    data = os.urandom(400_000)
    c, b = fresh(tiered, "bad.bin", data)
    etag = b.get_blob_properties().etag
    offload(b)
    name = "strata/%s/bad.bin" % c.container_name
    evil = bytearray(data)
    evil[1000] ^= 0xFF
    remote_container.client.get_blob_client(name).upload_blob(bytes(evil), overwrite=True)
    b.set_standard_blob_tier("Hot")
    deadline = time.time() + 30
    while "failed verification" not in tiered.log() and time.time() < deadline:
        time.sleep(0.05)
    assert "failed verification" in tiered.log()   # the error is reported
    assert "bad.bin" in tiered.log()
    assert raw_header(b, "x-strata-tier-state") == "offloaded"   # recall refused, stub kept
    assert b.get_blob_properties().etag == etag
    assert name in remote_names(remote_container)
    assert tmp_files(tiered.root) == []


def test_rehydration_pending_while_the_remote_refuses(tiered, proxy):
    data = os.urandom(50_000)
    c, b = fresh(tiered, "arch.bin", data)
    b.set_standard_blob_tier("Archive")
    wait_state(b, "archived")
    # The remote refuses Set Blob Tier for now: the rehydration stays pending.
    proxy.fail_next(100000, status=503, retry_after=0, query_contains="comp=tier")
    seen = {}
    b.set_standard_blob_tier("Hot", raw_response_hook=lambda r: seen.update(
        status=r.http_response.status_code))
    assert seen["status"] == 202
    assert raw_header(b, "x-ms-archive-status") == "rehydrate-pending-to-hot"
    assert b.get_blob_properties().blob_tier == "Archive"
    names = [x for x in c.list_blobs()]
    assert names[0].archive_status == "rehydrate-pending-to-hot"
    with pytest.raises(HttpResponseError) as e:
        b.download_blob().readall()
    assert e.value.status_code == 409 and e.value.error_code == "BlobArchived"
    assert e.value.response.headers.get("x-ms-archive-status") == "rehydrate-pending-to-hot"
    # Another target while one is pending: 409 BlobBeingRehydrated.
    with pytest.raises(HttpResponseError) as e:
        b.set_standard_blob_tier("Cool")
    assert e.value.status_code == 409 and e.value.error_code == "BlobBeingRehydrated"
    proxy.clear_faults()
    wait_state(b, "hot", timeout=60)
    assert raw_header(b, "x-ms-archive-status") is None
    assert b.download_blob().readall() == data
