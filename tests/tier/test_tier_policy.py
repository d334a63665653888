"""Data moved without a request: an Azure lifecycle management policy (with
the policy's clock run ahead by --tier-clock-offset-days instead of waiting
days), recall on read (enableAutoTierToHotFromCool), capacity watermarks
(least recently read first) and pinned prefixes. A pass is triggered with
SIGUSR1 rather than waited for."""
import json
import os
import signal
import tempfile
import time
import uuid

import pytest

from azurite import azurite, proxy, remote_container  # noqa: F401  (fixtures)
from tier_util import TierServer, raw_header, remote_names, wait_state


def policy_file(rules):
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"rules": rules}, f)
    return path


def rule(name, prefixes, actions, types=("blockBlob",)):
    return {"name": name, "enabled": True, "type": "Lifecycle",
            "definition": {"filters": {"blobTypes": list(types), "prefixMatch": prefixes},
                           "actions": {"baseBlob": actions}}}


def test_policy_moves_deletes_and_recalls_on_read(remote_container):  # noqa: F811
    cname = "t" + uuid.uuid4().hex[:16]
    path = policy_file([
        rule("cool-logs", [cname + "/logs/"],
             {"tierToCool": {"daysAfterModificationGreaterThan": 30,
                             "enableAutoTierToHotFromCool": True}}),
        rule("archive", [cname + "/arch/"],
             {"tierToArchive": {"daysAfterModificationGreaterThan": 30}}),
        rule("expire", [cname + "/old/"], {"delete": {"daysAfterModificationGreaterThan": 35}}),
        rule("not-yet", [cname + "/young/"],
             {"tierToCool": {"daysAfterModificationGreaterThan": 60}}),
    ])
    s = TierServer(remote_container.sas_url,
                   extra_args=["--tier-policy", path, "--tier-interval", "3600",
                               "--tier-clock-offset-days", "40",
                               "--tier-pin", cname + "/logs/keep/"]).start()
    try:
        c = s.service().create_container(cname)
        blobs = {}
        for name in ["logs/a", "logs/keep/b", "other/c", "old/d", "arch/e", "young/f"]:
            data = os.urandom(20_000)
            c.get_blob_client(name).upload_blob(data)
            blobs[name] = data
        s.proc.send_signal(signal.SIGUSR1)
        a = c.get_blob_client("logs/a")
        wait_state(a, "offloaded")
        assert a.get_blob_properties().blob_tier == "Cool"
        # A move by policy changes the tier like Set Blob Tier: it has a change time.
        assert a.get_blob_properties().blob_tier_change_time is not None
        wait_state(c.get_blob_client("arch/e"), "archived")
        deadline = time.time() + 30
        while "old/d" in [x.name for x in c.list_blobs()] and time.time() < deadline:
            time.sleep(0.05)
        assert "old/d" not in [x.name for x in c.list_blobs()]
        for name in ["logs/keep/b", "other/c", "young/f"]:   # pinned, no rule, too young
            assert raw_header(c.get_blob_client(name), "x-strata-tier-state") == "hot", name
        names = remote_names(remote_container)
        assert "strata/%s/logs/a" % cname in names
        assert "strata/%s/arch/e" % cname in names
        assert not any("/old/d" in n or "/keep/" in n for n in names)
        # A read of the cool blob streams it and, by the rule, recalls it.
        assert a.download_blob().readall() == blobs["logs/a"]
        wait_state(a, "hot")
        assert a.get_blob_properties().blob_tier == "Hot"
        assert a.download_blob().readall() == blobs["logs/a"]
        deadline = time.time() + 30
        while "strata/%s/logs/a" % cname in remote_names(remote_container) and time.time() < deadline:
            time.sleep(0.05)
        assert "strata/%s/logs/a" % cname not in remote_names(remote_container)
    finally:
        s.stop()
        os.unlink(path)


def test_watermarks_offload_least_recently_read(remote_container):  # noqa: F811
    # 1,000,000 bytes of capacity; above 50% offload until at most 40%.
    s = TierServer(remote_container.sas_url,
                   extra_args=["--tier-capacity", "1000000", "--tier-high-watermark", "50",
                               "--tier-low-watermark", "40", "--tier-interval", "3600"]).start()
    try:
        c = s.service().create_container("t" + uuid.uuid4().hex[:16])
        data = {}
        for name in ["a", "b", "c"]:
            data[name] = os.urandom(100_000)
            c.get_blob_client(name).upload_blob(data[name])
        # Read order c, a, b: least recently read is c, then a (not the
        # upload order a, b, c).
        for name in ["c", "a", "b"]:
            assert c.get_blob_client(name).download_blob().readall() == data[name]
            time.sleep(0.002)
        s.proc.send_signal(signal.SIGUSR1)   # 300,000 bytes: below the high mark
        data["d"] = os.urandom(250_000)
        c.get_blob_client("d").upload_blob(data["d"])   # 550,000: above it
        s.proc.send_signal(signal.SIGUSR1)
        wait_state(c.get_blob_client("c"), "offloaded")
        wait_state(c.get_blob_client("a"), "offloaded")
        # 350,000 bytes left: below the low mark, so b and d stay.
        s.proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        for name in ["b", "d"]:
            assert raw_header(c.get_blob_client(name), "x-strata-tier-state") == "hot", name
        for name in data:
            assert c.get_blob_client(name).download_blob().readall() == data[name]
    finally:
        s.stop()


def test_policy_pass_leaves_a_blob_set_to_archive_archived(proxy, remote_container):  # noqa: F811
    """Set Blob Tier Archive records the tier at once and queues the offload;
    a policy pass meanwhile (the remote down, so the offload waits) must not
    move the blob to a cooler online tier instead: it ends archived."""
    import re
    import urllib.request
    cname = "t" + uuid.uuid4().hex[:16]
    path = policy_file([rule("cool", [cname + "/"],
                             {"tierToCool": {"daysAfterModificationGreaterThan": 30}})])
    s = TierServer(remote_container.with_base(proxy.url).sas_url,
                   extra_args=["--tier-policy", path, "--tier-interval", "3600",
                               "--tier-clock-offset-days", "40", "--admin-port", "0"])
    # A failed move waits 3 s before its retry: the pass below finds it queued.
    s.extra_args[s.extra_args.index("--tier-retry-ms") + 1] = "3000"
    s.start()
    try:
        deadline = time.time() + 10
        while not re.search(r"admin on [\d.]+:(\d+)", s.log() + s.banner) and time.time() < deadline:
            time.sleep(0.02)
        admin = "http://127.0.0.1:%s" % re.search(r"admin on [\d.]+:(\d+)",
                                                 s.log() + s.banner).group(1)

        def queue_depth():
            with urllib.request.urlopen(admin + "/metrics", timeout=10) as r:
                m = re.search(r"^strata_tier_queue_depth\{[^}]*\} (\d+)$", r.read().decode(), re.M)
            return int(m.group(1))

        c = s.service().create_container(cname)
        a, probe = c.get_blob_client("a"), c.get_blob_client("probe")
        data = os.urandom(20_000)
        a.upload_blob(data)
        probe.upload_blob(b"p" * 1000)
        proxy.go_down()
        a.set_standard_blob_tier("Archive")
        deadline = time.time() + 30
        while "/a: " not in s.log() and time.time() < deadline:  # its first try failed
            time.sleep(0.02)
        assert "/a: " in s.log()
        s.proc.send_signal(signal.SIGUSR1)
        # The pass queued the probe's move to Cool beside a's archive offload
        # (waiting for its retry, or being tried).
        deadline = time.time() + 30
        while queue_depth() < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert queue_depth() >= 2
        proxy.come_back()
        wait_state(a, "archived")
        assert a.get_blob_properties().blob_tier == "Archive"
        wait_state(probe, "offloaded")
    finally:
        s.stop()
