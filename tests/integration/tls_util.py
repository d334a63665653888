"""HTTPS for tests: a throwaway test CA and a server certificate for
127.0.0.1 and localhost, made with the `openssl` CLI into a temporary
directory, and a strata server that serves HTTPS with it beside plain HTTP.

    pki = make_test_pki()                      # pki.ca, pki.cert, pki.key (paths)
    s = TlsStrataServer(pki).start()           # HTTP on s.port, HTTPS on s.tls_port
    BlobServiceClient.from_connection_string(s.https_connection_string,
                                             connection_verify=pki.ca)

Clients trust the CA by: Python SDK `connection_verify=pki.ca` (or
REQUESTS_CA_BUNDLE), Node NODE_EXTRA_CA_CERTS, azcopy and other Go programs
SSL_CERT_FILE, rclone --ca-cert, curl --cacert."""
import os
import re
import subprocess
import tempfile
import time

from strata_server import DEV_ACCOUNT, DEV_KEY, StrataServer


class TestPki:
    __test__ = False  # not a test class

    def __init__(self, directory):
        self.dir = directory
        self.ca = os.path.join(directory, "ca.pem")
        self.ca_key = os.path.join(directory, "ca.key")
        self.cert = os.path.join(directory, "server.pem")
        self.key = os.path.join(directory, "server.key")

    def path(self, name):
        return os.path.join(self.dir, name)


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_key(directory, name):
    """A new P-256 private key (PEM) at directory/name."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name, cwd=directory)
    return os.path.join(directory, name)


def make_test_pki(directory=None):
    """A CA (valid 2 days) and a server certificate it signed for
    IP 127.0.0.1 and DNS localhost (serverAuth), all P-256, PEM."""
    directory = directory or tempfile.mkdtemp(prefix="strata-pki-")
    pki = TestPki(directory)
    make_key(directory, "ca.key")
    _openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2",
             "-subj", "/CN=strata test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem", cwd=directory)
    make_key(directory, "server.key")
    _openssl("req", "-new", "-key", "server.key", "-subj", "/CN=127.0.0.1", "-out", "server.csr",
             cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "server.ext",
             "-out", "server.pem", cwd=directory)
    return pki


class TlsStrataServer(StrataServer):
    """A strata server with HTTPS. Beside (default): plain HTTP on `port`
    and HTTPS on `tls_port` (--tls-port 0: the server picks it). With
    https_only: HTTPS on `port` itself (no --tls-port), and tls_port == port."""

    def __init__(self, pki, extra_args=(), https_only=False, **kwargs):
        args = ["--cert", pki.cert, "--key", pki.key]
        if not https_only:
            args += ["--tls-port", "0"]
        super().__init__(extra_args=args + list(extra_args), **kwargs)
        self.pki = pki
        self.https_only = https_only
        self.tls_port = None

    def start(self, timeout=20):
        if self.https_only:
            super().start(timeout)
            self.tls_port = self.port
            return self
        # The base start reads the banner up to the connection string; the
        # HTTPS line follows it.
        super().start(timeout)
        deadline = time.time() + timeout
        while self.tls_port is None and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.banner += line
            m = re.search(r"strata https on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.tls_port = int(m.group(1))
        if self.tls_port is None:
            self.stop()
            raise RuntimeError("strata did not report its HTTPS port")
        return self

    @property
    def endpoint(self):
        scheme = "https" if self.https_only else "http"
        return "%s://127.0.0.1:%d/%s" % (scheme, self.port, DEV_ACCOUNT)

    @property
    def connection_string(self):
        scheme = "https" if self.https_only else "http"
        return ("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
                % (scheme, DEV_ACCOUNT, DEV_KEY, self.endpoint))

    @property
    def https_endpoint(self):
        return "https://127.0.0.1:%d/%s" % (self.tls_port, DEV_ACCOUNT)

    @property
    def https_connection_string(self):
        return ("DefaultEndpointsProtocol=https;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
                % (DEV_ACCOUNT, DEV_KEY, self.https_endpoint))

    def https_service(self, **kwargs):
        """A BlobServiceClient on the HTTPS endpoint that trusts the test CA."""
        from azure.storage.blob import BlobServiceClient
        return BlobServiceClient.from_connection_string(
            self.https_connection_string, connection_verify=self.pki.ca, **kwargs)

    def https_lake_client(self):
        """A DataLakeServiceClient (dfs) on the HTTPS endpoint, as the dev account."""
        from azure.storage.filedatalake import DataLakeServiceClient
        return DataLakeServiceClient(self.https_endpoint,
                                     credential={"account_name": DEV_ACCOUNT,
                                                 "account_key": DEV_KEY},
                                     connection_verify=self.pki.ca)

