"""Get/Set Container ACL: ?restype=container&comp=acl."""
import datetime

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import AccessPolicy, ContainerSasPermissions

import signing


def _utc(**delta):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)).replace(microsecond=0)


def test_GetContainerAcl_default_private(container):
    acl = container.get_container_access_policy()
    assert acl["public_access"] is None
    assert acl["signed_identifiers"] == []


@pytest.mark.parametrize("level", ["blob", "container"])
def test_SetContainerAcl_public_access(container, level):
    container.set_container_access_policy(signed_identifiers={}, public_access=level)
    assert container.get_container_access_policy()["public_access"] == level
    assert container.get_container_properties().public_access == level


def test_SetContainerAcl_back_to_private(container):
    container.set_container_access_policy(signed_identifiers={}, public_access="container")
    container.set_container_access_policy(signed_identifiers={})
    assert container.get_container_access_policy()["public_access"] is None
    assert container.get_container_properties().public_access is None


def test_SetContainerAcl_five_policies(container):
    start, expiry = _utc(hours=-1), _utc(hours=1)
    ids = {
        "read": AccessPolicy(permission=ContainerSasPermissions(read=True), start=start, expiry=expiry),
        "list": AccessPolicy(permission=ContainerSasPermissions(list=True), expiry=expiry),
        "write": AccessPolicy(permission=ContainerSasPermissions(write=True, create=True), start=start),
        "rdl": AccessPolicy(permission="rdl"),
        "empty": AccessPolicy(),
    }
    container.set_container_access_policy(signed_identifiers=ids, public_access="blob")
    acl = container.get_container_access_policy()
    assert acl["public_access"] == "blob"
    got = {s.id: s.access_policy for s in acl["signed_identifiers"]}
    assert set(got) == set(ids)
    assert got["read"].permission == "r"
    assert got["list"].permission == "l"
    assert got["write"].permission == "cw"
    assert got["rdl"].permission == "rdl"
    assert got["read"].start.startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
    assert got["read"].expiry.startswith(expiry.strftime("%Y-%m-%dT%H:%M:%S"))
    assert got["list"].start is None
    assert got["write"].expiry is None
    assert got["empty"].permission is None


def test_SetContainerAcl_replaces_policies(container):
    container.set_container_access_policy(signed_identifiers={"a": AccessPolicy(permission="r")})
    container.set_container_access_policy(signed_identifiers={"b": AccessPolicy(permission="l")})
    acl = container.get_container_access_policy()
    assert [s.id for s in acl["signed_identifiers"]] == ["b"]


def test_SetContainerAcl_changes_etag(container):
    before = container.get_container_properties().etag
    container.set_container_access_policy(signed_identifiers={}, public_access="blob")
    assert container.get_container_properties().etag != before


def _six_policies_xml():
    body = "".join(
        "<SignedIdentifier><Id>id%d</Id><AccessPolicy><Permission>r</Permission></AccessPolicy>"
        "</SignedIdentifier>" % i for i in range(6))
    return ('<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers>%s</SignedIdentifiers>' % body).encode()


def test_SetContainerAcl_six_policies(server, container):
    resp = signing.request(server, "PUT", "/" + container.container_name, "restype=container&comp=acl",
                           headers={"Content-Type": "application/xml"}, body=_six_policies_xml())
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidXmlDocument"
    assert container.get_container_access_policy()["signed_identifiers"] == []


@pytest.mark.parametrize("body", [
    b"<SignedIdentifiers><SignedIdentifier>",
    b"not xml at all",
    b"<?xml version=\"1.0\"?><Wrong/>",
])
def test_SetContainerAcl_bad_xml(server, container, body):
    container.set_container_access_policy(signed_identifiers={"keep": AccessPolicy(permission="r")})
    resp = signing.request(server, "PUT", "/" + container.container_name, "restype=container&comp=acl",
                           headers={"Content-Type": "application/xml"}, body=body)
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidXmlDocument"
    assert [s.id for s in container.get_container_access_policy()["signed_identifiers"]] == ["keep"]


def test_SetContainerAcl_invalid_public_access(server, container):
    resp = signing.request(server, "PUT", "/" + container.container_name, "restype=container&comp=acl",
                           headers={"x-ms-blob-public-access": "public"})
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidHeaderValue"
    assert container.get_container_access_policy()["public_access"] is None


def test_GetContainerAcl_raw(server, container):
    container.set_container_access_policy(
        signed_identifiers={"pol": AccessPolicy(permission="rl", expiry="2030-01-01T00:00:00Z")},
        public_access="container")
    resp = signing.request(server, "GET", "/" + container.container_name, "restype=container&comp=acl")
    assert resp.status_code == 200
    assert resp.headers["x-ms-blob-public-access"] == "container"
    assert resp.headers["ETag"] == container.get_container_properties().etag
    assert "<Id>pol</Id>" in resp.text
    assert "<Permission>rl</Permission>" in resp.text
    assert "<Expiry>2030-01-01T00:00:00" in resp.text


def test_SetContainerAcl_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_container_client(container_name).set_container_access_policy(signed_identifiers={})
    assert e.value.error_code == "ContainerNotFound"


def test_GetContainerAcl_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        service.get_container_client(container_name).get_container_access_policy()
    assert e.value.error_code == "ContainerNotFound"


def test_SetContainerAcl_lease(container):
    lease = container.acquire_lease()
    try:
        with pytest.raises(HttpResponseError) as e:
            container.set_container_access_policy(signed_identifiers={},
                                                  lease="00000000-0000-0000-0000-000000000001")
        assert e.value.error_code == "LeaseIdMismatchWithContainerOperation"
        container.set_container_access_policy(signed_identifiers={}, public_access="blob", lease=lease)
        assert container.get_container_access_policy()["public_access"] == "blob"
    finally:
        lease.release()


def test_SetContainerAcl_raw_status(server, container):
    body = (b'<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers><SignedIdentifier><Id>one</Id>'
            b'<AccessPolicy><Start>2024-01-01T00:00:00.0000000Z</Start><Expiry>2099-01-01T00:00:00.0000000Z'
            b'</Expiry><Permission>rl</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>')
    resp = signing.request(server, "PUT", "/" + container.container_name, "restype=container&comp=acl",
                           headers={"Content-Type": "application/xml", "x-ms-blob-public-access": "blob"},
                           body=body)
    assert resp.status_code == 200
    assert resp.headers["ETag"] == container.get_container_properties().etag
    acl = container.get_container_access_policy()
    assert acl["public_access"] == "blob"
    (si,) = acl["signed_identifiers"]
    assert (si.id, si.access_policy.permission) == ("one", "rl")
    assert si.access_policy.expiry.startswith("2099-01-01T00:00:00")


def test_SetContainerAcl_empty_body_clears(server, container):
    container.set_container_access_policy(signed_identifiers={"a": AccessPolicy(permission="r")},
                                          public_access="container")
    resp = signing.request(server, "PUT", "/" + container.container_name, "restype=container&comp=acl")
    assert resp.status_code == 200
    acl = container.get_container_access_policy()
    assert acl["public_access"] is None
    assert acl["signed_identifiers"] == []
