"""Create Container: PUT /account/container?restype=container."""
import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

import signing


def test_CreateContainer_basic(server, service, container_name):
    resp = signing.request(server, "PUT", "/" + container_name, "restype=container")
    try:
        assert resp.status_code == 201
        assert resp.headers["ETag"].startswith('"') and resp.headers["ETag"].endswith('"')
        assert resp.headers["Last-Modified"].endswith("GMT")
        props = service.get_container_client(container_name).get_container_properties()
        assert props.name == container_name
        assert props.etag == resp.headers["ETag"]
        assert props.metadata == {}
        assert props.public_access is None
    finally:
        service.delete_container(container_name)


def test_CreateContainer_with_metadata_and_public_access(service, container_name):
    client = service.create_container(container_name, metadata={"project": "alpha", "stage": "2"},
                                      public_access="blob")
    try:
        props = client.get_container_properties()
        assert props.metadata == {"project": "alpha", "stage": "2"}
        assert props.public_access == "blob"
    finally:
        client.delete_container()


def test_CreateContainer_public_access_container(service, container_name):
    client = service.create_container(container_name, public_access="container")
    try:
        assert client.get_container_properties().public_access == "container"
    finally:
        client.delete_container()


def test_CreateContainer_metadata_case_preserved(service, container_name):
    client = service.create_container(container_name, metadata={"MixedCase": "v"})
    try:
        assert client.get_container_properties().metadata == {"MixedCase": "v"}
    finally:
        client.delete_container()


def test_CreateContainer_already_exists(service, container):
    with pytest.raises(ResourceExistsError) as e:
        service.create_container(container.container_name)
    assert e.value.status_code == 409
    assert e.value.error_code == "ContainerAlreadyExists"


def test_CreateContainer_already_exists_keeps_original(service, container_name):
    client = service.create_container(container_name, metadata={"first": "1"})
    try:
        with pytest.raises(ResourceExistsError):
            service.create_container(container_name, metadata={"second": "2"})
        assert client.get_container_properties().metadata == {"first": "1"}
    finally:
        client.delete_container()


@pytest.mark.parametrize("name", ["ab", "a" * 64])
def test_CreateContainer_name_length_out_of_range(server, service, name):
    # Azure answers a container name of a bad length with 400 OutOfRangeInput
    # (not InvalidResourceName), as its answers recorded in Azure/Azurite#2017
    # and Azure/LogicAppsUX#3470 show, for creation and for reads alike.
    with pytest.raises(HttpResponseError) as e:
        service.create_container(name)
    assert e.value.status_code == 400
    assert e.value.error_code == "OutOfRangeInput"
    resp = signing.request(server, "GET", "/" + name, "restype=container")
    assert (resp.status_code, signing.error_code(resp)) == (400, "OutOfRangeInput")
    assert ("<Message>The specified resource name length is not within the permissible limits."
            in resp.text)


@pytest.mark.parametrize("name", [
    "UpperCase",          # upper case
    "under_score",        # invalid character
    "double--hyphen",     # consecutive hyphens
    "-leading",           # starts with a hyphen
    "trailing-",          # ends with a hyphen
    ".strata",            # the server's own directory
])
def test_CreateContainer_invalid_name(service, name):
    with pytest.raises(HttpResponseError) as e:
        service.create_container(name)
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidResourceName"


def test_CreateContainer_invalid_name_raw(server):
    resp = signing.request(server, "PUT", "/Bad_Name", "restype=container")
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidResourceName"
    assert "<Code>InvalidResourceName</Code>" in resp.text


def test_CreateContainer_invalid_public_access(server, service, container_name):
    resp = signing.request(server, "PUT", "/" + container_name, "restype=container",
                           headers={"x-ms-blob-public-access": "everyone"})
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidHeaderValue"
    assert container_name not in [c.name for c in service.list_containers(name_starts_with=container_name)]


@pytest.mark.parametrize("meta_name", ["1starts-with-digit", "has-hyphen", "has.dot"])
def test_CreateContainer_invalid_metadata_name(server, service, container_name, meta_name):
    resp = signing.request(server, "PUT", "/" + container_name, "restype=container",
                           headers={"x-ms-meta-" + meta_name: "v"})
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidMetadata"
    assert container_name not in [c.name for c in service.list_containers(name_starts_with=container_name)]
