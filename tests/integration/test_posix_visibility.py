"""Files written straight into ROOT/CONTAINER with POSIX calls are blobs:
listed, served, with properties derived from the file; and the ETag
follows POSIX changes (invariant 2)."""
import hashlib
import os
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobType

from blob_util import disk_path, raw


def write(server, container, name, data, mode="wb"):
    path = disk_path(server, container.container_name, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)
    return path


def test_Posix_file_is_listed_and_served(server, container):
    data = b"written by a training job\n" * 40
    path = write(server, container, "shards/part-0001.bin", data)
    write(server, container, "top.txt", b"top")
    listed = {b.name: b for b in container.list_blobs()}
    assert sorted(listed) == ["shards", "shards/part-0001.bin", "top.txt"]  # HNS lists "shards"
    assert listed["shards"].size == 0
    assert listed["shards/part-0001.bin"].size == len(data)
    blob = container.get_blob_client("shards/part-0001.bin")
    assert blob.download_blob().readall() == data
    assert blob.download_blob(offset=5, length=10).readall() == data[5:15]
    props = blob.get_blob_properties()
    assert props.size == len(data)
    assert props.blob_type == BlobType.BlockBlob
    assert props.etag
    assert props.content_settings.content_type == "application/octet-stream"
    assert abs(props.last_modified.timestamp() - os.stat(path).st_mtime) < 1.5
    assert props.lease.state == "available"


def test_Posix_file_delimiter_listing(server, container):
    write(server, container, "a/b/c.txt", b"c")
    write(server, container, "a/d.txt", b"d")
    names = [p.name for p in container.walk_blobs(name_starts_with="a/", delimiter="/")]
    assert sorted(names) == ["a/b", "a/b/", "a/d.txt"]  # HNS: "a/b" is a blob and a prefix


def test_Posix_directory_is_an_hns_folder_blob(server, container):
    # A directory made with mkdir is a directory of the HNS namespace.
    os.makedirs(disk_path(server, container.container_name, "emptydir/inner"))
    listed = {b.name: b for b in container.list_blobs(include=["metadata"])}
    assert sorted(listed) == ["emptydir", "emptydir/inner"]
    assert listed["emptydir/inner"].metadata == {"hdi_isfolder": "true"}
    props = container.get_blob_client("emptydir").get_blob_properties()
    assert props.size == 0
    assert props.metadata == {"hdi_isfolder": "true"}
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("emptydir/none").get_blob_properties()
    assert e.value.error_code == "BlobNotFound"


def test_Posix_etag_changes_when_content_changes(server, container):
    write(server, container, "f", b"version one")
    blob = container.get_blob_client("f")
    etag1 = blob.get_blob_properties().etag
    assert blob.get_blob_properties().etag == etag1  # stable while unchanged
    write(server, container, "f", b"version two, longer")
    props = blob.get_blob_properties()
    assert props.etag != etag1
    assert props.size == len(b"version two, longer")
    assert blob.download_blob().readall() == b"version two, longer"


def test_Posix_etag_changes_on_same_size_rewrite(server, container):
    write(server, container, "f", b"AAAA")
    blob = container.get_blob_client("f")
    etag1 = blob.get_blob_properties().etag
    path = write(server, container, "f", b"BBBB", mode="r+b")
    props = blob.get_blob_properties()
    assert props.etag != etag1, "same-size POSIX rewrite kept the ETag"
    assert blob.download_blob().readall() == b"BBBB"
    assert os.path.getsize(path) == 4


def test_Posix_overwrite_of_uploaded_blob_changes_etag(server, container):
    blob = container.get_blob_client("up")
    blob.upload_blob(b"uploaded", metadata={"m": "1"})
    etag1 = blob.get_blob_properties().etag
    write(server, container, "up", b"replaced through POSIX")
    props = blob.get_blob_properties()
    assert props.etag != etag1
    assert props.size == len(b"replaced through POSIX")
    # The stored MD5 no longer describes the data, so it must not be served.
    md5 = props.content_settings.content_md5
    assert md5 is None or bytes(md5) == hashlib.md5(b"replaced through POSIX").digest()
    assert blob.download_blob().readall() == b"replaced through POSIX"


def test_Posix_append_changes_etag(server, container):
    write(server, container, "log", b"line1\n")
    blob = container.get_blob_client("log")
    etag1 = blob.get_blob_properties().etag
    time.sleep(0.01)
    write(server, container, "log", b"line2\n", mode="ab")
    assert blob.get_blob_properties().etag != etag1
    assert blob.download_blob().readall() == b"line1\nline2\n"


def test_Posix_file_can_be_overwritten_and_deleted(server, container):
    path = write(server, container, "p", b"posix")
    blob = container.get_blob_client("p")
    blob.upload_blob(b"via api", overwrite=True)
    with open(path, "rb") as f:
        assert f.read() == b"via api"
    blob.delete_blob()
    assert not os.path.exists(path)


def test_Posix_conditional_get_uses_derived_etag(server, container):
    write(server, container, "c", b"content")
    etag = container.get_blob_client("c").get_blob_properties().etag
    r = raw(server, "GET", container.container_name, "c", headers={"If-None-Match": etag})
    assert r.status_code == 304
    r = raw(server, "GET", container.container_name, "c", headers={"If-Match": etag})
    assert r.status_code == 200
    assert r.content == b"content"


def test_Posix_file_metadata_and_lease(server, container):
    path = write(server, container, "m", b"posix data")
    blob = container.get_blob_client("m")
    etag0 = blob.get_blob_properties().etag
    resp = blob.set_blob_metadata({"tag": "x"})
    assert resp["etag"] != etag0
    lease = blob.acquire_lease(lease_duration=-1)
    props = blob.get_blob_properties()
    assert props.metadata == {"tag": "x"}
    assert props.lease.state == "leased"
    assert props.etag == resp["etag"]
    with pytest.raises(HttpResponseError) as e:
        blob.upload_blob(b"x", overwrite=True)
    assert e.value.error_code == "LeaseIdMissing"
    with open(path, "rb") as f:
        assert f.read() == b"posix data"
    lease.release()
    # A later POSIX change still changes the ETag.
    write(server, container, "m", b"changed again, longer")
    assert blob.get_blob_properties().etag != resp["etag"]


def test_Posix_file_is_not_an_append_blob(server, container):
    write(server, container, "p", b"plain")
    with pytest.raises(HttpResponseError) as e:
        container.get_blob_client("p").append_block(b"x")
    assert e.value.status_code == 409
    assert e.value.error_code == "InvalidBlobType"


def test_Posix_replace_by_rename_with_same_size_and_mtime(server, container):
    blob = container.get_blob_client("r")
    blob.upload_blob(b"AAAA")
    path = disk_path(server, container.container_name, "r")
    st = os.stat(path)
    etag1 = blob.get_blob_properties().etag
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"BBBB")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)  # what rsync and cp -p leave behind
    props = blob.get_blob_properties()
    assert props.etag != etag1
    assert blob.download_blob().readall() == b"BBBB"


@pytest.mark.parametrize("uploaded", [False, True])
def test_Posix_in_place_rewrite_with_restored_mtime(server, container, uploaded):
    blob = container.get_blob_client("i")
    if uploaded:
        blob.upload_blob(b"AAAA")
        path = disk_path(server, container.container_name, "i")
    else:
        path = write(server, container, "i", b"AAAA")
    st = os.stat(path)
    etag1 = blob.get_blob_properties().etag
    # The contract (README, Limits) holds from one timestamp tick after
    # strata's own last write: the kernel may stamp a rewrite made sooner with
    # a ctime that is not yet past the bound strata recorded.
    time.sleep(0.02)
    with open(path, "r+b") as f:  # rsync --inplace -t, or a tool that restores mtime
        f.write(b"BBBB")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert blob.get_blob_properties().etag != etag1
