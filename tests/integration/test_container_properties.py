"""Get Container Properties: GET/HEAD /account/container?restype=container."""
import pytest
from azure.core.exceptions import ResourceNotFoundError

import signing


def test_GetContainerProperties_basic(service, container_name):
    client = service.create_container(container_name, metadata={"k": "v"}, public_access="container")
    try:
        props = client.get_container_properties()
        assert props.name == container_name
        assert props.metadata == {"k": "v"}
        assert props.public_access == "container"
        assert props.lease.status == "unlocked"
        assert props.lease.state == "available"
        assert props.lease.duration is None
        assert props.has_immutability_policy is False
        assert props.has_legal_hold is False
        assert props.etag.startswith('"')
        assert props.last_modified is not None
    finally:
        client.delete_container()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_GetContainerProperties_raw_headers(server, container, method):
    container.set_container_metadata({"alpha": "1"})
    resp = signing.request(server, method, "/" + container.container_name, "restype=container")
    assert resp.status_code == 200
    assert resp.headers["x-ms-meta-alpha"] == "1"
    assert resp.headers["x-ms-lease-status"] == "unlocked"
    assert resp.headers["x-ms-lease-state"] == "available"
    assert "x-ms-blob-public-access" not in resp.headers
    assert resp.headers["ETag"] == container.get_container_properties().etag
    assert "Last-Modified" in resp.headers
    assert resp.content == b""


def test_GetContainerProperties_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_container_client(container_name).get_container_properties()
    assert e.value.status_code == 404
    assert e.value.error_code == "ContainerNotFound"


def test_GetContainerProperties_not_found_raw_get(server, container_name):
    resp = signing.request(server, "GET", "/" + container_name, "restype=container")
    assert resp.status_code == 404
    assert signing.error_code(resp) == "ContainerNotFound"
    assert "<Code>ContainerNotFound</Code>" in resp.text


def test_GetContainerProperties_leased(container):
    lease = container.acquire_lease()
    try:
        props = container.get_container_properties()
        assert props.lease.status == "locked"
        assert props.lease.state == "leased"
        assert props.lease.duration == "infinite"
    finally:
        lease.release()


def test_GetContainerProperties_fixed_lease(container):
    lease = container.acquire_lease(lease_duration=15)
    try:
        assert container.get_container_properties().lease.duration == "fixed"
    finally:
        lease.release()


def test_GetContainerProperties_wrong_lease_id(container):
    lease = container.acquire_lease()
    try:
        with pytest.raises(Exception) as e:
            container.get_container_properties(lease="00000000-0000-0000-0000-000000000001")
        assert e.value.status_code == 412
        assert e.value.error_code == "LeaseIdMismatchWithContainerOperation"
        # The right lease id is accepted.
        assert container.get_container_properties(lease=lease).lease.state == "leased"
    finally:
        lease.release()
