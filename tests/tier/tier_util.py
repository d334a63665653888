"""Helpers of the capacity tier's end-to-end tests: a strata server with a
capacity tier in front of a real Azurite (optionally through a FaultProxy),
and waits on a blob's tier state. Loopback only; every wait is bounded."""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from azure.storage.blob import BlobServiceClient  # noqa: E402

from strata_server import StrataServer  # noqa: E402

MIB = 1 << 20


class TierServer(StrataServer):
    """A StrataServer whose output is drained (so a chatty tier never blocks
    on a full pipe) and kept for assertions, with optional environment
    (STRATA_CRASH_AT) for the one process."""

    def __init__(self, remote_url, key=None, root=None, extra_args=(), env=None):
        args = ["--tier-remote", remote_url, "--tier-retry-ms", "200", "--io-timeout", "20"]
        if key:
            args += ["--tier-remote-key", key]
        super().__init__(root=root, extra_args=args + list(extra_args))
        self.env = env or {}
        self.output = []
        self._drain = None

    def start(self, timeout=20):
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            super().start(timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        out = self.proc.stdout

        def drain():
            try:
                for line in out:
                    self.output.append(line)
            except (ValueError, OSError):
                pass
        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        return self

    def stop(self, sig=None):
        import signal as _s
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig or _s.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        if self._drain:
            self._drain.join(timeout=5)

    def wait_exit(self, timeout=60):
        """Waits for the process to end by itself (a crash point); its code."""
        return self.proc.wait(timeout=timeout)

    def service(self):
        return BlobServiceClient.from_connection_string(self.connection_string)

    def log(self):
        return "".join(self.output)


CACHED = "cached"


class CacheServer(TierServer):
    """A strata whose container `cached` (CACHED) fronts `remote` (an
    azurite.RemoteContainer, by its SAS URL) in cache mode, from a --config
    file written in `tmp`, with an admin port (.admin); no capacity tier.
    Its output is drained as TierServer's is."""

    def __init__(self, remote, tmp, write_mode="write_through", extra_args=()):
        import json
        cfg = os.path.join(str(tmp), "strata-cache.json")
        with open(cfg, "w") as f:
            json.dump({"containers": {CACHED: {"mode": "cache", "remote": remote.sas_url,
                                               "write_mode": write_mode,
                                               "revalidate_s": 3600}}}, f)
        StrataServer.__init__(self, extra_args=["--admin-port", "0", "--io-timeout", "20"]
                              + list(extra_args), config=cfg)
        self.env = {}
        self.output = []
        self._drain = None
        self.admin = None

    def start(self, timeout=20):
        import re
        super().start(timeout)
        m = re.search(r"admin on [\d.]+:(\d+)", self.banner)
        assert m, self.banner
        self.admin = "http://127.0.0.1:%s" % m.group(1)
        return self


def tier_state(blob):
    """x-strata-tier-state of a blob client's blob."""
    props = blob.get_blob_properties()
    return props.get("x-strata-tier-state") or raw_header(blob, "x-strata-tier-state")


def raw_header(blob, name):
    """A response header of Get Blob Properties, by raw name."""
    seen = {}

    def hook(resp):
        seen.update({k.lower(): v for k, v in resp.http_response.headers.items()})
    blob.get_blob_properties(raw_response_hook=hook)
    return seen.get(name.lower())


def wait_state(blob, state, timeout=60):
    """Waits until the blob's x-strata-tier-state is `state`; returns it."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = raw_header(blob, "x-strata-tier-state")
        if last == state:
            return last
        time.sleep(0.05)
    raise AssertionError("blob %s stayed %s, not %s" % (blob.blob_name, last, state))


def sparse_blocks(path):
    """512-byte blocks the file occupies on disk."""
    return os.stat(path).st_blocks


def remote_names(remote_container):
    return sorted(b.name for b in remote_container.client.list_blobs())


def tmp_files(root):
    d = os.path.join(root, ".strata", "tmp")
    # Files staged in any gateway's directory under .strata/tmp.
    return sorted(os.path.relpath(os.path.join(dp, f), d) for dp, _, fs in os.walk(d) for f in fs)


def journal_files(root):
    """The tier's journal entries (and half-written ones) of every gateway
    (.strata/journal/GATEWAY-ID/) and of an older strata (directly in
    .strata/journal), relative to .strata/journal."""
    d = os.path.join(root, ".strata", "journal")
    return sorted(os.path.relpath(os.path.join(dp, f), d) for dp, _, fs in os.walk(d) for f in fs)


def journal_dirs(root):
    """The gateways that have a journal under .strata/journal."""
    d = os.path.join(root, ".strata", "journal")
    return sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))) \
        if os.path.isdir(d) else []
