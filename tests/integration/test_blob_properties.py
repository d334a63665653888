"""Get Blob Properties and Set Blob Properties (HTTP headers)."""
import datetime
import hashlib

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobType, ContentSettings

from blob_util import md5_b64, raw


def test_GetBlobProperties_block_blob(server, container):
    blob = container.get_blob_client("p.bin")
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    resp = blob.upload_blob(b"x" * 321)
    props = blob.get_blob_properties()
    assert props.name == "p.bin"
    assert props.size == 321
    assert props.blob_type == BlobType.BlockBlob
    assert props.etag == resp["etag"]
    assert props.last_modified >= before - datetime.timedelta(seconds=2)
    assert props.creation_time == props.last_modified
    assert props.lease.state == "available"
    assert props.lease.status == "unlocked"
    assert props.blob_tier == "Hot"
    assert props.blob_tier_inferred is True
    assert props.server_encrypted is True


def test_GetBlobProperties_raw_head(server, container):
    container.get_blob_client("h").upload_blob(b"abc", metadata={"k": "v"})
    r = raw(server, "HEAD", container.container_name, "h")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Length"] == "3"
    assert r.headers["Content-MD5"] == md5_b64(b"abc")
    assert r.headers["x-ms-blob-type"] == "BlockBlob"
    assert r.headers["x-ms-meta-k"] == "v"
    assert r.headers["x-ms-lease-status"] == "unlocked"
    assert r.headers["x-ms-lease-state"] == "available"
    for h in ["ETag", "Last-Modified", "x-ms-creation-time", "x-ms-request-id", "x-ms-version", "Date"]:
        assert h in r.headers, h


def test_GetBlobProperties_resource_type_on_hns(server, container):
    # Azure's recorded HEAD and GET of an HNS account's blob endpoint
    # (azure-sdk-for-js storage-file-datalake recordings,
    # datalakepathclient "create with default parameters", x-ms-version
    # 2021-06-08) carry x-ms-resource-type; the 2019-02-02 recording
    # ("append & flush should work") does not, and List Blobs' ResourceType
    # starts at 2020-10-02. Every strata account is HNS.
    container.get_blob_client("f").upload_blob(b"abc")
    for method in ("HEAD", "GET"):
        r = raw(server, method, container.container_name, "f")
        assert r.status_code == 200
        assert r.headers["x-ms-resource-type"] == "file"
        old = raw(server, method, container.container_name, "f",
                  headers={"x-ms-version": "2020-08-04"})
        assert old.status_code == 200
        assert "x-ms-resource-type" not in old.headers


def test_GetBlobProperties_not_found(server, container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("nope").get_blob_properties()
    assert e.value.status_code == 404
    assert e.value.error_code == "BlobNotFound"
    r = raw(server, "HEAD", container.container_name, "nope")
    assert r.status_code == 404
    assert r.headers["x-ms-error-code"] == "BlobNotFound"
    assert r.content == b""


def test_SetBlobProperties_http_headers(container):
    blob = container.get_blob_client("s")
    data = b"payload"
    first = blob.upload_blob(data, metadata={"keep": "me"})
    resp = blob.set_http_headers(content_settings=ContentSettings(
        content_type="text/csv", content_encoding="identity", content_language="de",
        content_disposition="inline", cache_control="public",
        content_md5=bytearray(hashlib.md5(b"other").digest())))
    assert resp["etag"] != first["etag"]
    props = blob.get_blob_properties()
    assert props.etag == resp["etag"]
    cs = props.content_settings
    assert (cs.content_type, cs.content_encoding, cs.content_language, cs.content_disposition,
            cs.cache_control) == ("text/csv", "identity", "de", "inline", "public")
    assert bytes(cs.content_md5) == hashlib.md5(b"other").digest()
    # Data and metadata are untouched.
    assert props.metadata == {"keep": "me"}
    assert props.size == len(data)
    assert blob.download_blob().readall() == data


def test_SetBlobProperties_clears_headers_not_sent(container):
    blob = container.get_blob_client("c")
    blob.upload_blob(b"abc", content_settings=ContentSettings(
        content_type="text/plain", content_language="fr", cache_control="no-store"))
    blob.set_http_headers(content_settings=ContentSettings(content_type="text/html"))
    cs = blob.get_blob_properties().content_settings
    assert cs.content_type == "text/html"
    assert cs.content_language is None
    assert cs.cache_control is None
    assert cs.content_md5 is None


def test_SetBlobProperties_not_found(container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("ghost").set_http_headers(ContentSettings(content_type="a/b"))
    assert e.value.error_code == "BlobNotFound"


def test_SetBlobProperties_md5_of_any_length_is_stored(server, container):
    # Set Blob Properties stores x-ms-blob-content-md5 as sent, whatever its
    # length: Azure/azure-sdk-for-js#9507 shows Azure accepting setHTTPHeaders
    # with a 24-byte and a 64-byte blobContentMD5 where Put Blob refuses them.
    blob = container.get_blob_client("m")
    blob.upload_blob(b"abc")
    for value in ["bm90LW1kNQ==", "MjA4Yjg3NDJhYTdjMTMyMzhiNzMyZmQ4YjdhYTE3MjI="]:
        r = raw(server, "PUT", container.container_name, "m", query="comp=properties",
                headers={"x-ms-blob-content-md5": value})
        assert r.status_code == 200, r.text
        head = raw(server, "HEAD", container.container_name, "m")
        assert head.headers["Content-MD5"] == value
    assert bytes(blob.get_blob_properties().content_settings.content_md5) == b"208b8742aa7c13238b732fd8b7aa1722"
    assert blob.download_blob().readall() == b"abc"


def test_SetBlobProperties_md5_not_base64(server, container):
    # What is not Base64 is no digest at all: refused, as Put Blob refuses it.
    container.get_blob_client("m").upload_blob(b"abc")
    etag = container.get_blob_client("m").get_blob_properties().etag
    r = raw(server, "PUT", container.container_name, "m", query="comp=properties",
            headers={"x-ms-blob-content-md5": "not base64!"})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidMd5"
    assert container.get_blob_client("m").get_blob_properties().etag == etag
