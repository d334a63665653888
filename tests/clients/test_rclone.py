"""rclone against strata: copy a mixed tree up, check it with MD5, copy it
down and compare; sync with deletes both ways, ls, lsf, delete, purge.
rclone reaches a local endpoint only through a SAS URL (Debian's 1.60 builds
https://ACCOUNT.ENDPOINT from account, key and endpoint, and its
use_emulator fails); with a container SAS the remote path still names the
container (strata:NAME)."""
import json
import os
import shutil
import subprocess

from client_util import container_sas_url, tree_md5s, write_file


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


SMALL = [("top.txt", 10), ("keep/a.bin", 3000), ("keep/deep/b.bin", 70000),
         ("gone/x.txt", 5), ("gone/sub/y.txt", 6), ("logs/1.log", 100), ("logs/2.txt", 200),
         ("junk/p/q.bin", 4000), ("junk/r.bin", 1)]


def remote_files(container):
    """{name: md5 hex} of the blobs that are files (directories, listed on an
    HNS-like account with hdi_isfolder, left out)."""
    out = {}
    for b in container.list_blobs(include=["metadata"]):
        if (b.metadata or {}).get("hdi_isfolder") == "true":
            continue
        out[b.name] = bytes(b.content_settings.content_md5 or b"").hex()
    return out


def test_rclone_sync_ls_delete_purge(server, container, workdir, rclone_bin):
    """sync with deletes (up and down), ls and lsf, delete with a filter,
    purge of a directory: all through a remote defined by its container SAS
    URL (sas_url), the only way rclone reaches a local endpoint."""
    name = container.container_name
    remote = "strata:" + name
    local = os.path.join(workdir, "local")
    for i, (rel, size) in enumerate(SMALL):
        write_file(os.path.join(local, rel), size, seed=i)
    rclone(rclone_bin, server, name, workdir, "sync", local, remote)
    assert remote_files(container) == tree_md5s(local)

    # sync deletes what the source no longer has.
    shutil.rmtree(os.path.join(local, "gone"))
    os.remove(os.path.join(local, "top.txt"))
    write_file(os.path.join(local, "keep", "new.bin"), 4097, seed=50)
    write_file(os.path.join(local, "keep", "a.bin"), 3001, seed=51)  # another size
    rclone(rclone_bin, server, name, workdir, "sync", local, remote)
    want = tree_md5s(local)
    assert remote_files(container) == want
    assert tree_md5s(os.path.join(server.root, name)) == want

    # ls: size and path of every file; lsf: one level, directories with /.
    p = rclone(rclone_bin, server, name, workdir, "ls", remote)
    sizes = {}
    for line in p.stdout.splitlines():
        size, path = line.strip().split(" ", 1)
        sizes[path] = int(size)
    assert sizes == {rel: os.path.getsize(os.path.join(local, rel)) for rel in want}
    p = rclone(rclone_bin, server, name, workdir, "lsf", remote)
    assert sorted(p.stdout.split()) == ["junk/", "keep/", "logs/"]
    p = rclone(rclone_bin, server, name, workdir, "lsf", "-R", "--files-only", remote)
    assert sorted(p.stdout.split()) == sorted(want)

    # delete: the files a filter picks, in one directory.
    rclone(rclone_bin, server, name, workdir, "delete", remote + "/logs", "--include", "*.txt")
    want.pop("logs/2.txt")
    assert remote_files(container) == want

    # purge: a directory and all below it.
    rclone(rclone_bin, server, name, workdir, "purge", remote + "/junk")
    want = {k: v for k, v in want.items() if not k.startswith("junk/")}
    assert remote_files(container) == want
    p = rclone(rclone_bin, server, name, workdir, "lsf", remote)
    assert sorted(p.stdout.split()) == ["keep/", "logs/"]

    # sync down deletes the destination's extra files.
    down = os.path.join(workdir, "down")
    write_file(os.path.join(down, "extra", "e.txt"), 7, seed=70)
    write_file(os.path.join(down, "keep", "stale.bin"), 8, seed=71)
    rclone(rclone_bin, server, name, workdir, "sync", remote, down)
    assert tree_md5s(down) == want
