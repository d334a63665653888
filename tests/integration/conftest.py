import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from azure.storage.blob import BlobServiceClient  # noqa: E402

from strata_server import StrataServer  # noqa: E402


@pytest.fixture(scope="session")
def server():
    s = StrataServer().start()
    yield s
    s.stop()


@pytest.fixture
def service(server):
    return BlobServiceClient.from_connection_string(server.connection_string)


@pytest.fixture
def container(service):
    """A fresh container per test case."""
    name = "t" + uuid.uuid4().hex[:20]
    client = service.create_container(name)
    yield client
    try:
        client.delete_container()
    except Exception:
        pass


@pytest.fixture
def container_name():
    return "t" + uuid.uuid4().hex[:20]


@pytest.fixture(scope="module")
def own_server():
    """A server of this test module's own, for cases that change account-wide
    state (service properties, CORS) which other modules must not see."""
    s = StrataServer().start()
    yield s
    s.stop()


@pytest.fixture
def own_service(own_server):
    return BlobServiceClient.from_connection_string(own_server.connection_string)


@pytest.fixture
def make_container(service):
    """Creates fresh containers on demand (name prefix optional, kwargs passed to
    create_container); deletes them after the case."""
    made = []

    def make(prefix="t", **kwargs):
        name = prefix + uuid.uuid4().hex[:20]
        client = service.create_container(name, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        try:
            client.delete_container()
        except Exception:
            pass
