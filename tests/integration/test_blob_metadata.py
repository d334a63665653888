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


def _meta(total):
    """Metadata whose names and values come to `total` bytes."""
    value_len = total - len("big")
    return {"big": "v" * value_len}


def test_Metadata_over_8KiB_is_refused_everywhere(server, container):
    # Azure: the names and values of all metadata together at most 8 KiB;
    # more is 400 MetadataTooLarge (Naming and Referencing Containers, Blobs,
    # and Metadata; Blob Service Error Codes). 8 KiB exactly is accepted.
    name = container.container_name
    blob = container.get_blob_client("meta")
    blob.upload_blob(b"x", metadata=_meta(8192))
    assert blob.get_blob_properties().metadata == _meta(8192)
    hdr = {"x-ms-meta-big": "v" * (8192 - 2)}  # 8193 bytes with the name
    two = {"x-ms-meta-a": "v" * 4096, "x-ms-meta-b": "v" * 4096}  # 2 + 8192
    cases = [
        ("PUT", "new1", "", dict(hdr, **{"x-ms-blob-type": "BlockBlob"}), b"x"),  # Put Blob
        ("PUT", "new2", "", dict(two, **{"x-ms-blob-type": "AppendBlob"}), b""),  # Create Append Blob
        ("PUT", "meta", "comp=metadata", hdr, b""),                            # Set Blob Metadata
        ("PUT", "new3", "comp=blocklist", hdr, b"<BlockList></BlockList>"),    # Put Block List
        ("PUT", "new4", "", dict(hdr, **{"x-ms-copy-source": blob.url}), b""),  # Copy Blob
    ]
    for method, b, query, headers, body in cases:
        r = raw(server, method, name, b, query=query, headers=headers, body=body)
        assert (r.status_code, r.headers.get("x-ms-error-code")) == (400, "MetadataTooLarge"), (b, query, r.text)
        assert "<Code>MetadataTooLarge</Code>" in r.text
    assert blob.get_blob_properties().metadata == _meta(8192)
    assert [b.name for b in container.list_blobs()] == ["meta"]
