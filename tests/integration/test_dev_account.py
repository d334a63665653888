"""The development account is Azurite's, byte for byte, so that
UseDevelopmentStorage=true clients work unchanged."""
import os
import re

from strata_server import REPO


def azurite_key():
    path = os.path.join(REPO, "node_modules", "azurite", "dist", "src", "common", "utils",
                        "constants.js")
    with open(path) as f:
        m = re.search(r'EMULATOR_ACCOUNT_KEY = Buffer\.from\("([^"]+)"', f.read())
    assert m, "Azurite's constants moved"
    return m.group(1)


def test_DevAccount_key_is_azurites(server):
    printed = re.search(r"AccountKey=([^;]+);", server.banner).group(1)
    assert printed == azurite_key()
    assert server.connection_string == server.banner.split("Connection string: ")[1].strip()


def test_DevAccount_connection_string_printed_at_start(tmp_path):
    from strata_server import StrataServer
    s = StrataServer(root=str(tmp_path)).start()
    try:
        assert s.banner and "AccountName=devstoreaccount1;AccountKey=%s;" % azurite_key() in s.banner
    finally:
        s.stop()
