"""Quotas with several gateways on one root: three strata processes serve the
same root and config, and one container's "max_bytes"/"max_files" hold for
all of them together (one usage ledger, .strata/usage/CONTAINER, read and
rewritten under a lock every gateway takes). Filled from the three at once,
the container never holds more than its limit, every refusal is Azure's 403
ShareSizeLimitReached, a delete through one gateway frees room for another,
a gateway killed mid-fill leaves the others working, and the first gateway
to start again recounts the tree."""
import json
import os
import random
import tempfile
import threading
import time

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.storage.blob import BlobServiceClient

from strata_server import StrataServer

MAX_BYTES = 60000
MAX_FILES = 9
SIZES = (1000, 3000)  # each upload's size is drawn from this range


def write_config(base):
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"containers": {"shared": {"max_bytes": MAX_BYTES},
                                  "fewfiles": {"max_files": MAX_FILES},
                                  "open": {}}}, f)
    return cfg


def stored(root, container):
    """(bytes, files) of the regular files of a container's tree on disk."""
    total = files = 0
    for dp, _, fs in os.walk(os.path.join(root, container)):
        for name in fs:
            try:
                total += os.stat(os.path.join(dp, name)).st_size
                files += 1
            except FileNotFoundError:  # deleted while we looked
                pass
    return total, files


def is_full(e):
    return e.status_code == 403 and e.error_code == "ShareSizeLimitReached"


class Gateways:
    def __init__(self, n=3):
        self.base = tempfile.mkdtemp(prefix="strata-quota-gw-")
        self.root = os.path.join(self.base, "root")
        self.config = write_config(self.base)
        self.servers = []
        self.start(n)

    def start(self, n):
        # One at a time: a later gateway waits in its start while the first recovers.
        for _ in range(n):
            self.servers.append(StrataServer(root=self.root, config=self.config).start())

    def stop(self):
        for s in self.servers:
            s.stop()
        self.servers = []

    def client(self, i, container):
        svc = BlobServiceClient.from_connection_string(self.servers[i].connection_string,
                                                       retry_total=0)
        return svc.get_container_client(container)


@pytest.fixture
def gw():
    g = Gateways()
    yield g
    g.stop()


class Watch:
    """Samples the container's stored bytes and files until stopped; the
    largest seen are the test's evidence that the limit held all along."""

    def __init__(self, root, container):
        self.root, self.container = root, container
        self.max_bytes = self.max_files = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        deadline = time.time() + 120
        while not self._stop.is_set() and time.time() < deadline:
            b, f = stored(self.root, self.container)
            self.max_bytes = max(self.max_bytes, b)
            self.max_files = max(self.max_files, f)
            self.samples += 1

    def stop(self):
        self._stop.set()
        self._t.join(timeout=10)


def fill(gw, container, gateways, threads_each=2, attempts=60, sizes=SIZES, stop_after=6,
         on_start=None):
    """Uploads from `threads_each` threads per gateway at once, unique names,
    until each thread saw `stop_after` refusals in a row or made `attempts`
    tries. Returns (uploaded, refused, errors) where errors are anything but
    ShareSizeLimitReached (connection errors to a killed gateway included, as
    (gateway, exception))."""
    lock = threading.Lock()
    uploaded, refused, errors = [], [], []
    go = threading.Barrier(len(gateways) * threads_each)

    def worker(g, t):
        c = gw.client(g, container)
        rng = random.Random(g * 100 + t)
        go.wait(timeout=30)
        deadline = time.time() + 60
        in_a_row = 0
        for i in range(attempts):
            if in_a_row >= stop_after or time.time() > deadline:
                break
            size = rng.randint(*sizes)
            name = "g%d-t%d-%d" % (g, t, i)
            try:
                c.upload_blob(name, b"x" * size)
            except HttpResponseError as e:
                with lock:
                    (refused if is_full(e) else errors).append((g, e))
                in_a_row += 1
                continue
            except (ServiceRequestError, ServiceResponseError) as e:
                with lock:
                    errors.append((g, e))
                in_a_row += 1
                continue
            in_a_row = 0
            with lock:
                uploaded.append((g, name, size))

    workers = [threading.Thread(target=worker, args=(g, t))
               for g in gateways for t in range(threads_each)]
    for w in workers:
        w.start()
    if on_start:
        on_start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    return uploaded, refused, errors


def test_QuotaGateways_three_gateways_fill_one_limit(gw):
    for c in ("shared", "fewfiles"):
        gw.client(0, c).create_container()
    watch = Watch(gw.root, "shared")
    try:
        uploaded, refused, errors = fill(gw, "shared", [0, 1, 2])
    finally:
        watch.stop()
    assert errors == [], errors[:3]
    assert refused, "the fill never reached the limit"
    assert watch.samples > 0
    assert watch.max_bytes <= MAX_BYTES, watch.max_bytes
    total, files = stored(gw.root, "shared")
    assert total == sum(s for _, _, s in uploaded)
    assert files == len(uploaded)
    # Full, as far as uploads of these sizes can tell: the last refusals came
    # with less than the largest size left.
    assert total > MAX_BYTES - SIZES[1], total
    # Every gateway stored some of it: they did write at once.
    assert {g for g, _, _ in uploaded} == {0, 1, 2}

    # A delete through gateway 0 frees room that gateway 1 may fill to the
    # byte, and not a byte more through gateway 2.
    room = MAX_BYTES - total
    g, name, size = uploaded[0]
    with pytest.raises(HttpResponseError) as e:
        gw.client(2, "shared").upload_blob("exact", b"e" * (room + size))
    assert is_full(e.value), e.value
    gw.client(0, "shared").delete_blob(name)
    gw.client(1, "shared").upload_blob("exact", b"e" * (room + size))
    with pytest.raises(HttpResponseError) as e:
        gw.client(2, "shared").upload_blob("one-more", b"1")
    assert is_full(e.value), e.value
    assert stored(gw.root, "shared")[0] == MAX_BYTES

    # The file limit, from the three at once: exactly MAX_FILES land.
    uploaded, refused, errors = fill(gw, "fewfiles", [0, 1, 2], sizes=(1, 1), stop_after=3)
    assert errors == [], errors[:3]
    assert len(uploaded) == MAX_FILES
    assert stored(gw.root, "fewfiles") == (MAX_FILES, MAX_FILES)
    # An unlimited container beside them has no ledger.
    gw.client(2, "open").create_container()
    gw.client(2, "open").upload_blob("free", b"f" * 100000)
    assert sorted(os.listdir(os.path.join(gw.root, ".strata", "usage"))) == ["fewfiles", "shared"]


def test_QuotaGateways_a_killed_gateway_leaves_the_others_working_and_a_restart_recounts(gw):
    gw.client(0, "shared").create_container()
    watch = Watch(gw.root, "shared")
    victim = gw.servers[2]

    def kill_soon():
        # Once some uploads are in, SIGKILL gateway 2 mid-fill (it may hold
        # the quota lock: the kernel releases it with the process).
        deadline = time.time() + 30
        while stored(gw.root, "shared")[0] < MAX_BYTES // 3 and time.time() < deadline:
            time.sleep(0.005)
        victim.kill()

    try:
        uploaded, refused, errors = fill(gw, "shared", [0, 1, 2], on_start=kill_soon)
    finally:
        watch.stop()
    assert not victim.alive()
    # Only the dead gateway's requests failed otherwise.
    assert all(g == 2 for g, _ in errors), [e for e in errors if e[0] != 2][:3]
    assert watch.max_bytes <= MAX_BYTES, watch.max_bytes
    # The survivors went on to fill the container.
    assert refused
    assert any(g != 2 for g, _, _ in uploaded)
    total, _ = stored(gw.root, "shared")
    assert total <= MAX_BYTES

    # Changes made with plain tools while no gateway runs are counted by the
    # first gateway to start again: remove a blob, add a file.
    gw.stop()
    victim_files = sorted(os.listdir(os.path.join(gw.root, "shared")))
    os.remove(os.path.join(gw.root, "shared", victim_files[0]))
    with open(os.path.join(gw.root, "shared", "plain"), "wb") as f:
        f.write(b"p" * 500)
    total, _ = stored(gw.root, "shared")
    room = MAX_BYTES - total
    assert room > 0
    gw.start(2)
    with pytest.raises(HttpResponseError) as e:
        gw.client(1, "shared").upload_blob("after", b"a" * (room + 1))
    assert is_full(e.value), e.value
    gw.client(0, "shared").upload_blob("after", b"a" * room)
    assert stored(gw.root, "shared")[0] == MAX_BYTES
