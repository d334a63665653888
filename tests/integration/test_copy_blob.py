"""Copy Blob (synchronous within the account below the background
threshold, pending and then done in the background above it), Abort Copy
Blob, Copy Blob From URL and Put Blob From URL with a SAS on the source."""
import datetime
import hashlib
import os
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import (BlobSasPermissions, BlobServiceClient, ContentSettings,
                                generate_blob_sas)

from blob_util import assert_no_residue, raw, read_sas_url, tmp_files
from strata_server import DEV_ACCOUNT, DEV_KEY, StrataServer

DATA = b"copy me please\n" * 50


@pytest.fixture
def source(container):
    b = container.get_blob_client("src/data.txt")
    b.upload_blob(DATA, metadata={"origin": "src"},
                  content_settings=ContentSettings(content_type="text/plain", content_language="en"))
    return b


def test_CopyBlob_completes_synchronously(container, source):
    dest = container.get_blob_client("dst/copy.txt")
    resp = dest.start_copy_from_url(source.url)
    assert resp["copy_status"] == "success"
    assert resp["copy_id"]
    props = dest.get_blob_properties()
    assert props.copy.status == "success"
    assert props.copy.id == resp["copy_id"]
    assert props.copy.source == source.url
    assert props.copy.progress == "%d/%d" % (len(DATA), len(DATA))
    assert props.size == len(DATA)
    assert props.metadata == {"origin": "src"}
    assert props.content_settings.content_type == "text/plain"
    assert props.content_settings.content_language == "en"
    assert bytes(props.content_settings.content_md5) == hashlib.md5(DATA).digest()
    assert props.etag != source.get_blob_properties().etag
    assert dest.download_blob().readall() == DATA


def test_CopyBlob_raw_status(server, container, source):
    r = raw(server, "PUT", container.container_name, "dst",
            headers={"x-ms-copy-source": source.url})
    assert r.status_code == 202
    assert r.headers["x-ms-copy-status"] == "success"
    assert r.headers["x-ms-copy-id"]
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    head = raw(server, "HEAD", container.container_name, "dst")
    assert head.headers["x-ms-copy-id"] == r.headers["x-ms-copy-id"]
    assert head.headers["x-ms-copy-status"] == "success"
    assert head.headers["x-ms-copy-progress"] == "%d/%d" % (len(DATA), len(DATA))
    assert head.headers["x-ms-copy-completion-time"].endswith(" GMT")


def test_CopyBlob_metadata_override(container, source):
    dest = container.get_blob_client("dst")
    dest.start_copy_from_url(source.url, metadata={"new": "meta"})
    assert dest.get_blob_properties().metadata == {"new": "meta"}


def test_CopyBlob_across_containers(service, container, source):
    other = service.create_container(container.container_name + "x")
    try:
        dest = other.get_blob_client("copied")
        assert dest.start_copy_from_url(source.url)["copy_status"] == "success"
        assert dest.download_blob().readall() == DATA
    finally:
        other.delete_container()


def test_CopyBlob_overwrites_destination(container, source):
    dest = container.get_blob_client("dst")
    dest.upload_blob(b"old", metadata={"old": "1"})
    dest.start_copy_from_url(source.url)
    assert dest.download_blob().readall() == DATA
    assert dest.get_blob_properties().metadata == {"origin": "src"}


def test_CopyBlob_source_unchanged_by_later_writes(container, source):
    dest = container.get_blob_client("dst")
    dest.start_copy_from_url(source.url)
    source.upload_blob(b"changed", overwrite=True)
    assert dest.download_blob().readall() == DATA


def test_CopyBlob_missing_source(server, container):
    dest = container.get_blob_client("dst")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(container.get_blob_client("missing").url)
    assert e.value.status_code == 404
    assert e.value.error_code == "BlobNotFound"
    assert not dest.exists()
    assert_no_residue(server)


def test_CopyBlob_source_condition(server, container, source):
    dest = container.get_blob_client("dst")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(source.url, source_etag='"0x1"',
                                 source_match_condition=MatchConditions.IfNotModified)
    assert e.value.status_code == 412
    assert e.value.error_code == "SourceConditionNotMet"
    assert not dest.exists()
    assert_no_residue(server)


def test_CopyBlob_destination_condition(server, container, source):
    dest = container.get_blob_client("dst")
    dest.upload_blob(b"old")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(source.url, etag='"0x1"',
                                 match_condition=MatchConditions.IfNotModified)
    assert e.value.status_code == 412
    assert e.value.error_code == "TargetConditionNotMet"
    assert dest.download_blob().readall() == b"old"
    assert_no_residue(server)


def test_CopyBlob_destination_leased(container, source):
    dest = container.get_blob_client("dst")
    dest.upload_blob(b"old")
    lease = dest.acquire_lease(lease_duration=-1)
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(source.url)
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMissing"
    dest.start_copy_from_url(source.url, destination_lease=lease)
    assert dest.download_blob().readall() == DATA


def test_CopyBlob_abort_has_nothing_pending(container, source):
    dest = container.get_blob_client("dst")
    copy_id = dest.start_copy_from_url(source.url)["copy_id"]
    with pytest.raises(HttpResponseError) as e:
        dest.abort_copy(copy_id)
    assert e.value.status_code == 409
    assert e.value.error_code == "NoPendingCopyOperation"


def test_CopyBlobFromUrl_with_sas(container, source):
    dest = container.get_blob_client("sync")
    resp = dest.start_copy_from_url(read_sas_url(source), requires_sync=True)
    assert resp["copy_status"] == "success"
    props = dest.get_blob_properties()
    assert props.copy.status == "success"
    assert props.size == len(DATA)
    assert props.metadata == {"origin": "src"}
    assert dest.download_blob().readall() == DATA


def test_CopyBlobFromUrl_private_source_without_sas(server, container, source):
    dest = container.get_blob_client("sync")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(source.url, requires_sync=True)
    assert e.value.status_code == 403
    assert e.value.error_code == "CannotVerifyCopySource"
    assert not dest.exists()
    assert_no_residue(server)


def test_CopyBlobFromUrl_expired_sas(server, container, source):
    sas = generate_blob_sas(DEV_ACCOUNT, container.container_name, source.blob_name,
                            account_key=DEV_KEY, permission=BlobSasPermissions(read=True),
                            expiry=datetime.datetime.utcnow() - datetime.timedelta(minutes=5))
    dest = container.get_blob_client("sync")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(source.url + "?" + sas, requires_sync=True)
    assert e.value.status_code == 403
    assert e.value.error_code == "CannotVerifyCopySource"
    assert not dest.exists()


def test_CopyBlobFromUrl_sas_without_read(container, source):
    dest = container.get_blob_client("sync")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(read_sas_url(source, BlobSasPermissions(write=True)),
                                 requires_sync=True)
    assert e.value.status_code == 403
    assert e.value.error_code == "CannotVerifyCopySource"


def test_PutBlobFromUrl_with_sas(container, source):
    dest = container.get_blob_client("fromurl")
    resp = dest.upload_blob_from_url(read_sas_url(source))
    assert resp["etag"]
    props = dest.get_blob_properties()
    assert props.size == len(DATA)
    assert props.blob_type == "BlockBlob"
    # Put Blob From URL copies the content properties but not the metadata,
    # and records no copy.
    assert props.content_settings.content_type == "text/plain"
    assert props.metadata == {}
    assert props.copy.id is None
    assert dest.download_blob().readall() == DATA


def test_PutBlobFromUrl_raw_status(server, container, source):
    r = raw(server, "PUT", container.container_name, "dst", headers={
        "x-ms-copy-source": read_sas_url(source), "x-ms-blob-type": "BlockBlob"})
    assert r.status_code == 201, r.text
    assert r.headers["ETag"]
    assert "x-ms-copy-status" not in r.headers


def test_PutBlobFromUrl_overwrite_false(server, container, source):
    dest = container.get_blob_client("fromurl")
    dest.upload_blob(b"existing")
    with pytest.raises(ResourceExistsError) as e:
        dest.upload_blob_from_url(read_sas_url(source), overwrite=False)
    assert e.value.status_code == 409
    assert e.value.error_code == "BlobAlreadyExists"
    assert dest.download_blob().readall() == b"existing"
    dest.upload_blob_from_url(read_sas_url(source), overwrite=True)
    assert dest.download_blob().readall() == DATA
    assert_no_residue(server)


def test_PutBlobFromUrl_private_source_without_sas(server, container, source):
    dest = container.get_blob_client("fromurl")
    with pytest.raises(HttpResponseError) as e:
        dest.upload_blob_from_url(source.url)
    assert e.value.status_code == 403
    assert e.value.error_code == "CannotVerifyCopySource"
    assert not dest.exists()
    assert_no_residue(server)


def test_PutBlobFromUrl_content_settings_override(container, source):
    dest = container.get_blob_client("fromurl")
    dest.upload_blob_from_url(read_sas_url(source),
                              content_settings=ContentSettings(content_type="application/json"))
    assert dest.get_blob_properties().content_settings.content_type == "application/json"


def test_CopyBlobFromUrl_missing_source(server, container):
    missing = container.get_blob_client("missing")
    dest = container.get_blob_client("sync")
    with pytest.raises(HttpResponseError) as e:
        dest.start_copy_from_url(read_sas_url(missing), requires_sync=True)
    assert e.value.status_code == 404
    assert e.value.error_code == "CannotVerifyCopySource"
    with pytest.raises(HttpResponseError) as e:
        dest.upload_blob_from_url(read_sas_url(missing))
    assert e.value.status_code == 404
    assert e.value.error_code == "CannotVerifyCopySource"
    assert not dest.exists()
    assert_no_residue(server)


def test_CopyBlob_onto_itself_replaces_metadata(container, source):
    etag = source.get_blob_properties().etag
    assert source.start_copy_from_url(source.url, metadata={"fresh": "1"})["copy_status"] == "success"
    props = source.get_blob_properties()
    assert props.metadata == {"fresh": "1"}
    assert props.etag != etag
    assert source.download_blob().readall() == DATA


def test_CopyBlob_append_blob_keeps_type(container):
    src = container.get_blob_client("log")
    src.create_append_blob()
    src.append_block(b"one")
    src.append_block(b"two")
    dest = container.get_blob_client("logcopy")
    dest.start_copy_from_url(src.url)
    props = dest.get_blob_properties()
    assert props.blob_type == "AppendBlob"
    assert dest.download_blob().readall() == b"onetwo"
    dest.append_block(b"three")
    assert dest.download_blob().readall() == b"onetwothree"


def test_CopyBlob_source_name_needing_encoding(container):
    src = container.get_blob_client("dir/a b+c%d\u00e9.txt")
    src.upload_blob(b"odd name")
    for i, url in enumerate([src.url, read_sas_url(src)]):
        dest = container.get_blob_client("copy%d" % i)
        dest.start_copy_from_url(url, requires_sync=bool(i))
        assert dest.download_blob().readall() == b"odd name"


def test_CopyBlob_destination_path_conflict(server, container, source):
    container.get_blob_client("a").upload_blob(b"file")
    with pytest.raises(HttpResponseError) as e:
        container.get_blob_client("a/b").start_copy_from_url(source.url)
    assert e.value.status_code == 409
    assert e.value.error_code == "PathConflict"
    assert container.get_blob_client("a").download_blob().readall() == b"file"
    assert_no_residue(server)


# ---- background copies: a source at or above the threshold (lowered here to
# 1 MiB) answers pending at once; the copy steps 1 MiB at a time with a pause,
# so it stays pending for about two seconds.

BIG = 12 << 20
SLOW_ARGS = ["--copy-async-threshold", str(1 << 20), "--copy-step", str(1 << 20),
             "--copy-step-delay-ms", "150", "--copy-sweep-interval", "1"]


@pytest.fixture(scope="module")
def slow_server():
    s = StrataServer(extra_args=SLOW_ARGS).start()
    yield s
    s.stop()


def new_container(server):
    svc = BlobServiceClient.from_connection_string(server.connection_string)
    return svc.create_container("t" + uuid.uuid4().hex[:20])


@pytest.fixture
def slow(slow_server):
    c = new_container(slow_server)
    yield c
    c.delete_container()


@pytest.fixture(scope="module")
def big_data():
    return os.urandom(BIG)


def big_source(container, data):
    src = container.get_blob_client("big/src")
    src.upload_blob(data, metadata={"origin": "big"},
                    content_settings=ContentSettings(content_type="application/x-big"))
    return src


def wait_until(cond, timeout=30):
    """Polls cond() (bounded) until it returns something true; returns that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("condition not met within %s s" % timeout)


def copy_residue(server):
    copies = os.path.join(server.root, ".strata", "copies")
    return tmp_files(server) + [os.path.join(copies, f) for f in os.listdir(copies)]


def wait_no_copy_residue(server):
    wait_until(lambda: copy_residue(server) == [])


def test_CopyBlob_large_source_pending_then_success(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    resp = dest.start_copy_from_url(src.url, metadata={"set": "here"})
    assert resp["copy_status"] == "pending"
    props = dest.get_blob_properties()
    assert props.copy.status == "pending"
    assert props.copy.id == resp["copy_id"]
    assert props.copy.source == src.url
    # While pending: an empty blob with its new properties and metadata.
    assert props.size == 0
    assert props.metadata == {"set": "here"}
    assert props.content_settings.content_type == "application/x-big"
    assert props.etag == resp["etag"]
    listed = [b for b in slow.list_blobs(include=["copy", "metadata"]) if b.name == "dst"]
    assert listed[0].copy.status == "pending" and listed[0].copy.id == resp["copy_id"]
    done = wait_until(lambda: (lambda p: p if p.copy.status != "pending" else None)(
        dest.get_blob_properties()))
    assert done.copy.status == "success"
    assert done.copy.progress == "%d/%d" % (BIG, BIG)
    assert done.size == BIG
    assert done.etag != resp["etag"]  # the commit is a change
    assert bytes(done.content_settings.content_md5) == hashlib.md5(big_data).digest()
    assert done.metadata == {"set": "here"}
    assert dest.download_blob().readall() == big_data
    wait_no_copy_residue(slow_server)


def test_CopyBlob_pending_progress_advances(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    dest.start_copy_from_url(src.url)
    seen = set()

    def partial():
        p = dest.get_blob_properties()
        if p.copy.status != "pending":
            return "over"
        done, total = map(int, p.copy.progress.split("/"))
        assert total == BIG and 0 <= done < BIG
        seen.add(done)
        return None

    wait_until(partial)
    assert any(0 < d < BIG for d in seen), seen
    r = raw(slow_server, "HEAD", slow.container_name, "dst")
    assert r.headers["x-ms-copy-status"] == "success"
    assert r.headers["x-ms-copy-completion-time"].endswith(" GMT")
    wait_no_copy_residue(slow_server)


def test_AbortCopyBlob_pending(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    copy_id = dest.start_copy_from_url(src.url, metadata={"m": "v"})["copy_id"]
    r = raw(slow_server, "PUT", slow.container_name, "dst", query="comp=copy&copyid=" + copy_id,
            headers={"x-ms-copy-action": "abort"})
    assert r.status_code == 204, r.text
    props = dest.get_blob_properties()
    assert props.copy.status == "aborted"
    assert props.size == 0
    assert props.metadata == {"m": "v"}
    wait_no_copy_residue(slow_server)
    # The job stopped: the destination stays aborted and empty.
    props = dest.get_blob_properties()
    assert props.copy.status == "aborted" and props.size == 0
    assert dest.download_blob().readall() == b""
    with pytest.raises(HttpResponseError) as e:
        dest.abort_copy(copy_id)
    assert e.value.status_code == 409
    assert e.value.error_code == "NoPendingCopyOperation"


def test_AbortCopyBlob_wrong_copy_id(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    copy_id = dest.start_copy_from_url(src.url)["copy_id"]
    with pytest.raises(HttpResponseError) as e:
        dest.abort_copy(str(uuid.uuid4()))
    assert e.value.status_code == 409
    assert e.value.error_code == "CopyIdMismatch"
    assert dest.get_blob_properties().copy.status == "pending"
    dest.abort_copy(copy_id)
    wait_no_copy_residue(slow_server)


def test_AbortCopyBlob_after_completion(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    copy_id = dest.start_copy_from_url(src.url)["copy_id"]
    wait_until(lambda: dest.get_blob_properties().copy.status == "success")
    with pytest.raises(HttpResponseError) as e:
        dest.abort_copy(copy_id)
    assert e.value.status_code == 409
    assert e.value.error_code == "NoPendingCopyOperation"
    assert dest.download_blob().readall() == big_data


def test_AbortCopyBlob_without_copy_action(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    copy_id = dest.start_copy_from_url(src.url)["copy_id"]
    r = raw(slow_server, "PUT", slow.container_name, "dst", query="comp=copy&copyid=" + copy_id)
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "MissingRequiredHeader"
    dest.abort_copy(copy_id)
    wait_no_copy_residue(slow_server)


def test_CopyBlob_onto_pending_destination(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    copy_id = dest.start_copy_from_url(src.url)["copy_id"]
    for sync in (False, True):
        with pytest.raises(HttpResponseError) as e:
            dest.start_copy_from_url(read_sas_url(src), requires_sync=sync)
        assert e.value.status_code == 409
        assert e.value.error_code == "PendingCopyOperation"
    dest.abort_copy(copy_id)
    wait_no_copy_residue(slow_server)


def test_CopyBlob_pending_destination_overwritten(slow_server, slow, big_data):
    src = big_source(slow, big_data)
    dest = slow.get_blob_client("dst")
    dest.start_copy_from_url(src.url)
    dest.upload_blob(b"newer", overwrite=True)
    wait_no_copy_residue(slow_server)
    # The copy found its destination replaced and left it alone.
    assert dest.download_blob().readall() == b"newer"


def test_CopyBlob_pending_interrupted_by_restart(tmp_path, big_data):
    s = StrataServer(root=str(tmp_path), extra_args=SLOW_ARGS).start()
    try:
        c = new_container(s)
        src = big_source(c, big_data)
        dest = c.get_blob_client("dst")
        copy_id = dest.start_copy_from_url(src.url)["copy_id"]
        wait_until(lambda: tmp_files(s))  # the copy is under way
    finally:
        s.kill()
    s = StrataServer(root=str(tmp_path), extra_args=SLOW_ARGS).start()
    try:
        props = dest.__class__.from_connection_string(
            s.connection_string, c.container_name, "dst").get_blob_properties()
        assert props.copy.id == copy_id
        assert props.copy.status == "failed"
        assert props.copy.status_description
        assert props.size == 0
        assert copy_residue(s) == []
    finally:
        s.stop()


def test_CopyBlob_pending_copy_of_a_dead_gateway_ends(tmp_path, big_data):
    """Two gateways on one root: when the one running a copy dies, the other
    marks the copy failed and removes what it staged."""
    a = StrataServer(root=str(tmp_path), extra_args=SLOW_ARGS).start()
    b = StrataServer(root=str(tmp_path), extra_args=SLOW_ARGS).start()
    try:
        c = new_container(a)
        src = big_source(c, big_data)
        dest = c.get_blob_client("dst")
        dest.start_copy_from_url(src.url)
        wait_until(lambda: tmp_files(a))
        a.kill()
        on_b = dest.__class__.from_connection_string(b.connection_string, c.container_name, "dst")
        props = wait_until(lambda: (lambda p: p if p.copy.status != "pending" else None)(
            on_b.get_blob_properties()))
        assert props.copy.status == "failed"
        wait_no_copy_residue(b)
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("source", ["/devstoreaccount1/%s/src", "%s/src", "2d03173e-7b6c-4739-ac70-dc3b4f1eee9e"])
def test_CopyBlob_relative_source_is_a_bad_header(server, container, source):
    # A copy source that is no absolute URL is a malformed header: 400
    # InvalidHeaderValue naming x-ms-copy-source and the value sent (Azure's
    # answer recorded in the SDK for JS's copy tests:
    # <HeaderName>x-ms-copy-source</HeaderName><HeaderValue>2d03...</HeaderValue>).
    name = container.container_name
    container.get_blob_client("src").upload_blob(b"source")
    value = source % name if "%s" in source else source
    r = raw(server, "PUT", name, "dst", headers={"x-ms-copy-source": value})
    assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "InvalidHeaderValue"), r.text
    root = ET.fromstring(r.content)
    assert root.findtext("HeaderName") == "x-ms-copy-source"
    assert root.findtext("HeaderValue") == value
    assert raw(server, "HEAD", name, "dst").status_code == 404
