"""Fixtures for the real-client tests (azcopy, rclone): a server, a directory
tree of mixed sizes (see client_util.TREE), a container, the client binaries."""
import os
import shutil
import stat
import sys
import tempfile
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)

from azure.storage.blob import BlobServiceClient  # noqa: E402

from client_util import TREE, write_file  # noqa: E402
from strata_server import REPO, StrataServer  # noqa: E402


@pytest.fixture(scope="session")
def server():
    s = StrataServer(extra_args=["--durability", "none"]).start()
    yield s
    s.stop()
    shutil.rmtree(s.root, ignore_errors=True)


@pytest.fixture(scope="session")
def source_tree():
    d = tempfile.mkdtemp(prefix="strata-tree-")
    for i, (rel, size) in enumerate(TREE):
        write_file(os.path.join(d, rel), size, seed=i)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="strata-client-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def service(server):
    return BlobServiceClient.from_connection_string(server.connection_string)


@pytest.fixture
def container(service):
    name = "c" + uuid.uuid4().hex[:20]
    client = service.create_container(name)
    yield client
    try:
        client.delete_container()
    except Exception:
        pass


@pytest.fixture(scope="session")
def azcopy_bin():
    path = os.path.join(REPO, "node_modules", "@azure-tools", "azcopy-linux", "dist", "bin",
                        "azcopy_linux_amd64")
    if not os.path.exists(path):
        pytest.skip("azcopy not installed (run scripts/deps.sh test)")
    if not os.access(path, os.X_OK):
        # The npm package ships the binary without its execute bit.
        try:
            os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError as e:
            pytest.skip("azcopy is not executable and chmod failed: %s" % e)
    return path


@pytest.fixture(scope="session")
def rclone_bin():
    path = shutil.which("rclone")
    if not path:
        pytest.skip("rclone not installed (run scripts/deps.sh test)")
    return path
