"""The capacity tier never serves wrong bytes: a remote copy that changed,
vanished, or hands over other bytes than it stored is answered with an
error (or, once a 200 is on the wire, a connection cut before the body
completes), never a complete wrong body; it is recorded as damage
(metrics, log, `strata tier verify` / `status`) and never recalled.
Against a real Azurite, through a FaultProxy that records what strata asks."""
import datetime
import http.client
import os
import re
import time
import urllib.parse
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from azurite import azurite, proxy, remote_container  # noqa: F401  (fixtures)
from tier_util import MIB, TierServer, raw_header, remote_names, sparse_blocks, tmp_files, wait_state
from strata_server import DEV_ACCOUNT, DEV_KEY  # noqa: E402  (on the path tier_util sets)
from test_tier_cli import cli, metric, metrics  # noqa: E402

HOLD_BACK = 1 * MIB  # CapacityTier::kVerifyHoldBack


@pytest.fixture
def tiered(proxy, remote_container):  # noqa: F811
    s = TierServer(remote_container.with_base(proxy.url).sas_url,
                   extra_args=["--admin-port", "0"]).start()
    deadline = time.time() + 10
    while not re.search(r"admin on [\d.]+:(\d+)", s.log() + s.banner) and time.time() < deadline:
        time.sleep(0.02)
    m = re.search(r"admin on [\d.]+:(\d+)", s.log() + s.banner)
    s.admin = "http://127.0.0.1:%s" % m.group(1)
    yield s
    s.stop()


def offloaded(server, data, name="b.bin"):
    c = server.service().create_container("t" + uuid.uuid4().hex[:16])
    b = c.get_blob_client(name)
    b.upload_blob(data)
    b.set_standard_blob_tier("Cool")
    wait_state(b, "offloaded", timeout=120)
    return c, b, "strata/%s/%s" % (c.container_name, name)


def raw_get(server, c, name, rng=None, timeout=30):
    """One GET with a SAS, no client retries: (status, headers, body, complete)
    where complete says whether the whole Content-Length arrived."""
    sas = generate_blob_sas(DEV_ACCOUNT, c.container_name, name, account_key=DEV_KEY,
                            permission=BlobSasPermissions(read=True),
                            expiry=datetime.datetime.utcnow() + datetime.timedelta(hours=1))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    headers = {"x-ms-version": "2021-08-06"}
    if rng:
        headers["x-ms-range"] = "bytes=%d-%d" % rng
    conn.request("GET", "/%s/%s/%s?%s" % (DEV_ACCOUNT, c.container_name,
                                          urllib.parse.quote(name), sas), headers=headers)
    resp = conn.getresponse()
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    try:
        body, complete = resp.read(), True
    except http.client.IncompleteRead as e:
        body, complete = e.partial, False
    except (ConnectionError, OSError):
        body, complete = b"", False
    conn.close()
    return resp.status, hdrs, body, complete


def assert_error(server, c, name, rng=None):
    t0 = time.time()
    status, hdrs, body, complete = raw_get(server, c, name, rng)
    assert status == 500, (status, len(body))
    assert hdrs.get("x-ms-error-code") == "InternalError"
    assert b"<Code>InternalError</Code>" in body
    assert time.time() - t0 < 20   # an answer, not a hang
    return body


def no_retry(server, c, name):
    svc = BlobServiceClient.from_connection_string(server.connection_string, retry_total=0)
    return svc.get_container_client(c.container_name).get_blob_client(name)


def assert_recall_refused(server, c, b, etag):
    path = os.path.join(server.root, c.container_name, b.blob_name)
    b.set_standard_blob_tier("Hot")
    deadline = time.time() + 30
    out = ""
    while time.time() < deadline:
        rc, out = cli(server, "status", "%s/%s" % (c.container_name, b.blob_name))
        if "recall refused" in out:
            break
        time.sleep(0.1)
    assert "recall refused" in out and "failed verification" in out, out
    assert raw_header(b, "x-strata-tier-state") == "offloaded"   # the stub stands
    assert b.get_blob_properties().etag == etag
    assert sparse_blocks(path) * 512 <= 4096                      # no wrong bytes came back
    assert tmp_files(server.root) == []


def test_changed_remote_copy_is_never_served(tiered, proxy, remote_container):  # noqa: F811
    data = os.urandom(300_000)
    c, b, name = offloaded(tiered, data)
    etag = b.get_blob_properties().etag
    md5 = b.get_blob_properties().content_settings.content_md5
    # Same length, other bytes, written behind strata's back.
    evil = bytearray(data)
    evil[1000] ^= 0xFF
    remote_container.client.get_blob_client(name).upload_blob(bytes(evil), overwrite=True)
    proxy.reset_counts()

    body = assert_error(tiered, c, "b.bin")                      # full read
    assert bytes(evil) not in body
    assert_error(tiered, c, "b.bin", rng=(0, 99))                # ranged reads
    assert_error(tiered, c, "b.bin", rng=(1000, 50_999))
    with pytest.raises(HttpResponseError) as e:                  # what an SDK sees
        no_retry(tiered, c, "b.bin").download_blob().readall()
    assert e.value.status_code == 500 and e.value.error_code == "InternalError"
    # Every remote read was conditional on the ETag recorded at offload.
    gets = [r for r in proxy.requests if r.method == "GET"]
    assert gets and all(r.headers.get("if-match") for r in gets), gets
    assert all(r.status == 412 for r in gets), [r.status for r in gets]

    # Recorded as damage: counted, logged once, shown by HEAD, status, verify.
    m = metrics(tiered)
    assert metric(m, "strata_tier_damaged_total") == 1
    assert metric(m, "strata_tier_verify_failures_total") >= 4
    assert tiered.log().count("DAMAGED") == 1, tiered.log()
    assert raw_header(b, "x-strata-tier-damaged") == "true"
    assert b.get_blob_properties().etag == etag                  # tiering never moves the ETag
    assert b.get_blob_properties().content_settings.content_md5 == md5
    rc, out = cli(tiered, "status", c.container_name)
    assert rc == 0 and re.search(r"^offloaded .*b\.bin  DAMAGED", out, re.M), out
    rc, out = cli(tiered, "verify", c.container_name)
    assert rc == 1 and "FAILED" in out and "DAMAGED" in out and "b.bin" in out, out

    # A recall does not bring the wrong bytes back.
    assert_recall_refused(tiered, c, b, etag)
    assert name in remote_names(remote_container)
    assert_error(tiered, c, "b.bin")
    assert tiered.log().count("DAMAGED") == 1                    # once per blob


def test_deleted_remote_copy_answers_an_error_not_a_hang(tiered, remote_container):  # noqa: F811
    data = os.urandom(200_000)
    c, b, name = offloaded(tiered, data)
    etag = b.get_blob_properties().etag
    remote_container.client.get_blob_client(name).delete_blob()
    assert_error(tiered, c, "b.bin")
    assert_error(tiered, c, "b.bin", rng=(10, 20))
    m = metrics(tiered)
    assert metric(m, "strata_tier_damaged_total") == 1
    rc, out = cli(tiered, "verify", c.container_name + "/b.bin")
    assert rc == 1 and "DAMAGED" in out, out
    assert_recall_refused(tiered, c, b, etag)


def test_other_bytes_under_the_same_etag_never_complete(tiered, proxy):  # noqa: F811
    # A remote (or a path to it) that keeps the ETag but hands over other
    # bytes: only the recorded length and MD5 can tell.
    small = os.urandom(300_000)
    c, b, _ = offloaded(tiered, small, "small.bin")
    proxy.corrupt_next(1, at=4321, method="GET")
    body = assert_error(tiered, c, "small.bin")   # verified before the first byte
    assert len(body) < 1000
    assert metric(metrics(tiered), "strata_tier_damaged_total") == 1
    # The remote copy itself is fine: the next read serves it, and a passing
    # verification clears the mark.
    assert b.download_blob().readall() == small
    rc, out = cli(tiered, "verify", c.container_name + "/small.bin")
    assert rc == 0 and out.startswith("ok"), out
    assert raw_header(b, "x-strata-tier-damaged") is None

    big = os.urandom(6 * MIB + 5)
    c, b, _ = offloaded(tiered, big, "big.bin")
    proxy.corrupt_next(1, at=3 * MIB + 17, method="GET")
    status, hdrs, body, complete = raw_get(tiered, c, "big.bin")
    # The 200 and its Content-Length left before the end could be checked:
    # the connection is cut before the last bytes, never a complete body.
    assert status == 200 and int(hdrs["content-length"]) == len(big)
    assert not complete
    assert len(body) <= len(big) - HOLD_BACK
    assert metric(metrics(tiered), "strata_tier_damaged_total") == 2
    # A client that retries what was cut short gets the right bytes.
    assert b.download_blob().readall() == big


def test_damaged_copy_of_a_premigrated_blob_is_replaced_not_trusted(tiered, remote_container):  # noqa: F811,E501
    data = os.urandom(300_000)
    c, src, name = offloaded(tiered, data, "src.bin")
    # A copy of the offloaded blob brings its data back, keeping the remote copy.
    with pytest.raises(HttpResponseError) as e:
        no_retry(tiered, c, "dst.bin").start_copy_from_url(src.url)
    assert e.value.status_code == 503
    wait_state(src, "premigrated")
    remote_container.client.get_blob_client(name).upload_blob(os.urandom(len(data)),
                                                              overwrite=True)
    rc, out = cli(tiered, "verify", c.container_name + "/src.bin")
    assert rc == 1 and "DAMAGED" in out, out
    # Offloading again must not release the only good copy onto the damaged
    # one: the local data is uploaded afresh.
    src.set_standard_blob_tier("Cool")
    wait_state(src, "offloaded")
    assert raw_header(src, "x-strata-tier-damaged") is None
    assert src.download_blob().readall() == data
    assert remote_container.client.get_blob_client(name).download_blob().readall() == data


def test_a_remote_that_ignores_if_match_still_cannot_hand_over_another_version(
        tiered, proxy, remote_container):  # noqa: F811
    data = os.urandom(300_000)
    c, b, name = offloaded(tiered, data)
    evil = bytearray(data)
    evil[100_000] ^= 0xFF
    remote_container.client.get_blob_client(name).upload_blob(bytes(evil), overwrite=True)
    # The answer carries the new ETag: refused before a byte is passed on.
    proxy.ignore_conditions_next(1, method="GET")
    assert_error(tiered, c, "b.bin", rng=(100_000, 100_099))
    assert [r.fault for r in proxy.requests if r.method == "GET"][-1] == "ignore_conditions"
    assert metric(metrics(tiered), "strata_tier_damaged_total") == 1
