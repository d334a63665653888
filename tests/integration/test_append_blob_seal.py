"""Append Blob Seal (PUT ?comp=seal): an append blob made read-only to
appends, with its state in Get/Head Blob Properties, List Blobs and copies.

What the expectations rest on:
- Microsoft's REST reference "Append Blob Seal": 200 when sealed (idempotent),
  409 InvalidBlobType on a block or page blob, 404 BlobNotFound on a missing
  blob; x-ms-blob-sealed in the seal, Get Blob and Get Blob Properties
  responses and Sealed in List Blobs.
- The JS SDK's recorded seal test against Azure (version 2019-12-12): the
  seal answers 200 with a new ETag and Last-Modified and x-ms-blob-sealed:
  true; HEAD and GET carry x-ms-blob-sealed: true after x-ms-server-encrypted;
  the listing has <Sealed>true</Sealed> after <ServerEncrypted>.
- The Go and Python SDKs' recorded tests: Append Block to a sealed blob is 409
  BlobIsSealed; metadata may still be set; appendpos_condition and
  If-Modified-Since conditions apply to the seal; a copy of a sealed blob is
  sealed unless x-ms-seal-blob: false, and x-ms-seal-blob: true seals a copy
  of an unsealed one; an unsealed blob has no x-ms-blob-sealed at all.
"""
import datetime

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from blob_util import raw
from strata_server import StrataServer


def _sealed_log(container, name="log", data=b"abc"):
    blob = container.get_blob_client(name)
    blob.create_append_blob()
    blob.append_block(data)
    return blob


def test_AppendBlobSeal_sdk(container):
    blob = _sealed_log(container)
    assert blob.get_blob_properties().is_append_blob_sealed is None
    resp = blob.seal_append_blob()
    assert resp["blob_sealed"] is True
    with pytest.raises(HttpResponseError) as e:
        blob.append_block(b"more")
    assert e.value.status_code == 409
    assert e.value.error_code == "BlobIsSealed"
    # Properties and metadata may still change.
    blob.set_blob_metadata({"isseal": "yes"})
    props = blob.get_blob_properties()
    assert props.metadata == {"isseal": "yes"}
    assert props.is_append_blob_sealed is True
    assert props.size == 3
    assert blob.download_blob().readall() == b"abc"


def test_AppendBlobSeal_raw_response(server, container):
    c = container.container_name
    blob = _sealed_log(container)
    before = blob.get_blob_properties()
    r = raw(server, "PUT", c, "log", query="comp=seal")
    assert r.status_code == 200, r.text
    assert r.headers["x-ms-blob-sealed"] == "true"
    assert r.headers["ETag"] != '"%s"' % before.etag.strip('"')
    assert r.headers["Last-Modified"]
    etag = r.headers["ETag"]
    for method in ("HEAD", "GET"):
        g = raw(server, method, c, "log")
        assert g.status_code == 200
        assert g.headers["x-ms-blob-sealed"] == "true", method
        assert g.headers["ETag"] == etag
    # Sealing again succeeds and changes nothing.
    again = raw(server, "PUT", c, "log", query="comp=seal")
    assert again.status_code == 200
    assert again.headers["x-ms-blob-sealed"] == "true"
    assert again.headers["ETag"] == etag
    r = raw(server, "PUT", c, "log", query="comp=appendblock", body=b"x")
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "BlobIsSealed"
    assert raw(server, "GET", c, "log").content == b"abc"


def test_AppendBlobSeal_unsealed_has_no_header(server, container):
    _sealed_log(container)
    for method in ("HEAD", "GET"):
        assert "x-ms-blob-sealed" not in raw(server, method, container.container_name, "log").headers


def test_AppendBlobSeal_missing_or_not_append(server, container):
    c = container.container_name
    r = raw(server, "PUT", c, "nothing", query="comp=seal")
    assert r.status_code == 404
    assert r.headers["x-ms-error-code"] == "BlobNotFound"
    container.upload_blob("block", b"data")
    r = raw(server, "PUT", c, "block", query="comp=seal")
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "InvalidBlobType"
    assert "x-ms-blob-sealed" not in raw(server, "HEAD", c, "block").headers
    r = raw(server, "PUT", "nocontainer" + c[:8], "x", query="comp=seal")
    assert r.status_code == 404
    assert r.headers["x-ms-error-code"] == "ContainerNotFound"


def test_AppendBlobSeal_lease(server, container):
    c = container.container_name
    blob = _sealed_log(container)
    lease = blob.acquire_lease(lease_duration=15)
    r = raw(server, "PUT", c, "log", query="comp=seal")
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "LeaseIdMissing"
    r = raw(server, "PUT", c, "log", query="comp=seal",
            headers={"x-ms-lease-id": "ca761232-ed42-11ce-bacd-00aa0057b223"})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "LeaseIdMismatchWithBlobOperation"
    assert "x-ms-blob-sealed" not in raw(server, "HEAD", c, "log").headers
    assert blob.seal_append_blob(lease=lease)["blob_sealed"] is True
    lease.release()


def test_AppendBlobSeal_conditions(server, container):
    c = container.container_name
    blob = _sealed_log(container)
    etag = blob.get_blob_properties().etag
    with pytest.raises(HttpResponseError) as e:
        blob.seal_append_blob(appendpos_condition=1)
    assert e.value.status_code == 412
    assert e.value.error_code == "AppendPositionConditionNotMet"
    r = raw(server, "PUT", c, "log", query="comp=seal", headers={"If-Match": '"0x8D0000000000000"'})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)
    with pytest.raises(HttpResponseError) as e:
        blob.seal_append_blob(if_modified_since=future)
    assert e.value.status_code == 412
    assert "x-ms-blob-sealed" not in raw(server, "HEAD", c, "log").headers
    resp = blob.seal_append_blob(appendpos_condition=3, etag=etag,
                                 match_condition=MatchConditions.IfNotModified)
    assert resp["blob_sealed"] is True


def test_AppendBlobSeal_list_blobs(server, container):
    c = container.container_name
    _sealed_log(container, "sealed").seal_append_blob()
    _sealed_log(container, "open")
    container.upload_blob("block", b"x")
    by_name = {b.name: b for b in container.list_blobs()}
    assert by_name["sealed"].is_append_blob_sealed is True
    assert not by_name["open"].is_append_blob_sealed
    assert not by_name["block"].is_append_blob_sealed
    body = raw(server, "GET", c, query="restype=container&comp=list").text
    assert body.count("<Sealed>true</Sealed>") == 1
    sealed = body[body.index("<Name>sealed</Name>"):]
    sealed = sealed[:sealed.index("</Blob>")]
    assert "<ServerEncrypted>true</ServerEncrypted><Sealed>true</Sealed></Properties>" in sealed


def test_AppendBlobSeal_copies(server, container):
    c = container.container_name
    src = _sealed_log(container, "src")
    src.seal_append_blob()
    # A copy of a sealed blob is sealed.
    one = container.get_blob_client("one")
    one.start_copy_from_url(src.url)
    assert one.get_blob_properties().is_append_blob_sealed is True
    with pytest.raises(HttpResponseError) as e:
        one.append_block(b"x")
    assert e.value.error_code == "BlobIsSealed"
    # x-ms-seal-blob: false unseals the copy.
    two = container.get_blob_client("two")
    two.start_copy_from_url(src.url, seal_destination_blob=False)
    assert two.get_blob_properties().is_append_blob_sealed is None
    assert two.append_block(b"de")["blob_append_offset"] == "3"
    # x-ms-seal-blob: true seals a copy of an unsealed blob.
    three = container.get_blob_client("three")
    three.start_copy_from_url(two.url, seal_destination_blob=True)
    assert three.get_blob_properties().is_append_blob_sealed is True
    assert three.download_blob().readall() == b"abcde"
    r = raw(server, "PUT", c, "four", headers={"x-ms-copy-source": src.url, "x-ms-seal-blob": "maybe"})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidHeaderValue"


def test_AppendBlobSeal_recreated_blob_is_open(container):
    blob = _sealed_log(container)
    blob.seal_append_blob()
    # Put Blob replaces the sealed blob with a new, unsealed one.
    blob.create_append_blob()
    assert blob.get_blob_properties().is_append_blob_sealed is None
    blob.append_block(b"new")
    blob.seal_append_blob()
    blob.upload_blob(b"block now", overwrite=True)
    props = blob.get_blob_properties()
    assert props.is_append_blob_sealed is None
    assert props.blob_type == "BlockBlob"
    blob.delete_blob()
    with pytest.raises(ResourceNotFoundError):
        blob.seal_append_blob()


def test_AppendBlobSeal_survives_restart(tmp_path):
    s = StrataServer(root=str(tmp_path)).start()
    try:
        svc = BlobServiceClient.from_connection_string(s.connection_string)
        cc = svc.create_container("seal")
        _sealed_log(cc).seal_append_blob()
    finally:
        s.stop()
    s = StrataServer(root=str(tmp_path)).start()
    try:
        svc = BlobServiceClient.from_connection_string(s.connection_string)
        blob = svc.get_blob_client("seal", "log")
        assert blob.get_blob_properties().is_append_blob_sealed is True
        with pytest.raises(HttpResponseError) as e:
            blob.append_block(b"x")
        assert e.value.error_code == "BlobIsSealed"
    finally:
        s.stop()
