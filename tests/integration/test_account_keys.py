"""Two keys per account (issue 11, "Accounts"): as on Azure, an account has
key1 and key2, and a request signed with either verifies, for SharedKey and
for a SAS, so clients can move to one key while the other is regenerated.
What this rests on: "Manage storage account access keys" (Azure docs: both
keys are valid at once; rotate by moving clients to the other key) and
"Authorize with Shared Key" / "Create a service SAS" (the signature is an
HMAC with an account key). The Python SDK does the signing here."""
import base64
import datetime
import json
import os
import tempfile

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import BlobServiceClient, generate_blob_sas

from strata_server import StrataServer

ACCOUNT = "rotating"
KEY1 = base64.b64encode(b"1" * 64).decode()
KEY2 = base64.b64encode(b"2" * 64).decode()
OTHER = base64.b64encode(b"3" * 64).decode()


@pytest.fixture(scope="module")
def keys_server():
    base = tempfile.mkdtemp(prefix="strata-keys-")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"accounts": [{"name": ACCOUNT, "key": KEY1, "key2": KEY2,
                                 "root": os.path.join(base, ACCOUNT)}]}, f)
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg).start()
    yield s
    s.stop()


def _client(server, key):
    return BlobServiceClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
        "BlobEndpoint=http://127.0.0.1:%d/%s;" % (ACCOUNT, key, server.port, ACCOUNT))


def test_AccountKeys_shared_key_with_key1_or_key2(keys_server):
    _client(keys_server, KEY1).create_container("bykey1")
    c2 = _client(keys_server, KEY2).get_container_client("bykey1")
    c2.upload_blob("b", b"signed with key2")
    assert _client(keys_server, KEY1).get_blob_client("bykey1", "b").download_blob().readall() \
        == b"signed with key2"


def test_AccountKeys_another_key_is_refused(keys_server):
    with pytest.raises(ClientAuthenticationError) as e:
        list(_client(keys_server, OTHER).list_containers())
    assert e.value.error_code == "AuthenticationFailed"


@pytest.mark.parametrize("key,ok", [(KEY1, True), (KEY2, True), (OTHER, False)])
def test_AccountKeys_sas_signed_with_either_key(keys_server, key, ok):
    c = _client(keys_server, KEY1).get_container_client("sas" + ("x" if ok else "y"))
    if not c.exists():
        c.create_container()
    c.upload_blob("b", b"data", overwrite=True)
    sas = generate_blob_sas(ACCOUNT, c.container_name, "b", account_key=key, permission="r",
                            expiry=datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=1))
    r = requests.get("http://127.0.0.1:%d/%s/%s/b?%s" % (keys_server.port, ACCOUNT,
                                                          c.container_name, sas), timeout=30)
    if ok:
        assert r.status_code == 200 and r.content == b"data"
    else:
        assert r.status_code == 403
        assert r.headers.get("x-ms-error-code") == "AuthenticationFailed"


def test_AccountKeys_bad_key2_in_config_is_refused(tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"accounts": [{"name": "badkey2", "key": KEY1, "key2": "!!",
                                             "root": str(tmp_path / "a")}]}))
    with pytest.raises(RuntimeError):
        StrataServer(root=str(tmp_path / "r"), config=str(cfg)).start(timeout=5)
