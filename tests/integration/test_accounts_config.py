"""Accounts from the config file: each has its own key and root, and the
development account is still there."""
import base64
import json
import os
import tempfile

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobServiceClient

from strata_server import StrataServer

KEY2 = base64.b64encode(b"k" * 64).decode()


@pytest.fixture(scope="module")
def cfg_server():
    base = tempfile.mkdtemp(prefix="strata-accts-")
    root2 = os.path.join(base, "training")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"accounts": [{"name": "training", "key": KEY2, "root": root2}]}, f)
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg).start()
    s.root2 = root2
    yield s
    s.stop()


def client(server, account, key):
    return BlobServiceClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
        "BlobEndpoint=http://127.0.0.1:%d/%s;" % (account, key, server.port, account))


def test_Accounts_config_account_has_its_own_root(cfg_server):
    svc = client(cfg_server, "training", KEY2)
    c = svc.create_container("shards")
    c.upload_blob("s/0001.tar", b"shard-bytes")
    with open(os.path.join(cfg_server.root2, "shards", "s", "0001.tar"), "rb") as f:
        assert f.read() == b"shard-bytes"
    assert not os.path.exists(os.path.join(cfg_server.root, "shards"))
    assert c.download_blob("s/0001.tar").readall() == b"shard-bytes"


def test_Accounts_dev_account_still_present(cfg_server):
    dev = BlobServiceClient.from_connection_string(cfg_server.connection_string)
    dev.create_container("devonly")
    names = [c.name for c in client(cfg_server, "training", KEY2).list_containers()]
    assert "devonly" not in names


def test_Accounts_other_accounts_key_is_refused(cfg_server):
    from strata_server import DEV_KEY
    with pytest.raises(ClientAuthenticationError) as e:
        list(client(cfg_server, "training", DEV_KEY).list_containers())
    assert e.value.error_code == "AuthenticationFailed"


def test_Accounts_unknown_account_is_not_found(cfg_server):
    with pytest.raises(HttpResponseError) as e:
        list(client(cfg_server, "nosuchacct", KEY2).list_containers())
    assert e.value.status_code == 404


def test_Accounts_bad_config_is_refused(tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"accounts": [{"name": "x", "key": "!!", "root": str(tmp_path)}]}))
    with pytest.raises(RuntimeError):
        StrataServer(root=str(tmp_path / "r"), config=str(cfg)).start(timeout=5)
