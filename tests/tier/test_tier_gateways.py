"""The capacity tier with several gateways on one root (each started with the
same --tier-remote, a real Azurite behind them): one tier leader runs the
policy and watermark passes; when it dies another takes over within 2 s; a
blob is moved by one gateway at a time; a gateway killed mid-offload or
mid-recall (the crash points of test_tier_crash.py) has its journal replayed
by a survivor within 10 s while that survivor serves, leaving no temp file,
no journal entry and no remote copy that no record points to."""
import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from azurite import azurite, proxy, remote_container  # noqa: F401  (fixtures)
from tier_util import (MIB, TierServer, journal_dirs, journal_files, raw_header, remote_names,
                       tmp_files, wait_state)
from strata_server import strata_binary  # noqa: E402  (on the path tier_util sets)

OFFLOAD_POINTS = ["tier.offload.journaled", "tier.offload.uploaded",
                  "tier.offload.premigrated", "tier.offload.released"]
RECALL_POINTS = ["tier.recall.journaled", "tier.recall.downloaded",
                 "tier.recall.committed", "tier.recall.remote_deleted"]
TAKEOVER_BOUND_S = 2.0   # non-leaders try the leader lock every second
REPLAY_BOUND_S = 10.0


class Gateway(TierServer):
    """A TierServer with its admin endpoint (GET /tier/leader, /metrics)."""

    def __init__(self, remote_url, root=None, extra_args=(), env=None):
        super().__init__(remote_url, root=root, extra_args=["--admin-port", "0"] + list(extra_args),
                         env=env)

    def start(self, timeout=20):
        super().start(timeout)
        deadline = time.time() + 10
        m = None
        while time.time() < deadline:
            m = re.search(r"admin on [\d.]+:(\d+)", self.banner + self.log())
            if m:
                break
            time.sleep(0.02)
        assert m, self.banner + self.log()
        self.admin = "http://127.0.0.1:%s" % m.group(1)
        self.id = self.leader()["gateway"]
        return self

    def get(self, path):
        with urllib.request.urlopen(self.admin + path, timeout=10) as r:
            return r.read().decode()

    def post(self, path):
        req = urllib.request.Request(self.admin + path, data=b"", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def leader(self):
        return json.loads(self.get("/tier/leader"))

    def metric(self, name, labels='account="devstoreaccount1"'):
        text = self.get("/metrics")
        pat = r"^%s%s (\d+)$" % (re.escape(name), "{%s}" % re.escape(labels) if labels else "")
        m = re.search(pat, text, re.M)
        return int(m.group(1)) if m else None


def start_gateways(remote_url, n, root=None, extra_args=(), envs=None):
    gws = []
    for i in range(n):
        env = envs[i] if envs else None
        g = Gateway(remote_url, root=root if root or not gws else gws[0].root,
                    extra_args=extra_args, env=env).start()
        gws.append(g)
    return gws


def the_leader(gws, timeout=TAKEOVER_BOUND_S + 3):
    """The gateway among `gws` that says it leads (exactly one must)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        leads = [g for g in gws if g.alive() and g.leader()["self"]]
        assert len(leads) <= 1, [g.id for g in leads]
        if leads:
            return leads[0]
        time.sleep(0.05)
    raise AssertionError("no gateway leads")


def leader_file(root):
    with open(os.path.join(root, ".strata", "tier", "leader")) as f:
        return f.read().strip()


def wait_until(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def stop_all(gws):
    for g in gws:
        g.stop()


def test_only_the_leader_moves_on_a_watermark_pass(remote_container):  # noqa: F811
    # 1,000,000 bytes of capacity, above 50% offload down to 10%.
    gws = start_gateways(remote_container.sas_url, 3,
                         extra_args=["--tier-capacity", "1000000", "--tier-high-watermark", "50",
                                     "--tier-low-watermark", "10", "--tier-interval", "3600"])
    try:
        lead = the_leader(gws)
        others = [g for g in gws if g is not lead]
        # Every gateway names the same leader; the file and the gauge agree.
        for g in gws:
            info = g.leader()
            assert info["leader"] == lead.id and info["alive"], info
            assert g.metric("strata_tier_leader") == (1 if g is lead else 0)
        assert leader_file(lead.root) == lead.id
        # Each gateway journals in its own directory.
        assert journal_dirs(lead.root) == sorted(g.id for g in gws)

        cname = "t" + uuid.uuid4().hex[:16]
        gws[0].service().create_container(cname)
        data = {}
        for i in range(6):   # 600,000 bytes, written through every gateway
            name = "b%d" % i
            data[name] = os.urandom(100_000)
            gws[i % 3].service().get_container_client(cname).get_blob_client(name) \
                .upload_blob(data[name])
        # An operator signals every gateway: only the leader moves.
        for g in gws:
            g.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: "leader watermark pass" in lead.log(), 20, "the leader's pass")
        for g in others:
            wait_until(lambda: "not the tier leader" in g.log(), 20, "a non-leader's refusal")
            assert "leader watermark pass" not in g.log()
            assert "leader pass over" not in g.log()
        m = re.search(r"leader watermark pass: [\d.]+% used, (\d+) offloads queued", lead.log())
        queued = int(m.group(1))
        assert queued == 5   # 600,000 -> 100,000 bytes: at most 10%
        c = lead.service().get_container_client(cname)
        wait_until(lambda: lead.metric("strata_tier_offloads_total") == queued, 60, "offloads")
        states = {n: raw_header(c.get_blob_client(n), "x-strata-tier-state") for n in data}
        offloaded = sorted(n for n, s in states.items() if s == "offloaded")
        assert len(offloaded) == queued, states
        # One upload per blob, all by the leader; the others never wrote to
        # the remote.
        assert remote_names(remote_container) == sorted("strata/%s/%s" % (cname, n)
                                                        for n in offloaded)
        assert lead.metric("strata_tier_remote_bytes_up_total", None) == 100_000 * queued
        for g in others:
            assert g.metric("strata_tier_offloads_total") == 0
            assert g.metric("strata_tier_remote_bytes_up_total", None) == 0
        # A pass asked of a non-leader names the leader instead.
        status, body = others[0].post("/tier/pass")
        assert status == 409 and lead.id in body, (status, body)
        status, body = lead.post("/tier/pass")
        assert status == 202, (status, body)
        for n, d in data.items():   # through any gateway
            assert others[1].service().get_container_client(cname).get_blob_client(n) \
                .download_blob().readall() == d
        assert journal_files(lead.root) == []
    finally:
        stop_all(gws)


def test_a_gateway_takes_over_when_the_leader_dies(remote_container, capsys):  # noqa: F811
    gws = start_gateways(remote_container.sas_url, 3,
                         extra_args=["--tier-capacity", "1000000", "--tier-high-watermark", "50",
                                     "--tier-low-watermark", "30", "--tier-interval", "3600"])
    try:
        old = the_leader(gws)
        survivors = [g for g in gws if g is not old]
        old.proc.kill()
        old.proc.wait(timeout=10)
        t0 = time.time()
        new = the_leader(survivors, timeout=TAKEOVER_BOUND_S + 3)
        takeover = time.time() - t0
        assert takeover <= TAKEOVER_BOUND_S, takeover
        with capsys.disabled():
            print("\n[figure] tier leader takeover after SIGKILL: %.2f s" % takeover)
        other = [g for g in survivors if g is not new][0]
        wait_until(lambda: leader_file(new.root) == new.id, 5, "the leader file")
        assert other.leader() == {"leader": new.id, "alive": True, "self": False,
                                  "gateway": other.id}
        assert new.metric("strata_tier_leader") == 1 and other.metric("strata_tier_leader") == 0
        # The new leader runs the next pass.
        cname = "t" + uuid.uuid4().hex[:16]
        c = other.service().create_container(cname)
        data = {n: os.urandom(200_000) for n in ["x", "y", "z"]}
        for n, d in data.items():
            c.get_blob_client(n).upload_blob(d)
        status, body = other.post("/tier/pass")
        assert status == 409 and new.id in body, body
        status, _ = new.post("/tier/pass")
        assert status == 202
        # 600,000 bytes -> at most 300,000: two offloads.
        wait_until(lambda: new.metric("strata_tier_offloads_total") == 2, 60, "two offloads")
        assert other.metric("strata_tier_offloads_total") == 0
        assert len(remote_names(remote_container)) == 2
        # `strata tier status` against the non-leader: the leader's moves,
        # seen in the shared records, and who leads.
        r = subprocess.run([strata_binary(), "tier", "status", cname, "--admin", other.admin],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"^leader\s+%s\s+\(another gateway\)$" % re.escape(new.id), r.stdout,
                         re.M), r.stdout
        assert len(re.findall(r"^offloaded\s+Cool\s+200000\s+%s/" % cname, r.stdout, re.M)) == 2, \
            r.stdout
        assert len(re.findall(r"^hot\s+Hot\s+200000\s+%s/" % cname, r.stdout, re.M)) == 1, r.stdout
        for n, d in data.items():
            assert c.get_blob_client(n).download_blob().readall() == d
        # The dead leader's (empty) journal is gone too.
        wait_until(lambda: old.id not in journal_dirs(new.root), REPLAY_BOUND_S, "its journal")
    finally:
        stop_all(gws)


def crash_while_another_serves(remote_container, point, recall, dead_leads, capsys):  # noqa: F811
    survivor_env = {}
    crash_env = {"STRATA_CRASH_AT": point}
    envs = [crash_env, survivor_env] if dead_leads else [survivor_env, crash_env]
    gws = start_gateways(remote_container.sas_url, 2, envs=envs)
    dead, alive = (gws[0], gws[1]) if dead_leads else (gws[1], gws[0])
    try:
        root = alive.root
        assert the_leader(gws) is (dead if dead_leads else alive)
        cname = "t" + uuid.uuid4().hex[:16]
        alive.service().create_container(cname)
        data = os.urandom(2 * MIB + 3)
        b = dead.service().get_container_client(cname).get_blob_client("a/b.bin")
        b.upload_blob(data, metadata={"k": "v"})
        etag = b.get_blob_properties().etag
        # The move runs on the doomed gateway (the one asked).
        if recall:
            b.set_standard_blob_tier("Cool")
            wait_state(b, "offloaded")
            b.set_standard_blob_tier("Hot")
        else:
            b.set_standard_blob_tier("Cool")
        assert dead.wait_exit(timeout=60) == -signal.SIGKILL, dead.log()
        died = time.time()
        b2 = alive.service().get_container_client(cname).get_blob_client("a/b.bin")
        # The survivor serves the blob at once, whatever the dead one left.
        assert b2.download_blob().readall() == data
        # Within the bound the survivor (the leader by now) has replayed the
        # dead gateway's journal and removed it.
        wait_until(lambda: dead.id not in journal_dirs(root), REPLAY_BOUND_S, "the replay")
        replayed = time.time() - died
        said = r"replayed the journal of dead gateway %s \((\d+) entries, (\d+) ms\)" % \
            re.escape(dead.id)
        # The line follows the removal (and the output is read by a thread).
        wait_until(lambda: re.search(said, alive.log()), 10, "the replay's log line")
        m = re.search(said, alive.log())
        with capsys.disabled():
            print("\n[figure] %s (dead gateway %s): journal replayed %.2f s after its death "
                  "(%s entries, %s ms of replay)" % (point, "led" if dead_leads else "did not lead",
                                                     replayed, m.group(1), m.group(2)))
        assert alive.leader()["self"]
        props = b2.get_blob_properties()
        assert props.etag == etag
        assert props.metadata == {"k": "v"}
        assert b2.download_blob().readall() == data
        # Queued remote steps finish, and the dead one's staging goes.
        wait_until(lambda: journal_files(root) == [], 30, "an empty journal")
        wait_until(lambda: tmp_files(root) == [], 30, "no staged files")
        state = raw_header(b2, "x-strata-tier-state")
        remote = "strata/%s/a/b.bin" % cname
        if state == "hot":
            assert remote_names(remote_container) == []   # no orphan
        else:
            assert state in ("offloaded", "premigrated"), state
            assert remote_names(remote_container) == [remote]
            b2.set_standard_blob_tier("Hot")
            wait_state(b2, "hot")
            assert b2.download_blob().readall() == data
            assert b2.get_blob_properties().etag == etag
            wait_until(lambda: remote_names(remote_container) == [], 30, "the copy's deletion")
        assert journal_files(root) == [] and tmp_files(root) == []
        return state
    finally:
        stop_all(gws)


@pytest.mark.parametrize("point", OFFLOAD_POINTS)
def test_gateway_dies_mid_offload(remote_container, point, capsys):  # noqa: F811
    state = crash_while_another_serves(remote_container, point, False, False, capsys)
    expect = "hot" if point in ("tier.offload.journaled", "tier.offload.uploaded") else "offloaded"
    assert state == expect


@pytest.mark.parametrize("point", RECALL_POINTS)
def test_gateway_dies_mid_recall(remote_container, point, capsys):  # noqa: F811
    state = crash_while_another_serves(remote_container, point, True, False, capsys)
    expect = "offloaded" if point in ("tier.recall.journaled", "tier.recall.downloaded") else "hot"
    assert state == expect


@pytest.mark.parametrize("point,recall,expect", [("tier.offload.uploaded", False, "hot"),
                                                 ("tier.offload.premigrated", False, "offloaded"),
                                                 ("tier.recall.downloaded", True, "offloaded"),
                                                 ("tier.recall.committed", True, "hot")])
def test_leader_dies_mid_move(remote_container, point, recall, expect, capsys):  # noqa: F811
    """The dead gateway led: the survivor first takes over, then replays."""
    assert crash_while_another_serves(remote_container, point, recall, True, capsys) == expect


def test_one_blob_is_moved_by_one_gateway_at_a_time(remote_container):  # noqa: F811
    """Set Blob Tier Cool on one blob through two gateways at once: one
    uploads; the other's move waits for it and then finds the blob offloaded
    (without the move lock both would upload, and the loser would delete
    the copy the winner recorded)."""
    gws = start_gateways(remote_container.sas_url, 2)
    try:
        cname = "t" + uuid.uuid4().hex[:16]
        gws[0].service().create_container(cname)
        data = os.urandom(24 * MIB)
        blobs = [g.service().get_container_client(cname).get_blob_client("big") for g in gws]
        blobs[0].upload_blob(data)
        barrier = threading.Barrier(2)
        errors = []

        def cool(b):
            try:
                barrier.wait(timeout=10)
                b.set_standard_blob_tier("Cool")
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=cool, args=(b,)) for b in blobs]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=30)
        assert not errors, errors
        wait_state(blobs[1], "offloaded")
        for g in gws:
            wait_until(lambda: g.metric("strata_tier_queue_depth") == 0, 60, "idle")
        assert sum(g.metric("strata_tier_offloads_total") for g in gws) == 1
        assert sum(g.metric("strata_tier_remote_bytes_up_total", None) for g in gws) == len(data)
        assert remote_names(remote_container) == ["strata/%s/big" % cname]
        assert blobs[0].download_blob().readall() == data
        blobs[0].set_standard_blob_tier("Hot")
        wait_state(blobs[1], "hot")
        assert blobs[1].download_blob().readall() == data
        wait_until(lambda: remote_names(remote_container) == [], 30, "the copy's deletion")
    finally:
        stop_all(gws)


def test_a_pass_skips_a_blob_another_gateway_is_moving(proxy, remote_container):  # noqa: F811
    """A non-leader offloads blob x on request, its upload held up on the
    way to the remote; a watermark pass on the leader meanwhile leaves x
    alone (its bytes counted as leaving) and offloads others instead."""
    lead = Gateway(remote_container.sas_url,
                   extra_args=["--tier-capacity", "1000000", "--tier-high-watermark", "30",
                               "--tier-low-watermark", "10", "--tier-interval", "3600"]).start()
    slow = Gateway(remote_container.with_base(proxy.url).sas_url, root=lead.root).start()
    try:
        assert the_leader([lead, slow]) is lead
        cname = "t" + uuid.uuid4().hex[:16]
        c = lead.service().create_container(cname)
        data = {}
        for n in ["x", "y", "z"]:   # x least recently used
            data[n] = os.urandom(200_000)
            c.get_blob_client(n).upload_blob(data[n])
            time.sleep(0.002)
        proxy.stall_next(1, seconds=4, method="PUT")
        slow.service().get_container_client(cname).get_blob_client("x").set_standard_blob_tier(
            "Cool")
        wait_until(lambda: proxy.count(method="PUT") >= 1, 20, "the slow upload")
        status, _ = lead.post("/tier/pass")
        assert status == 202
        # 600,000 bytes; x is leaving: y and z bring it to 0 <= 10%.
        wait_until(lambda: "offloads queued" in lead.log(), 20, "the pass")
        assert "leader watermark pass: 60.0% used, 2 offloads queued" in lead.log(), lead.log()
        for n in data:
            wait_state(c.get_blob_client(n), "offloaded")
        for g in (lead, slow):
            wait_until(lambda: g.metric("strata_tier_queue_depth") == 0, 60, "idle")
        assert lead.metric("strata_tier_offloads_total") == 2
        assert slow.metric("strata_tier_offloads_total") == 1
        assert (lead.metric("strata_tier_remote_bytes_up_total", None)
                + slow.metric("strata_tier_remote_bytes_up_total", None)) == 600_000
        assert remote_names(remote_container) == ["strata/%s/%s" % (cname, n) for n in "xyz"]
        for n, d in data.items():
            assert c.get_blob_client(n).download_blob().readall() == d
    finally:
        stop_all([lead, slow])


def test_an_older_stratas_flat_journal_is_replayed_by_the_leader(remote_container):  # noqa: F811
    """An entry directly in ROOT/.strata/journal (an older strata's layout):
    an upload that was never recorded. The leader rolls it back while
    another gateway serves: the remote copy goes, the blob stays hot."""
    gws = start_gateways(remote_container.sas_url, 2)
    try:
        lead = the_leader(gws)
        cname = "t" + uuid.uuid4().hex[:16]
        c = gws[1].service().create_container(cname)
        data = os.urandom(300_000)
        c.get_blob_client("old").upload_blob(data)
        remote = "strata/%s/old" % cname
        remote_container.client.get_blob_client(remote).upload_blob(data)
        entry = {"op": "offload", "step": "upload",
                 "c": base64.b64encode(cname.encode()).decode(),
                 "b": base64.b64encode(b"old").decode(),
                 "remote": base64.b64encode(remote.encode()).decode(),
                 "etag": c.get_blob_client("old").get_blob_properties().etag,
                 "tier": "Cool", "keep": False, "size": 0, "ino": 0, "mtime": 0}
        key = "b" + hashlib.md5(("%s/old" % cname).encode()).hexdigest() + ".json"
        path = os.path.join(lead.root, ".strata", "journal", key)
        staged = os.path.join(lead.root, ".strata", key + ".tmp")   # written whole, then moved in
        with open(staged, "w") as f:
            json.dump(entry, f)
        os.rename(staged, path)
        wait_until(lambda: not os.path.exists(path), REPLAY_BOUND_S, "the flat entry's replay")
        wait_until(lambda: remote_names(remote_container) == [], 30, "the orphan's deletion")
        assert raw_header(c.get_blob_client("old"), "x-strata-tier-state") == "hot"
        assert c.get_blob_client("old").download_blob().readall() == data
        wait_until(lambda: journal_files(lead.root) == [], 30, "an empty journal")
    finally:
        stop_all(gws)
