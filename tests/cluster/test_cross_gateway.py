"""Directed cross-gateway cases: requests of one client aimed on purpose at
different gateways of one root (their direct ports, not the load balancer),
and races of two gateways on one name. Each race is run many times; a
lock that held only inside one process lets both writers through in most
trials (issue 12: 190 of 200)."""
import base64
import collections
import threading
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceModifiedError
from azure.storage.blob import BlobBlock, BlobServiceClient

from race import Racer, Trials, quote

A, B, C = 0, 1, 2
TRIALS = 200
TRIAL_SECONDS = 60


def svc(gateway, **kw):
    return BlobServiceClient.from_connection_string(gateway.connection_string, **kw)


def fresh(prefix="x"):
    return prefix + uuid.uuid4().hex[:16]


@pytest.fixture
def racer(cluster):
    r = Racer(cluster.gateways)
    yield r
    r.close()


@pytest.fixture
def container(cluster):
    name = fresh("c")
    svc(cluster.gateways[A]).create_container(name)
    return name


@pytest.fixture
def filesystem(cluster):
    name = fresh("f")
    cluster.gateways[A].lake_client().create_file_system(name)
    return name


def tally(results):
    return dict(collections.Counter("%d %s" % (r.status, r.code or "") for r in results))


# -- leases and conditions ------------------------------------------------

def test_lease_taken_on_one_gateway_binds_the_others(cluster, container):
    a = svc(cluster.gateways[A]).get_blob_client(container, "leased")
    b = svc(cluster.gateways[B]).get_blob_client(container, "leased")
    c = svc(cluster.gateways[C]).get_blob_client(container, "leased")
    a.upload_blob(b"v1")
    lease = a.acquire_lease(lease_duration=15)
    with pytest.raises(HttpResponseError) as e:
        b.upload_blob(b"v2", overwrite=True)
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMissing"
    with pytest.raises(HttpResponseError) as e:
        c.set_blob_metadata({"k": "v"})
    assert e.value.error_code == "LeaseIdMissing"
    with pytest.raises(HttpResponseError) as e:
        c.acquire_lease(lease_duration=15)
    assert e.value.status_code == 409 and e.value.error_code == "LeaseAlreadyPresent"
    b.upload_blob(b"v2", overwrite=True, lease=lease.id)
    assert c.download_blob().readall() == b"v2"
    lease.release()
    c.upload_blob(b"v3", overwrite=True)
    assert a.download_blob().readall() == b"v3"


def test_if_match_with_etag_read_on_another_gateway(cluster, container):
    a = svc(cluster.gateways[A]).get_blob_client(container, "cond")
    b = svc(cluster.gateways[B]).get_blob_client(container, "cond")
    c = svc(cluster.gateways[C]).get_blob_client(container, "cond")
    a.upload_blob(b"one")
    etag = a.get_blob_properties().etag
    b.upload_blob(b"two", overwrite=True, etag=etag, match_condition=_if_match())
    with pytest.raises(ResourceModifiedError) as e:  # etag is stale now
        c.upload_blob(b"three", overwrite=True, etag=etag, match_condition=_if_match())
    assert e.value.status_code == 412 and e.value.error_code == "ConditionNotMet"
    assert a.download_blob().readall() == b"two"


def _if_match():
    from azure.core import MatchConditions
    return MatchConditions.IfNotModified


# -- creation races ---------------------------------------------------------

def test_if_none_match_create_race(cluster, container, racer):
    results = []
    trials = Trials(TRIALS, TRIAL_SECONDS)
    for t in trials:
        path = "/%s/%s" % (container, quote("race/%d" % t))
        bodies = [b"from-A-%d" % t, b"from-B-%d" % t]
        reqs = [Racer.prepare("PUT", path, headers={"x-ms-blob-type": "BlockBlob",
                                                   "If-None-Match": "*"}, body=body)
                for body in bodies]
        a, b = racer.race([(A, reqs[0]), (B, reqs[1])])
        results += [a, b]
        statuses = sorted([a.status, b.status])
        assert statuses == [201, 409], (t, a, b)
        loser = a if a.status == 409 else b
        assert loser.code == "BlobAlreadyExists"
        winner = bodies[0] if a.status == 201 else bodies[1]
        got = racer.send(C, Racer.prepare("GET", path))
        assert got.status == 200 and got.body == winner
    print("\nPut Blob If-None-Match:* race, %d trials: %s" % (trials.done, tally(results)))
    assert trials.done >= 50


def test_dfs_create_race(cluster, filesystem, racer):
    results = []
    trials = Trials(TRIALS, TRIAL_SECONDS)
    for t in trials:
        path = "/%s/%s" % (filesystem, quote("d/r%d" % t))
        req = Racer.prepare("PUT", path, "resource=file", headers={"If-None-Match": "*"})
        a, b = racer.race([(A, req), (B, req)])
        results += [a, b]
        assert sorted([a.status, b.status]) == [201, 409], (t, a, b)
        assert (a if a.status == 409 else b).code == "PathAlreadyExists"
    print("\ndfs create If-None-Match:* race, %d trials: %s" % (trials.done, tally(results)))
    assert trials.done >= 50


def test_container_create_race(cluster, racer):
    results = []
    made = []
    trials = Trials(100, TRIAL_SECONDS)
    for t in trials:
        name = fresh("r")
        made.append(name)
        req = Racer.prepare("PUT", "/" + name, "restype=container")
        a, b = racer.race([(A, req), (B, req)])
        results += [a, b]
        assert sorted([a.status, b.status]) == [201, 409], (t, a, b)
        assert (a if a.status == 409 else b).code == "ContainerAlreadyExists"
    print("\ncontainer create race, %d trials: %s" % (trials.done, tally(results)))
    assert trials.done >= 25
    s = svc(cluster.gateways[C])
    for name in made:
        s.delete_container(name)


# -- blocks -----------------------------------------------------------------

def test_blocks_staged_listed_and_committed_on_three_gateways(cluster, container):
    a = svc(cluster.gateways[A]).get_blob_client(container, "blocks")
    b = svc(cluster.gateways[B]).get_blob_client(container, "blocks")
    c = svc(cluster.gateways[C]).get_blob_client(container, "blocks")
    ids = [base64.b64encode(b"blk-%03d" % i).decode() for i in range(3)]
    parts = [bytes([65 + i]) * (100_000 + i) for i in range(3)]
    for bid, part in zip(ids, parts):
        a.stage_block(bid, part)
    committed, uncommitted = b.get_block_list("all")
    assert committed == []
    assert sorted((x.id, x.size) for x in uncommitted) == sorted(
        (bid, len(p)) for bid, p in zip(ids, parts))
    c.commit_block_list([BlobBlock(block_id=i) for i in ids])
    assert a.download_blob().readall() == b"".join(parts)
    committed, uncommitted = b.get_block_list("all")
    assert [x.id for x in committed] == ids and uncommitted == []


# -- read-modify-write ------------------------------------------------------

def test_metadata_if_match_race_never_loses_an_update(cluster, container, racer):
    """Two gateways set metadata with If-Match on the same ETag: exactly
    one wins and what is stored is the winner's."""
    path = "/%s/meta" % container
    r = racer.send(A, Racer.prepare("PUT", path, headers={"x-ms-blob-type": "BlockBlob"},
                                    body=b"m"))
    assert r.status == 201
    etag = r.headers["etag"]
    results = []
    trials = Trials(100, TRIAL_SECONDS)
    for t in trials:
        reqs = [Racer.prepare("PUT", path, "comp=metadata",
                              headers={"If-Match": etag, "x-ms-meta-writer": w,
                                       "x-ms-meta-trial": str(t)})
                for w in ("a", "b")]
        ra, rb = racer.race([(A, reqs[0]), (B, reqs[1])])
        results += [ra, rb]
        assert sorted([ra.status, rb.status]) == [200, 412], (t, ra, rb)
        winner, writer = (ra, "a") if ra.status == 200 else (rb, "b")
        assert (rb if ra.status == 200 else ra).code == "ConditionNotMet"
        got = racer.send(C, Racer.prepare("HEAD", path))
        assert got.headers["x-ms-meta-trial"] == str(t)
        assert got.headers["x-ms-meta-writer"] == writer
        assert got.headers["etag"] == winner.headers["etag"]
        etag = winner.headers["etag"]
    print("\nSet Blob Metadata If-Match race, %d trials: %s" % (trials.done, tally(results)))
    assert trials.done >= 25


def test_optimistic_counter_on_three_gateways(cluster, container):
    """Read, add one, write back with If-Match, retry on 412: three clients,
    each on its own gateway. Every increment must survive."""
    gws = cluster.gateways
    clients = [svc(g).get_blob_client(container, "counter") for g in gws]
    clients[0].upload_blob(b"", metadata={"n": "0"})
    per_client = 15
    errors = []

    def worker(bc):
        try:
            done = 0
            deadline = time.monotonic() + 60
            while done < per_client and time.monotonic() < deadline:
                p = bc.get_blob_properties()
                n = int(p.metadata["n"])
                try:
                    bc.set_blob_metadata({"n": str(n + 1)}, etag=p.etag,
                                         match_condition=_if_match())
                    done += 1
                except ResourceModifiedError:
                    pass
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(bc,)) for bc in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors, errors
    assert clients[1].get_blob_properties().metadata["n"] == str(per_client * len(clients))


# -- dfs rename --------------------------------------------------------------

def test_dfs_rename_race(cluster, filesystem, racer):
    """Two gateways rename the same source (to one destination, or to two):
    exactly one succeeds, the other gets Azure's 404 (the source is gone)
    or 409, and the file exists exactly once with its content."""
    results = []
    trials = Trials(100, TRIAL_SECONDS)
    for t in trials:
        src = "src%d" % t
        body = b"content-%d" % t
        r = racer.send(C, Racer.prepare("PUT", "/%s/%s" % (filesystem, src),
                                        headers={"x-ms-blob-type": "BlockBlob"}, body=body))
        assert r.status == 201
        dsts = ["dst%d" % t, "dst%d" % t] if t % 2 == 0 else ["dst%da" % t, "dst%db" % t]
        reqs = [Racer.prepare("PUT", "/%s/%s" % (filesystem, d), "mode=legacy",
                              headers={"x-ms-rename-source": "/%s/%s" % (filesystem, src)})
                for d in dsts]
        a, b = racer.race([(A, reqs[0]), (B, reqs[1])])
        results += [a, b]
        assert sorted([a.status, b.status])[0] == 201, (t, a, b)
        loser = b if a.status == 201 else a
        assert loser.status in (404, 409), (t, a, b)
        if loser.status == 404:
            assert loser.code == "SourcePathNotFound", loser.body
        winner_dst = dsts[0] if a.status == 201 else dsts[1]
        for d in set(dsts) | {src}:
            got = racer.send(C, Racer.prepare("GET", "/%s/%s" % (filesystem, d)))
            if d == winner_dst:
                assert got.status == 200 and got.body == body, (t, d, got)
            else:
                assert got.status == 404, (t, d, got)
    print("\ndfs rename race, %d trials: %s" % (trials.done, tally(results)))
    assert trials.done >= 25


# -- append position --------------------------------------------------------

def test_append_position_race(cluster, container, racer):
    path = "/%s/appended" % container
    r = racer.send(A, Racer.prepare("PUT", path, headers={"x-ms-blob-type": "AppendBlob"}))
    assert r.status == 201
    expected = b""
    results = []
    trials = Trials(TRIALS, TRIAL_SECONDS)
    for t in trials:
        blocks = [b"A%05d;" % t, b"B%05d;" % t]
        reqs = [Racer.prepare("PUT", path, "comp=appendblock",
                              headers={"x-ms-blob-condition-appendpos": str(len(expected))},
                              body=blk)
                for blk in blocks]
        a, b = racer.race([(A, reqs[0]), (B, reqs[1])])
        results += [a, b]
        assert sorted([a.status, b.status]) == [201, 412], (t, a, b)
        assert (b if a.status == 201 else a).code == "AppendPositionConditionNotMet"
        expected += blocks[0] if a.status == 201 else blocks[1]
    got = racer.send(C, Racer.prepare("GET", path))
    assert got.status == 200 and got.body == expected
    assert got.headers["x-ms-blob-committed-block-count"] == str(trials.done)
    print("\nAppend Block appendpos race, %d trials: %s" % (trials.done, tally(results)))
    assert trials.done >= 50
