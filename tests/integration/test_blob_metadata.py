"""Get Blob Metadata and Set Blob Metadata."""
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from blob_util import raw


def test_SetBlobMetadata_replaces_all(container):
    blob = container.get_blob_client("m")
    first = blob.upload_blob(b"data", metadata={"a": "1", "b": "2"})
    resp = blob.set_blob_metadata({"c": "3", "d": "four words"})
    assert resp["etag"] != first["etag"]
    props = blob.get_blob_properties()
    assert props.metadata == {"c": "3", "d": "four words"}
    assert props.etag == resp["etag"]
    assert blob.download_blob().readall() == b"data"


def test_SetBlobMetadata_empty_clears(container):
    blob = container.get_blob_client("m")
    blob.upload_blob(b"data", metadata={"a": "1"})
    blob.set_blob_metadata({})
    assert blob.get_blob_properties().metadata == {}


def test_GetBlobMetadata_raw(server, container):
    blob = container.get_blob_client("m")
    blob.upload_blob(b"data", metadata={"alpha": "x", "beta": "y"})
    for method in ["GET", "HEAD"]:
        r = raw(server, method, container.container_name, "m", query="comp=metadata")
        assert r.status_code == 200, method
        assert r.headers["x-ms-meta-alpha"] == "x"
        assert r.headers["x-ms-meta-beta"] == "y"
        assert r.headers["ETag"] == blob.get_blob_properties().etag
        assert "Last-Modified" in r.headers
        assert r.content == b""


def test_SetBlobMetadata_raw_status(server, container):
    container.get_blob_client("m").upload_blob(b"data")
    r = raw(server, "PUT", container.container_name, "m", query="comp=metadata",
            headers={"x-ms-meta-n": "v"})
    assert r.status_code == 200
    assert r.headers["ETag"]
    assert r.headers["x-ms-request-server-encrypted"] == "true"


def test_SetBlobMetadata_preserves_case(container):
    blob = container.get_blob_client("m")
    blob.upload_blob(b"data")
    blob.set_blob_metadata({"CamelCase": "v"})
    assert blob.get_blob_properties().metadata == {"CamelCase": "v"}


@pytest.mark.parametrize("name", ["1starts_with_digit", "has-dash"])
def test_SetBlobMetadata_invalid_name(container, name):
    blob = container.get_blob_client("m")
    blob.upload_blob(b"data", metadata={"ok": "1"})
    with pytest.raises(HttpResponseError) as e:
        blob.set_blob_metadata({name: "v"})
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidMetadata"
    assert blob.get_blob_properties().metadata == {"ok": "1"}


def test_SetBlobMetadata_not_found(container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("ghost").set_blob_metadata({"a": "b"})
    assert e.value.error_code == "BlobNotFound"


def test_GetBlobMetadata_not_found(server, container):
    r = raw(server, "GET", container.container_name, "ghost", query="comp=metadata")
    assert r.status_code == 404
    assert r.headers["x-ms-error-code"] == "BlobNotFound"
