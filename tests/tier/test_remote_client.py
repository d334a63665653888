"""The capacity tier's remote client (src/tier/remote.cc) against a real
Azurite, driven through strata_remote_probe, with a FaultProxy in front to
count bytes and requests and to inject faults."""
import base64
import email.utils
import hashlib
import json
import os
import subprocess
import threading
import time

import pytest

from azurite import Azurite, azurite, proxy, remote_container  # noqa: F401  (fixtures)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIB = 1 << 20


def probe_binary():
    if os.environ.get("STRATA_REMOTE_PROBE"):
        return os.environ["STRATA_REMOTE_PROBE"]
    if os.environ.get("STRATA_BIN"):
        return os.path.join(os.path.dirname(os.environ["STRATA_BIN"]), "strata_remote_probe")
    return os.path.join(REPO, "build", "strata_remote_probe")


def probe(url, verb, *args, key=None, options=(), timeout=120):
    """Runs one probe verb; returns (exit code, parsed JSON)."""
    cmd = [probe_binary(), "--url", url]
    if key:
        cmd += ["--key", key]
    # Fast retries unless a test asks otherwise.
    opts = {"--base-backoff-ms": "20", "--max-backoff-ms": "200"}
    it = iter(options)
    for name in it:
        opts[name] = str(next(it))
    for name, value in opts.items():
        cmd += [name, value]
    cmd += [verb] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.fixture
def via(proxy, remote_container):  # noqa: F811
    """The test's container seen through the proxy."""
    return remote_container.with_base(proxy.url)


def write_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_Upload_small_is_one_put_blob_with_headers_and_md5(tmp_path, proxy, via):
    data = os.urandom(100_000)
    src = write_file(tmp_path, "small", data)
    rc, out = probe(via.sas_url, "upload", "p/c/small.bin", src, "--content-type", "text/x-test",
                    "--cache-control", "no-cache", "--meta", "origin=strata", "--meta", "k2=v2")
    assert rc == 0, out
    assert out["props"]["size"] == len(data)
    assert out["props"]["content_md5"] == md5_b64(data)
    assert out["props"]["metadata"] == {"origin": "strata", "k2": "v2"}
    puts = [r for r in proxy.requests if r.method == "PUT"]
    assert len(puts) == 1 and "comp=block" not in puts[0].query
    assert puts[0].bytes_in == len(data)
    assert puts[0].headers["x-ms-blob-content-md5"] == md5_b64(data)
    assert puts[0].headers["content-md5"] == md5_b64(data)
    assert "x-ms-version" in puts[0].headers
    # The remote copy stands on its own.
    blob = via.client.get_blob_client("p/c/small.bin")
    assert blob.download_blob().readall() == data
    props = blob.get_blob_properties()
    assert props.content_settings.content_type == "text/x-test"
    assert props.content_settings.cache_control == "no-cache"
    assert base64.b64encode(props.content_settings.content_md5).decode() == md5_b64(data)
    assert props.metadata == {"origin": "strata", "k2": "v2"}


def test_Upload_large_goes_in_parallel_blocks_and_a_block_list(tmp_path, proxy, via):
    data = os.urandom(5 * MIB + 123)
    src = write_file(tmp_path, "large", data)
    rc, out = probe(via.url, "upload", "p/c/large.bin", src, key=via.key,
                    options=("--block-size", MIB, "--single-put-limit", MIB,
                             "--concurrency", 3))
    assert rc == 0, out
    assert out["props"]["size"] == len(data)
    assert out["props"]["content_md5"] == md5_b64(data)
    blocks = proxy._select(method="PUT", query_contains="comp=block&")
    assert len(blocks) == 6
    assert sorted(r.bytes_in for r in blocks) == [123] + [MIB] * 5
    assert all("content-md5" in r.headers for r in blocks)
    assert proxy.count(method="PUT", query_contains="comp=blocklist") == 1
    assert proxy.count(method="PUT") == 7
    blob = via.client.get_blob_client("p/c/large.bin")
    assert blob.download_blob().readall() == data
    committed, _ = blob.get_block_list()
    assert len(committed) == 6
    assert out["stats"]["bytes_up"] >= len(data)


def test_Upload_blocks_respect_the_concurrency_limit(tmp_path, proxy, via):
    # The first four Put Blocks are held at the proxy for a second, so every
    # worker is inside at once: exactly --concurrency requests in flight.
    data = os.urandom(8 * MIB)
    src = write_file(tmp_path, "f", data)
    proxy.stall_next(4, seconds=1, query_contains="comp=block&")
    rc, out = probe(via.sas_url, "upload", "conc.bin", src,
                    options=("--block-size", MIB, "--single-put-limit", MIB,
                             "--concurrency", 4))
    assert rc == 0, out
    assert proxy.peak_in_flight == 4
    assert proxy.count(query_contains="comp=block&") == 8
    proxy.reset_counts()
    rc, out = probe(via.sas_url, "upload", "conc2.bin", src,
                    options=("--block-size", MIB, "--single-put-limit", MIB,
                             "--concurrency", 2))
    assert rc == 0, out
    assert proxy.peak_in_flight <= 2


def test_Upload_block_failures_retry_only_that_block(tmp_path, proxy, via):
    data = os.urandom(4 * MIB)
    src = write_file(tmp_path, "f", data)
    proxy.fail_next(2, status=503, query_contains="comp=block&")
    proxy.drop_next(1, after_bytes=-1, query_contains="comp=blocklist")
    rc, out = probe(via.url, "upload", "bf.bin", src, key=via.key,
                    options=("--block-size", MIB, "--single-put-limit", MIB))
    assert rc == 0, out
    assert proxy.count(query_contains="comp=block&") == 6
    assert proxy.count(query_contains="comp=block&", status=201) == 4
    assert proxy.count(query_contains="comp=blocklist") == 2
    assert via.client.get_blob_client("bf.bin").download_blob().readall() == data


def test_Upload_at_the_single_put_limit_is_still_one_put(tmp_path, proxy, via):
    data = os.urandom(MIB)
    src = write_file(tmp_path, "edge", data)
    rc, out = probe(via.sas_url, "upload", "edge.bin", src,
                    options=("--block-size", 256 * 1024, "--single-put-limit", MIB))
    assert rc == 0, out
    assert proxy.count(method="PUT") == 1
    assert proxy.count(query_contains="comp=block") == 0


def peak_rss_mib(*probe_args):
    """Runs the probe in a child of a fresh Python and returns (exit code,
    JSON, the probe's peak resident set size in MiB)."""
    script = ("import json, resource, subprocess, sys\n"
              "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
              "print(json.dumps([r.returncode, r.stdout, "
              "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n")
    cmd = [probe_binary()] + [str(a) for a in probe_args]
    r = subprocess.run(["/usr/bin/python3", "-c", script] + cmd, capture_output=True, text=True,
                       timeout=300)
    rc, stdout, rss_kib = json.loads(r.stdout)
    return rc, json.loads(stdout), rss_kib / 1024


def sanitizer_baseline_mib():
    """0, or under AddressSanitizer (scripts/test.sh sets STRATA_SANITIZED=1)
    the peak RSS of the probe doing nothing: ASan's runtime and shadow take
    about 40 MiB before any work, so the bound applies to what the work adds."""
    if os.environ.get("STRATA_SANITIZED") != "1":
        return 0
    script = ("import resource, subprocess, sys\n"
              "subprocess.run(sys.argv[1:], capture_output=True)\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    r = subprocess.run(["/usr/bin/python3", "-c", script, probe_binary(), "--help"],
                       capture_output=True, text=True, timeout=60)
    return int(r.stdout) / 1024


def test_Upload_and_Read_stream_without_holding_the_blob(tmp_path, via):
    # 64 MiB through each path; the probe's whole process stays far below it.
    size = 64 * MIB
    base = sanitizer_baseline_mib()
    src = tmp_path / "big"
    with open(src, "wb") as f:
        for _ in range(size // MIB):
            f.write(os.urandom(MIB))
    for name, limit in (("single.bin", size), ("blocks.bin", MIB)):
        rc, out, rss = peak_rss_mib("--url", via.sas_url, "--single-put-limit", limit,
                                    "--block-size", 4 * MIB, "upload", name, src)
        assert rc == 0, out
        assert out["props"]["size"] == size
        assert rss - base < 48, (name, rss, base)
    rc, out, rss = peak_rss_mib("--url", via.sas_url, "read", "blocks.bin", tmp_path / "out")
    assert rc == 0, out
    assert rss - base < 48, (rss, base)
    assert out["stats"]["bytes_down"] == size
    with open(src, "rb") as a, open(tmp_path / "out", "rb") as b:
        assert hashlib.md5(a.read()).digest() == hashlib.md5(b.read()).digest()


def test_Upload_refuses_a_declared_md5_that_the_file_does_not_have(tmp_path, proxy, via):
    data = os.urandom(3 * MIB)
    src = write_file(tmp_path, "f", data)
    rc, out = probe(via.sas_url, "upload", "wrong.bin", src, "--md5", md5_b64(b"other"),
                    options=("--block-size", MIB, "--single-put-limit", MIB))
    assert rc == 1 and out["kind"] == "kIo", out
    assert proxy.count(method="PUT") == 0
    assert not via.client.get_blob_client("wrong.bin").exists()


def test_Upload_of_an_empty_file(tmp_path, via):
    src = write_file(tmp_path, "empty", b"")
    rc, out = probe(via.sas_url, "upload", "empty.bin", src)
    assert rc == 0, out
    assert out["props"]["size"] == 0
    assert out["props"]["content_md5"] == md5_b64(b"")
    rc, out = probe(via.sas_url, "read", "empty.bin", str(tmp_path / "out"))
    assert rc == 0, out
    assert (tmp_path / "out").read_bytes() == b""


def test_Read_ranged_fetches_only_the_range(tmp_path, proxy, via):
    data = os.urandom(3 * MIB)
    via.client.upload_blob("r.bin", data)
    out_path = tmp_path / "out"
    offset, length = MIB + 7, 100_000
    rc, out = probe(via.sas_url, "read", "r.bin", out_path, "--offset", offset,
                    "--length", length)
    assert rc == 0, out
    assert out_path.read_bytes() == data[offset:offset + length]
    gets = proxy._select(method="GET")
    assert len(gets) == 1
    assert gets[0].range == "bytes=%d-%d" % (offset, offset + length - 1)
    assert proxy.bytes_out("GET") == length
    assert out["props"]["size"] == len(data)


def test_Read_whole_blob_with_sharedkey_reuses_one_connection(tmp_path, proxy, via):
    data = os.urandom(300_000)
    via.client.upload_blob("w.bin", data)
    proxy.reset_counts()
    out_path = tmp_path / "out"
    rc, out = probe(via.url, "read", "w.bin", out_path, "--repeat", 4, key=via.key)
    assert rc == 0, out
    assert out_path.read_bytes() == data
    assert proxy.count(method="GET") == 4
    assert all(r.range is None for r in proxy.requests)
    assert proxy.connections == 1
    assert out["stats"]["connections_opened"] == 1
    assert out["stats"]["requests"] == 4


def test_Read_missing_blob_is_not_found_and_bad_range_is_refused(tmp_path, via):
    rc, out = probe(via.sas_url, "read", "nope.bin", str(tmp_path / "o"))
    assert rc == 1 and out["kind"] == "kNotFound", out
    assert out["stats"]["retries"] == 0
    via.client.upload_blob("tiny.bin", b"abc")
    rc, out = probe(via.sas_url, "read", "tiny.bin", str(tmp_path / "o"), "--offset", 10,
                    "--length", 5)
    assert rc == 1 and out["kind"] == "kInvalidArgument" and "416" in out["message"], out


def test_Head_reports_tier_metadata_and_md5(via):
    data = b"hello remote"
    blob = via.client.get_blob_client("h.bin")
    blob.upload_blob(data, metadata={"a": "1"})
    blob.set_standard_blob_tier("Cool")
    rc, out = probe(via.sas_url, "head", "h.bin")
    assert rc == 0, out
    p = out["props"]
    assert p["size"] == len(data)
    assert p["access_tier"] == "Cool"
    assert p["metadata"] == {"a": "1"}
    assert p["content_md5"] == md5_b64(data)
    assert p["etag"] == blob.get_blob_properties().etag.strip('"')


def test_SetTier_archive_then_reading_is_refused(tmp_path, via):
    via.client.upload_blob("a.bin", b"x" * 1000)
    for tier in ("Cool", "Cold", "Archive"):
        rc, out = probe(via.url, "set-tier", "a.bin", tier, key=via.key)
        assert rc == 0, out
        rc, out = probe(via.url, "head", "a.bin", key=via.key)
        assert out["props"]["access_tier"] == tier
    rc, out = probe(via.sas_url, "read", "a.bin", str(tmp_path / "o"))
    assert rc == 1 and out["kind"] == "kAlreadyExists" and "BlobArchived" in out["message"], out
    rc, out = probe(via.sas_url, "set-tier", "a.bin", "Lukewarm")
    assert rc == 1 and out["kind"] == "kInvalidArgument", out


def test_Delete_is_idempotent(proxy, via):
    via.client.upload_blob("d.bin", b"x")
    rc, out = probe(via.sas_url, "delete", "d.bin")
    assert rc == 0, out
    assert not via.client.get_blob_client("d.bin").exists()
    rc, out = probe(via.sas_url, "delete", "d.bin")
    assert rc == 0, out
    assert proxy.count(method="DELETE", status=404) == 1


def test_Names_are_percent_encoded(tmp_path, via):
    names = ["dir/a b+c.bin", "q?x#y%z&w=v", "\u00e9t\u00e9/\u65e5\u672c.txt", "semi;colon'"]
    for i, name in enumerate(names):
        src = write_file(tmp_path, "n%d" % i, name.encode() * 10)
        rc, out = probe(via.url, "upload", name, src, key=via.key)
        assert rc == 0, (name, out)
        rc, out = probe(via.sas_url, "read", name, str(tmp_path / "o"))
        assert rc == 0, (name, out)
        assert (tmp_path / "o").read_bytes() == name.encode() * 10
    assert sorted(b.name for b in via.client.list_blobs()) == sorted(names)


def test_Errors_503_then_recover(tmp_path, proxy, via):
    data = os.urandom(200_000)
    src = write_file(tmp_path, "f", data)
    proxy.fail_next(2, status=503, method="PUT")
    proxy.fail_next(1, status=500, method="HEAD")
    rc, out = probe(via.sas_url, "upload", "retry.bin", src)
    assert rc == 0, out
    assert out["stats"]["retries"] == 3
    assert proxy.count(method="PUT", status=503) == 2
    assert proxy.count(method="PUT", status=201) == 1
    assert proxy.count(method="HEAD", status=500) == 1
    assert via.client.get_blob_client("retry.bin").download_blob().readall() == data


@pytest.mark.parametrize("status", [408, 429, 502, 504])
def test_Errors_other_transient_statuses_are_retried(tmp_path, proxy, via, status):
    via.client.upload_blob("t.bin", b"abc")
    proxy.fail_next(1, status=status)
    rc, out = probe(via.sas_url, "head", "t.bin")
    assert rc == 0, out
    assert out["stats"]["retries"] == 1
    assert proxy.count(status=status) == 1


def test_Errors_persistent_503_is_busy_after_max_attempts(proxy, via):
    via.client.upload_blob("b.bin", b"abc")
    proxy.fail_next(100, status=503)
    rc, out = probe(via.sas_url, "head", "b.bin", options=("--max-attempts", 4))
    assert rc == 1 and out["kind"] == "kBusy", out
    assert proxy.count(status=503) == 4
    assert out["stats"]["retries"] == 3


def test_Errors_retry_after_is_honoured(proxy, via):
    # Backoff alone would wait at most 5 ms; Retry-After asks for 2 s, and an
    # HTTP date asks for a wait too. Only lower bounds are asserted: the
    # client must not come back before it was told to.
    via.client.upload_blob("ra.bin", b"abc")
    proxy.reset_counts()
    proxy.fail_next(1, status=503, retry_after="2")
    rc, out = probe(via.sas_url, "head", "ra.bin",
                    options=("--base-backoff-ms", 5, "--max-backoff-ms", 5))
    assert rc == 0, out
    first, second = proxy.requests
    assert first.status == 503 and second.status == 200
    assert second.time - first.time >= 1.9

    proxy.reset_counts()
    proxy.fail_next(1, status=429,
                    retry_after=email.utils.formatdate(time.time() + 3, usegmt=True))
    rc, out = probe(via.sas_url, "head", "ra.bin",
                    options=("--base-backoff-ms", 5, "--max-backoff-ms", 5))
    assert rc == 0, out
    first, second = proxy.requests
    assert first.status == 429 and second.status == 200
    assert second.time - first.time >= 1.0  # the date has one-second resolution


def test_Read_dropped_mid_body_resumes_without_duplicate_bytes(tmp_path, proxy, via):
    data = os.urandom(2 * MIB)
    via.client.upload_blob("drop.bin", data)
    etag = via.client.get_blob_client("drop.bin").get_blob_properties().etag
    proxy.drop_next(1, after_bytes=300_000, method="GET")
    out_path = tmp_path / "out"
    rc, out = probe(via.sas_url, "read", "drop.bin", out_path)
    assert rc == 0, out
    assert out_path.read_bytes() == data
    first, second = proxy._select(method="GET")
    assert first.fault == "drop" and first.bytes_out == 300_000
    assert second.range == "bytes=300000-"
    assert second.headers.get("if-match") == etag
    assert proxy.bytes_out("GET") == len(data)  # every byte crossed once
    assert out["stats"]["retries"] == 1


def test_Read_that_keeps_progressing_outlasts_max_attempts(tmp_path, proxy, via):
    data = os.urandom(MIB)
    via.client.upload_blob("prog.bin", data)
    proxy.drop_next(5, after_bytes=100_000, method="GET")
    out_path = tmp_path / "out"
    rc, out = probe(via.sas_url, "read", "prog.bin", out_path, options=("--max-attempts", 2))
    assert rc == 0, out
    assert out_path.read_bytes() == data
    assert proxy.count(method="GET") == 6
    assert proxy.bytes_out("GET") == len(data)
    # Without progress the same budget is exhausted.
    proxy.fail_next(2, status=503, method="GET")
    rc, out = probe(via.sas_url, "read", "prog.bin", out_path, options=("--max-attempts", 2))
    assert rc == 1 and out["kind"] == "kBusy", out


def test_Read_ranged_dropped_mid_body_resumes_within_the_range(tmp_path, proxy, via):
    data = os.urandom(2 * MIB)
    via.client.upload_blob("drop2.bin", data)
    proxy.drop_next(2, after_bytes=5000, method="GET")
    out_path = tmp_path / "out"
    offset, length = 1000, MIB
    rc, out = probe(via.sas_url, "read", "drop2.bin", out_path, "--offset", offset,
                    "--length", length)
    assert rc == 0, out
    assert out_path.read_bytes() == data[offset:offset + length]
    ranges = [r.range for r in proxy._select(method="GET")]
    end = offset + length - 1
    assert ranges == ["bytes=1000-%d" % end, "bytes=6000-%d" % end, "bytes=11000-%d" % end]
    assert proxy.bytes_out("GET") == length


def test_Read_resume_answered_with_the_whole_blob_is_refused(tmp_path, proxy, via):
    # The retry asks for bytes 1000-; a 200 with every byte from 0 must not
    # reach the sink, or it would see bytes 0-999 twice.
    data = os.urandom(MIB)
    via.client.upload_blob("ir.bin", data)
    proxy.drop_next(1, after_bytes=1000, method="GET")
    proxy.ignore_range_next(1, method="GET")
    out_path = tmp_path / "out"
    rc, out = probe(via.sas_url, "read", "ir.bin", out_path)
    assert rc == 1 and out["kind"] == "kIo", out
    assert out_path.read_bytes() == data[:1000]
    assert [r.status for r in proxy._select(method="GET")] == [200, 200]


def test_Read_ranged_answered_with_the_whole_blob_is_refused(tmp_path, proxy, via):
    data = os.urandom(100_000)
    via.client.upload_blob("ir2.bin", data)
    proxy.ignore_range_next(1, method="GET")
    out_path = tmp_path / "out"
    rc, out = probe(via.sas_url, "read", "ir2.bin", out_path, "--offset", 10, "--length", 10)
    assert rc == 1 and out["kind"] == "kIo", out
    assert out_path.read_bytes() == b""


def test_Read_blob_replaced_during_resume_is_refused(tmp_path, proxy, via):
    data = os.urandom(MIB)
    blob = via.client.get_blob_client("chg.bin")
    blob.upload_blob(data)
    proxy.drop_next(1, after_bytes=1000, method="GET")
    proxy.stall_next(1, seconds=4, method="GET")
    result = {}

    def run():
        result["r"] = probe(via.sas_url, "read", "chg.bin", str(tmp_path / "out"))

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 30
    while proxy.count(method="GET") < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert proxy.count(method="GET") == 2  # the resume is held in the stall
    blob.upload_blob(os.urandom(MIB), overwrite=True)
    t.join(timeout=60)
    rc, out = result["r"]
    assert rc == 1 and out["kind"] == "kPathConflict", out
    assert "changed" in out["message"]
    assert proxy.count(method="GET", status=412) == 1


def test_Errors_stalled_request_times_out_and_is_retried(proxy, via):
    via.client.upload_blob("s.bin", b"abc")
    proxy.stall_next(1, seconds=3)
    rc, out = probe(via.sas_url, "head", "s.bin", options=("--request-timeout-ms", 500))
    assert rc == 0, out
    assert out["stats"]["retries"] == 1


def test_Errors_stalled_read_is_abandoned_and_resumed(tmp_path, proxy, via):
    # No byte for longer than the stall timeout: the attempt is given up
    # although the per-attempt timeout is far away.
    data = os.urandom(MIB)
    via.client.upload_blob("st.bin", data)
    proxy.stall_next(1, seconds=4, method="GET")
    rc, out = probe(via.sas_url, "read", "st.bin", str(tmp_path / "o"),
                    options=("--stall-timeout-ms", 1000, "--request-timeout-ms", 60000))
    assert rc == 0, out
    assert (tmp_path / "o").read_bytes() == data
    assert out["stats"]["retries"] == 1


def test_Errors_remote_down_is_busy_then_recovers(tmp_path, proxy, via):
    via.client.upload_blob("down.bin", b"abc")
    proxy.reset_counts()
    proxy.go_down()
    # Bounded: subprocess.run's timeout fails the test if the client hangs.
    rc, out = probe(via.sas_url, "read", "down.bin", str(tmp_path / "o"),
                    options=("--max-attempts", 4, "--connect-timeout-ms", 1000), timeout=30)
    assert rc == 1 and out["kind"] == "kBusy", out
    assert out["stats"]["requests"] == 4 and out["stats"]["retries"] == 3
    assert proxy.requests == []
    proxy.come_back()
    rc, out = probe(via.sas_url, "read", "down.bin", str(tmp_path / "o"))
    assert rc == 0, out
    assert (tmp_path / "o").read_bytes() == b"abc"


def test_Errors_upload_while_remote_down_is_busy(tmp_path, proxy, via):
    src = write_file(tmp_path, "f", os.urandom(3 * MIB))
    proxy.go_down()
    rc, out = probe(via.sas_url, "upload", "u.bin", src,
                    options=("--max-attempts", 3, "--block-size", MIB,
                             "--single-put-limit", MIB), timeout=60)
    assert rc == 1 and out["kind"] == "kBusy", out
    proxy.come_back()
    assert not via.client.get_blob_client("u.bin").exists()


def test_Auth_bad_key_is_a_permission_error_without_retries(proxy, via):
    via.client.upload_blob("k.bin", b"abc")
    proxy.reset_counts()
    raw = bytearray(base64.b64decode(via.key))
    raw[0] ^= 1
    rc, out = probe(via.url, "head", "k.bin", key=base64.b64encode(bytes(raw)).decode())
    assert rc == 1 and out["kind"] == "kPermission", out
    assert out["stats"]["retries"] == 0
    assert proxy.count() == 1


def test_Auth_sas_without_write_permission_is_refused(tmp_path, proxy, via):
    src = write_file(tmp_path, "f", b"data")
    read_only = via.url + "?" + via.sas_for("rl")
    rc, out = probe(read_only, "upload", "ro.bin", src)
    assert rc == 1 and out["kind"] == "kPermission", out
    assert proxy.count() == 1
    via.client.upload_blob("ro2.bin", b"data")
    rc, out = probe(read_only, "read", "ro2.bin", str(tmp_path / "o"))
    assert rc == 0, out


def test_Auth_missing_container_is_container_not_found(tmp_path, azurite):  # noqa: F811
    src = write_file(tmp_path, "f", b"data")
    url = azurite.endpoint + "/nosuchcontainer"
    rc, out = probe(url, "upload", "x.bin", src, key=azurite.key)
    assert rc == 1 and out["kind"] == "kContainerNotFound", out


def test_Bandwidth_cap_paces_transfers(tmp_path, proxy, via):
    data = os.urandom(MIB)
    src = write_file(tmp_path, "f", data)
    rc, out = probe(via.sas_url, "upload", "free.bin", src)
    assert rc == 0, out
    assert out["stats"]["throttle_waits"] == 0
    rc, out = probe(via.sas_url, "upload", "capped.bin", src, options=("--bandwidth", 256 * 1024))
    assert rc == 0, out
    # 1 MiB through a 256 KiB/s bucket with a 256 KiB burst must wait.
    assert out["stats"]["throttle_waits"] > 0
    assert out["stats"]["bytes_up"] == len(data)
    rc, out = probe(via.sas_url, "read", "capped.bin", str(tmp_path / "o"),
                    options=("--bandwidth", 256 * 1024))
    assert rc == 0, out
    assert out["stats"]["throttle_waits"] > 0
    assert (tmp_path / "o").read_bytes() == data


def test_Https_with_a_trusted_certificate(tmp_path):
    a = Azurite(https=True).start()
    try:
        c = a.create_container()
        assert c.url.startswith("https://127.0.0.1:")
        data = os.urandom(3 * MIB)
        src = write_file(tmp_path, "f", data)
        rc, out = probe(c.url, "upload", "tls.bin", src, key=c.key,
                        options=("--ca-file", a.ca_file, "--block-size", MIB,
                                 "--single-put-limit", MIB))
        assert rc == 0, out
        rc, out = probe(c.sas_url, "read", "tls.bin", str(tmp_path / "o"), "--offset", 5,
                        "--length", MIB, options=("--ca-file", a.ca_file))
        assert rc == 0, out
        assert (tmp_path / "o").read_bytes() == data[5:5 + MIB]
        assert c.client.get_blob_client("tls.bin").download_blob().readall() == data
        # The same server without its certificate trusted: refused, not retried.
        rc, out = probe(c.sas_url, "head", "tls.bin")
        assert rc == 1 and out["kind"] == "kPermission", out
        assert out["stats"]["retries"] == 0
    finally:
        a.cleanup()


# --- Cache mode's calls (issue 14): List, Copy, conditional uploads ---------

AUTHS = ["sas", "key"]


def run(via, auth, verb, *args, options=()):
    """probe() through a SAS URL or SharedKey."""
    if auth == "sas":
        return probe(via.sas_url, verb, *args, options=options)
    return probe(via.url, verb, *args, key=via.key, options=options)


def list_all(via, auth, prefix="", delimiter=None, max_results=None):
    """Every page of a listing: (blob entries, prefixes, pages)."""
    blobs, prefixes, pages, marker = [], [], 0, None
    for _ in range(100):
        args = [prefix]
        if delimiter is not None:
            args += ["--delimiter", delimiter]
        if max_results is not None:
            args += ["--max", max_results]
        if marker:
            args += ["--marker", marker]
        rc, out = run(via, auth, "list", *args)
        assert rc == 0, out
        pages += 1
        blobs += out["listing"]["blobs"]
        prefixes += out["listing"]["prefixes"]
        marker = out["listing"]["next_marker"]
        if not marker:
            return blobs, prefixes, pages
    raise AssertionError("listing did not end")


def sdk_etag(props):
    return props.etag.strip('"')


@pytest.mark.parametrize("auth", AUTHS)
def test_List_flat_and_with_delimiter(via, auth):
    for name in ["a/1", "a/2", "a/b/3", "c", "d/4"]:
        via.client.upload_blob(name, name.encode())
    blobs, prefixes, _ = list_all(via, auth)
    assert [b["name"] for b in blobs] == ["a/1", "a/2", "a/b/3", "c", "d/4"]
    assert prefixes == []
    assert [b["props"]["size"] for b in blobs] == [3, 3, 5, 1, 3]
    blobs, prefixes, _ = list_all(via, auth, delimiter="/")
    assert [b["name"] for b in blobs] == ["c"]
    assert prefixes == ["a/", "d/"]
    blobs, prefixes, _ = list_all(via, auth, prefix="a/", delimiter="/")
    assert [b["name"] for b in blobs] == ["a/1", "a/2"]
    assert prefixes == ["a/b/"]
    blobs, prefixes, _ = list_all(via, auth, prefix="zzz")
    assert blobs == [] and prefixes == []


@pytest.mark.parametrize("auth", AUTHS)
def test_List_paginates_with_max_results(via, auth):
    names = ["p/%02d" % i for i in range(11)]
    for name in names:
        via.client.upload_blob(name, b"x")
    via.client.upload_blob("q/other", b"x")
    blobs, _, pages = list_all(via, auth, prefix="p/", max_results=4)
    assert pages == 3
    assert [b["name"] for b in blobs] == names
    rc, out = run(via, auth, "list", "p/", "--max", 4)
    assert rc == 0, out
    assert len(out["listing"]["blobs"]) == 4 and out["listing"]["next_marker"]
    # Prefixes count towards max_results too and paginate the same way.
    blobs, prefixes, pages = list_all(via, auth, delimiter="/", max_results=1)
    assert pages >= 2 and prefixes == ["p/", "q/"] and blobs == []


@pytest.mark.parametrize("auth", AUTHS)
def test_List_names_with_spaces_non_ascii_and_percent(via, auth):
    names = ["sp ace/a b.txt", "sp ace/100%.bin", "sp ace/%41%2F", "\u00e9t\u00e9/\u65e5\u672c",
             "plus+amp&q?h#", "tab\tname", "  lead and trail  ", "lf\nx", "cr\rx",
             "xml <&>\"' chars"]
    for name in names:
        via.client.upload_blob(name, name.encode())
    blobs, _, _ = list_all(via, auth)
    assert sorted(b["name"] for b in blobs) == sorted(names)
    blobs, prefixes, _ = list_all(via, auth, prefix="sp ace/", delimiter="/")
    assert sorted(b["name"] for b in blobs) == sorted(n for n in names if n.startswith("sp ace/"))
    blobs, _, _ = list_all(via, auth, prefix="\u00e9t\u00e9/")
    assert [b["name"] for b in blobs] == ["\u00e9t\u00e9/\u65e5\u672c"]
    blobs, _, _ = list_all(via, auth, prefix="sp ace/%")
    assert [b["name"] for b in blobs] == ["sp ace/%41%2F"]
    blobs, prefixes, _ = list_all(via, auth, delimiter=" ")
    assert prefixes == [" ", "sp ", "xml "]


@pytest.mark.parametrize("auth", AUTHS)
def test_List_and_Head_report_metadata_and_content_headers(via, auth):
    from azure.storage.blob import BlobBlock, ContentSettings
    data = b"hello, cache"
    settings = ContentSettings(content_type="text/x-strata", content_encoding="identity",
                               content_language="de-CH",
                               content_disposition='attachment; filename="h.txt"',
                               cache_control="max-age=60")
    blob = via.client.upload_blob("h.txt", data, content_settings=settings,
                                  metadata={"origin": "strata", "Mixed": "a & <b> c"})
    via.client.upload_blob("empty", b"")
    # Blocks and a block list without any MD5: the remote has none.
    nomd5 = via.client.get_blob_client("nomd5")
    nomd5.stage_block("YmxrMQ==", b"part one ")
    nomd5.stage_block("YmxrMg==", b"part two")
    nomd5.commit_block_list([BlobBlock("YmxrMQ=="), BlobBlock("YmxrMg==")])
    sdk = via.client.get_blob_client("h.txt").get_blob_properties()
    rc, out = run(via, auth, "list", "")
    assert rc == 0, out
    entries = {b["name"]: b["props"] for b in out["listing"]["blobs"]}
    assert set(entries) == {"h.txt", "empty", "nomd5"}
    rc, head = run(via, auth, "head", "h.txt")
    assert rc == 0, head
    for p in (entries["h.txt"], head["props"]):
        assert p["size"] == len(data)
        assert p["etag"] == sdk_etag(sdk) == blob.get_blob_properties().etag.strip('"')
        assert p["content_md5_hex"] == hashlib.md5(data).hexdigest()
        assert p["content_md5"] == md5_b64(data)
        assert p["content_type"] == "text/x-strata"
        assert p["content_encoding"] == "identity"
        assert p["content_language"] == "de-CH"
        assert p["content_disposition"] == 'attachment; filename="h.txt"'
        assert p["cache_control"] == "max-age=60"
        assert p["blob_type"] == "BlockBlob"
        assert p["metadata"] == {"origin": "strata", "Mixed": "a & <b> c"}
        assert p["last_modified_ns"] == int(sdk.last_modified.timestamp()) * 10**9
    assert entries["empty"]["size"] == 0
    assert entries["nomd5"]["size"] == len(b"part one part two")
    assert entries["nomd5"]["content_md5"] == "" and entries["nomd5"]["content_md5_hex"] == ""
    rc, head = run(via, auth, "head", "nomd5")
    assert rc == 0 and head["props"]["content_md5"] == "", head
    # Read reports the same properties with the first bytes.
    rc, rd = run(via, auth, "read", "h.txt", os.devnull)
    assert rc == 0, rd
    assert rd["props"]["content_type"] == "text/x-strata"
    assert rd["props"]["cache_control"] == "max-age=60"
    assert rd["props"]["last_modified_ns"] == entries["h.txt"]["last_modified_ns"]


def test_List_retries_a_503_and_a_dropped_page(proxy, via):
    for i in range(30):
        via.client.upload_blob("r/%02d" % i, b"x" * i)
    proxy.fail_next(1, status=503, query_contains="comp=list")
    proxy.drop_next(1, after_bytes=200, query_contains="comp=list")
    rc, out = probe(via.sas_url, "list", "r/")
    assert rc == 0, out
    assert [b["name"] for b in out["listing"]["blobs"]] == ["r/%02d" % i for i in range(30)]
    assert out["stats"]["retries"] == 2
    assert proxy.count(query_contains="comp=list") == 3


def test_List_missing_container_and_bad_max(azurite):  # noqa: F811
    url = azurite.endpoint + "/nosuchcontainer"
    rc, out = probe(url, "list", "", key=azurite.key)
    assert rc == 1 and out["kind"] == "kContainerNotFound", out
    for bad in (0, 5001):
        rc, out = probe(url, "list", "", "--max", bad, key=azurite.key)
        assert rc == 1 and out["kind"] == "kInvalidArgument", out
        assert out["stats"]["requests"] == 0


def test_List_failure_never_shows_the_sas(tmp_path, proxy, via):
    via.client.upload_blob("s.bin", b"x")
    for sas in (via.sas_for("r"), via.sas_for("racwd", hours=-1)):
        sig = [kv for kv in sas.split("&") if kv.startswith("sig=")][0][4:]
        cmd = [probe_binary(), "--url", via.url + "?" + sas, "--base-backoff-ms", "20",
               "list", ""]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, r.stdout
        out = json.loads(r.stdout)
        assert out["kind"] == "kPermission", out
        text = r.stdout + r.stderr
        for secret in (sig, sas, urllib_unquote(sig)):
            assert secret not in text
    # The copy source carries the SAS: a failing copy does not show it either.
    sas = via.sas_for("r")
    sig = [kv for kv in sas.split("&") if kv.startswith("sig=")][0][4:]
    r = subprocess.run([probe_binary(), "--url", via.url + "?" + sas, "copy", "s.bin", "t.bin"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and json.loads(r.stdout)["kind"] == "kPermission", r.stdout
    assert sig not in r.stdout + r.stderr and urllib_unquote(sig) not in r.stdout + r.stderr


def urllib_unquote(s):
    import urllib.parse
    return urllib.parse.unquote(s)


@pytest.mark.parametrize("auth", AUTHS)
def test_Copy_inside_the_remote(remote_container, auth):  # noqa: F811
    # Not through the proxy: Azurite checks a SAS copy source by its host
    # being the one the request came to.
    via = remote_container
    data = os.urandom(300_000)
    via.client.upload_blob("src dir/s\u00e9.bin", data, metadata={"origin": "strata"})
    src_props = via.client.get_blob_client("src dir/s\u00e9.bin").get_blob_properties()
    rc, out = run(via, auth, "copy", "src dir/s\u00e9.bin", "dst dir/d%.bin",
                  "--if-match", sdk_etag(src_props))
    assert rc == 0, out
    assert out["props"]["size"] == len(data)
    assert out["props"]["content_md5"] == md5_b64(data)
    assert out["props"]["metadata"] == {"origin": "strata"}
    dst = via.client.get_blob_client("dst dir/d%.bin")
    assert dst.download_blob().readall() == data
    assert out["props"]["etag"] == sdk_etag(dst.get_blob_properties())
    assert dst.get_blob_properties().copy.status == "success"
    # Without a condition too, over an existing destination.
    rc, out = run(via, auth, "copy", "src dir/s\u00e9.bin", "dst dir/d%.bin")
    assert rc == 0, out


@pytest.mark.parametrize("auth", AUTHS)
def test_Copy_with_a_stale_etag_is_a_conflict_and_copies_nothing(remote_container, auth):  # noqa: F811
    # Not through the proxy: Azurite checks a SAS copy source by its host
    # being the one the request came to.
    via = remote_container
    via.client.upload_blob("s.bin", b"one")
    old = sdk_etag(via.client.get_blob_client("s.bin").get_blob_properties())
    via.client.upload_blob("s.bin", b"two", overwrite=True)
    rc, out = run(via, auth, "copy", "s.bin", "t.bin", "--if-match", old)
    assert rc == 1 and out["kind"] == "kPathConflict", out
    assert out["stats"]["retries"] == 0
    assert [b.name for b in via.client.list_blobs()] == ["s.bin"]


@pytest.mark.parametrize("auth", AUTHS)
def test_Copy_of_a_missing_source_is_not_found(remote_container, auth):  # noqa: F811
    # Not through the proxy: Azurite checks a SAS copy source by its host
    # being the one the request came to.
    via = remote_container
    rc, out = run(via, auth, "copy", "nope.bin", "t.bin")
    assert rc == 1 and out["kind"] == "kNotFound", out
    assert out["stats"]["retries"] == 0
    assert list(via.client.list_blobs()) == []


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("blocks", [False, True])
def test_Upload_if_match(tmp_path, proxy, via, auth, blocks):
    opts = ("--block-size", 64 * 1024, "--single-put-limit", 64 * 1024) if blocks else ()
    first = os.urandom(200_000)
    via.client.upload_blob("c.bin", first)
    current = sdk_etag(via.client.get_blob_client("c.bin").get_blob_properties())
    stale = current
    src = write_file(tmp_path, "f", os.urandom(200_000))
    rc, out = run(via, auth, "upload", "c.bin", src, "--if-match", current, options=opts)
    assert rc == 0, out
    current = out["props"]["etag"]
    assert current != stale
    # The same condition again: the blob changed since, nothing is written.
    proxy.reset_counts()
    src2 = write_file(tmp_path, "g", os.urandom(200_000))
    rc, out = run(via, auth, "upload", "c.bin", src2, "--if-match", stale, options=opts)
    assert rc == 1 and out["kind"] == "kPathConflict", out
    assert "remote blob changed" in out["message"]
    assert out["stats"]["retries"] == 0
    if blocks:  # checked before any block is sent
        assert proxy.count(method="PUT") == 0
    else:
        assert proxy.count(status=412) == 1
    props = via.client.get_blob_client("c.bin").get_blob_properties()
    assert sdk_etag(props) == current
    assert via.client.get_blob_client("c.bin").download_blob().readall() == \
        open(src, "rb").read()
    # If-Match on a blob that is gone: also a conflict.
    rc, out = run(via, auth, "upload", "gone.bin", src2, "--if-match", current, options=opts)
    assert rc == 1 and out["kind"] == "kPathConflict", out
    assert "gone.bin" not in [b.name for b in via.client.list_blobs()]


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("blocks", [False, True])
def test_Upload_if_none_match_any(tmp_path, proxy, via, auth, blocks):
    opts = ("--block-size", 64 * 1024, "--single-put-limit", 64 * 1024) if blocks else ()
    data = os.urandom(150_000)
    src = write_file(tmp_path, "f", data)
    rc, out = run(via, auth, "upload", "n.bin", src, "--if-none-match-any", options=opts)
    assert rc == 0, out
    etag = out["props"]["etag"]
    proxy.reset_counts()
    src2 = write_file(tmp_path, "g", os.urandom(150_000))
    rc, out = run(via, auth, "upload", "n.bin", src2, "--if-none-match-any", options=opts)
    assert rc == 1 and out["kind"] == "kPathConflict", out
    assert "remote blob changed" in out["message"]
    assert out["stats"]["retries"] == 0
    if blocks:  # checked before any block is sent
        assert proxy.count(method="PUT") == 0
    else:
        assert proxy.count(status=409) + proxy.count(status=412) == 1
    blob = via.client.get_blob_client("n.bin")
    assert sdk_etag(blob.get_blob_properties()) == etag
    assert blob.download_blob().readall() == data


@pytest.mark.parametrize("condition", ["none-match", "match"])
def test_Upload_conditional_retried_after_it_landed_succeeds(tmp_path, proxy, via, condition):
    # The first Put Blob lands but its answer is lost: the retry finds the
    # condition unmet by its own write, and the remote holding exactly these
    # bytes counts as done.
    data = os.urandom(100_000)
    src = write_file(tmp_path, "f", data)
    if condition == "match":
        via.client.upload_blob("landed.bin", b"old")
        args = ["--if-match", sdk_etag(via.client.get_blob_client("landed.bin")
                                       .get_blob_properties())]
    else:
        args = ["--if-none-match-any"]
    proxy.drop_next(1, after_bytes=-1, method="PUT")
    rc, out = probe(via.sas_url, "upload", "landed.bin", src, *args)
    assert rc == 0, out
    assert out["stats"]["retries"] == 1
    assert proxy.count(method="PUT", status=412) + proxy.count(method="PUT", status=409) == 1
    assert via.client.get_blob_client("landed.bin").download_blob().readall() == data


def test_Copy_is_retried_on_503(proxy, via):
    via.client.upload_blob("s.bin", b"retry me")
    proxy.fail_next(1, status=503, method="PUT")
    rc, out = probe(via.url, "copy", "s.bin", "t.bin", key=via.key)
    assert rc == 0, out
    assert out["stats"]["retries"] == 1
    assert out["props"]["size"] == 8
    assert via.client.get_blob_client("t.bin").download_blob().readall() == b"retry me"


def test_Upload_blocks_if_match_still_checked_at_the_block_list(tmp_path, proxy, via):
    # The blob changes after the pre-check passed, while the blocks go up:
    # the condition on Put Block List catches it and nothing is committed.
    via.client.upload_blob("race.bin", b"before")
    etag = sdk_etag(via.client.get_blob_client("race.bin").get_blob_properties())
    src = write_file(tmp_path, "f", os.urandom(4 * MIB))
    proxy.stall_next(1, seconds=1, query_contains="comp=block&")
    result = {}
    t = threading.Thread(target=lambda: result.update(r=probe(
        via.sas_url, "upload", "race.bin", src, "--if-match", etag,
        options=("--block-size", MIB, "--single-put-limit", MIB, "--concurrency", 1))))
    t.start()
    time.sleep(0.5)
    via.client.upload_blob("race.bin", b"changed meanwhile", overwrite=True)
    t.join(60)
    rc, out = result["r"]
    assert rc == 1 and out["kind"] == "kPathConflict", out
    assert proxy.count(query_contains="comp=blocklist", status=412) == 1
    blob = via.client.get_blob_client("race.bin")
    assert blob.download_blob().readall() == b"changed meanwhile"
