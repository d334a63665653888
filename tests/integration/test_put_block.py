"""Put Block: block ids, Content-MD5, blob types, and no residue."""
import base64
import os
import urllib.parse

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobType

from blob_util import assert_no_residue, block_files, crc64_b64, md5_b64, raw


def bid(s):
    return base64.b64encode(s.encode()).decode()


def wire(s):
    """The id on the wire of a block the SDK stages as bid(s) (it encodes again)."""
    return base64.b64encode(bid(s).encode()).decode()


def test_PutBlock_stages_uncommitted(server, container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("block-1"), b"a" * 100)
    blob.stage_block(bid("block-2"), b"b" * 50)
    committed, uncommitted = blob.get_block_list("all")
    assert committed == []
    assert [(b.id, b.size) for b in uncommitted] == [(bid("block-1"), 100), (bid("block-2"), 50)]
    # A blob with only uncommitted blocks does not exist yet.
    with pytest.raises(ResourceNotFoundError) as e:
        blob.get_blob_properties()
    assert e.value.error_code == "BlobNotFound"
    assert [b.name for b in container.list_blobs()] == []
    assert_no_residue(server)


def test_PutBlock_raw_response(server, container):
    # From version 2019-02-02 Azure answers a block sent without Content-MD5
    # with the CRC-64 it computed, and no MD5.
    r = raw(server, "PUT", container.container_name, "b", query="comp=block&blockid=" + bid("x1"),
            body=b"abc")
    assert r.status_code == 201
    assert r.headers["x-ms-content-crc64"] == crc64_b64(b"abc")
    assert "Content-MD5" not in r.headers
    assert r.headers["x-ms-request-server-encrypted"] == "true"


def test_PutBlock_answers_md5_when_sent_one_or_before_2019(server, container):
    q = "comp=block&blockid=" + bid("x1")
    r = raw(server, "PUT", container.container_name, "b", query=q, body=b"abc",
            headers={"Content-MD5": md5_b64(b"abc")})
    assert r.status_code == 201
    assert r.headers["Content-MD5"] == md5_b64(b"abc")
    assert "x-ms-content-crc64" not in r.headers
    r = raw(server, "PUT", container.container_name, "b", query=q, body=b"abc",
            headers={"x-ms-version": "2018-11-09"})
    assert r.status_code == 201
    assert r.headers["Content-MD5"] == md5_b64(b"abc")
    assert "x-ms-content-crc64" not in r.headers


def test_PutBlock_checks_a_sent_crc64(server, container):
    q = "comp=block&blockid=" + bid("x1")
    body = bytes(range(256)) * 300  # more than one read, so the digest runs beside the reads
    r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
            headers={"x-ms-content-crc64": crc64_b64(body)})
    assert r.status_code == 201
    assert r.headers["x-ms-content-crc64"] == crc64_b64(body)
    r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
            headers={"x-ms-content-crc64": crc64_b64(body[:-1])})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Crc64Mismatch"
    for bad in ("not-base64!", base64.b64encode(b"1234567").decode()):
        r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
                headers={"x-ms-content-crc64": bad})
        assert r.status_code == 400
        assert r.headers["x-ms-error-code"] == "InvalidHeaderValue"
    r = raw(server, "PUT", container.container_name, "b", query=q, body=body,
            headers={"x-ms-content-crc64": crc64_b64(body), "Content-MD5": md5_b64(body)})
    assert r.status_code == 400
    _, uncommitted = container.get_blob_client("b").get_block_list("uncommitted")
    assert [b.size for b in uncommitted] == [len(body)]  # only the accepted upload


def test_PutBlock_same_id_replaces(container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("same"), b"first")
    blob.stage_block(bid("same"), b"second, longer")
    _, uncommitted = blob.get_block_list("uncommitted")
    assert [(b.id, b.size) for b in uncommitted] == [(bid("same"), 14)]
    blob.commit_block_list([bid("same")])
    assert blob.download_blob().readall() == b"second, longer"


def test_PutBlock_missing_blockid(server, container):
    r = raw(server, "PUT", container.container_name, "b", query="comp=block", body=b"abc")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "MissingRequiredQueryParameter"
    assert_no_residue(server)


@pytest.mark.parametrize("blockid", ["%%%not-base64", "", base64.b64encode(b"x" * 65).decode()])
def test_PutBlock_invalid_blockid(server, container, blockid):
    r = raw(server, "PUT", container.container_name, "b",
            query="comp=block&blockid=" + urllib.parse.quote(blockid, safe=""), body=b"abc")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidQueryParameterValue"
    assert_no_residue(server)


def test_PutBlock_ids_of_different_lengths(server, container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("aaaa"), b"1")
    before = block_files(server)
    with pytest.raises(HttpResponseError) as e:
        blob.stage_block(bid("bbbbbbbb"), b"2")
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidBlobOrBlock"
    _, uncommitted = blob.get_block_list("uncommitted")
    assert [b.id for b in uncommitted] == [bid("aaaa")]
    assert block_files(server) == before
    assert_no_residue(server)


def test_PutBlock_id_length_must_match_committed(server, container):
    blob = container.get_blob_client("b")
    blob.stage_block(bid("aaaa"), b"1")
    blob.commit_block_list([bid("aaaa")])
    with pytest.raises(HttpResponseError) as e:
        blob.stage_block(bid("bb"), b"2")
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidBlobOrBlock"
    assert_no_residue(server)


def test_PutBlock_md5_mismatch(server, container):
    before = block_files(server)
    r = raw(server, "PUT", container.container_name, "b", query="comp=block&blockid=" + bid("m1"),
            headers={"Content-MD5": md5_b64(b"not it")}, body=b"data")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Md5Mismatch"
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client("b").get_block_list("all")
    assert block_files(server) == before
    assert_no_residue(server)


def test_PutBlock_md5_good(server, container):
    r = raw(server, "PUT", container.container_name, "b", query="comp=block&blockid=" + wire("m1"),
            headers={"Content-MD5": md5_b64(b"data")}, body=b"data")
    assert r.status_code == 201
    container.get_blob_client("b").stage_block(bid("m2"), b"more", validate_content=True)
    assert len(container.get_blob_client("b").get_block_list("uncommitted")[1]) == 2


def test_PutBlock_to_append_blob(server, container):
    blob = container.get_blob_client("ap")
    blob.create_append_blob()
    with pytest.raises(HttpResponseError) as e:
        blob.stage_block(bid("x"), b"1")
    assert e.value.status_code == 409
    assert e.value.error_code == "InvalidBlobType"
    assert blob.get_blob_properties().blob_type == BlobType.AppendBlob
    assert_no_residue(server)


def test_PutBlock_container_not_found(server, service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_blob_client(container_name, "b").stage_block(bid("x"), b"1")
    assert e.value.error_code == "ContainerNotFound"
    assert_no_residue(server)


def test_PutBlock_existing_blob_unchanged(container):
    blob = container.get_blob_client("b")
    blob.upload_blob(b"committed data")
    etag = blob.get_blob_properties().etag
    blob.stage_block(bid("new"), b"pending")
    props = blob.get_blob_properties()
    assert props.etag == etag
    assert blob.download_blob().readall() == b"committed data"


def test_PutBlock_no_block_files_outside_strata(server, container):
    blob = container.get_blob_client("dir/b")
    blob.stage_block(bid("x"), b"1")
    # Uncommitted blocks live under .strata, not in the container tree.
    assert os.listdir(os.path.join(server.root, container.container_name)) == []
