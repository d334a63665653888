"""Get Account Information: GET|HEAD ?restype=account&comp=properties."""
import pytest

import signing


def test_GetAccountInfo_service(service):
    info = service.get_account_information()
    assert info["sku_name"] == "Standard_LRS"
    assert info["account_kind"] == "StorageV2"


def test_GetAccountInfo_container_and_blob(container):
    info = container.get_account_information()
    assert info["account_kind"] == "StorageV2"
    container.upload_blob("b", b"x")
    info = container.get_blob_client("b").get_account_information()
    assert info["sku_name"] == "Standard_LRS"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_GetAccountInfo_hns_header(server, method):
    resp = signing.request(server, method, "/", "restype=account&comp=properties")
    assert resp.status_code == 200
    assert resp.headers["x-ms-is-hns-enabled"] == "true"
    assert resp.headers["x-ms-sku-name"] == "Standard_LRS"
    assert resp.headers["x-ms-account-kind"] == "StorageV2"
    assert resp.content == b""


def test_GetAccountInfo_bad_signature(server):
    resp = signing.request(server, "GET", "/", "restype=account&comp=properties",
                           headers={"Authorization": "SharedKey devstoreaccount1:AAAA"}, sign_it=False)
    assert resp.status_code == 403
    assert signing.error_code(resp) == "AuthenticationFailed"
