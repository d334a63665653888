"""Anonymous (credential-less) access by the container's public access level:
blob -> blobs readable, container not listable; container -> listable too;
private -> 404 ResourceNotFound."""
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, ContainerClient

import signing


def _anon_container(server, container):
    return ContainerClient(server.endpoint, container.container_name)


def _anon_blob(server, container, name):
    return BlobClient(server.endpoint, container.container_name, name)


def _expect_not_found(fn):
    with pytest.raises(HttpResponseError) as e:
        fn()
    assert e.value.status_code == 404
    assert e.value.error_code == "ResourceNotFound"


@pytest.fixture
def public_blob(container):
    container.upload_blob("pub.txt", b"public data", metadata={"k": "v"})
    container.set_container_access_policy(signed_identifiers={}, public_access="blob")
    return container


@pytest.fixture
def public_container(container):
    container.upload_blob("pub.txt", b"public data")
    container.set_container_access_policy(signed_identifiers={}, public_access="container")
    return container


def test_Anonymous_blob_level_read_blob(server, public_blob):
    bc = _anon_blob(server, public_blob, "pub.txt")
    assert bc.download_blob().readall() == b"public data"
    props = bc.get_blob_properties()
    assert props.size == len(b"public data")
    assert props.metadata == {"k": "v"}


def test_Anonymous_blob_level_range_read(server, public_blob):
    resp = requests.get("%s/%s/pub.txt" % (server.endpoint, public_blob.container_name),
                        headers={"Range": "bytes=0-5"}, timeout=10)
    assert resp.status_code == 206
    assert resp.content == b"public"


def test_Anonymous_blob_level_missing_blob(server, public_blob):
    with pytest.raises(HttpResponseError) as e:
        _anon_blob(server, public_blob, "absent").download_blob()
    assert e.value.status_code == 404
    assert e.value.error_code == "BlobNotFound"


def test_Anonymous_blob_level_cannot_list(server, public_blob):
    cc = _anon_container(server, public_blob)
    _expect_not_found(lambda: list(cc.list_blobs()))


def test_Anonymous_blob_level_no_container_properties(server, public_blob):
    cc = _anon_container(server, public_blob)
    _expect_not_found(lambda: cc.get_container_properties())


def test_Anonymous_container_level_list(server, public_container):
    cc = _anon_container(server, public_container)
    assert [b.name for b in cc.list_blobs()] == ["pub.txt"]
    props = cc.get_container_properties()
    assert props.public_access == "container"
    assert cc.download_blob("pub.txt").readall() == b"public data"


def test_Anonymous_private_container(server, container):
    container.upload_blob("secret.txt", b"secret")
    cc = _anon_container(server, container)
    _expect_not_found(lambda: cc.download_blob("secret.txt").readall())
    _expect_not_found(lambda: cc.get_blob_client("secret.txt").get_blob_properties())
    _expect_not_found(lambda: list(cc.list_blobs()))
    _expect_not_found(lambda: cc.get_container_properties())


def test_Anonymous_private_raw_body(server, container):
    container.upload_blob("secret.txt", b"secret")
    resp = requests.get("%s/%s/secret.txt" % (server.endpoint, container.container_name), timeout=10)
    assert resp.status_code == 404
    assert signing.error_code(resp) == "ResourceNotFound"
    assert b"secret" not in resp.content.replace(b"ResourceNotFound", b"")
    assert "<Code>ResourceNotFound</Code>" in resp.text


@pytest.mark.parametrize("level", ["blob", "container"])
def test_Anonymous_cannot_write(server, container, level):
    container.upload_blob("keep.txt", b"keep")
    container.set_container_access_policy(signed_identifiers={}, public_access=level)
    cc = _anon_container(server, container)
    _expect_not_found(lambda: cc.upload_blob("new.txt", b"x"))
    _expect_not_found(lambda: cc.delete_blob("keep.txt"))
    _expect_not_found(lambda: cc.set_container_metadata({"a": "b"}))
    _expect_not_found(lambda: cc.get_container_access_policy())
    assert [b.name for b in container.list_blobs()] == ["keep.txt"]


def test_Anonymous_access_revoked(server, public_container):
    cc = _anon_container(server, public_container)
    assert [b.name for b in cc.list_blobs()] == ["pub.txt"]
    public_container.set_container_access_policy(signed_identifiers={})
    _expect_not_found(lambda: list(cc.list_blobs()))
    _expect_not_found(lambda: cc.download_blob("pub.txt").readall())


def test_Anonymous_missing_container(server, container_name):
    cc = ContainerClient(server.endpoint, container_name)
    _expect_not_found(lambda: cc.download_blob("x").readall())
    _expect_not_found(lambda: list(cc.list_blobs()))
