"""azcopy against strata beyond copy over the blob endpoint: the dfs
endpoint (--from-to LocalBlobFS / BlobFSLocal, with and without MD5s), list,
remove, make and sync --delete-destination, on both endpoints.

With an IP endpoint azcopy cannot tell blob from dfs, so every command names
--from-to (or list's --location). azcopy make refuses a path-style URL; it
reaches strata by a host-style name (ACCOUNT.blob.localhost) through
HTTP_PROXY, which strata serves as an origin server (absolute-form)."""
import os
import shutil
import uuid

import pytest

from client_util import (account_sas, container_sas_url, md5_file, tree_md5s, write_file)
from strata_server import DEV_ACCOUNT
from test_azcopy import azcopy, blob_md5s


def listed(binary, workdir, url, location, env_extra=None):
    """{name: size} from `azcopy list --machine-readable`, folders (ending
    in /) left out."""
    out = azcopy(binary, workdir, "list", url, "--location", location, "--machine-readable",
                 env_extra=env_extra)
    names = {}
    for line in out.splitlines():
        if "; Content Length: " not in line:
            continue
        name, size = line.split("; Content Length: ")
        if not name.endswith("/"):
            names[name] = int(size)
    return names


def new_container(service):
    return service.create_container("c" + uuid.uuid4().hex[:20])


def test_azcopy_dfs_up_down_list_remove(server, service, container, source_tree, workdir,
                                        azcopy_bin):
    """The mixed tree up and down over the dfs endpoint, with --put-md5 and
    --check-md5, and without; then list and remove on the tree uploaded.
    Files over 8 MiB go up as parallel appends (issue 11: every one failed,
    out of order); without --put-md5 every flush carries an empty
    x-ms-content-md5 (issue 11: no file went up)."""
    want = tree_md5s(source_tree)
    name = container.container_name
    url = container_sas_url(server, name)

    azcopy(azcopy_bin, workdir, "copy", source_tree + "/*", url, "--recursive",
           "--from-to", "LocalBlobFS", "--put-md5")
    assert blob_md5s(container) == want  # every file, with its MD5
    assert tree_md5s(os.path.join(server.root, name)) == want
    down = os.path.join(workdir, "down-md5")
    os.makedirs(down)
    azcopy(azcopy_bin, workdir, "copy", url, down, "--recursive", "--from-to", "BlobFSLocal",
           "--check-md5", "FailIfDifferentOrMissing")
    assert tree_md5s(os.path.join(down, name)) == want

    plain = new_container(service)
    try:
        pname = plain.container_name
        purl = container_sas_url(server, pname)
        azcopy(azcopy_bin, workdir, "copy", source_tree + "/*", purl, "--recursive",
               "--from-to", "LocalBlobFS")
        assert tree_md5s(os.path.join(server.root, pname)) == want
        down = os.path.join(workdir, "down-plain")
        os.makedirs(down)
        azcopy(azcopy_bin, workdir, "copy", purl, down, "--recursive", "--from-to",
               "BlobFSLocal", "--check-md5", "FailIfDifferent")
        assert tree_md5s(os.path.join(down, pname)) == want

        # list, on both endpoints: the files and their sizes.
        sizes = {rel: os.path.getsize(os.path.join(source_tree, rel)) for rel in want}
        assert listed(azcopy_bin, workdir, purl, "BlobFS") == sizes
        assert listed(azcopy_bin, workdir, purl, "Blob") == sizes

        # remove over dfs: a file, a folder (one recursive Path - Delete),
        # then the file system itself.
        base, sas = purl.split("?", 1)
        azcopy(azcopy_bin, workdir, "remove", "%s/odd/prime.bin?%s" % (base, sas),
               "--from-to", "BlobFSTrash")
        azcopy(azcopy_bin, workdir, "remove", "%s/nested?%s" % (base, sas), "--recursive",
               "--from-to", "BlobFSTrash")
        left = {rel for rel in want if rel != "odd/prime.bin" and not rel.startswith("nested/")}
        assert set(tree_md5s(os.path.join(server.root, pname))) == left
        assert set(listed(azcopy_bin, workdir, purl, "BlobFS")) == left
        # Deleting the file system itself takes an account SAS: a service
        # (container) SAS grants no container-level operation on Azure.
        azcopy(azcopy_bin, workdir, "remove", "%s?%s" % (base, account_sas()), "--recursive",
               "--from-to", "BlobFSTrash")
        assert not plain.exists()
    finally:
        try:
            plain.delete_container()
        except Exception:
            pass

    # remove over the blob endpoint: a file.
    base, sas = url.split("?", 1)
    azcopy(azcopy_bin, workdir, "remove", "%s/one.txt?%s" % (base, sas), "--from-to", "BlobTrash")
    assert set(blob_md5s(container)) == set(want) - {"one.txt"}

    # A file flushed in steps (1 MiB chunks, a flush every 15 with the rest
    # retained), as azcopy's own test against Azure does.
    azcopy(azcopy_bin, workdir, "copy", os.path.join(source_tree, "big", "sixty-four.bin"),
           "%s/steps.bin?%s" % (base, sas), "--from-to", "LocalBlobFS", "--block-size-mb", "1",
           "--flush-threshold", "15")
    assert md5_file(os.path.join(server.root, name, "steps.bin")) == want["big/sixty-four.bin"]


SMALL = [("top.txt", 10), ("keep/a.bin", 3000), ("keep/deep/b.bin", 70000),
         ("gone/x.txt", 5), ("gone/sub/y.txt", 6)]


@pytest.mark.parametrize("endpoint", ["Blob", "BlobFS"])
def test_azcopy_sync_delete_destination(server, container, workdir, azcopy_bin, endpoint):
    """sync --delete-destination=true up (local to the container) and down
    (the container to a directory), over either endpoint: what the source
    lacks goes, files and folders."""
    name = container.container_name
    url = container_sas_url(server, name)
    local = os.path.join(workdir, "local")
    for i, (rel, size) in enumerate(SMALL):
        write_file(os.path.join(local, rel), size, seed=i)
    up = "Local" + endpoint
    azcopy(azcopy_bin, workdir, "sync", local, url, "--recursive", "--from-to", up,
           "--delete-destination", "true")
    assert tree_md5s(os.path.join(server.root, name)) == tree_md5s(local)

    # Up: a folder and a file go, a file comes, a file changes.
    shutil.rmtree(os.path.join(local, "gone"))
    os.remove(os.path.join(local, "top.txt"))
    write_file(os.path.join(local, "keep", "new.bin"), 4097, seed=50)
    changed = os.path.join(local, "keep", "a.bin")
    write_file(changed, 3001, seed=51)
    future = os.stat(local).st_mtime + 120  # sync compares last-modified times
    os.utime(changed, (future, future))
    azcopy(azcopy_bin, workdir, "sync", local, url, "--recursive", "--from-to", up,
           "--delete-destination", "true")
    want = tree_md5s(local)
    assert tree_md5s(os.path.join(server.root, name)) == want
    assert not os.path.exists(os.path.join(server.root, name, "gone"))
    assert set(listed(azcopy_bin, workdir, url, endpoint)) == set(want)

    # Down into a directory holding extra files and folders.
    down = os.path.join(workdir, "down")
    write_file(os.path.join(down, "extra.txt"), 3, seed=60)
    write_file(os.path.join(down, "keep", "extra", "z.bin"), 30, seed=61)
    write_file(os.path.join(down, "keep", "a.bin"), 1, seed=62)
    past = os.stat(local).st_mtime - 3600
    os.utime(os.path.join(down, "keep", "a.bin"), (past, past))
    azcopy(azcopy_bin, workdir, "sync", url, down, "--recursive", "--from-to",
           endpoint + "Local", "--delete-destination", "true")
    assert tree_md5s(down) == want
    assert md5_file(os.path.join(down, "keep", "a.bin")) == want["keep/a.bin"]


def test_azcopy_make(server, service, workdir, azcopy_bin):
    """azcopy make creates a container (blob endpoint) and a file system
    (dfs endpoint). azcopy takes the kind from the host name and refuses a
    path-style URL, so the URL is host-style and reaches strata through
    HTTP_PROXY."""
    proxy = {"HTTP_PROXY": "http://127.0.0.1:%d" % server.port, "NO_PROXY": ""}
    sas = account_sas()
    made = []
    try:
        for kind in ("blob", "dfs"):
            name = "mk" + kind + uuid.uuid4().hex[:12]
            made.append(name)
            url = "http://%s.%s.localhost:%d/%s?%s" % (DEV_ACCOUNT, kind, server.port, name, sas)
            out = azcopy(azcopy_bin, workdir, "make", url, env_extra=proxy)
            assert "Successfully created" in out
            assert service.get_container_client(name).exists()
            # list takes the kind from the host name too.
            assert listed(azcopy_bin, workdir, url, "BlobFS" if kind == "dfs" else "Blob",
                          env_extra=proxy) == {}
    finally:
        for name in made:
            try:
                service.delete_container(name)
            except Exception:
                pass
