import os
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from azure.storage.filedatalake import DataLakeServiceClient  # noqa: E402

from strata_server import DEV_ACCOUNT, DEV_KEY  # noqa: E402


@pytest.fixture
def dfs(server):
    """A DataLakeServiceClient on the server's path-style endpoint."""
    return DataLakeServiceClient(
        "http://127.0.0.1:%d/%s" % (server.port, DEV_ACCOUNT),
        credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY})


@pytest.fixture
def filesystem(dfs):
    """A fresh filesystem per test case."""
    fs = dfs.create_file_system("f" + uuid.uuid4().hex[:20])
    yield fs
    try:
        fs.delete_file_system()
    except Exception:
        pass
