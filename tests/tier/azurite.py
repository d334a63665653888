"""A real Azurite blob service for the capacity tier's tests.

Azurite (node_modules/.bin/azurite-blob) runs on a free 127.0.0.1 port with a
fresh temporary workspace, and plays the remote Azure account. Data lives on
disk in that workspace (not --inMemoryPersistence) so that a test can stop the
remote and start it again on the same port with its blobs intact.

Public API (kept stable; tier tests build on it):

    Azurite(location=None, in_memory=False, extra_args=(), https=False)
        .start(timeout=60) -> self  # waits until Azurite answers HTTP(S)
        .stop()                     # SIGTERM, then SIGKILL after 10 s
        .restart(timeout=60)        # stop, then start on the SAME port
        .alive() -> bool
        .host, .port                # "127.0.0.1", int
        .scheme                     # "http", or "https" with https=True
        .ca_file                    # https=True: PEM of the self-signed
                                    # certificate (for 127.0.0.1) to trust
        .account, .key              # devstoreaccount1 and its published key
        .base                       # "http(s)://127.0.0.1:PORT"
        .endpoint                   # base + "/devstoreaccount1"
        .connection_string
        .service_client() -> azure.storage.blob.BlobServiceClient
        .create_container(name=None) -> RemoteContainer (fresh name if None)

    RemoteContainer (a namedtuple-like object)
        .name       container name
        .url        "http(s)://127.0.0.1:PORT/devstoreaccount1/NAME" (no query)
        .key        the account key (for SharedKey: --tier-remote-key)
        .sas_url    url + "?" + a container SAS (racwdlt, 1 day)
        .sas        the SAS query string alone
        .client     azure.storage.blob.ContainerClient (SharedKey)
        .sas_for(permission="racwdlt", hours=24) -> str  another SAS token
        .with_base(base) -> RemoteContainer  the same container seen through
                    another "http://host:port" (e.g. a FaultProxy's .url)

    pytest fixtures (import them into a test module or conftest):
        azurite           module-scoped running Azurite
        remote_container  a fresh container in it per test

Nothing here reaches beyond the loopback interface.
"""
import datetime
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

from azure.storage.blob import (BlobServiceClient, ContainerSasPermissions,
                                generate_container_sas)

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
           "K1SZFPTOtr/KBHBeksoGMGw==")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def azurite_binary():
    return os.environ.get("AZURITE_BIN",
                          os.path.join(REPO, "node_modules", ".bin", "azurite-blob"))


def free_port():
    """A loopback port that was free a moment ago (the caller binds it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RemoteContainer:
    def __init__(self, name, base, key, account=DEV_ACCOUNT, ca_file=None):
        self.name = name
        self.ca_file = ca_file
        self.base = base.rstrip("/")
        self.account = account
        self.key = key
        self.url = "%s/%s/%s" % (self.base, account, name)
        self.sas = self.sas_for()
        self.sas_url = self.url + "?" + self.sas
        self.client = BlobServiceClient(
            account_url="%s/%s" % (self.base, account),
            credential={"account_name": account, "account_key": key},
            **({"connection_verify": ca_file} if ca_file else {}),
        ).get_container_client(name)

    def sas_for(self, permission="racwdlt", hours=24):
        return generate_container_sas(
            self.account, self.name, account_key=self.key,
            permission=ContainerSasPermissions.from_string(permission),
            expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours),
            start=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5))

    def with_base(self, base):
        """The same container addressed through `base` ("http://127.0.0.1:PORT")."""
        return RemoteContainer(self.name, base, self.key, self.account, self.ca_file)

    def __repr__(self):
        return "RemoteContainer(%r)" % self.url


class Azurite:
    def __init__(self, location=None, in_memory=False, extra_args=(), https=False):
        self._own_location = location is None
        self.location = location or tempfile.mkdtemp(prefix="strata-azurite-")
        self.in_memory = in_memory
        self.extra_args = list(extra_args)
        self.host = "127.0.0.1"
        self.port = None
        self.account = DEV_ACCOUNT
        self.key = DEV_KEY
        self.proc = None
        self._log = None
        self.scheme = "https" if https else "http"
        self.ca_file = None
        self._key_file = None
        if https:
            self.ca_file = os.path.join(self.location, "cert.pem")
            self._key_file = os.path.join(self.location, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", self._key_file, "-out", self.ca_file, "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True, timeout=60)

    def start(self, timeout=60):
        """Starts Azurite (on self.port when set, else a free port) and waits
        until it answers an HTTP request. Raises RuntimeError on failure."""
        keep_port = self.port is not None
        for _ in range(5):  # a free port can be taken between probe and bind
            port = self.port if keep_port else free_port()
            args = [azurite_binary(), "--blobHost", self.host, "--blobPort", str(port),
                    "--location", self.location, "--skipApiVersionCheck", "--loose",
                    "--silent", "--disableTelemetry"]
            if self.in_memory:
                args.append("--inMemoryPersistence")
            if self.ca_file:
                args += ["--cert", self.ca_file, "--key", self._key_file]
            args += self.extra_args
            self._log = open(os.path.join(self.location, "azurite.log"), "ab")
            self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                         cwd=self.location, start_new_session=True)
            self.port = port
            if self._wait_ready(time.time() + timeout):
                return self
            self._terminate()
            if keep_port:
                break
        raise RuntimeError("azurite did not start; log in %s" % self.location)

    def _wait_ready(self, deadline):
        url = "%s/%s?comp=list" % (self.base, self.account)
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                urllib.request.urlopen(url, timeout=2, context=context).close()
                return True
            except urllib.error.HTTPError:
                return True  # it answered (403: no credentials): it is up
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def _terminate(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def stop(self):
        """Stops Azurite; its port stays recorded so start() reuses it."""
        self._terminate()

    def restart(self, timeout=60):
        self.stop()
        return self.start(timeout)

    def cleanup(self):
        self.stop()
        if self._own_location:
            shutil.rmtree(self.location, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def base(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)

    @property
    def endpoint(self):
        return "%s/%s" % (self.base, self.account)

    @property
    def connection_string(self):
        return ("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
                % (self.scheme, self.account, self.key, self.endpoint))

    def service_client(self):
        if self.ca_file:
            return BlobServiceClient.from_connection_string(self.connection_string,
                                                            connection_verify=self.ca_file)
        return BlobServiceClient.from_connection_string(self.connection_string)

    def create_container(self, name=None):
        name = name or "r" + uuid.uuid4().hex[:20]
        self.service_client().create_container(name)
        return RemoteContainer(name, self.base, self.key, self.account, self.ca_file)


@pytest.fixture(scope="module")
def azurite():
    a = Azurite().start()
    yield a
    a.cleanup()


@pytest.fixture
def remote_container(azurite):
    if not azurite.alive():  # a test stopped it: bring it back for the next
        azurite.start()
    return azurite.create_container()


@pytest.fixture
def proxy(azurite):  # noqa: F811
    """A FaultProxy in front of the module's Azurite."""
    from fault_proxy import FaultProxy
    p = FaultProxy(azurite.port).start()
    yield p
    p.stop()
