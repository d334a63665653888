"""Cache mode's operator side: `strata cache status|import|prefetch|evict|flush`
against a running server's admin endpoints (/cache/...), the jobs behind
them, and the strata_cache_* counters at /metrics. The remote is a real
Azurite container named in a --config file ("mode": "cache", "remote": its
SAS URL). Loopback only; every wait is bounded."""
import json
import os
import pty
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from azurite import azurite, free_port, remote_container  # noqa: F401  (fixtures)
from tier_util import CACHED, CacheServer
from strata_server import strata_binary

ACCOUNT = "devstoreaccount1"


@pytest.fixture
def cached(remote_container, tmp_path):  # noqa: F811
    s = CacheServer(remote_container, tmp_path).start()
    yield s
    s.stop()


def admin(server, method, path):
    req = urllib.request.Request(server.admin + path, method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def cache_status(server):
    st, body = admin(server, "GET", "/cache/status")
    assert st == 200, body
    return json.loads(body)


def states(server):
    (c,) = [c for c in cache_status(server)["containers"] if c["name"] == CACHED]
    return {k: v["blobs"] for k, v in c["states"].items()}


def cli(server_or_url, *args, tty=False, timeout=120):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.admin
    cmd = [strata_binary(), "cache"] + list(args) + ["--admin", url]
    if not tty:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=10), out.decode(errors="replace")


def metric(text, name, labels='account="%s"' % ACCOUNT):
    m = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


def metrics_text(server):
    st, body = admin(server, "GET", "/metrics")
    assert st == 200
    return body


def blob_client(server, name):
    return server.service().get_container_client(CACHED).get_blob_client(name)


# ---------------------------------------------------------------- no List needed

def test_status_shape_and_no_secret_anywhere(cached, remote_container):  # noqa: F811
    sas = remote_container.sas
    sig = re.search(r"sig=([^&]+)", sas).group(1)
    st = cache_status(cached)
    assert st["account"] == ACCOUNT
    (c,) = st["containers"]
    assert c["name"] == CACHED
    assert c["remote"] == remote_container.url  # without its query string
    assert c["write_mode"] == "write_through" and c["revalidate_s"] == 3600
    assert set(c["states"]) == {"stub", "clean", "dirty"}
    for v in c["states"].values():
        assert set(v) == {"blobs", "bytes"}
    for k in ("hit_requests", "hit_bytes", "miss_requests", "miss_bytes", "hydrations",
              "hydration_bytes", "uploads", "upload_bytes", "conflicts", "remote_errors",
              "imported", "writeback_queue"):
        assert isinstance(st["counters"][k], int), k
    assert isinstance(st["recent"], list) and isinstance(c["errors"], list)

    # A write through the cache: uploaded before the answer, so clean.
    blob_client(cached, "w").upload_blob(b"written here")
    assert remote_container.client.get_blob_client("w").download_blob().readall() == \
        b"written here"
    assert states(cached)["clean"] == 1
    m = metrics_text(cached)
    assert metric(m, "strata_cache_uploads_total") == 1
    assert metric(m, "strata_cache_upload_bytes_total") == len(b"written here")
    for name in ("strata_cache_hit_requests_total", "strata_cache_hit_bytes_total",
                 "strata_cache_miss_requests_total", "strata_cache_miss_bytes_total",
                 "strata_cache_hydrations_total", "strata_cache_hydration_bytes_total",
                 "strata_cache_conflicts_total", "strata_cache_remote_errors_total",
                 "strata_cache_imported_total", "strata_cache_writeback_queue"):
        assert metric(m, name) is not None, name
    assert re.search(r'^strata_cache_container_info\{account="%s",container="%s",'
                     r'write_mode="write_through"\} 1$' % (ACCOUNT, CACHED), m, re.M)
    # The SAS is nowhere an operator looks.
    _, tier_json = admin(cached, "GET", "/status/tier.json")
    assert json.loads(tier_json)[0]["cache"]["containers"][0]["remote"] == remote_container.url
    _, page = admin(cached, "GET", "/status")
    rc, out = cli(cached, "status")
    assert rc == 0, out
    assert remote_container.url in out and "write_through" in out
    for text in (json.dumps(st), m, tier_json, page, out, cached.log()):
        assert sig not in text and "sig=" not in text and sas not in text


def test_parameters_are_refused_and_the_server_stays(cached):
    bad = [
        ("POST", "/cache/import", 400),                      # no path
        ("POST", "/cache/import?path=", 400),
        ("POST", "/cache/import?path=Bad_Name", 400),
        ("POST", "/cache/import?path=%2Fx", 400),
        ("POST", "/cache/import?path=notcached", 409),
        ("POST", "/cache/evict?path=notcached/x", 409),
        ("POST", "/cache/import?path=cached&account=nosuch", 404),
        ("GET", "/cache/status?account=nosuch", 404),
        ("POST", "/cache/prefetch?path=cached&concurrency=0", 400),
        ("POST", "/cache/prefetch?path=cached&concurrency=65", 400),
        ("POST", "/cache/prefetch?path=cached&concurrency=-1", 400),
        ("POST", "/cache/prefetch?path=cached&concurrency=4x", 400),
        ("POST", "/cache/prefetch?path=cached&concurrency=99999999999999999999999", 400),
        ("POST", "/cache/prefetch?path=cached&bandwidth=-5", 400),
        ("POST", "/cache/prefetch?path=cached&bandwidth=1e9", 400),
        ("POST", "/cache/prefetch?path=cached&bandwidth=", 400),
        ("POST", "/cache/import?path=cached&concurrency=2", 400),  # prefetch only
        ("POST", "/cache/flush?bandwidth=10", 400),
        ("GET", "/cache/import?path=cached", 405),
        ("POST", "/cache/status", 405),
        ("POST", "/cache/job?id=1", 405),
        ("GET", "/cache/job", 400),
        ("GET", "/cache/job?id=abc", 400),
        ("GET", "/cache/job?id=0", 400),
        ("GET", "/cache/job?id=424242", 404),
        ("GET", "/cache/nothing", 404),
        ("POST", "/cache/import?path=cached/" + "a" * 2000, 400),
    ]
    for method, path, want in bad:
        st, body = admin(cached, method, path)
        assert st == want, (method, path, st, body)
    st, body = admin(cached, "GET", "/healthz")
    assert st == 200
    # A good request still starts a job, whose progress has the documented shape.
    st, body = admin(cached, "POST", "/cache/flush")
    assert st == 202, body
    job = json.loads(body)["job"]
    deadline = time.time() + 30
    while time.time() < deadline:
        st, body = admin(cached, "GET", "/cache/job?id=%d" % job)
        assert st == 200
        p = json.loads(body)
        if p["state"] != "running":
            break
        time.sleep(0.05)
    assert p["state"] == "done", p
    assert p["kind"] == "flush" and p["id"] == job
    for k in ("blobs_total", "blobs_done", "blobs_failed", "bytes_total", "bytes_done",
              "failure_count"):
        assert p[k] == 0, k
    assert p["failures"] == []


def test_cli_usage_and_unreachable_exit_codes(cached):
    dead = "http://127.0.0.1:%d" % free_port()
    usage = [
        ("frobnicate", "cached"),
        ("import",),                               # no path
        ("prefetch",),
        ("evict",),
        ("prefetch", "cached", "--concurrency", "0"),
        ("prefetch", "cached", "--concurrency", "65"),
        ("prefetch", "cached", "--bandwidth", "-1"),
        ("evict", "cached", "--concurrency", "2"),  # prefetch only
        ("import", "cached", "--timeout", "0"),
    ]
    for args in usage:
        rc, out = cli(cached, *args)
        assert rc == 2, (args, rc, out)
    rc, out = cli("ftp://127.0.0.1:1", "status")
    assert rc == 2, out
    r = subprocess.run([strata_binary(), "cache", "status"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2  # no --admin
    for args in (("status",), ("import", "cached"), ("flush",)):
        rc, out = cli(dead, *args)
        assert rc == 3, (args, rc, out)
        assert "cannot reach" in out
    # The server says no: 1, with its reason.
    rc, out = cli(cached, "import", "notcached")
    assert rc == 1 and "not cached" in out, out
    rc, out = cli(cached, "status", "notcached")
    assert rc == 1, out
    rc, out = cli(cached, "status", "--account", "nosuch")
    assert rc == 1 and "no such account" in out, out
    # Nothing dirty: a flush succeeds at once.
    rc, out = cli(cached, "flush")
    assert rc == 0, out
    assert "uploaded: 0 of 0 blobs" in out
    rc, out = cli(cached, "flush", "--no-wait")
    assert rc == 0 and re.search(r"job \d+ started", out), out


def test_flush_uploads_what_write_back_left(remote_container, tmp_path):  # noqa: F811
    s = CacheServer(remote_container, tmp_path, write_mode="write_back").start()
    try:
        data = {"wb/%d" % i: os.urandom(10_000 + i) for i in range(5)}
        for n, d in data.items():
            blob_client(s, n).upload_blob(d)
        rc, out = cli(s, "flush", CACHED)
        assert rc == 0, out
        for n, d in data.items():
            assert remote_container.client.get_blob_client(n).download_blob().readall() == d
        assert states(s)["dirty"] == 0
        m = metrics_text(s)
        assert metric(m, "strata_cache_uploads_total") == 5
        assert metric(m, "strata_cache_writeback_queue") == 0
        assert re.search(r'write_mode="write_back"\} 1$', m, re.M)
    finally:
        s.stop()


# ------------------------------------------------ these need RemoteClient::List

def seed(remote, names):
    data = {}
    for i, n in enumerate(names):
        d = os.urandom(50_000 + i)
        remote.client.get_blob_client(n).upload_blob(d)
        data[n] = d
    return data


def test_import_prefetch_evict_with_progress(cached, remote_container):  # noqa: F811
    data = seed(remote_container, ["set/a", "set/b", "set/c", "other"])
    rc, out = cli(cached, "import", CACHED)
    assert rc == 0, out
    assert "import: 4 listed, 4 new" in out, out
    assert states(cached) == {"stub": 4, "clean": 0, "dirty": 0}
    assert not os.path.exists(os.path.join(cached.root, ".strata", "cache",
                                           "import-%s.marker" % CACHED))

    rc, out = cli(cached, "prefetch", CACHED + "/set/", "--concurrency", "2", tty=True)
    assert rc == 0, out
    assert "3/3 blobs" in out and "[" in out and "MiB/s" in out, out   # the progress bar
    assert "hydrated: 3 of 3 blobs" in out, out
    assert states(cached) == {"stub": 1, "clean": 3, "dirty": 0}
    m = metrics_text(cached)
    assert metric(m, "strata_cache_hydrations_total") == 3
    assert metric(m, "strata_cache_hydration_bytes_total") == sum(
        len(data[n]) for n in ("set/a", "set/b", "set/c"))
    assert metric(m, "strata_cache_imported_total") >= 4
    # Hydrated data is served locally: a hit.
    assert blob_client(cached, "set/a").download_blob().readall() == data["set/a"]
    assert metric(metrics_text(cached), "strata_cache_hit_requests_total") >= 1
    recent = cache_status(cached)["recent"]
    assert {("hydrate", CACHED + "/set/b")} <= {(e["kind"], e["path"]) for e in recent}

    rc, out = cli(cached, "evict", CACHED + "/set/")
    assert rc == 0, out
    assert "evicted: 3 of 3 blobs" in out, out
    assert states(cached) == {"stub": 4, "clean": 0, "dirty": 0}
    # Still readable (from the remote).
    assert blob_client(cached, "set/c").download_blob().readall() == data["set/c"]


def test_prefetch_bandwidth_cap(cached, remote_container):  # noqa: F811
    # 4 blobs of 1 MiB at 1 MiB/s, bursts of 1 MiB: the first starts at once,
    # the others wait about a second each.
    for i in range(4):
        remote_container.client.get_blob_client("bw/%d" % i).upload_blob(os.urandom(1 << 20))
    t0 = time.time()
    rc, out = cli(cached, "prefetch", CACHED + "/bw/", "--concurrency", "4",
                  "--bandwidth", str(1 << 20))
    took = time.time() - t0
    assert rc == 0, out
    assert "hydrated: 4 of 4 blobs" in out, out
    assert took >= 2.7, (took, out)
    assert took < 30, (took, out)


def test_prefetch_lists_failures_and_exits_1(cached, remote_container, azurite):  # noqa: F811
    # Stubs made by naming the blobs (Get Blob Properties imports a blob it
    # does not know yet), then the remote goes away: the prefetch's import
    # and every hydration fail, each listed with its path; exit 1.
    seed(remote_container, ["f/a", "f/b"])
    for n in ("f/a", "f/b"):
        blob_client(cached, n).get_blob_properties()
    assert states(cached)["stub"] == 2
    azurite.stop()
    try:
        rc, out = cli(cached, "prefetch", CACHED + "/f/", timeout=300)
    finally:
        azurite.start()
    assert rc == 1, out
    assert re.search(r"^FAILED   %s/f/a  \S" % CACHED, out, re.M), out
    assert re.search(r"^FAILED   %s/f/b  \S" % CACHED, out, re.M), out
    assert re.search(r"^FAILED   %s/f/  import: " % CACHED, out, re.M), out
    assert "prefetch %s/f/: failed" % CACHED in out, out
    assert states(cached)["stub"] == 2
    assert metric(metrics_text(cached), "strata_cache_remote_errors_total") >= 1


def test_import_job_of_a_container_is_exclusive_and_resumable_marker(cached, remote_container):  # noqa: F811,E501
    seed(remote_container, ["m/%03d" % i for i in range(20)])
    marker_dir = os.path.join(cached.root, ".strata", "cache")
    # A marker of another prefix is ignored (a full import), and removed
    # once the import completes.
    os.makedirs(marker_dir, exist_ok=True)
    with open(os.path.join(marker_dir, "import-%s.marker" % CACHED), "w") as f:
        json.dump({"prefix": "elsewhere/", "marker": "whatever"}, f)
    rc, out = cli(cached, "import", CACHED + "/m/")
    assert rc == 0, out
    assert "import: 20 listed, 20 new" in out, out
    assert not os.path.exists(os.path.join(marker_dir, "import-%s.marker" % CACHED))
