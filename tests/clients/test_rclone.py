"""rclone against strata: copy a mixed tree up, check it with MD5, copy it
down and compare. rclone reaches a local endpoint only through a SAS URL; with
a container SAS the remote path still names the container (strata:NAME)."""
import json
import os
import subprocess

from client_util import container_sas_url, tree_md5s


def rclone(binary, server, container_name, workdir, *args, timeout=300, check=True):
    env = dict(os.environ)
    env["RCLONE_CONFIG_STRATA_TYPE"] = "azureblob"
    env["RCLONE_CONFIG_STRATA_SAS_URL"] = container_sas_url(server, container_name)
    env["RCLONE_CONFIG"] = os.path.join(workdir, "rclone.conf")  # never the user's config
    env["RCLONE_CACHE_DIR"] = os.path.join(workdir, "rclone-cache")
    cmd = [binary, "--retries", "1", "--low-level-retries", "2", "--transfers", "4"] + list(args)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "rclone %s failed (%d):\n%s\n%s" % (
            args[0], p.returncode, p.stdout[-4000:], p.stderr[-4000:])
    return p


def test_rclone_copy_check_and_back(server, container, source_tree, workdir, rclone_bin):
    name = container.container_name
    want = tree_md5s(source_tree)

    rclone(rclone_bin, server, name, workdir, "copy", source_tree, "strata:" + name)
    assert tree_md5s(os.path.join(server.root, name)) == want

    # check compares sizes and MD5 hashes (rclone stores Content-MD5 on upload).
    rclone(rclone_bin, server, name, workdir, "check", source_tree, "strata:" + name)

    # The listing carries the same MD5s.
    p = rclone(rclone_bin, server, name, workdir, "lsjson", "-R", "--files-only", "--hash",
               "strata:" + name)
    listed = {e["Path"]: e["Hashes"]["md5"] for e in json.loads(p.stdout)}
    assert listed == want
    p = rclone(rclone_bin, server, name, workdir, "md5sum", "strata:" + name)
    sums = {}
    for line in p.stdout.splitlines():
        md5, path = line.split("  ", 1)
        sums[path] = md5
    assert sums == want

    down = os.path.join(workdir, "down")
    rclone(rclone_bin, server, name, workdir, "copy", "strata:" + name, down)
    assert tree_md5s(down) == want

    # A changed local file makes check fail (the comparison is real).
    with open(os.path.join(down, "one.txt"), "wb") as f:
        f.write(b"Z")
    p = rclone(rclone_bin, server, name, workdir, "check", down, "strata:" + name, check=False)
    assert p.returncode != 0
