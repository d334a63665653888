"""Get Blob: full reads, Range and x-ms-range, open-ended ranges, 416, and
x-ms-range-get-content-md5."""
import base64
import hashlib

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings

from blob_util import md5_b64, raw

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def blob(container):
    b = container.get_blob_client("data.bin")
    b.upload_blob(DATA, content_settings=ContentSettings(content_type="application/x-test",
                                                         cache_control="no-cache"),
                  metadata={"m": "1"})
    return b


def test_GetBlob_full(server, container, blob):
    r = raw(server, "GET", container.container_name, "data.bin")
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["Content-Length"] == "1024"
    assert r.headers["Content-Type"] == "application/x-test"
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["Content-MD5"] == md5_b64(DATA)
    assert r.headers["x-ms-blob-type"] == "BlockBlob"
    assert r.headers["x-ms-meta-m"] == "1"
    assert r.headers["ETag"] == '"%s"' % blob.get_blob_properties().etag.strip('"')
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["x-ms-lease-state"] == "available"


def test_GetBlob_sdk_download(blob):
    downloader = blob.download_blob()
    assert downloader.readall() == DATA
    assert downloader.properties.size == len(DATA)
    assert downloader.properties.metadata == {"m": "1"}


def test_GetBlob_sdk_range(blob):
    assert blob.download_blob(offset=100, length=50).readall() == DATA[100:150]
    assert blob.download_blob(offset=1000).readall() == DATA[1000:]


@pytest.mark.parametrize("header", ["Range", "x-ms-range"])
def test_GetBlob_range(server, container, blob, header):
    r = raw(server, "GET", container.container_name, "data.bin", headers={header: "bytes=10-19"})
    assert r.status_code == 206
    assert r.content == DATA[10:20]
    assert r.headers["Content-Range"] == "bytes 10-19/1024"
    assert r.headers["Content-Length"] == "10"
    # The whole blob's MD5 moves to x-ms-blob-content-md5 on a ranged read.
    assert "Content-MD5" not in r.headers
    assert r.headers["x-ms-blob-content-md5"] == md5_b64(DATA)


def test_GetBlob_x_ms_range_wins_over_range(server, container, blob):
    r = raw(server, "GET", container.container_name, "data.bin",
            headers={"Range": "bytes=0-3", "x-ms-range": "bytes=4-7"})
    assert r.status_code == 206
    assert r.content == DATA[4:8]


def test_GetBlob_open_ended_range(server, container, blob):
    r = raw(server, "GET", container.container_name, "data.bin", headers={"x-ms-range": "bytes=1000-"})
    assert r.status_code == 206
    assert r.content == DATA[1000:]
    assert r.headers["Content-Range"] == "bytes 1000-1023/1024"


def test_GetBlob_range_past_end_is_clipped(server, container, blob):
    r = raw(server, "GET", container.container_name, "data.bin", headers={"Range": "bytes=1020-5000"})
    assert r.status_code == 206
    assert r.content == DATA[1020:]
    assert r.headers["Content-Range"] == "bytes 1020-1023/1024"


@pytest.mark.parametrize("rng", ["bytes=1024-", "bytes=1024-2000", "bytes=5000-6000"])
def test_GetBlob_unsatisfiable_range(server, container, blob, rng):
    r = raw(server, "GET", container.container_name, "data.bin", headers={"x-ms-range": rng})
    assert r.status_code == 416
    assert r.headers["x-ms-error-code"] == "InvalidRange"
    assert "<Code>InvalidRange</Code>" in r.text


def test_GetBlob_range_on_empty_blob(server, container):
    container.get_blob_client("empty").upload_blob(b"")
    r = raw(server, "GET", container.container_name, "empty", headers={"x-ms-range": "bytes=0-"})
    assert r.status_code == 416
    assert r.headers["x-ms-error-code"] == "InvalidRange"
    # The SDK asks for a range first and falls back to a full read on 416.
    assert container.get_blob_client("empty").download_blob().readall() == b""


def test_GetBlob_range_get_content_md5(server, container, blob):
    r = raw(server, "GET", container.container_name, "data.bin",
            headers={"x-ms-range": "bytes=256-511", "x-ms-range-get-content-md5": "true"})
    assert r.status_code == 206
    assert r.content == DATA[256:512]
    assert r.headers["Content-MD5"] == md5_b64(DATA[256:512])


def test_GetBlob_range_get_content_md5_sdk(blob):
    # validate_content=True makes the SDK request and check the range MD5.
    assert blob.download_blob(offset=3, length=700, validate_content=True).readall() == DATA[3:703]


def test_GetBlob_range_get_content_md5_4mib_limit(server, container):
    data = b"z" * (4 * 1024 * 1024 + 10)
    container.get_blob_client("big").upload_blob(data)
    ok = raw(server, "GET", container.container_name, "big",
             headers={"x-ms-range": "bytes=0-4194303", "x-ms-range-get-content-md5": "true"})
    assert ok.status_code == 206
    assert ok.headers["Content-MD5"] == base64.b64encode(
        hashlib.md5(data[:4 * 1024 * 1024]).digest()).decode()
    too_big = raw(server, "GET", container.container_name, "big",
                  headers={"x-ms-range": "bytes=0-4194304", "x-ms-range-get-content-md5": "true"})
    assert too_big.status_code == 400
    assert too_big.headers["x-ms-error-code"] == "InvalidHeaderValue"
    assert too_big.content.count(b"x-ms-range-get-content-md5") == 1


def test_GetBlob_range_get_content_md5_without_range(server, container, blob):
    r = raw(server, "GET", container.container_name, "data.bin",
            headers={"x-ms-range-get-content-md5": "true"})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidHeaderValue"


def test_GetBlob_not_found(container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("missing").download_blob()
    assert e.value.status_code == 404
    assert e.value.error_code == "BlobNotFound"


def test_GetBlob_container_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_blob_client(container_name, "x").download_blob()
    assert e.value.error_code == "ContainerNotFound"


def test_GetBlob_directory_is_a_folder_blob(container):
    # HNS: the directory a blob commit made reads as a zero-length blob
    # marked hdi_isfolder=true.
    container.get_blob_client("dir/child").upload_blob(b"c")
    d = container.get_blob_client("dir").download_blob()
    assert d.readall() == b""
    assert d.properties.metadata == {"hdi_isfolder": "true"}
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("dir/nothing").download_blob()
    assert e.value.error_code == "BlobNotFound"


def test_GetBlob_sees_each_change_right_after_it(blob):
    # strata keeps decoded records of blobs it served; a read straight after
    # a change (one SDK connection, no pause) must show that change.
    for i in range(10):
        assert blob.download_blob().readall() == DATA
        etag = blob.set_blob_metadata({"round": str(i)})["etag"]
        d = blob.download_blob()
        assert d.properties.metadata == {"round": str(i)}
        assert d.properties.etag == etag
        blob.set_http_headers(ContentSettings(content_type="text/r%d" % i))
        assert blob.download_blob().properties.content_settings.content_type == "text/r%d" % i
    data = b"new" * 100
    blob.upload_blob(data, overwrite=True)
    assert blob.download_blob().readall() == data
