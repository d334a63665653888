"""azcopy against strata: copy a mixed tree up and down, then sync a change
up, comparing the MD5 of every file."""
import hashlib
import os
import shutil
import subprocess

from client_util import container_sas_url, md5_file, tree_md5s, write_file


def azcopy(binary, workdir, *args, timeout=300, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    env["AZCOPY_LOG_LOCATION"] = os.path.join(workdir, "azlogs")
    env["AZCOPY_JOB_PLAN_LOCATION"] = os.path.join(workdir, "azplans")
    env["AZCOPY_DISABLE_SYSLOG"] = "true"
    env["AZCOPY_CONCURRENCY_VALUE"] = "8"
    env["AZCOPY_BUFFER_GB"] = "0.5"
    env.pop("AZCOPY_AUTO_LOGIN_TYPE", None)
    cmd = [binary] + list(args) + ["--log-level", "INFO"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "azcopy %s failed (%d):\n%s\n%s" % (
        args[0], p.returncode, p.stdout[-4000:], p.stderr[-2000:])
    return p.stdout


def blob_md5s(container):
    """{name: md5 hex} from the listing's Content-MD5 (set by azcopy), of the
    files only: directories are listed too (HNS), marked hdi_isfolder."""
    out = {}
    for b in container.list_blobs(include=["metadata"]):
        if (b.metadata or {}).get("hdi_isfolder") == "true":
            assert b.size == 0  # a directory, as an HNS account lists it
            continue
        md5 = b.content_settings.content_md5
        out[b.name] = bytes(md5).hex() if md5 else None
    return out


def test_azcopy_copy_up_down_and_sync(server, container, source_tree, workdir, azcopy_bin):
    url = container_sas_url(server, container.container_name)
    want = tree_md5s(source_tree)

    # Copy up: the contents of the tree (trailing /*) to the container root.
    azcopy(azcopy_bin, workdir, "copy", source_tree + "/*", url, "--recursive",
           "--from-to", "LocalBlob", "--put-md5")
    listed = blob_md5s(container)
    assert set(listed) == set(want)
    assert listed == want  # azcopy --put-md5 stores each file's MD5
    for name, md5 in want.items():  # and the bytes themselves match
        data = container.download_blob(name).readall()
        assert hashlib.md5(data).hexdigest() == md5, name
    on_disk = tree_md5s(os.path.join(server.root, container.container_name))
    assert on_disk == want

    # Copy down into an empty directory and compare every file.
    down = os.path.join(workdir, "down")
    os.makedirs(down)
    azcopy(azcopy_bin, workdir, "copy", url, down, "--recursive", "--from-to", "BlobLocal",
           "--check-md5", "FailIfDifferentOrMissing")
    got = tree_md5s(os.path.join(down, container.container_name))
    assert got == want

    # Sync up after modifying one file and adding another.
    local = os.path.join(workdir, "local")
    shutil.copytree(source_tree, local)
    write_file(os.path.join(local, "odd", "prime.bin"), 8191, seed=99)
    write_file(os.path.join(local, "nested", "a", "b", "new.bin"), 2 * 1024 * 1024 + 5, seed=100)
    # sync compares last-modified times: make the changed file clearly newer.
    future = os.stat(local).st_mtime + 120
    os.utime(os.path.join(local, "odd", "prime.bin"), (future, future))
    azcopy(azcopy_bin, workdir, "sync", local, url, "--recursive", "--from-to", "LocalBlob",
           "--put-md5", "--delete-destination", "false")
    want2 = tree_md5s(local)
    assert want2 != want
    listed = blob_md5s(container)
    assert set(listed) == set(want2)
    for name, md5 in want2.items():
        data = container.download_blob(name).readall()
        assert hashlib.md5(data).hexdigest() == md5, name
    assert md5_file(os.path.join(server.root, container.container_name, "odd", "prime.bin")) == \
        want2["odd/prime.bin"]
