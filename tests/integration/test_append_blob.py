"""Append blobs: create, Append Block, the append-position and max-size
conditions, and blob-type checks."""
import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobType

from blob_util import assert_no_residue, crc64_b64, md5_b64, raw


def test_AppendBlob_create_and_append(container):
    blob = container.get_blob_client("log")
    created = blob.create_append_blob(metadata={"k": "v"})
    assert created["etag"]
    r1 = blob.append_block(b"first line\n")
    assert r1["blob_append_offset"] == "0"
    assert r1["blob_committed_block_count"] == 1
    r2 = blob.append_block(b"second\n")
    assert r2["blob_append_offset"] == "11"
    assert r2["blob_committed_block_count"] == 2
    assert r2["etag"] != r1["etag"]
    props = blob.get_blob_properties()
    assert props.blob_type == BlobType.AppendBlob
    assert props.size == 18
    assert props.append_blob_committed_block_count == 2
    assert props.metadata == {"k": "v"}
    assert blob.download_blob().readall() == b"first line\nsecond\n"


def test_AppendBlob_raw_response(server, container):
    container.get_blob_client("log").create_append_blob()
    r = raw(server, "PUT", container.container_name, "log", query="comp=appendblock", body=b"abc")
    assert r.status_code == 201
    assert r.headers["x-ms-blob-append-offset"] == "0"
    assert r.headers["x-ms-blob-committed-block-count"] == "1"
    assert r.headers["x-ms-content-crc64"] == crc64_b64(b"abc")  # version 2021-12-02
    assert "Content-MD5" not in r.headers
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    r = raw(server, "PUT", container.container_name, "log", query="comp=appendblock", body=b"de",
            headers={"Content-MD5": md5_b64(b"de")})
    assert r.status_code == 201
    assert r.headers["Content-MD5"] == md5_b64(b"de")
    r = raw(server, "PUT", container.container_name, "log", query="comp=appendblock", body=b"fg",
            headers={"x-ms-content-crc64": crc64_b64(b"xx")})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Crc64Mismatch"
    assert container.get_blob_client("log").download_blob().readall() == b"abcde"


def test_AppendBlob_sdk_upload(container):
    blob = container.get_blob_client("log")
    blob.upload_blob(b"x" * 1000, blob_type=BlobType.AppendBlob)
    blob.upload_blob(b"y" * 10, blob_type=BlobType.AppendBlob, overwrite=False)
    assert blob.download_blob().readall() == b"x" * 1000 + b"y" * 10


def test_AppendBlob_create_resets(container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    blob.append_block(b"data")
    blob.create_append_blob()
    props = blob.get_blob_properties()
    assert props.size == 0
    assert props.append_blob_committed_block_count == 0


def test_AppendBlob_appendpos_condition(server, container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    blob.append_block(b"12345")
    with pytest.raises(HttpResponseError) as e:
        blob.append_block(b"x", appendpos_condition=3)
    assert e.value.status_code == 412
    assert e.value.error_code == "AppendPositionConditionNotMet"
    blob.append_block(b"678", appendpos_condition=5)
    assert blob.download_blob().readall() == b"12345678"
    assert_no_residue(server)


def test_AppendBlob_maxsize_condition(server, container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    blob.append_block(b"12345", maxsize_condition=5)
    with pytest.raises(HttpResponseError) as e:
        blob.append_block(b"6", maxsize_condition=5)
    assert e.value.status_code == 412
    assert e.value.error_code == "MaxBlobSizeConditionNotMet"
    assert blob.download_blob().readall() == b"12345"
    assert blob.get_blob_properties().append_blob_committed_block_count == 1
    assert_no_residue(server)


def test_AppendBlob_to_block_blob(server, container):
    blob = container.get_blob_client("bb")
    blob.upload_blob(b"block blob")
    with pytest.raises(ResourceExistsError) as e:
        blob.append_block(b"more")
    assert e.value.status_code == 409
    assert e.value.error_code == "InvalidBlobType"
    assert blob.download_blob().readall() == b"block blob"
    assert_no_residue(server)


def test_AppendBlob_not_found(server, container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("none").append_block(b"x")
    assert e.value.error_code == "BlobNotFound"
    assert_no_residue(server)


def test_AppendBlob_md5_mismatch(server, container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    blob.append_block(b"ok")
    r = raw(server, "PUT", container.container_name, "log", query="comp=appendblock",
            headers={"Content-MD5": md5_b64(b"other")}, body=b"bad")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Md5Mismatch"
    assert blob.download_blob().readall() == b"ok"
    assert_no_residue(server)


def test_AppendBlob_validate_content(container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    blob.append_block(b"checked", validate_content=True)
    assert blob.download_blob().readall() == b"checked"


def test_AppendBlob_if_match(server, container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    etag = blob.append_block(b"a")["etag"]
    blob.append_block(b"b", etag=etag, match_condition=MatchConditions.IfNotModified)
    with pytest.raises(HttpResponseError) as e:
        blob.append_block(b"c", etag=etag, match_condition=MatchConditions.IfNotModified)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    assert blob.download_blob().readall() == b"ab"


def test_AppendBlob_put_blob_with_body_refused(server, container):
    r = raw(server, "PUT", container.container_name, "log",
            headers={"x-ms-blob-type": "AppendBlob"}, body=b"not allowed")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidHeaderValue"
    assert not container.get_blob_client("log").exists()
    assert_no_residue(server)
