"""Get/Set Container Metadata: ?restype=container&comp=metadata."""
import datetime

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

import signing


def test_SetContainerMetadata_roundtrip(container):
    before = container.get_container_properties()
    container.set_container_metadata({"color": "blue", "size": "10"})
    after = container.get_container_properties()
    assert after.metadata == {"color": "blue", "size": "10"}
    assert after.etag != before.etag


def test_SetContainerMetadata_replaces_all(container):
    container.set_container_metadata({"a": "1", "b": "2"})
    container.set_container_metadata({"c": "3"})
    assert container.get_container_properties().metadata == {"c": "3"}


def test_SetContainerMetadata_empty_clears(container):
    container.set_container_metadata({"a": "1"})
    container.set_container_metadata({})
    assert container.get_container_properties().metadata == {}


def test_GetContainerMetadata_raw(server, container):
    container.set_container_metadata({"owner": "team-x"})
    resp = signing.request(server, "GET", "/" + container.container_name,
                           "restype=container&comp=metadata")
    assert resp.status_code == 200
    assert resp.headers["x-ms-meta-owner"] == "team-x"
    assert resp.headers["ETag"] == container.get_container_properties().etag
    assert "Last-Modified" in resp.headers


def test_SetContainerMetadata_raw_status(server, container):
    resp = signing.request(server, "PUT", "/" + container.container_name,
                           "restype=container&comp=metadata", headers={"x-ms-meta-k": "v"})
    assert resp.status_code == 200
    assert resp.headers["ETag"] == container.get_container_properties().etag


@pytest.mark.parametrize("meta_name", ["1digit", "has-hyphen", "has.dot"])
def test_SetContainerMetadata_invalid_name(server, container, meta_name):
    container.set_container_metadata({"keep": "me"})
    resp = signing.request(server, "PUT", "/" + container.container_name,
                           "restype=container&comp=metadata", headers={"x-ms-meta-" + meta_name: "v"})
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidMetadata"
    assert container.get_container_properties().metadata == {"keep": "me"}


def test_SetContainerMetadata_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_container_client(container_name).set_container_metadata({"a": "b"})
    assert e.value.error_code == "ContainerNotFound"


def test_SetContainerMetadata_if_modified_since(container):
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    with pytest.raises(HttpResponseError) as e:
        container.set_container_metadata({"a": "1"}, if_modified_since=future)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    container.set_container_metadata({"a": "1"}, if_modified_since=past)
    assert container.get_container_properties().metadata == {"a": "1"}


def test_SetContainerMetadata_lease(container):
    lease = container.acquire_lease()
    try:
        # A container lease guards only delete: metadata can be set without it.
        container.set_container_metadata({"a": "1"})
        with pytest.raises(HttpResponseError) as e:
            container.set_container_metadata({"a": "2"}, lease="00000000-0000-0000-0000-000000000001")
        assert e.value.status_code == 412
        assert e.value.error_code == "LeaseIdMismatchWithContainerOperation"
        container.set_container_metadata({"a": "3"}, lease=lease)
        assert container.get_container_properties().metadata == {"a": "3"}
    finally:
        lease.release()


def test_SetContainerMetadata_lease_id_without_lease(container):
    with pytest.raises(HttpResponseError) as e:
        container.set_container_metadata({"a": "1"}, lease="00000000-0000-0000-0000-000000000001")
    assert e.value.status_code == 412
    assert e.value.error_code == "LeaseNotPresentWithContainerOperation"


def test_ContainerMetadata_over_8KiB_is_refused(server, container_name):
    # Azure: 8 KiB of names and values at most, else 400 MetadataTooLarge, on
    # Create Container and Set Container Metadata alike.
    big = {"x-ms-meta-big": "v" * (8192 - 2)}
    r = signing.request(server, "PUT", "/" + container_name, "restype=container", headers=big)
    assert (r.status_code, signing.error_code(r)) == (400, "MetadataTooLarge")
    assert signing.request(server, "GET", "/" + container_name, "restype=container").status_code == 404
    ok = {"x-ms-meta-big": "v" * (8192 - 3)}
    r = signing.request(server, "PUT", "/" + container_name, "restype=container", headers=ok)
    assert r.status_code == 201, r.text
    try:
        r = signing.request(server, "PUT", "/" + container_name, "restype=container&comp=metadata",
                            headers=big)
        assert (r.status_code, signing.error_code(r)) == (400, "MetadataTooLarge")
        r = signing.request(server, "GET", "/" + container_name, "restype=container&comp=metadata")
        assert r.headers["x-ms-meta-big"] == "v" * (8192 - 3)
    finally:
        signing.request(server, "DELETE", "/" + container_name, "restype=container")
