"""Views: containers over existing directories (config file "containers":
{"NAME": {"path": ..., "read_only": ...}}), served in place through the Blob
and Data Lake SDKs. The trees are made with plain shell tools; a read-only
view refuses every write, and nothing leads outside a view's root."""
import base64
import http.client
import json
import os
import subprocess
import tempfile
from email.utils import formatdate

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

import signing
from strata_server import DEV_ACCOUNT, StrataServer


def staged(tmp):
    """Files staged in any gateway's directory under a .strata/tmp."""
    return sorted(os.path.relpath(os.path.join(dp, f), tmp) for dp, _, fs in os.walk(tmp) for f in fs)


def sh(script, cwd):
    subprocess.run(["sh", "-ec", script], cwd=cwd, check=True, timeout=30)


def tree(root):
    """{relative path: bytes} of the regular files under root, .strata aside."""
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not (d == root and x == ".strata")]
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


@pytest.fixture(scope="module")
def views():
    base = tempfile.mkdtemp(prefix="strata-views-")
    # A dataset made with plain tools, and things outside it that links aim at.
    sh("""
       mkdir -p outside dataset/train/shards dataset/val empty-parent/dataset-link-target
       echo 'secret' > outside/secret.txt
       echo 'label,path' > dataset/index.csv
       printf 'shard-0' > dataset/train/shards/0000.tar
       printf 'shard-1' > dataset/train/shards/0001.tar
       cp dataset/index.csv dataset/val/index-copy.csv
       mkdir dataset/train/empty
       ln -s ../outside dataset/up
       ln -s "$PWD/outside/secret.txt" dataset/train/abs-link.txt
       ln -s ../../outside/secret.txt dataset/train/rel-link.txt
       ln -s /etc dataset/etc
       mkdir -p scratch/existing
       echo 'was here before' > scratch/existing/note.txt
       """, base)
    os.chmod(os.path.join(base, "dataset"), 0o555)  # the server needs no write access to it
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"containers": {
            "dataset": {"path": os.path.join(base, "dataset"), "read_only": True},
            "scratch": {"path": os.path.join(base, "scratch")},
        }}, f)
    s = StrataServer(root=os.path.join(base, "root"), config=cfg).start()
    s.base = base
    s.dataset = os.path.join(base, "dataset")
    s.scratch = os.path.join(base, "scratch")
    s.before = tree(s.dataset)
    yield s
    s.stop()
    os.chmod(os.path.join(base, "dataset"), 0o755)


@pytest.fixture
def blob(views):
    return BlobServiceClient.from_connection_string(views.connection_string)


@pytest.fixture
def lake(views):
    return views.lake_client()


def test_View_listed_as_containers(blob):
    names = [c.name for c in blob.list_containers()]
    assert "dataset" in names and "scratch" in names
    assert blob.get_container_client("dataset").get_container_properties().name == "dataset"


def test_View_blob_listing_matches_the_tree(views, blob):
    c = blob.get_container_client("dataset")
    listed = {b.name: b for b in c.list_blobs(include=["metadata"])}
    # Files and directories (HNS); no symlink, no .strata.
    assert sorted(listed) == ["index.csv", "train", "train/empty", "train/shards",
                              "train/shards/0000.tar", "train/shards/0001.tar", "val",
                              "val/index-copy.csv"]
    assert listed["train"].metadata == {"hdi_isfolder": "true"}
    assert listed["train/shards/0001.tar"].size == len(b"shard-1")
    top = [i.name for i in c.walk_blobs(delimiter="/")]
    assert sorted(top) == ["index.csv", "train", "train/", "val", "val/"]


def test_View_read_through_blob_sdk(views, blob):
    c = blob.get_container_client("dataset")
    for rel, data in views.before.items():
        assert c.download_blob(rel).readall() == data, rel
    assert c.download_blob("train/shards/0000.tar", offset=2, length=3).readall() == b"ard"


def test_View_read_through_datalake_sdk(views, lake):
    fs = lake.get_file_system_client("dataset")
    paths = {p.name: p for p in fs.get_paths(recursive=True)}
    assert sorted(paths) == ["index.csv", "train", "train/empty", "train/shards",
                             "train/shards/0000.tar", "train/shards/0001.tar", "val",
                             "val/index-copy.csv"]
    assert paths["train/shards"].is_directory
    assert not paths["index.csv"].is_directory
    data = fs.get_file_client("val/index-copy.csv").download_file().readall()
    assert data == views.before["val/index-copy.csv"]
    props = fs.get_directory_client("train").get_directory_properties()
    assert props.metadata.get("hdi_isfolder") == "true"
    top = sorted(p.name for p in fs.get_paths(recursive=False))
    assert top == ["index.csv", "train", "val"]


def expect_403(fn):
    with pytest.raises(HttpResponseError) as e:
        fn()
    assert e.value.status_code == 403, e.value
    assert e.value.error_code == "AuthorizationPermissionMismatch"


def test_View_read_only_refuses_every_write(views, blob, lake):
    c = blob.get_container_client("dataset")
    expect_403(lambda: c.upload_blob("new.txt", b"x"))
    expect_403(lambda: c.upload_blob("index.csv", b"overwrite", overwrite=True))
    expect_403(lambda: c.delete_blob("index.csv"))
    expect_403(lambda: c.get_blob_client("index.csv").set_blob_metadata({"a": "b"}))
    expect_403(lambda: c.get_blob_client("index.csv").acquire_lease())
    expect_403(lambda: c.get_blob_client("n").stage_block("YQ==", b"x"))
    expect_403(lambda: c.set_container_metadata({"a": "b"}))
    expect_403(lambda: c.delete_container())
    fs = lake.get_file_system_client("dataset")
    expect_403(lambda: fs.create_file("new.txt"))
    expect_403(lambda: fs.create_directory("newdir"))
    expect_403(lambda: fs.get_directory_client("train").rename_directory("dataset/moved"))
    expect_403(lambda: fs.get_directory_client("train").delete_directory())
    expect_403(lambda: fs.get_file_client("index.csv").set_access_control(permissions="0777"))
    # The raw dfs errors are JSON.
    r = signing.request(views, "PUT", "/dataset/raw.txt", "resource=file")
    assert r.status_code == 403
    assert json.loads(r.text)["error"]["code"] == "AuthorizationPermissionMismatch"
    # Nothing changed, and the view got no .strata of its own.
    assert tree(views.dataset) == views.before
    assert not os.path.exists(os.path.join(views.dataset, ".strata"))


def test_View_symlinks_are_not_followed(views, blob, lake):
    c = blob.get_container_client("dataset")
    for name in ["up/secret.txt", "train/abs-link.txt", "train/rel-link.txt", "etc/hostname",
                 "etc/passwd", "up", "etc"]:
        with pytest.raises(ResourceNotFoundError) as e:
            c.download_blob(name).readall()
        assert e.value.error_code == "BlobNotFound", name
        with pytest.raises(ResourceNotFoundError):
            c.get_blob_client(name).get_blob_properties()
    fs = lake.get_file_system_client("dataset")
    for name in ["train/abs-link.txt", "up/secret.txt"]:
        with pytest.raises(ResourceNotFoundError):
            fs.get_file_client(name).get_file_properties()
    with pytest.raises(ResourceNotFoundError):
        list(fs.get_paths(path="up"))
    # ".." never gets that far: the name is refused. (Sent with http.client:
    # higher-level clients drop dot segments before sending.)
    path = "/%s/dataset/train/../../outside/secret.txt" % DEV_ACCOUNT
    headers = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True)}
    headers["Authorization"] = signing.sign("GET", path, "", headers)
    conn = http.client.HTTPConnection("127.0.0.1", views.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 404, body
    assert resp.getheader("x-ms-error-code") == "BlobNotFound"


def test_View_rw_writes_land_in_place_without_residue(views, blob, lake):
    c = blob.get_container_client("scratch")
    assert c.download_blob("existing/note.txt").readall() == b"was here before\n"
    c.upload_blob("ckpt/step-1/model.bin", b"weights" * 1000)
    with open(os.path.join(views.scratch, "ckpt", "step-1", "model.bin"), "rb") as f:
        assert f.read() == b"weights" * 1000
    blk = c.get_blob_client("ckpt/big.bin")
    blk.stage_block(base64.b64encode(b"b1").decode(), b"first-")
    blk.stage_block(base64.b64encode(b"b2").decode(), b"second")
    blk.commit_block_list([base64.b64encode(b"b1").decode(), base64.b64encode(b"b2").decode()])
    assert c.download_blob("ckpt/big.bin").readall() == b"first-second"
    fs = lake.get_file_system_client("scratch")
    f = fs.create_file("logs/run.txt")
    f.append_data(b"line 1\n", 0, 7)
    f.flush_data(7)
    with open(os.path.join(views.scratch, "logs", "run.txt"), "rb") as fh:
        assert fh.read() == b"line 1\n"
    # A directory rename inside the view is one rename(2) in the view's tree.
    ino = os.stat(os.path.join(views.scratch, "ckpt")).st_ino
    fs.get_directory_client("ckpt").rename_directory("scratch/ckpt-done")
    assert os.stat(os.path.join(views.scratch, "ckpt-done")).st_ino == ino
    # The staging area is the view's own .strata, never listed, and empty.
    assert staged(os.path.join(views.scratch, ".strata", "tmp")) == []
    names = [b.name for b in c.list_blobs()]
    assert not any(n.startswith(".strata") for n in names)
    assert ".strata" not in [p.name for p in fs.get_paths(recursive=False)]
    with pytest.raises(HttpResponseError) as e:
        c.upload_blob(".strata/tmp/x", b"x")
    assert e.value.error_code == "InvalidResourceName"
    with pytest.raises(ResourceNotFoundError):
        c.get_blob_client(".strata/tmp").get_blob_properties()
    with pytest.raises(ResourceNotFoundError):
        list(fs.get_paths(path=".strata"))
    # Nor can a copy read an upload in flight out of it.
    with pytest.raises(HttpResponseError):
        c.get_blob_client("copied").start_copy_from_url(c.url + "/.strata/tmp")
    assert not c.get_blob_client("copied").exists()


def test_View_writes_do_not_follow_links_out(views, blob, lake):
    outside = os.path.join(views.base, "outside")
    os.symlink(outside, os.path.join(views.scratch, "escape"))
    before = sorted(os.listdir(outside))
    c = blob.get_container_client("scratch")
    with pytest.raises(HttpResponseError) as e:
        c.upload_blob("escape/planted.txt", b"x")
    assert e.value.status_code == 409
    fs = lake.get_file_system_client("scratch")
    with pytest.raises(HttpResponseError):
        fs.create_file("escape/planted2.txt")
    with pytest.raises(HttpResponseError):
        fs.create_directory("escape/newdir")
    fs.create_file("movable.txt")
    with pytest.raises(HttpResponseError):
        fs.get_file_client("movable.txt").rename_file("scratch/escape/moved.txt")
    with pytest.raises(HttpResponseError):
        fs.get_directory_client("escape").delete_directory()
    assert sorted(os.listdir(outside)) == before
    assert os.path.islink(os.path.join(views.scratch, "escape"))
    # A blob of the link's own name replaces the link itself (as in any
    # container), never what it points at.
    c.upload_blob("escape", b"over the link", overwrite=True)
    assert not os.path.islink(os.path.join(views.scratch, "escape"))
    assert os.path.isdir(outside) and sorted(os.listdir(outside)) == before


def test_View_writable_view_cannot_be_deleted(views, blob, lake):
    expect_403(lambda: blob.get_container_client("scratch").delete_container())
    expect_403(lambda: lake.get_file_system_client("scratch").delete_file_system())
    r = signing.request(views, "DELETE", "/scratch", "resource=filesystem")
    assert r.status_code == 403
    assert json.loads(r.text)["error"]["code"] == "AuthorizationPermissionMismatch"
    with pytest.raises(HttpResponseError) as e:
        blob.create_container("scratch")
    assert e.value.error_code == "ContainerAlreadyExists"
    assert os.path.isfile(os.path.join(views.scratch, "existing", "note.txt"))


def test_View_in_another_account():
    base = tempfile.mkdtemp(prefix="strata-views-acct-")
    sh("mkdir -p shards/a && printf 'x' > shards/a/0.bin", base)
    key = base64.b64encode(b"k" * 64).decode()
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"accounts": [{"name": "training", "key": key, "root": os.path.join(base, "troot"),
                                 "containers": {"shards": {"path": os.path.join(base, "shards"),
                                                           "read_only": True}}}]}, f)
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg).start()
    try:
        svc = BlobServiceClient.from_connection_string(
            "DefaultEndpointsProtocol=http;AccountName=training;AccountKey=%s;"
            "BlobEndpoint=http://127.0.0.1:%d/training;" % (key, s.port))
        c = svc.get_container_client("shards")
        assert [b.name for b in c.list_blobs()] == ["a", "a/0.bin"]
        assert c.download_blob("a/0.bin").readall() == b"x"
        expect_403(lambda: c.upload_blob("b", b"y"))
        dev = BlobServiceClient.from_connection_string(s.connection_string)
        assert "shards" not in [x.name for x in dev.list_containers()]
    finally:
        s.stop()


def test_View_rename_across_the_boundary_is_refused(views, blob, lake):
    blob.create_container("plainfs")
    plain = lake.get_file_system_client("plainfs")
    plain.create_file("inside/a.txt")
    scratch = lake.get_file_system_client("scratch")
    scratch.create_file("out/b.txt")
    # Out of a view, into a view, and between two views: all refused.
    expect_403(lambda: scratch.get_directory_client("out").rename_directory("plainfs/out"))
    expect_403(lambda: plain.get_directory_client("inside").rename_directory("scratch/inside"))
    expect_403(lambda: scratch.get_file_client("out/b.txt").rename_file("dataset/b.txt"))
    expect_403(lambda: lake.get_file_system_client("dataset").get_file_client("index.csv")
               .rename_file("scratch/stolen.csv"))
    assert os.path.exists(os.path.join(views.scratch, "out", "b.txt"))
    assert not os.path.exists(os.path.join(views.scratch, "inside"))
    assert not os.path.exists(os.path.join(views.scratch, "stolen.csv"))
    assert plain.get_file_client("inside/a.txt").exists()
    assert tree(views.dataset) == views.before


def test_View_posix_changes_are_seen(views, blob):
    c = blob.get_container_client("scratch")
    path = os.path.join(views.scratch, "posix.txt")
    with open(path, "wb") as f:
        f.write(b"one")
    e1 = c.get_blob_client("posix.txt").get_blob_properties().etag
    with open(path, "wb") as f:
        f.write(b"two!")
    props = c.get_blob_client("posix.txt").get_blob_properties()
    assert props.etag != e1
    assert props.size == 4


def test_View_config_refuses_a_missing_directory():
    base = tempfile.mkdtemp(prefix="strata-views-bad-")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"containers": {"gone": {"path": os.path.join(base, "nope")}}}, f)
    with pytest.raises(RuntimeError):
        StrataServer(root=os.path.join(base, "root"), config=cfg).start(timeout=10)
    with open(cfg, "w") as f:
        json.dump({"containers": {"ok": {"path": "relative/dir"}}}, f)
    with pytest.raises(RuntimeError):
        StrataServer(root=os.path.join(base, "root"), config=cfg).start(timeout=10)
