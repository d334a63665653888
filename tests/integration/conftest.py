import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from azure.storage.blob import BlobServiceClient  # noqa: E402

from strata_server import StrataServer  # noqa: E402


# STRATA_CLUSTER=N: the session's server is N gateways on one root behind
# nginx (tests/cluster/cluster.py), which spreads every request over them.
CLUSTER = int(os.environ.get("STRATA_CLUSTER", "0") or 0)


# Cases that need one gateway process by nature, skipped under STRATA_CLUSTER
# (cases that do not use the session's server are skipped there too: they
# start servers of their own, so nothing of them goes through the cluster).
ONE_PROCESS = {
    "test_dev_account.py::test_DevAccount_key_is_azurites":
        "reads the banner one gateway printed",
    "test_block_assembly.py::test_blocks_in_upload_order_become_the_blob_without_a_copy":
        "in-place assembly is per gateway: blocks spread over gateways are copied",
    "test_block_assembly.py::test_a_refused_body_gives_its_place_back":
        "counts the assembly files of one gateway",
}


def pytest_collection_modifyitems(config, items):
    if not CLUSTER:
        return
    for item in items:
        key = "%s::%s" % (item.path.name, item.originalname)
        if key in ONE_PROCESS:
            item.add_marker(pytest.mark.skip(reason="STRATA_CLUSTER: " + ONE_PROCESS[key]))
        elif "server" not in item.fixturenames:
            item.add_marker(pytest.mark.skip(
                reason="STRATA_CLUSTER: runs servers of its own, not through the cluster"))


@pytest.fixture(scope="session")
def server():
    if CLUSTER:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "cluster"))
        from cluster import StrataCluster
        s = StrataCluster(CLUSTER).start()
    else:
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


@pytest.fixture(scope="session")
def tls_pki():
    """A throwaway test CA and a server certificate for 127.0.0.1/localhost
    (tls_util.TestPki: .ca, .cert, .key paths)."""
    from tls_util import make_test_pki
    return make_test_pki()


@pytest.fixture(scope="session")
def tls_server(tls_pki):
    """A strata server with plain HTTP on .port and HTTPS on .tls_port
    (tls_util.TlsStrataServer: .https_endpoint, .https_connection_string,
    .https_service(), .pki.ca for clients to trust)."""
    from tls_util import TlsStrataServer
    s = TlsStrataServer(tls_pki).start()
    yield s
    s.stop()


@pytest.fixture
def tls_service(tls_server):
    """A BlobServiceClient over HTTPS that trusts the test CA."""
    return tls_server.https_service()
