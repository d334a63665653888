"""Put Blob: block and append blobs, content headers, metadata, Content-MD5,
overwrite and If-None-Match: *."""
import base64
import hashlib

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobType, ContentSettings

from blob_util import assert_no_residue, crc64_b64, disk_path, md5_b64, raw


def test_PutBlob_block_blob_with_headers_and_metadata(server, container):
    data = b"hello strata\n" * 100
    blob = container.get_blob_client("dir/sub/hello.txt")
    settings = ContentSettings(content_type="text/plain; charset=utf-8", content_encoding="identity",
                               content_language="en-GB", content_disposition="attachment; x=1",
                               cache_control="max-age=60")
    resp = blob.upload_blob(data, content_settings=settings, metadata={"owner": "ml", "run_id": "42"})
    assert resp["etag"]
    assert bytes(resp["content_md5"]) == hashlib.md5(data).digest()

    props = blob.get_blob_properties()
    assert props.size == len(data)
    assert props.blob_type == BlobType.BlockBlob
    assert props.etag == resp["etag"]
    assert props.last_modified == resp["last_modified"]
    cs = props.content_settings
    assert cs.content_type == "text/plain; charset=utf-8"
    assert cs.content_encoding == "identity"
    assert cs.content_language == "en-GB"
    assert cs.content_disposition == "attachment; x=1"
    assert cs.cache_control == "max-age=60"
    assert bytes(cs.content_md5) == hashlib.md5(data).digest()
    assert props.metadata == {"owner": "ml", "run_id": "42"}
    assert blob.download_blob().readall() == data
    # The blob is a plain file at ROOT/CONTAINER/NAME.
    with open(disk_path(server, container.container_name, "dir/sub/hello.txt"), "rb") as f:
        assert f.read() == data


def test_PutBlob_default_content_type(container):
    blob = container.get_blob_client("plain")
    blob.upload_blob(b"x")
    assert blob.get_blob_properties().content_settings.content_type == "application/octet-stream"


def test_PutBlob_empty_blob(container):
    blob = container.get_blob_client("empty")
    blob.upload_blob(b"")
    props = blob.get_blob_properties()
    assert props.size == 0
    assert bytes(props.content_settings.content_md5) == hashlib.md5(b"").digest()
    assert blob.download_blob().readall() == b""


def test_PutBlob_append_blob(server, container):
    blob = container.get_blob_client("log")
    blob.create_append_blob(metadata={"k": "v"})
    props = blob.get_blob_properties()
    assert props.blob_type == BlobType.AppendBlob
    assert props.size == 0
    assert props.metadata == {"k": "v"}
    assert props.append_blob_committed_block_count == 0


def test_PutBlob_raw_status_and_headers(server, container):
    name = container.container_name
    data = b"0123456789"
    r = raw(server, "PUT", name, "r.bin", headers={"x-ms-blob-type": "BlockBlob"}, body=data)
    assert r.status_code == 201, r.text
    assert r.headers["ETag"].startswith('"') and r.headers["ETag"].endswith('"')
    assert "Last-Modified" in r.headers
    assert r.headers["Content-MD5"] == md5_b64(data)
    assert r.headers["x-ms-request-server-encrypted"] == "true"


def test_PutBlob_content_md5_good(server, container):
    name = container.container_name
    data = b"checked content"
    r = raw(server, "PUT", name, "ok", headers={"x-ms-blob-type": "BlockBlob",
                                                "Content-MD5": md5_b64(data)}, body=data)
    assert r.status_code == 201, r.text
    props = container.get_blob_client("ok").get_blob_properties()
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()


def test_PutBlob_md5_mismatch(server, container):
    name = container.container_name
    r = raw(server, "PUT", name, "bad", headers={"x-ms-blob-type": "BlockBlob",
                                                 "Content-MD5": md5_b64(b"other")}, body=b"data")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Md5Mismatch"
    assert "<Code>Md5Mismatch</Code>" in r.text
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("bad").get_blob_properties()
    assert e.value.error_code == "BlobNotFound"
    assert_no_residue(server)


def test_PutBlob_checks_a_sent_crc64(server, container):
    name = container.container_name
    data = b"crc checked" * 1000
    r = raw(server, "PUT", name, "c", headers={"x-ms-blob-type": "BlockBlob",
                                               "x-ms-content-crc64": crc64_b64(data)}, body=data)
    assert r.status_code == 201
    assert r.headers["Content-MD5"] == md5_b64(data)  # the blob's MD5 is still computed
    assert r.headers["x-ms-content-crc64"] == crc64_b64(data)
    # Azure answers a Put Blob with both digests from version 2019-02-02 on.
    r = raw(server, "PUT", name, "d", headers={"x-ms-blob-type": "BlockBlob"}, body=b"Hello World")
    assert r.headers["Content-MD5"] == md5_b64(b"Hello World")
    assert r.headers["x-ms-content-crc64"] == "YeJLfssylmU="  # what Azure returned for it
    # ... the oldest version served (issue 11: 2018-11-09 is refused, see
    # test_service_versions.py) included.
    r = raw(server, "PUT", name, "d", headers={"x-ms-blob-type": "BlockBlob",
                                               "x-ms-version": "2019-02-02"}, body=b"Hello World")
    assert r.headers["Content-MD5"] == md5_b64(b"Hello World")
    assert r.headers["x-ms-content-crc64"] == "YeJLfssylmU="
    r = raw(server, "PUT", name, "c", headers={"x-ms-blob-type": "BlockBlob",
                                               "x-ms-content-crc64": crc64_b64(b"x")}, body=b"new")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Crc64Mismatch"
    assert "<Code>Crc64Mismatch</Code>" in r.text
    assert container.get_blob_client("c").download_blob().readall() == data
    assert_no_residue(server)


def test_PutBlob_md5_mismatch_keeps_old_blob(server, container):
    name = container.container_name
    blob = container.get_blob_client("keep")
    blob.upload_blob(b"old content")
    etag = blob.get_blob_properties().etag
    r = raw(server, "PUT", name, "keep", headers={"x-ms-blob-type": "BlockBlob",
                                                  "Content-MD5": md5_b64(b"x")}, body=b"new content")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "Md5Mismatch"
    assert blob.download_blob().readall() == b"old content"
    assert blob.get_blob_properties().etag == etag
    assert_no_residue(server)


def test_PutBlob_md5_malformed(server, container):
    name = container.container_name
    for bad in ["not-base64!", base64.b64encode(b"short").decode()]:
        r = raw(server, "PUT", name, "m", headers={"x-ms-blob-type": "BlockBlob",
                                                   "Content-MD5": bad}, body=b"data")
        assert r.status_code == 400, bad
        assert r.headers["x-ms-error-code"] == "InvalidMd5", bad
    assert_no_residue(server)


def test_PutBlob_sdk_validate_content(container):
    blob = container.get_blob_client("validated")
    blob.upload_blob(b"payload" * 10, validate_content=True)
    assert blob.download_blob(validate_content=True).readall() == b"payload" * 10


def test_PutBlob_x_ms_blob_content_md5_is_stored(server, container):
    name = container.container_name
    stored = hashlib.md5(b"whole file").digest()
    r = raw(server, "PUT", name, "m5", headers={
        "x-ms-blob-type": "BlockBlob",
        "x-ms-blob-content-md5": base64.b64encode(stored).decode()}, body=b"whole file")
    assert r.status_code == 201, r.text
    props = container.get_blob_client("m5").get_blob_properties()
    assert bytes(props.content_settings.content_md5) == stored


def test_PutBlob_x_ms_blob_content_md5_checked_against_body(server, container):
    # For Put Blob, Azure checks x-ms-blob-content-md5 against the body (400
    # Md5Mismatch) as it checks Content-MD5 (Azure/azure-storage-ruby#64,
    # answered by the service team); nothing is written.
    name = container.container_name
    r = raw(server, "PUT", name, "m6", headers={
        "x-ms-blob-type": "BlockBlob", "x-ms-blob-content-md5": md5_b64(b"other")}, body=b"data")
    assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "Md5Mismatch")
    assert "<Code>Md5Mismatch</Code>" in r.text
    assert raw(server, "HEAD", name, "m6").status_code == 404
    # Not 16 bytes: InvalidMd5 (Azure/azure-sdk-for-js#9507 shows the answer).
    r = raw(server, "PUT", name, "m6", headers={
        "x-ms-blob-type": "BlockBlob", "x-ms-blob-content-md5": "bm90LW1kNQ=="}, body=b"data")
    assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "InvalidMd5")
    assert_no_residue(server)


def test_PutBlob_x_ms_blob_content_md5_beside_content_md5(server, container):
    # Both digests sent and both right: the blob's is the one stored (they
    # agree); one of them wrong: refused.
    name = container.container_name
    r = raw(server, "PUT", name, "m7", headers={
        "x-ms-blob-type": "BlockBlob", "Content-MD5": md5_b64(b"data"),
        "x-ms-blob-content-md5": md5_b64(b"data")}, body=b"data")
    assert r.status_code == 201, r.text
    assert raw(server, "HEAD", name, "m7").headers["Content-MD5"] == md5_b64(b"data")
    r = raw(server, "PUT", name, "m7", headers={
        "x-ms-blob-type": "BlockBlob", "Content-MD5": md5_b64(b"data2"),
        "x-ms-blob-content-md5": md5_b64(b"other")}, body=b"data2")
    assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "Md5Mismatch")
    assert container.get_blob_client("m7").download_blob().readall() == b"data"


def test_PutBlob_standard_content_headers_are_stored(server, container):
    # Put Blob documents Content-Type, Content-Encoding, Content-Language and
    # Cache-Control as request headers whose values the blob keeps (Put Blob,
    # REST reference); the x-ms-blob-* forms win where both are sent.
    name = container.container_name
    r = raw(server, "PUT", name, "std", headers={
        "x-ms-blob-type": "BlockBlob", "Content-Type": "text/csv", "Content-Encoding": "gzip",
        "Content-Language": "de", "Cache-Control": "no-cache"}, body=b"a,b")
    assert r.status_code == 201, r.text
    head = raw(server, "HEAD", name, "std").headers
    assert (head["Content-Type"], head["Content-Encoding"], head["Content-Language"],
            head["Cache-Control"]) == ("text/csv", "gzip", "de", "no-cache")
    r = raw(server, "PUT", name, "std", headers={
        "x-ms-blob-type": "BlockBlob", "Content-Type": "text/csv",
        "x-ms-blob-content-type": "application/json", "Content-Language": "de",
        "x-ms-blob-content-language": "fr"}, body=b"{}")
    assert r.status_code == 201, r.text
    cs = container.get_blob_client("std").get_blob_properties().content_settings
    assert (cs.content_type, cs.content_language, cs.content_encoding) == ("application/json", "fr", None)


def test_PutBlob_overwrite(container):
    blob = container.get_blob_client("o")
    first = blob.upload_blob(b"first", metadata={"a": "1"}, content_settings=ContentSettings(
        content_type="text/plain"))
    created = blob.get_blob_properties().creation_time
    second = blob.upload_blob(b"second!", overwrite=True)
    assert second["etag"] != first["etag"]
    props = blob.get_blob_properties()
    assert props.size == 7
    assert props.metadata == {}
    assert props.content_settings.content_type == "application/octet-stream"
    assert props.creation_time == created
    assert blob.download_blob().readall() == b"second!"


def test_PutBlob_overwrite_false_on_existing(server, container):
    blob = container.get_blob_client("exists")
    blob.upload_blob(b"one")
    with pytest.raises(ResourceExistsError) as e:
        blob.upload_blob(b"two", overwrite=False)
    assert e.value.status_code == 409
    assert e.value.error_code == "BlobAlreadyExists"
    assert blob.download_blob().readall() == b"one"
    assert_no_residue(server)


def test_PutBlob_overwrite_false_on_new(container):
    blob = container.get_blob_client("fresh")
    blob.upload_blob(b"one", overwrite=False)
    assert blob.download_blob().readall() == b"one"


def test_PutBlob_invalid_metadata_name(server, container):
    name = container.container_name
    r = raw(server, "PUT", name, "md", headers={"x-ms-blob-type": "BlockBlob",
                                                "x-ms-meta-1bad": "v"}, body=b"x")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidMetadata"
    assert_no_residue(server)


def test_PutBlob_missing_blob_type(server, container):
    r = raw(server, "PUT", container.container_name, "nt", body=b"x")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "MissingRequiredHeader"
    assert_no_residue(server)


def test_PutBlob_container_not_found(server, service, container_name):
    blob = service.get_blob_client(container_name, "b")
    with pytest.raises(ResourceNotFoundError) as e:
        blob.upload_blob(b"data")
    assert e.value.error_code == "ContainerNotFound"
    assert_no_residue(server)


def test_PutBlob_large_chunked_upload(server, container):
    # Over the SDK's single-shot limit: Put Block + Put Block List underneath.
    data = bytes(range(256)) * (80 * 1024 + 7)
    blob = BlobClient.from_connection_string(
        server.connection_string, container.container_name, "big",
        max_single_put_size=1024 * 1024, max_block_size=1024 * 1024)
    blob.upload_blob(data)
    assert len(blob.get_block_list("committed")[0]) == 21
    assert blob.get_blob_properties().size == len(data)
    assert blob.download_blob(max_concurrency=2).readall() == data


def test_PutBlob_error_is_azure_xml(server, container):
    r = raw(server, "PUT", container.container_name, "x", headers={
        "x-ms-blob-type": "BlockBlob", "Content-MD5": md5_b64(b"y")}, body=b"x")
    assert r.headers["Content-Type"].startswith("application/xml")
    assert "<Error><Code>Md5Mismatch</Code><Message>" in r.text
    assert r.headers.get("x-ms-request-id")


def test_PutBlob_append_over_block_blob(container):
    blob = container.get_blob_client("switch")
    blob.upload_blob(b"block data")
    blob.create_append_blob()
    props = blob.get_blob_properties()
    assert props.blob_type == BlobType.AppendBlob
    assert props.size == 0
    blob.upload_blob(b"block again", overwrite=True)
    assert blob.get_blob_properties().blob_type == BlobType.BlockBlob
