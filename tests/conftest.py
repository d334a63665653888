"""Session-wide set-up shared by the test directories.

The cache tests (tests/tier/test_cache.py) read a remote dataset of 10,000
small blobs and a 256 MiB blob in a real Azurite. Filling it takes about a
minute, bound by Azurite, so it starts in the background as soon as the
session knows it will run those tests, while the tests that come before
them run (tests/tier/cache_util.py: start_prefill, prefilled)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _cache_util():
    for d in ("tier", "integration"):
        p = os.path.join(HERE, d)
        if p not in sys.path:
            sys.path.insert(0, p)
    import cache_util
    return cache_util


def pytest_collection_finish(session):
    if any("tier/test_cache.py" in item.nodeid for item in session.items):
        _cache_util().start_prefill()


def pytest_sessionfinish(session, exitstatus):
    if "cache_util" in sys.modules:
        sys.modules["cache_util"].stop_prefill()
