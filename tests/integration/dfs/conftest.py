import os
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


@pytest.fixture
def dfs(server):
    """A DataLakeServiceClient on the server's path-style endpoint."""
    return server.lake_client()


@pytest.fixture
def filesystem(dfs):
    """A fresh filesystem per test case."""
    fs = dfs.create_file_system("f" + uuid.uuid4().hex[:20])
    yield fs
    try:
        fs.delete_file_system()
    except Exception:
        pass
