import os

import pytest
from azure.core.exceptions import ResourceNotFoundError

from dfs_util import assert_json_error, raw


def test_DeletePath_recursive(filesystem, server):
    d = filesystem.create_directory("t")
    for i in range(20):
        d.create_file("sub/%d" % i)
    d.delete_directory()
    assert not os.path.exists(os.path.join(server.root, filesystem.file_system_name, "t"))
    assert list(filesystem.get_paths()) == []


def test_DeletePath_non_empty_without_recursive(filesystem, server):
    d = filesystem.create_directory("t")
    d.create_file("f")
    r = raw(server, "DELETE", filesystem.file_system_name, "t", "recursive=false")
    assert_json_error(r, 409, "DirectoryNotEmpty")


def test_DeletePath_empty_directory(filesystem, server):
    filesystem.create_directory("e")
    r = raw(server, "DELETE", filesystem.file_system_name, "e", "recursive=false")
    assert r.status_code == 200
    assert not os.path.exists(os.path.join(server.root, filesystem.file_system_name, "e"))


def test_DeletePath_missing(filesystem, server):
    r = raw(server, "DELETE", filesystem.file_system_name, "nope", "recursive=true")
    assert_json_error(r, 404, "PathNotFound")


def test_DeletePath_file(filesystem):
    f = filesystem.create_file("f")
    f.delete_file()
    assert not f.exists()


def test_DeletePath_posix_made_tree(filesystem, server):
    base = os.path.join(server.root, filesystem.file_system_name, "p", "q")
    os.makedirs(base)
    open(os.path.join(base, "x"), "wb").close()
    filesystem.get_directory_client("p").delete_directory()
    assert not os.path.exists(os.path.join(server.root, filesystem.file_system_name, "p"))
