"""Delete Blob."""
import os

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from blob_util import disk_path, raw


def test_DeleteBlob_then_not_found(server, container):
    blob = container.get_blob_client("d")
    blob.upload_blob(b"bye")
    r = raw(server, "DELETE", container.container_name, "d")
    assert r.status_code == 202
    assert r.content == b""
    with pytest.raises(ResourceNotFoundError) as e:
        blob.get_blob_properties()
    assert e.value.error_code == "BlobNotFound"
    with pytest.raises(ResourceNotFoundError) as e:
        blob.download_blob()
    assert e.value.error_code == "BlobNotFound"
    assert not os.path.exists(disk_path(server, container.container_name, "d"))


def test_DeleteBlob_sdk(container):
    blob = container.get_blob_client("d")
    blob.upload_blob(b"bye")
    blob.delete_blob()
    assert not blob.exists()
    assert [b.name for b in container.list_blobs()] == []


def test_DeleteBlob_twice(container):
    blob = container.get_blob_client("d")
    blob.upload_blob(b"bye")
    blob.delete_blob()
    with pytest.raises(ResourceNotFoundError) as e:
        blob.delete_blob()
    assert e.value.status_code == 404
    assert e.value.error_code == "BlobNotFound"


def test_DeleteBlob_never_existed(container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("never").delete_blob()
    assert e.value.error_code == "BlobNotFound"


def test_DeleteBlob_container_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_blob_client(container_name, "x").delete_blob()
    assert e.value.error_code == "ContainerNotFound"


def test_DeleteBlob_nested_frees_the_name(server, container):
    # Deleting "dir/x" removes the now-empty directory, so "dir" can be a blob.
    container.get_blob_client("dir/sub/x").upload_blob(b"x")
    container.get_blob_client("dir/sub/x").delete_blob()
    assert not os.path.exists(disk_path(server, container.container_name, "dir"))
    container.get_blob_client("dir").upload_blob(b"now a blob")
    assert container.get_blob_client("dir").download_blob().readall() == b"now a blob"


def test_DeleteBlob_sibling_survives(container):
    container.get_blob_client("dir/a").upload_blob(b"a")
    container.get_blob_client("dir/b").upload_blob(b"b")
    container.get_blob_client("dir/a").delete_blob()
    assert [b.name for b in container.list_blobs()] == ["dir", "dir/b"]  # "dir": the directory (HNS)
    assert container.get_blob_client("dir/b").download_blob().readall() == b"b"
    with pytest.raises(ResourceExistsError):
        container.get_blob_client("dir").upload_blob(b"x")


def test_DeleteBlob_discards_uncommitted_blocks(container):
    blob = container.get_blob_client("d")
    blob.upload_blob(b"committed")
    blob.stage_block("YWFh", b"pending")
    blob.delete_blob()
    with pytest.raises(ResourceNotFoundError) as e:
        blob.get_block_list("all")
    assert e.value.error_code == "BlobNotFound"


def test_DeleteBlob_directory_removed_only_when_empty(server, container):
    # HNS: a directory is a blob; Delete Blob removes it only when empty.
    container.get_blob_client("dir/x").upload_blob(b"x")
    with pytest.raises(ResourceExistsError) as e:
        container.get_blob_client("dir").delete_blob()
    assert e.value.status_code == 409
    assert e.value.error_code == "DirectoryIsNotEmpty"
    assert container.get_blob_client("dir/x").exists()
    # Snapshots are no option for a directory.
    r = raw(server, "DELETE", container.container_name, "dir", headers={"x-ms-delete-snapshots": "include"})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "OperationNotSupportedOnDirectory"
    assert container.get_blob_client("dir/x").exists()
    os.makedirs(os.path.join(server.root, container.container_name, "empty", "inner"))
    container.get_blob_client("empty/inner").delete_blob()
    assert not os.path.exists(os.path.join(server.root, container.container_name, "empty", "inner"))
    assert [b.name for b in container.list_blobs()] == ["dir", "dir/x"]
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("empty/inner").delete_blob()
    assert e.value.error_code == "BlobNotFound"


def test_DeleteBlob_if_match(server, container):
    blob = container.get_blob_client("d")
    blob.upload_blob(b"x")
    r = raw(server, "DELETE", container.container_name, "d", headers={"If-Match": '"0x1"'})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"
    assert blob.exists()
    r = raw(server, "DELETE", container.container_name, "d",
            headers={"If-Match": blob.get_blob_properties().etag})
    assert r.status_code == 202
