"""SharedKey authentication: signature, account, and the 15-minute clock window."""
import base64
import xml.etree.ElementTree as ET
from email.utils import formatdate
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import BlobServiceClient

import signing
from strata_server import DEV_ACCOUNT, DEV_KEY

WRONG_KEY = base64.b64encode(b"w" * 64).decode()


def test_SharedKey_good_key(service, container):
    container.upload_blob("x", b"1")
    assert container.container_name in [c.name for c in service.list_containers(
        name_starts_with=container.container_name)]
    assert container.download_blob("x").readall() == b"1"


def test_SharedKey_bad_key(server, container):
    bad = BlobServiceClient(server.endpoint, credential={"account_name": DEV_ACCOUNT,
                                                         "account_key": WRONG_KEY})
    with pytest.raises(ClientAuthenticationError) as e:
        list(bad.list_containers())
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthenticationFailed"
    with pytest.raises(ClientAuthenticationError) as e:
        bad.get_container_client(container.container_name).upload_blob("nope", b"x")
    assert e.value.error_code == "AuthenticationFailed"
    assert [b.name for b in container.list_blobs()] == []


def test_SharedKey_bad_key_raw_body(server):
    resp = signing.request(server, "GET", "/", "comp=list", sign_it=False,
                           headers={"Authorization": signing.sign("GET", "/" + DEV_ACCOUNT + "/", "comp=list",
                                                                  {"x-ms-date": "x"}, key=WRONG_KEY)})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"
    root = ET.fromstring(resp.content)
    assert root.tag == "Error"
    assert root.findtext("Code") == "AuthenticationFailed"
    assert root.findtext("Message")


def test_SharedKey_wrong_account_name(server):
    headers = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True)}
    auth = signing.sign("GET", "/" + DEV_ACCOUNT + "/", "comp=list", headers, account="otheraccount")
    headers["Authorization"] = auth
    resp = signing.request(server, "GET", "/", "comp=list", headers=headers, sign_it=False)
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"


def test_SharedKey_tampered_request(server, container):
    headers = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True), "x-ms-meta-a": "1"}
    path = "/" + container.container_name
    query = "restype=container&comp=metadata"
    headers["Authorization"] = signing.sign("PUT", "/" + DEV_ACCOUNT + path, query, headers)
    headers["x-ms-meta-a"] = "2"  # changed after signing
    resp = signing.request(server, "PUT", path, query, headers=headers, sign_it=False)
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"
    assert container.get_container_properties().metadata == {}


def test_SharedKey_malformed_header(server):
    for value in ["SharedKey", "SharedKey nocolon", "SharedKey devstoreaccount1:", "Bogus abc:def"]:
        resp = signing.request(server, "GET", "/", "comp=list", headers={"Authorization": value},
                               sign_it=False)
        assert resp.status_code == 403, value
        assert signing.error_code(resp) == "AuthenticationFailed", value


@pytest.mark.parametrize("offset_min", [-16, 16, -60 * 24])
def test_SharedKey_date_outside_window(server, offset_min):
    date = formatdate(time.time() + offset_min * 60, usegmt=True)
    resp = signing.request(server, "GET", "/", "comp=list", headers={"x-ms-date": date})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"


@pytest.mark.parametrize("offset_min", [-14, 14])
def test_SharedKey_date_inside_window(server, offset_min):
    date = formatdate(time.time() + offset_min * 60, usegmt=True)
    resp = signing.request(server, "GET", "/", "comp=list", headers={"x-ms-date": date})
    assert resp.status_code == 200


def test_SharedKey_date_header_instead_of_x_ms_date(server):
    import requests
    url = "http://127.0.0.1:%d/%s/?comp=list" % (server.port, DEV_ACCOUNT)
    for offset_min, status in [(0, 200), (-20, 403)]:
        headers = {"x-ms-version": "2021-12-02",
                   "Date": formatdate(time.time() + offset_min * 60, usegmt=True)}
        headers["Authorization"] = signing.sign("GET", "/" + DEV_ACCOUNT + "/", "comp=list", headers)
        resp = requests.get(url, headers=headers, timeout=10)
        assert resp.status_code == status, offset_min


def test_SharedKey_missing_date(server):
    import requests
    headers = {"x-ms-version": "2021-12-02"}
    headers["Authorization"] = signing.sign("GET", "/" + DEV_ACCOUNT + "/", "comp=list", headers)
    resp = requests.get("http://127.0.0.1:%d/%s/?comp=list" % (server.port, DEV_ACCOUNT),
                        headers=headers, timeout=10)
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"


def test_SharedKey_with_metadata_and_query(server, container):
    """Canonicalization of several x-ms-* headers and query parameters."""
    headers = {"x-ms-meta-zeta": "z", "x-ms-meta-alpha": "a", "x-ms-client-request-id": "abc"}
    resp = signing.request(server, "PUT", "/" + container.container_name,
                           "restype=container&comp=metadata&timeout=30", headers=headers)
    assert resp.status_code == 200
    assert container.get_container_properties().metadata == {"zeta": "z", "alpha": "a"}


@pytest.mark.parametrize("host", ["devstoreaccount1.blob.core.windows.net",
                                  "devstoreaccount1.blob.localhost:10000"])
def test_SharedKey_host_style(server, container, host):
    """Host-style URL: the account is in Host, the path starts at the container."""
    import requests
    headers = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True)}
    path = "/" + container.container_name
    headers["Authorization"] = signing.sign("GET", path, "restype=container&comp=list", headers)
    headers["Host"] = host
    resp = requests.get("http://127.0.0.1:%d%s?restype=container&comp=list" % (server.port, path),
                        headers=headers, timeout=10)
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.get("ContainerName") == container.container_name
    # The same signature over the wrong resource is refused.
    headers["Authorization"] = signing.sign("GET", "/other" + path, "restype=container&comp=list", headers)
    resp = requests.get("http://127.0.0.1:%d%s?restype=container&comp=list" % (server.port, path),
                        headers=headers, timeout=10)
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"
