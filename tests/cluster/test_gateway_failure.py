"""A gateway dies (SIGKILL: no cleanup) while the others serve through the
load balancer: in the middle of a large upload, and at named instants of a
commit (crash points, test builds). Clients that retry through the load
balancer succeed, blobs committed before are byte-identical, a survivor
removes the dead gateway's staging directory (ROOT/.strata/tmp/ID) within
its 10 s reaping period, and the dead gateway starts again."""
import hashlib
import os
import random
import subprocess
import threading
import time

import pytest
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient, LinearRetry

from cluster import StrataCluster

MiB = 1 << 20
CONTAINER = "survive"
REAP_SECONDS = 20  # the reaper runs every 10 s; a start reaps at once


def md5(data):
    return hashlib.md5(data).hexdigest()


def client(cluster, retries=8, **kw):
    """Through the load balancer, retrying quickly (the SDK's default waits
    15 s and more between tries)."""
    return BlobServiceClient.from_connection_string(
        cluster.connection_string, connection_timeout=5, read_timeout=60,
        retry_policy=LinearRetry(backoff=0.3, random_jitter_range=0.1, retry_total=retries),
        **kw).get_container_client(CONTAINER)


def read_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def gateway_id(cluster, i):
    """The registered id of gateway i (host-PID-start)."""
    pid = cluster.gateways[i].pid
    for name in os.listdir(os.path.join(cluster.root, ".strata", "gateways")):
        if "-%d-" % pid in name:
            return name
    raise AssertionError("gateway %d (pid %d) is not registered" % (i, pid))


def files_under(path):
    return sorted(os.path.join(dp, f) for dp, _, fs in os.walk(path) for f in fs)


def wait_reaped(cluster, gid):
    """The dead gateway's staging directory and registration disappear."""
    tmp = os.path.join(cluster.root, ".strata", "tmp", gid)
    reg = os.path.join(cluster.root, ".strata", "gateways", gid)
    deadline = time.monotonic() + REAP_SECONDS
    while os.path.exists(tmp) or os.path.exists(reg):
        assert time.monotonic() < deadline, (
            "%s not reaped in %d s: %r" % (gid, REAP_SECONDS, files_under(tmp)))
        time.sleep(0.1)


@pytest.fixture
def cluster():
    c = StrataCluster(3).start()
    BlobServiceClient.from_connection_string(c.connection_string).create_container(CONTAINER)
    yield c
    c.cleanup()


@pytest.fixture
def committed(cluster):
    """Blobs committed before anything dies, and their MD5s."""
    cc = client(cluster, max_single_put_size=4 * MiB, max_block_size=MiB)
    rnd = random.Random(12)
    out = {}
    for i in range(12):
        data = rnd.randbytes(rnd.choice([0, 1, 1000, 300_000, 3 * MiB, 6 * MiB]))
        cc.upload_blob("before/%02d" % i, data, max_concurrency=1)
        out["before/%02d" % i] = md5(data)
    return out


def check_intact(cluster, committed, extra=()):
    cc = client(cluster)
    for name, digest in committed.items():
        assert md5(cc.download_blob(name).readall()) == digest, name
    for g in cluster.gateways:  # each one directly too: no gateway has its own view
        direct = BlobServiceClient.from_connection_string(g.connection_string)
        names = sorted(b.name for b in direct.get_container_client(CONTAINER).list_blobs())
        expected = set(committed) | set(extra)
        dirs = {n.rsplit("/", 1)[0] for n in expected if "/" in n}  # listed as directories
        assert set(names) - dirs == expected, names


def check_no_residue(cluster):
    tmp = os.path.join(cluster.root, ".strata", "tmp")
    assert files_under(tmp) == []
    live = sorted(gateway_id(cluster, i) for i in range(len(cluster.gateways)))
    assert sorted(os.listdir(tmp)) == live
    assert sorted(os.listdir(os.path.join(cluster.root, ".strata", "gateways"))) == live
    assert files_under(os.path.join(cluster.root, ".strata", "blocks")) == []


class Background:
    """Small uploads through the load balancer while the test works: each
    must succeed (with retries) while a gateway dies."""

    def __init__(self, cluster):
        self.cc = client(cluster)
        self.done = {}
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        n = 0
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline and n < 2000:
            name = "bg/%04d" % n
            data = os.urandom(random.randint(0, 64 * 1024))
            try:
                self.cc.upload_blob(name, data)
                self.done[name] = md5(data)
            except AzureError as e:
                self.errors.append((name, e))
            n += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.mark.parametrize("blocks", [False, True], ids=["put_blob", "put_block"])
def test_gateway_killed_mid_upload(cluster, committed, blocks):
    size = 160 * MiB
    data = random.Random(7).randbytes(size)
    if blocks:
        cc = client(cluster, max_single_put_size=MiB, max_block_size=16 * MiB)
    else:
        cc = client(cluster, max_single_put_size=256 * MiB)
    pids = [g.pid for g in cluster.gateways]
    result = {}

    def upload():
        try:
            cc.upload_blob("big", data, max_concurrency=1)
            result["ok"] = True
        except Exception as e:  # reported by the assertion below
            result["error"] = e

    with Background(cluster) as bg:
        base = [read_bytes(p) for p in pids]
        up = threading.Thread(target=upload)
        up.start()
        # The gateway that has read 8 MiB of the body is receiving it: kill it.
        victim = None
        deadline = time.monotonic() + 30
        while victim is None and time.monotonic() < deadline and up.is_alive():
            grew = [read_bytes(p) - b for p, b in zip(pids, base)]
            for i, g in enumerate(grew):
                if g >= 8 * MiB:
                    victim = i
            time.sleep(0.001)
        assert victim is not None, "no gateway was seen receiving the upload"
        gid = gateway_id(cluster, victim)
        cluster.kill(victim)
        staged = files_under(os.path.join(cluster.root, ".strata", "tmp", gid))
        up.join(timeout=120)
        assert result.get("ok"), result
        wait_reaped(cluster, gid)
    assert not bg.errors, bg.errors[:3]
    assert len(bg.done) > 0
    print("\nkilled gateway %d mid-upload (%s), staged then: %d file(s); %d uploads beside"
          % (victim, "blocks" if blocks else "one Put Blob", len(staged), len(bg.done)))
    if not blocks:
        assert staged, "the kill did not land while the body was staged"
    assert md5(client(cluster).download_blob("big").readall()) == md5(data)
    cluster.restart(victim)
    direct = BlobServiceClient.from_connection_string(cluster.gateways[victim].connection_string)
    assert md5(direct.get_blob_client(CONTAINER, "big").download_blob().readall()) == md5(data)
    check_intact(cluster, committed, ["big"] + list(bg.done))
    for name, digest in bg.done.items():
        assert md5(client(cluster).download_blob(name).readall()) == digest
    check_no_residue(cluster)


@pytest.mark.parametrize("point", ["store.commit.staged", "store.commit.renamed"])
def test_gateway_killed_mid_commit(cluster, committed, point):
    """Gateway 1 dies at a named instant of its next commit. The client that
    sent that commit sees an error; the blob is then the old version
    (staged) or the new one (renamed), never a mix; the client's retry
    through the load balancer commits on a survivor."""
    victim = 1
    cluster.kill(victim)
    cluster.gateways[victim].env = dict(os.environ, STRATA_CRASH_AT=point)
    cluster.restart(victim)
    gid = gateway_id(cluster, victim)
    once = client(cluster, retries=0, max_single_put_size=4 * MiB, max_block_size=MiB)
    retrying = client(cluster, max_single_put_size=4 * MiB, max_block_size=MiB)
    old = committed["before/05"]
    name = "before/05"
    rnd = random.Random(point)
    crashed = None
    # Round robin sends gateway 1 about one commit in three (none for a
    # second after nginx saw a gateway fail): bounded in tries and time.
    deadline = time.monotonic() + 30
    for t in range(100):
        if time.monotonic() > deadline:
            break
        data = rnd.randbytes(rnd.choice([1000, 3 * MiB, 5 * MiB]))  # Put Blob or blocks
        try:
            once.upload_blob(name, data, overwrite=True, max_concurrency=1)
            old = md5(data)
        except AzureError as e:
            try:  # its sockets close a moment before it can be waited for
                cluster.gateways[victim].proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                raise AssertionError("gateway %d lives, yet: %s\n%s" % (victim, e, cluster.error_log()))
            crashed = t
            # The load balancer did not send the request on to another
            # gateway: it had reached gateway 1, which might have done it.
            log = cluster.access_log_when(lambda log: any(e["status"] >= 500 for e in log))
            failed = [e for e in log if e["status"] >= 500]
            assert [e["gateways"] for e in failed] == [[victim]], failed
            now = retrying.download_blob(name).readall()
            props = retrying.get_blob_client(name).get_blob_properties()
            expect = old if point == "store.commit.staged" else md5(data)
            assert md5(now) == expect, (point, t)
            assert props.size == len(now)
            retrying.upload_blob(name, data, overwrite=True, max_concurrency=1)
            assert md5(retrying.download_blob(name).readall()) == md5(data)
            committed[name] = md5(data)
            break
    assert crashed is not None, "gateway %d never reached %s" % (victim, point)
    assert not cluster.gateways[victim].alive()
    wait_reaped(cluster, gid)
    cluster.gateways[victim].env = None
    cluster.restart(victim)
    check_intact(cluster, committed)
    check_no_residue(cluster)
