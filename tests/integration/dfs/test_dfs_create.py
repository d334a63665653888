import os

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError

from dfs_util import assert_json_error, raw


def test_CreatePath_file_is_empty_and_visible(filesystem, server):
    f = filesystem.create_file("a/b/c.txt")
    props = f.get_file_properties()
    assert props.size == 0
    p = os.path.join(server.root, filesystem.file_system_name, "a", "b", "c.txt")
    assert os.path.isfile(p)


def test_CreatePath_directory_creates_parents(filesystem, server):
    d = filesystem.create_directory("x/y/z")
    assert d.get_directory_properties().metadata.get("hdi_isfolder") == "true"
    for rel in ("x", "x/y", "x/y/z"):
        assert os.path.isdir(os.path.join(server.root, filesystem.file_system_name, rel))


def test_CreatePath_if_none_match_star_refused(filesystem, server):
    filesystem.create_file("f")
    r = raw(server, "PUT", filesystem.file_system_name, "f", "resource=file",
            headers={"If-None-Match": "*"})
    assert_json_error(r, 409, "PathAlreadyExists")


def test_CreatePath_file_over_directory_refused(filesystem, server):
    filesystem.create_directory("d")
    r = raw(server, "PUT", filesystem.file_system_name, "d", "resource=file")
    assert_json_error(r, 409, "ResourceTypeMismatch")


def test_CreatePath_parent_is_file_refused(filesystem, server):
    filesystem.create_file("f")
    r = raw(server, "PUT", filesystem.file_system_name, "f/g", "resource=directory")
    assert_json_error(r, 409, "PathConflict")


def test_CreatePath_missing_filesystem(server):
    r = raw(server, "PUT", "nosuchfs1234", "a", "resource=file")
    assert_json_error(r, 404, "FilesystemNotFound")


def test_CreatePath_explicit_directory_survives_last_file_delete(filesystem, server):
    filesystem.create_directory("keep")
    f = filesystem.create_file("keep/f")
    f.delete_file()
    assert os.path.isdir(os.path.join(server.root, filesystem.file_system_name, "keep"))
    names = [p.name for p in filesystem.get_paths()]
    assert names == ["keep"]


def test_CreatePath_permissions_and_umask(filesystem, server):
    r = raw(server, "PUT", filesystem.file_system_name, "p", "resource=file",
            headers={"x-ms-permissions": "0777", "x-ms-umask": "0022"})
    assert r.status_code == 201, r.text
    mode = os.stat(os.path.join(server.root, filesystem.file_system_name, "p")).st_mode & 0o777
    assert mode == 0o755
