import os
import threading
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from dfs_util import assert_json_error, raw


def test_RenamePath_file(filesystem, server):
    f = filesystem.create_file("a.txt")
    f.upload_data(b"abc", overwrite=True)
    g = f.rename_file(filesystem.file_system_name + "/b.txt")
    assert g.download_file().readall() == b"abc"
    assert not f.exists()


def test_RenamePath_directory(filesystem):
    d = filesystem.create_directory("src")
    d.create_file("x").upload_data(b"1", overwrite=True)
    d2 = d.rename_directory(filesystem.file_system_name + "/dst")
    assert d2.get_file_client("x").download_file().readall() == b"1"
    assert not d.exists()


def test_RenamePath_destination_parent_missing(filesystem, server):
    filesystem.create_file("a")
    r = raw(server, "PUT", filesystem.file_system_name, "no/such/b", "mode=legacy",
            headers={"x-ms-rename-source": "/%s/a" % filesystem.file_system_name})
    assert_json_error(r, 404, "RenameDestinationParentPathNotFound")


def test_RenamePath_source_missing(filesystem, server):
    r = raw(server, "PUT", filesystem.file_system_name, "b", "mode=legacy",
            headers={"x-ms-rename-source": "/%s/nope" % filesystem.file_system_name})
    assert_json_error(r, 404, "SourcePathNotFound")


def test_RenamePath_destination_exists_if_none_match(filesystem, server):
    filesystem.create_file("a")
    filesystem.create_file("b")
    r = raw(server, "PUT", filesystem.file_system_name, "b", "mode=posix",
            headers={"x-ms-rename-source": "/%s/a" % filesystem.file_system_name,
                     "If-None-Match": "*"})
    assert_json_error(r, 409, "PathAlreadyExists")


def test_RenamePath_source_condition(filesystem, server):
    filesystem.create_file("a")
    r = raw(server, "PUT", filesystem.file_system_name, "b", "",
            headers={"x-ms-rename-source": "/%s/a" % filesystem.file_system_name,
                     "x-ms-source-if-match": '"0xdeadbeef"'})
    assert_json_error(r, 412, "SourceConditionNotMet")


def test_RenamePath_bad_mode(filesystem, server):
    filesystem.create_file("a")
    r = raw(server, "PUT", filesystem.file_system_name, "b", "mode=weird",
            headers={"x-ms-rename-source": "/%s/a" % filesystem.file_system_name})
    assert_json_error(r, 400, "InvalidQueryParameterValue")


def test_RenamePath_into_itself(filesystem, server):
    filesystem.create_directory("d")
    r = raw(server, "PUT", filesystem.file_system_name, "d/e", "",
            headers={"x-ms-rename-source": "/%s/d" % filesystem.file_system_name})
    assert_json_error(r, 400, "InvalidRenameSourcePath")


def test_RenamePath_directory_of_10000_files_is_atomic(filesystem, server, dfs):
    n = 10000
    fsname = filesystem.file_system_name
    old = os.path.join(server.root, fsname, "old")
    os.mkdir(old)
    for i in range(n):
        with open(os.path.join(old, "f%05d" % i), "wb"):
            pass
    seen = []
    errors = []
    stop = threading.Event()

    def lister():
        deadline = time.time() + 60
        iterations = 0
        while not stop.is_set() and time.time() < deadline and iterations < 500:
            iterations += 1
            r = raw(server, "GET", fsname, "", "resource=filesystem&recursive=true&maxResults=5000")
            if r.status_code != 200:
                errors.append(r.status_code)
                continue
            names = [p["name"] for p in r.json()["paths"]]
            tops = {nm.split("/")[0] for nm in names}
            seen.append(tops)
            # One page: the directory and its first files, all under one name.
            if len(tops) != 1 or len(names) != 5000:
                errors.append(sorted(tops))

    t = threading.Thread(target=lister)
    t.start()
    time.sleep(0.3)
    d = filesystem.get_directory_client("old")
    dir_ino = os.stat(old).st_ino
    file_ino = os.stat(os.path.join(old, "f04321")).st_ino
    d.rename_directory(fsname + "/new")
    time.sleep(0.3)
    stop.set()
    t.join(90)
    assert not errors, errors[:5]
    assert seen and all(tops in ({"old"}, {"new"}) for tops in seen)
    names = [p.name for p in filesystem.get_paths(recursive=True)]
    assert len(names) == n + 1
    assert all(nm == "new" or nm.startswith("new/") for nm in names)
    # One rename(2), not a copy: the directory and its files keep their inodes.
    new = os.path.join(server.root, fsname, "new")
    assert os.stat(new).st_ino == dir_ino
    assert os.stat(os.path.join(new, "f04321")).st_ino == file_ino
    assert not os.path.exists(old)
