"""Helpers of the cache-mode tests: a strata whose container "data" fronts a
container of a real Azurite (optionally through a FaultProxy), and a dataset
to fill that remote container with. Loopback only; every wait is bounded."""
import concurrent.futures
import hashlib
import json
import os
import tempfile
import time

from azure.storage.blob import ContentSettings

from tier_util import MIB, TierServer, raw_header  # noqa: F401

# The names every dataset has besides its many small blobs (a name -> bytes
# builder), chosen for what they test: nesting, spaces, non-ASCII, empty.
SPECIAL = {
    "a/b/c/deep.txt": lambda: b"deep " * 100,
    "dir with space/na\u00efve \u6587\u4ef6.txt": lambda: "non-ASCII \u00e9\u00e8".encode() * 50,
    "empty.bin": lambda: b"",
    "top.txt": lambda: b"top level\n",
    "train/shard-0000.bin": lambda: os.urandom(3 * MIB + 17),
    "train/shard-0001.bin": lambda: os.urandom(1 * MIB),
}


class CacheServer(TierServer):
    """A strata serving the development account with the container `data`
    in cache mode over `remote_url` (a container URL with a SAS). Extra
    cache settings (write_mode, revalidate_s, ...) go in `cache`; a tier
    section (watermarks) in `tier`."""

    def __init__(self, remote_url, cache=None, tier=None, root=None, extra_args=(), env=None,
                 container="data"):
        entry = {"mode": "cache", "remote": remote_url}
        entry.update(cache or {})
        cfg = {"containers": {container: entry}}
        if tier:
            cfg["tier"] = tier
        fd, self.config_path = tempfile.mkstemp(prefix="strata-cache-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        # TierServer adds --tier-remote; a cache needs none: start as a plain
        # StrataServer with the config.
        super().__init__(remote_url, root=root, extra_args=extra_args, env=env)
        self.extra_args = ["--io-timeout", "20"] + list(extra_args)
        self.config = self.config_path
        self.container = container

    def client(self, retry_total=None):
        kw = {} if retry_total is None else {"retry_total": retry_total}
        from azure.storage.blob import BlobServiceClient
        svc = BlobServiceClient.from_connection_string(self.connection_string, **kw)
        return svc.get_container_client(self.container)

    def path(self, name):
        return os.path.join(self.root, self.container, name)


def fill(container_client, n_small=10_000, big_mib=256, workers=16, seed_names=True):
    """Fills a remote container: SPECIAL, `n_small` small blobs under many/,
    one big blob of `big_mib` MiB (0: none). Returns {name: bytes} for all
    but the small ones and the big one, whose MD5s are in the result's
    "md5" entry; the small ones' content is their name."""
    data = {}
    if seed_names:
        for name, make in SPECIAL.items():
            data[name] = make()
            container_client.upload_blob(
                name, data[name], overwrite=True,
                metadata={"origin": "remote", "kind": "special"},
                content_settings=ContentSettings(content_type="text/plain", cache_control="no-cache"))

    def put(i):
        name = "many/%02d/f%05d.txt" % (i % 50, i)
        container_client.upload_blob(name, name.encode(), overwrite=True)

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(put, range(n_small)))
    md5 = {}
    if big_mib:
        big = os.urandom(big_mib * MIB)
        container_client.upload_blob("big/blob-256.bin", big, overwrite=True, max_concurrency=4)
        md5["big/blob-256.bin"] = hashlib.md5(big).hexdigest()
        data["big/blob-256.bin"] = None  # too big to keep: see md5
        del big
    return data, md5


_prefill = {}


def start_prefill():
    """Starts an Azurite and fills a container of it with the dataset (fill)
    on a background thread; prefilled() waits for it."""
    import threading
    if "thread" in _prefill:
        return

    def run():
        from azurite import Azurite
        try:
            a = Azurite().start()
            _prefill["azurite"] = a
            rc = a.create_container()
            t0 = time.time()
            data, md5 = fill(rc.client, n_small=int(os.environ.get("CACHE_TEST_SMALL", "10000")))
            _prefill["dataset"] = (rc, data, md5)
            _prefill["seconds"] = time.time() - t0
        except Exception as e:  # reported by prefilled()
            _prefill["error"] = e
    t = threading.Thread(target=run, daemon=True)
    _prefill["thread"] = t
    t.start()


def prefilled(timeout=900):
    """(azurite, (container, data, md5)) of the dataset start_prefill made."""
    start_prefill()
    _prefill["thread"].join(timeout)
    if "error" in _prefill:
        raise _prefill["error"]
    if "dataset" not in _prefill:
        raise AssertionError("the cache dataset was not filled within %d s" % timeout)
    return _prefill["azurite"], _prefill["dataset"]


def stop_prefill():
    a = _prefill.get("azurite")
    if a is not None:
        a.cleanup()


def local_blocks(path):
    """512-byte blocks the file holds on disk (0: a stub)."""
    return os.stat(path).st_blocks


def wait_for(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
