"""Lease Container: PUT ?restype=container&comp=lease (acquire, renew, change,
release, break)."""
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobLeaseClient

import signing

OTHER = "00000000-0000-0000-0000-0000000000aa"


def _lease_req(server, container, action, **headers):
    h = {"x-ms-lease-action": action}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return signing.request(server, "PUT", "/" + container.container_name,
                           "restype=container&comp=lease", headers=h)


def _state(container):
    return container.get_container_properties().lease.state


def test_LeaseContainer_acquire_infinite(server, container):
    resp = _lease_req(server, container, "acquire", x_ms_lease_duration="-1")
    assert resp.status_code == 201
    lease_id = resp.headers["x-ms-lease-id"]
    assert len(lease_id) == 36
    assert resp.headers["ETag"] == container.get_container_properties().etag
    assert "Last-Modified" in resp.headers
    props = container.get_container_properties()
    assert (props.lease.state, props.lease.status, props.lease.duration) == ("leased", "locked", "infinite")
    BlobLeaseClient(container, lease_id).release()


def test_LeaseContainer_acquire_proposed_id(container):
    proposed = str(uuid.uuid4())
    lease = container.acquire_lease(lease_duration=15, lease_id=proposed)
    try:
        assert lease.id == proposed
        assert container.get_container_properties().lease.duration == "fixed"
    finally:
        lease.release()


def test_LeaseContainer_acquire_already_leased(container):
    lease = container.acquire_lease()
    try:
        with pytest.raises(HttpResponseError) as e:
            container.acquire_lease(lease_id=OTHER)
        assert e.value.status_code == 409
        assert e.value.error_code == "LeaseAlreadyPresent"
        # Acquiring again with the current id succeeds.
        again = container.acquire_lease(lease_id=lease.id)
        assert again.id == lease.id
    finally:
        lease.release()


@pytest.mark.parametrize("duration", ["14", "61", "0", "abc"])
def test_LeaseContainer_acquire_invalid_duration(server, container, duration):
    resp = _lease_req(server, container, "acquire", x_ms_lease_duration=duration)
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidHeaderValue"
    assert _state(container) == "available"


def test_LeaseContainer_acquire_invalid_proposed_id(server, container):
    resp = _lease_req(server, container, "acquire", x_ms_lease_duration="-1",
                      x_ms_proposed_lease_id="not-a-guid")
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidHeaderValue"


def test_LeaseContainer_renew(server, container):
    lease = container.acquire_lease(lease_duration=15)
    try:
        resp = _lease_req(server, container, "renew", x_ms_lease_id=lease.id)
        assert resp.status_code == 200
        assert resp.headers["x-ms-lease-id"] == lease.id
        lease.renew()
        assert _state(container) == "leased"
    finally:
        lease.release()


def test_LeaseContainer_renew_wrong_id(container):
    lease = container.acquire_lease()
    try:
        with pytest.raises(HttpResponseError) as e:
            BlobLeaseClient(container, OTHER).renew()
        assert e.value.status_code == 409
        assert e.value.error_code == "LeaseIdMismatchWithLeaseOperation"
    finally:
        lease.release()


def test_LeaseContainer_renew_without_lease(container):
    with pytest.raises(HttpResponseError) as e:
        BlobLeaseClient(container, OTHER).renew()
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseNotPresentWithLeaseOperation"


def test_LeaseContainer_change(server, container):
    lease = container.acquire_lease()
    new_id = str(uuid.uuid4())
    resp = _lease_req(server, container, "change", x_ms_lease_id=lease.id, x_ms_proposed_lease_id=new_id)
    assert resp.status_code == 200
    assert resp.headers["x-ms-lease-id"] == new_id
    # The old id no longer works, the new one does.
    with pytest.raises(HttpResponseError) as e:
        lease.release()
    assert e.value.error_code == "LeaseIdMismatchWithLeaseOperation"
    BlobLeaseClient(container, new_id).release()
    assert _state(container) == "available"


def test_LeaseContainer_change_wrong_id(container):
    lease = container.acquire_lease()
    try:
        with pytest.raises(HttpResponseError) as e:
            BlobLeaseClient(container, OTHER).change(str(uuid.uuid4()))
        assert e.value.status_code == 409
        assert e.value.error_code == "LeaseIdMismatchWithLeaseOperation"
    finally:
        lease.release()


def test_LeaseContainer_release(server, container):
    lease = container.acquire_lease()
    resp = _lease_req(server, container, "release", x_ms_lease_id=lease.id)
    assert resp.status_code == 200
    assert "x-ms-lease-id" not in resp.headers
    props = container.get_container_properties()
    assert (props.lease.state, props.lease.status) == ("available", "unlocked")
    # Another client can acquire right away.
    container.acquire_lease(lease_id=OTHER).release()


def test_LeaseContainer_release_wrong_id(container):
    lease = container.acquire_lease()
    try:
        with pytest.raises(HttpResponseError) as e:
            BlobLeaseClient(container, OTHER).release()
        assert e.value.status_code == 409
        assert e.value.error_code == "LeaseIdMismatchWithLeaseOperation"
        assert _state(container) == "leased"
    finally:
        lease.release()


def test_LeaseContainer_break_immediately(server, container):
    lease = container.acquire_lease()
    resp = _lease_req(server, container, "break", x_ms_lease_break_period="0")
    assert resp.status_code == 202
    assert resp.headers["x-ms-lease-time"] == "0"
    props = container.get_container_properties()
    assert (props.lease.state, props.lease.status) == ("broken", "unlocked")
    # A broken lease cannot be renewed, but a new one can be acquired.
    with pytest.raises(HttpResponseError) as e:
        lease.renew()
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseIsBrokenAndCannotBeRenewed"
    container.acquire_lease(lease_id=OTHER).release()


def test_LeaseContainer_break_infinite_default_is_immediate(server, container):
    container.acquire_lease()
    resp = _lease_req(server, container, "break")
    assert resp.status_code == 202
    assert resp.headers["x-ms-lease-time"] == "0"
    assert _state(container) == "broken"


def test_LeaseContainer_break_period(server, container):
    lease = container.acquire_lease()
    resp = _lease_req(server, container, "break", x_ms_lease_break_period="1")
    assert resp.status_code == 202
    assert resp.headers["x-ms-lease-time"] == "1"
    props = container.get_container_properties()
    assert (props.lease.state, props.lease.status) == ("breaking", "locked")
    # While breaking: delete still needs the id; acquire and change are refused.
    with pytest.raises(HttpResponseError) as e:
        container.delete_container()
    assert e.value.error_code == "LeaseIdMissing"
    with pytest.raises(HttpResponseError) as e:
        container.acquire_lease(lease_id=OTHER)
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseAlreadyPresent"
    with pytest.raises(HttpResponseError) as e:
        container.acquire_lease(lease_id=lease.id)
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseIsBreakingAndCannotBeAcquired"
    with pytest.raises(HttpResponseError) as e:
        lease.change(str(uuid.uuid4()))
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseIsBreakingAndCannotBeChanged"
    with pytest.raises(HttpResponseError) as e:
        BlobLeaseClient(container, OTHER).change(str(uuid.uuid4()))
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseIdMismatchWithLeaseOperation"
    with pytest.raises(HttpResponseError) as e:
        lease.renew()
    assert e.value.error_code == "LeaseIsBrokenAndCannotBeRenewed"
    deadline = time.time() + 5
    while _state(container) == "breaking" and time.time() < deadline:
        time.sleep(0.1)
    assert _state(container) == "broken"


def test_LeaseContainer_break_without_lease(container):
    with pytest.raises(HttpResponseError) as e:
        BlobLeaseClient(container, OTHER).break_lease()
    assert e.value.status_code == 409
    assert e.value.error_code == "LeaseNotPresentWithLeaseOperation"


def test_LeaseContainer_release_broken(container):
    lease = container.acquire_lease()
    lease.break_lease(lease_break_period=0)
    lease.release()
    assert _state(container) == "available"


def test_LeaseContainer_missing_action(server, container):
    resp = signing.request(server, "PUT", "/" + container.container_name, "restype=container&comp=lease")
    assert resp.status_code == 400
    assert signing.error_code(resp) == "MissingRequiredHeader"


def test_LeaseContainer_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_container_client(container_name).acquire_lease()
    assert e.value.status_code == 404
    assert e.value.error_code == "ContainerNotFound"


def test_LeaseContainer_delete_needs_lease_id(service, container_name):
    client = service.create_container(container_name)
    lease = client.acquire_lease()
    with pytest.raises(HttpResponseError) as e:
        client.delete_container()
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMissing"
    client.delete_container(lease=lease)
    with pytest.raises(ResourceNotFoundError):
        client.get_container_properties()


def test_LeaseContainer_does_not_lock_blobs(container):
    lease = container.acquire_lease()
    try:
        container.upload_blob("b", b"data")
        assert container.download_blob("b").readall() == b"data"
    finally:
        lease.release()


@pytest.mark.parametrize("period", ["61", "-1", "x"])
def test_LeaseContainer_break_invalid_period(server, container, period):
    lease = container.acquire_lease()
    try:
        resp = _lease_req(server, container, "break", x_ms_lease_break_period=period)
        assert resp.status_code == 400
        assert signing.error_code(resp) == "InvalidHeaderValue"
        assert _state(container) == "leased"
    finally:
        lease.release()


def test_LeaseContainer_release_while_breaking(container):
    lease = container.acquire_lease()
    lease.break_lease(lease_break_period=30)
    assert _state(container) == "breaking"
    lease.release()
    assert _state(container) == "available"


def test_LeaseContainer_break_fixed_lease_default(server, container):
    container.acquire_lease(lease_duration=20)
    resp = _lease_req(server, container, "break")
    assert resp.status_code == 202
    # Without a period a fixed lease breaks when its remaining time runs out.
    assert 18 <= int(resp.headers["x-ms-lease-time"]) <= 20
    assert _state(container) == "breaking"
    resp = _lease_req(server, container, "break", x_ms_lease_break_period="0")
    assert resp.headers["x-ms-lease-time"] == "0"
    assert _state(container) == "broken"


def test_LeaseContainer_break_broken_again(server, container):
    container.acquire_lease().break_lease(lease_break_period=0)
    resp = _lease_req(server, container, "break")
    assert resp.status_code == 202
    assert resp.headers["x-ms-lease-time"] == "0"
    assert _state(container) == "broken"
