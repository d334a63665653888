"""`strata tier status|offload|recall|verify PATH...` against a running
server's admin endpoints, and the Prometheus counters at /metrics."""
import os
import pty
import re
import subprocess
import time
import urllib.request
import uuid

import pytest

from azurite import azurite, remote_container  # noqa: F401  (fixtures)
from tier_util import TierServer, raw_header
from strata_server import strata_binary


@pytest.fixture
def tiered(remote_container):  # noqa: F811
    s = TierServer(remote_container.sas_url, extra_args=["--admin-port", "0"]).start()
    deadline = time.time() + 10
    while not re.search(r"admin on [\d.]+:(\d+)", s.log() + s.banner) and time.time() < deadline:
        time.sleep(0.02)
    m = re.search(r"admin on [\d.]+:(\d+)", s.log() + s.banner)
    s.admin = "http://127.0.0.1:%s" % m.group(1)
    yield s
    s.stop()


def cli(server, *args, tty=False):
    cmd = [strata_binary(), "tier"] + list(args) + ["--admin", server.admin, "--timeout", "60"]
    if not tty:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout + r.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.time() + 120
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


def metrics(server):
    with urllib.request.urlopen(server.admin + "/metrics", timeout=10) as r:
        return r.read().decode()


def metric(text, name, labels='account="devstoreaccount1"'):
    m = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


def test_cli_offload_status_verify_recall(tiered, remote_container):  # noqa: F811
    c = tiered.service().create_container("t" + uuid.uuid4().hex[:16])
    data = {n: os.urandom(70_000 + i) for i, n in enumerate(["set/a", "set/b", "other"])}
    for n, d in data.items():
        c.get_blob_client(n).upload_blob(d)
    cn = c.container_name
    rc, out = cli(tiered, "offload", cn + "/set/", tty=True)
    assert rc == 0, out
    assert "2/2 blobs" in out and "[" in out          # the progress bar
    for n in ["set/a", "set/b"]:
        assert raw_header(c.get_blob_client(n), "x-strata-tier-state") == "offloaded"
    assert raw_header(c.get_blob_client("other"), "x-strata-tier-state") == "hot"

    rc, out = cli(tiered, "status", cn)
    assert rc == 0
    assert re.search(r"^offloaded\s+Cool\s+70000\s+%s/set/a$" % cn, out, re.M), out
    assert re.search(r"^hot\s+Hot\s+70002\s+%s/other$" % cn, out, re.M), out

    rc, out = cli(tiered, "verify", cn + "/set/")
    assert rc == 0 and out.count("ok ") == 2, out
    # A corrupted remote copy fails verification, and the command says so.
    remote_container.client.get_blob_client("strata/%s/set/b" % cn).upload_blob(
        b"x" * 70001, overwrite=True)
    rc, out = cli(tiered, "verify", cn + "/set/")
    assert rc == 1 and "FAILED" in out and "set/b" in out, out

    m = metrics(tiered)
    assert metric(m, "strata_tier_offloads_total") == 2
    assert metric(m, "strata_tier_verify_failures_total") == 1
    assert metric(m, "strata_tier_queue_depth") == 0
    assert "strata_tier_remote_requests_total" in m
    assert re.search(r'^strata_tier_blobs\{account="devstoreaccount1",state="hot"\} \d+$', m, re.M)

    # Recall: the good one comes back; the corrupted one is refused.
    rc, out = cli(tiered, "recall", cn + "/set/")
    assert rc == 1, out
    assert "FAILED" in out and "set/b" in out and "verification" in out, out
    assert raw_header(c.get_blob_client("set/a"), "x-strata-tier-state") == "hot"
    assert raw_header(c.get_blob_client("set/b"), "x-strata-tier-state") == "offloaded"
    assert c.get_blob_client("set/a").download_blob().readall() == data["set/a"]
    m = metrics(tiered)
    assert metric(m, "strata_tier_recalls_total") == 1


def test_cli_refusals(tiered):
    rc, out = cli(tiered, "frobnicate", "c/b")
    assert rc == 2
    rc, out = cli(tiered, "status", "nosuchcontainer/x")
    assert rc == 1 and "nosuchcontainer" in out, out
    rc, out = cli(tiered, "offload", "c/b", "--tier", "Hot")
    assert rc == 1, out
