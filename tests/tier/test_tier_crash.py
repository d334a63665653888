"""SIGKILL at each named crash point of offload and recall (STRATA_CRASH_AT,
src/common/crash_point.h), then a restart on the same root: the content and
the ETag are intact, the journal is replayed to the end, and nothing is left
behind (no temp file, no journal entry, no remote blob that no record points
to)."""
import os
import signal
import time
import uuid

import pytest

from azurite import azurite, remote_container  # noqa: F401  (fixtures)
from tier_util import (MIB, TierServer, journal_files, raw_header, remote_names, tmp_files,
                       wait_state)

OFFLOAD_POINTS = ["tier.offload.journaled", "tier.offload.uploaded",
                  "tier.offload.premigrated", "tier.offload.released"]
RECALL_POINTS = ["tier.recall.journaled", "tier.recall.downloaded",
                 "tier.recall.committed", "tier.recall.remote_deleted"]


def crash_then_restart(remote_container, point, recall):  # noqa: F811
    root = None
    s = TierServer(remote_container.sas_url, env={"STRATA_CRASH_AT": point}).start()
    root = s.root
    cname = "t" + uuid.uuid4().hex[:16]
    c = s.service().create_container(cname)
    data = os.urandom(2 * MIB + 3)
    b = c.get_blob_client("a/b.bin")
    b.upload_blob(data, metadata={"k": "v"})
    etag = b.get_blob_properties().etag
    if recall:
        b.set_standard_blob_tier("Cool")
        wait_state(b, "offloaded")
        b.set_standard_blob_tier("Hot")
    else:
        b.set_standard_blob_tier("Cool")
    assert s.wait_exit(timeout=60) == -signal.SIGKILL, s.log()

    s2 = TierServer(remote_container.sas_url, root=root).start()
    try:
        b2 = s2.service().get_container_client(cname).get_blob_client("a/b.bin")
        props = b2.get_blob_properties()
        assert props.etag == etag
        assert props.metadata == {"k": "v"}
        assert b2.download_blob().readall() == data
        state = raw_header(b2, "x-strata-tier-state")
        remote = "strata/%s/a/b.bin" % cname
        assert tmp_files(root) == []
        # Replay finished: only a queued retry could still hold an entry.
        deadline = time.time() + 30
        while journal_files(root) and time.time() < deadline:
            time.sleep(0.05)
        assert journal_files(root) == []
        if state == "hot":
            assert remote not in remote_names(remote_container)
        else:
            assert state in ("offloaded", "premigrated"), state
            assert remote in remote_names(remote_container)
            # And the way back leaves no orphan either.
            b2.set_standard_blob_tier("Hot")
            wait_state(b2, "hot")
            assert b2.download_blob().readall() == data
            assert b2.get_blob_properties().etag == etag
            assert remote not in remote_names(remote_container)
        return state
    finally:
        s2.stop()


@pytest.mark.parametrize("point", OFFLOAD_POINTS)
def test_crash_during_offload(remote_container, point):  # noqa: F811
    state = crash_then_restart(remote_container, point, recall=False)
    # Before the copy is recorded the offload rolls back; after, it finishes.
    expect = "hot" if point in ("tier.offload.journaled", "tier.offload.uploaded") else "offloaded"
    assert state == expect


@pytest.mark.parametrize("point", RECALL_POINTS)
def test_crash_during_recall(remote_container, point):  # noqa: F811
    state = crash_then_restart(remote_container, point, recall=True)
    expect = "offloaded" if point in ("tier.recall.journaled", "tier.recall.downloaded") else "hot"
    assert state == expect


def test_restart_while_the_remote_is_down(azurite, remote_container):  # noqa: F811
    from fault_proxy import FaultProxy
    proxy = FaultProxy(azurite.port).start()
    try:
        url = remote_container.with_base(proxy.url).sas_url
        s = TierServer(url, env={"STRATA_CRASH_AT": "tier.offload.uploaded"}).start()
        root = s.root
        cname = "t" + uuid.uuid4().hex[:16]
        c = s.service().create_container(cname)
        data = os.urandom(MIB)
        b = c.get_blob_client("x.bin")
        b.upload_blob(data)
        b.set_standard_blob_tier("Cool")
        assert s.wait_exit(timeout=60) == -signal.SIGKILL
        remote = "strata/%s/x.bin" % cname
        assert remote in remote_names(remote_container)   # uploaded, not recorded
        proxy.go_down()
        # The start does not wait for the remote: the roll-back's delete is queued.
        s2 = TierServer(url, root=root).start()
        try:
            b2 = s2.service().get_container_client(cname).get_blob_client("x.bin")
            assert b2.download_blob().readall() == data
            assert raw_header(b2, "x-strata-tier-state") == "hot"
            assert journal_files(root) != []
            proxy.come_back()
            deadline = time.time() + 60
            while journal_files(root) and time.time() < deadline:
                time.sleep(0.05)
            assert journal_files(root) == []
            assert remote not in remote_names(remote_container)
        finally:
            s2.stop()
    finally:
        proxy.stop()
