"""Delete Container: DELETE /account/container?restype=container."""
import datetime

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

import signing


def test_DeleteContainer_basic(server, service, container_name):
    client = service.create_container(container_name)
    client.upload_blob("a/b.txt", b"data")
    resp = signing.request(server, "DELETE", "/" + container_name, "restype=container")
    assert resp.status_code == 202
    assert resp.content == b""
    with pytest.raises(ResourceNotFoundError) as e:
        client.get_container_properties()
    assert e.value.error_code == "ContainerNotFound"
    assert container_name not in [c.name for c in service.list_containers(name_starts_with=container_name)]


def test_DeleteContainer_blob_ops_after(service, container_name):
    client = service.create_container(container_name)
    client.upload_blob("x", b"1")
    client.delete_container()
    with pytest.raises(ResourceNotFoundError) as e:
        client.get_blob_client("x").download_blob().readall()
    assert e.value.error_code == "ContainerNotFound"


def test_DeleteContainer_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.delete_container(container_name)
    assert e.value.status_code == 404
    assert e.value.error_code == "ContainerNotFound"


def test_DeleteContainer_twice(service, container_name):
    service.create_container(container_name)
    service.delete_container(container_name)
    with pytest.raises(ResourceNotFoundError) as e:
        service.delete_container(container_name)
    assert e.value.error_code == "ContainerNotFound"


def test_DeleteContainer_leased_requires_lease_id(service, container_name):
    client = service.create_container(container_name)
    lease = client.acquire_lease()
    with pytest.raises(HttpResponseError) as e:
        client.delete_container()
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMissing"
    with pytest.raises(HttpResponseError) as e:
        client.delete_container(lease="00000000-0000-0000-0000-000000000001")
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseIdMismatchWithContainerOperation"
    assert client.get_container_properties().lease.state == "leased"
    client.delete_container(lease=lease)
    with pytest.raises(ResourceNotFoundError):
        client.get_container_properties()


def test_DeleteContainer_lease_id_without_lease(service, container_name):
    client = service.create_container(container_name)
    try:
        with pytest.raises(HttpResponseError) as e:
            client.delete_container(lease="00000000-0000-0000-0000-000000000001")
        assert e.value.status_code == 412
        assert e.value.error_code == "LeaseNotPresentWithContainerOperation"
    finally:
        client.delete_container()


def test_DeleteContainer_if_unmodified_since(service, container_name):
    client = service.create_container(container_name)
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    with pytest.raises(HttpResponseError) as e:
        client.delete_container(if_unmodified_since=past)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    client.delete_container(if_unmodified_since=future)
    with pytest.raises(ResourceNotFoundError):
        client.get_container_properties()


def test_DeleteContainer_recreate_is_empty(service, container_name):
    client = service.create_container(container_name, metadata={"old": "1"})
    client.upload_blob("old.txt", b"old")
    client.delete_container()
    client = service.create_container(container_name)
    try:
        assert list(client.list_blobs()) == []
        assert client.get_container_properties().metadata == {}
    finally:
        client.delete_container()
