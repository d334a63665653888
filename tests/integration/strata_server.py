"""Starts and stops a strata server for tests: a free loopback port (the
server picks it with --port 0 and prints it), a fresh root, and a readiness
probe instead of a fixed sleep."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
           "K1SZFPTOtr/KBHBeksoGMGw==")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def strata_binary():
    return os.environ.get("STRATA_BIN", os.path.join(REPO, "build", "strata"))


class DevAccountEndpoint:
    """How clients reach the development account on `self.port` (a server,
    or a load balancer in front of several)."""

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d/%s" % (self.port, DEV_ACCOUNT)

    @property
    def connection_string(self):
        return ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
                % (DEV_ACCOUNT, DEV_KEY, self.endpoint))

    def lake_client(self):
        """A DataLakeServiceClient (dfs) on the path-style endpoint, as the dev account."""
        from azure.storage.filedatalake import DataLakeServiceClient
        return DataLakeServiceClient(self.endpoint, credential={"account_name": DEV_ACCOUNT,
                                                                "account_key": DEV_KEY})


class StrataServer(DevAccountEndpoint):
    def __init__(self, root=None, extra_args=(), config=None, preexec_fn=None, port=0, env=None,
                 create_root=True):
        self.root = root or tempfile.mkdtemp(prefix="strata-test-")
        self.listen_port = port  # 0: the server picks one (a restart may name the old one)
        self.env = env  # the child's environment (None: this one's)
        self.extra_args = list(extra_args)
        self.config = config
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. setrlimit)
        self.create_root = create_root
        self.proc = None
        self.port = None

    def start(self, timeout=20):
        # --create-root: test roots (and the account roots of test configs)
        # are often paths not made yet; a missing root is otherwise refused.
        args = [strata_binary(), "serve", "--host", "127.0.0.1", "--port", str(self.listen_port),
                "--root", self.root] + (["--create-root"] if self.create_root else []) + self.extra_args
        if self.config:
            args += ["--config", self.config]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, preexec_fn=self.preexec_fn, env=self.env)
        deadline = time.time() + timeout
        self.banner = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            self.banner += line
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("strata exited with %s" % self.proc.returncode)
                continue
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.banner += self.proc.stdout.readline()  # the connection string
                break
        if self.port is None:
            self.stop()
            raise RuntimeError("strata did not report its port")
        self._wait_ready(deadline)
        return self

    def _wait_ready(self, deadline):
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("strata did not accept connections")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # SIGTERM drains (--drain-seconds): a request a test left in
                # flight may hold it; a second signal stops at once, cleanly.
                if sig in (signal.SIGTERM, signal.SIGINT):
                    self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._exited()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def _exited(self):
        """After the process has exited, before its output pipe closes."""

    def kill(self):
        self.stop(signal.SIGKILL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None



def free_port():
    """A loopback port free at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_with_dfs_port(extra_args=(), config=None):
    """A started server with a dfs endpoint of its own (--dfs-port) as
    `dfs_port`. The port is picked free here, so a start that lost it to
    another process is tried again (3 times at most)."""
    last = None
    for _ in range(3):
        port = free_port()
        s = StrataServer(extra_args=["--dfs-port", str(port)] + list(extra_args), config=config)
        try:
            s.start()
        except RuntimeError as e:
            last = e
            continue
        s.dfs_port = port
        return s
    raise last
