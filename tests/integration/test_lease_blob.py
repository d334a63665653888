"""Lease Blob: acquire, renew, change, release, break; writes under a lease."""
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from blob_util import raw


@pytest.fixture
def blob(container):
    b = container.get_blob_client("leased")
    b.upload_blob(b"original")
    return b


def test_LeaseBlob_acquire_fixed(blob):
    lease = blob.acquire_lease(lease_duration=15)
    uuid.UUID(lease.id)
    props = blob.get_blob_properties()
    assert props.lease.state == "leased"
    assert props.lease.status == "locked"
    assert props.lease.duration == "fixed"


def test_LeaseBlob_acquire_infinite(blob):
    blob.acquire_lease(lease_duration=-1)
    props = blob.get_blob_properties()
    assert props.lease.state == "leased"
    assert props.lease.duration == "infinite"


def test_LeaseBlob_acquire_with_proposed_id(server, container, blob):
    proposed = str(uuid.uuid4())
    r = raw(server, "PUT", container.container_name, "leased", query="comp=lease",
            headers={"x-ms-lease-action": "acquire", "x-ms-lease-duration": "60",
                     "x-ms-proposed-lease-id": proposed})
    assert r.status_code == 201
    assert r.headers["x-ms-lease-id"] == proposed
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    # Acquiring again with the same id renews; with another id it conflicts.
    again = raw(server, "PUT", container.container_name, "leased", query="comp=lease",
                headers={"x-ms-lease-action": "acquire", "x-ms-lease-duration": "60",
                         "x-ms-proposed-lease-id": proposed})
    assert again.status_code == 201


@pytest.mark.parametrize("duration", ["14", "61", "0", "abc"])
def test_LeaseBlob_acquire_invalid_duration(server, container, blob, duration):
    r = raw(server, "PUT", container.container_name, "leased", query="comp=lease",
            headers={"x-ms-lease-action": "acquire", "x-ms-lease-duration": duration})
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidHeaderValue"
    assert blob.get_blob_properties().lease.state == "available"


def test_LeaseBlob_acquire_when_leased(blob):
    blob.acquire_lease(lease_duration=-1)
    with pytest.raises(ResourceExistsError) as e:
        blob.acquire_lease(lease_duration=-1)
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseAlreadyPresent"


def test_LeaseBlob_renew(server, container, blob):
    lease = blob.acquire_lease(lease_duration=15)
    first_id = lease.id
    lease.renew()
    assert lease.id == first_id
    assert blob.get_blob_properties().lease.state == "leased"
    r = raw(server, "PUT", container.container_name, "leased", query="comp=lease",
            headers={"x-ms-lease-action": "renew", "x-ms-lease-id": str(uuid.uuid4())})
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "LeaseIdMismatchWithLeaseOperation"


def test_LeaseBlob_change(blob):
    lease = blob.acquire_lease(lease_duration=-1)
    old_id = lease.id
    new_id = str(uuid.uuid4())
    lease.change(new_id)
    assert lease.id == new_id
    with pytest.raises(HttpResponseError) as e:
        blob.set_blob_metadata({"a": "1"}, lease=old_id)
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMismatchWithBlobOperation"
    blob.set_blob_metadata({"a": "1"}, lease=new_id)
    assert blob.get_blob_properties().metadata == {"a": "1"}


def test_LeaseBlob_release(blob):
    lease = blob.acquire_lease(lease_duration=-1)
    lease.release()
    props = blob.get_blob_properties()
    assert props.lease.state == "available"
    assert props.lease.status == "unlocked"
    blob.upload_blob(b"free again", overwrite=True)
    assert blob.download_blob().readall() == b"free again"


def test_LeaseBlob_release_wrong_id(server, container, blob):
    blob.acquire_lease(lease_duration=-1)
    r = raw(server, "PUT", container.container_name, "leased", query="comp=lease",
            headers={"x-ms-lease-action": "release", "x-ms-lease-id": str(uuid.uuid4())})
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "LeaseIdMismatchWithLeaseOperation"
    assert blob.get_blob_properties().lease.state == "leased"


def test_LeaseBlob_break_immediately(blob):
    lease = blob.acquire_lease(lease_duration=-1)
    assert lease.break_lease(lease_break_period=0) == 0
    props = blob.get_blob_properties()
    assert props.lease.state == "broken"
    assert props.lease.status == "unlocked"
    blob.set_blob_metadata({"after": "break"})
    with pytest.raises(HttpResponseError) as e:
        lease.renew()
    assert e.value.error_code == "LeaseIsBrokenAndCannotBeRenewed"
    # A broken lease can be acquired again.
    blob.acquire_lease(lease_duration=15)
    assert blob.get_blob_properties().lease.state == "leased"


def test_LeaseBlob_break_with_period(server, container, blob):
    lease = blob.acquire_lease(lease_duration=-1)
    assert lease.break_lease(lease_break_period=1) == 1
    props = blob.get_blob_properties()
    assert props.lease.state == "breaking"
    assert props.lease.status == "locked"
    # While breaking the lease id is still required to write.
    with pytest.raises(HttpResponseError) as e:
        blob.set_blob_metadata({"a": "1"})
    assert e.value.error_code == "LeaseIdMissing"
    blob.set_blob_metadata({"a": "1"}, lease=lease.id)
    # Acquiring while breaking: the holder is told it is breaking, anyone
    # else that a lease is present.
    with pytest.raises(HttpResponseError) as e:
        blob.acquire_lease(lease_duration=15, lease_id=lease.id)
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseIsBreakingAndCannotBeAcquired"
    with pytest.raises(HttpResponseError) as e:
        blob.acquire_lease(lease_duration=15)
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseAlreadyPresent"
    time.sleep(1.2)
    props = blob.get_blob_properties()
    assert props.lease.state == "broken"
    assert props.lease.status == "unlocked"


def test_LeaseBlob_break_without_lease(server, container, blob):
    r = raw(server, "PUT", container.container_name, "leased", query="comp=lease",
            headers={"x-ms-lease-action": "break"})
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "LeaseNotPresentWithLeaseOperation"


def test_LeaseBlob_writes_without_lease_id(blob):
    blob.acquire_lease(lease_duration=-1)
    for write in [lambda: blob.upload_blob(b"x", overwrite=True),
                  lambda: blob.set_blob_metadata({"a": "b"}),
                  lambda: blob.set_http_headers(),
                  lambda: blob.stage_block("MDE=", b"x"),
                  lambda: blob.commit_block_list([]),
                  lambda: blob.delete_blob()]:
        with pytest.raises(HttpResponseError) as e:
            write()
        assert e.value.status_code == 412
        assert e.value.error_code == "LeaseIdMissing"
    assert blob.download_blob().readall() == b"original"


def test_LeaseBlob_writes_with_wrong_lease_id(blob):
    blob.acquire_lease(lease_duration=-1)
    wrong = str(uuid.uuid4())
    for write in [lambda: blob.upload_blob(b"x", overwrite=True, lease=wrong),
                  lambda: blob.set_blob_metadata({"a": "b"}, lease=wrong),
                  lambda: blob.delete_blob(lease=wrong)]:
        with pytest.raises(HttpResponseError) as e:
            write()
        assert e.value.status_code == 412
        assert e.value.error_code == "LeaseIdMismatchWithBlobOperation"
    assert blob.download_blob().readall() == b"original"


def test_LeaseBlob_writes_with_lease_id(blob):
    lease = blob.acquire_lease(lease_duration=-1)
    blob.upload_blob(b"new", overwrite=True, lease=lease)
    blob.set_blob_metadata({"a": "b"}, lease=lease)
    # The lease survives an overwrite of the blob.
    props = blob.get_blob_properties()
    assert props.lease.state == "leased"
    assert props.metadata == {"a": "b"}
    assert blob.download_blob(lease=lease).readall() == b"new"
    blob.delete_blob(lease=lease)
    assert not blob.exists()


def test_LeaseBlob_reads_need_no_lease(blob):
    blob.acquire_lease(lease_duration=-1)
    assert blob.download_blob().readall() == b"original"
    with pytest.raises(HttpResponseError) as e:
        blob.download_blob(lease=str(uuid.uuid4()))
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMismatchWithBlobOperation"


def test_LeaseBlob_lease_id_on_unleased_blob(blob):
    with pytest.raises(HttpResponseError) as e:
        blob.set_blob_metadata({"a": "b"}, lease=str(uuid.uuid4()))
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseNotPresentWithBlobOperation"


def test_LeaseBlob_not_found(container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("none").acquire_lease(lease_duration=15)
    assert e.value.error_code == "BlobNotFound"


def test_LeaseBlob_does_not_change_etag(blob):
    etag = blob.get_blob_properties().etag
    lease = blob.acquire_lease(lease_duration=-1)
    lease.release()
    assert blob.get_blob_properties().etag == etag


def test_LeaseBlob_append_block_needs_lease(container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    lease = blob.acquire_lease(lease_duration=-1)
    with pytest.raises(HttpResponseError) as e:
        blob.append_block(b"x")
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMissing"
    blob.append_block(b"x", lease=lease)
    assert blob.download_blob().readall() == b"x"


@pytest.mark.parametrize("proposed", ["ca761232ed4211cebacd00aa0057b223",
                                      "CA761232-ED42-11CE-BACD-00AA0057B223",
                                      "{ca761232-ed42-11ce-bacd-00aa0057b223}",
                                      "(ca761232-ed42-11ce-bacd-00aa0057b223)"])
def test_LeaseBlob_accepts_every_guid_form(container, proposed):
    """Azure parses a proposed lease id as a GUID in any of .NET's forms (its
    own recorded SDK tests use 32 hex digits without hyphens) and answers it
    as the hyphenated form; the lease is then the same whichever form names it."""
    blob = container.upload_blob("g", b"data")
    lease = blob.acquire_lease(lease_id=proposed, lease_duration=15)
    assert lease.id == "ca761232-ed42-11ce-bacd-00aa0057b223"
    for form in ("ca761232ed4211cebacd00aa0057b223", "CA761232-ED42-11CE-BACD-00AA0057B223"):
        blob.set_blob_metadata({"k": "v"}, lease=form)
    with pytest.raises(HttpResponseError) as e:
        blob.set_blob_metadata({"k": "v"}, lease="ca761232ed4211cebacd00aa0057b224")
    assert e.value.error_code == "LeaseIdMismatchWithBlobOperation"
    lease.release()


@pytest.mark.parametrize("bad", ["ca761232ed4211cebacd00aa0057b22", "ca761232-ed4211ce-bacd-00aa0057b223x",
                                 "zz761232ed4211cebacd00aa0057b223", "{ca761232ed4211cebacd00aa0057b223}"])
def test_LeaseBlob_refuses_what_is_no_guid(container, bad):
    blob = container.upload_blob("g", b"data")
    with pytest.raises(HttpResponseError) as e:
        blob.acquire_lease(lease_id=bad, lease_duration=15)
    assert e.value.status_code == 400
