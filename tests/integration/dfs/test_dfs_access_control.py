import os

import pytest

from dfs_util import assert_json_error, raw


def test_AccessControl_defaults(filesystem):
    f = filesystem.create_file("f")
    acl = f.get_access_control()
    assert acl["owner"] == "$superuser"
    assert acl["group"] == "$superuser"
    assert acl["permissions"] == "rw-r-----"
    d = filesystem.create_directory("d")
    assert d.get_access_control()["permissions"] == "rwxr-x---"


def test_AccessControl_permissions_map_to_mode(filesystem, server):
    f = filesystem.create_file("f")
    f.set_access_control(owner="alice", group="staff", permissions="rwxr-x--x")
    acl = f.get_access_control()
    assert (acl["owner"], acl["group"], acl["permissions"]) == ("alice", "staff", "rwxr-x--x")
    st = os.stat(os.path.join(server.root, filesystem.file_system_name, "f"))
    assert st.st_mode & 0o777 == 0o751
    f.set_access_control(permissions="0640")
    assert f.get_access_control()["permissions"] == "rw-r-----"


def test_AccessControl_acl_round_trip(filesystem, server):
    d = filesystem.create_directory("d")
    acl = "user::rwx,user:bob:r-x,group::r-x,mask::r-x,other::---"
    d.set_access_control(acl=acl)
    got = d.get_access_control()
    assert got["acl"] == acl
    assert got["permissions"] == "rwxr-x---+"
    st = os.stat(os.path.join(server.root, filesystem.file_system_name, "d"))
    assert st.st_mode & 0o777 == 0o750


def test_AccessControl_posix_chmod_visible(filesystem, server):
    f = filesystem.create_file("f")
    os.chmod(os.path.join(server.root, filesystem.file_system_name, "f"), 0o604)
    assert f.get_access_control()["permissions"] == "rw----r--"


def test_AccessControl_bad_permissions(filesystem, server):
    filesystem.create_file("f")
    r = raw(server, "PATCH", filesystem.file_system_name, "f", "action=setAccessControl",
            headers={"x-ms-permissions": "rwxrwxrwz"})
    assert_json_error(r, 400, "InvalidHeaderValue")


def test_AccessControl_missing_path(filesystem, server):
    r = raw(server, "HEAD", filesystem.file_system_name, "nope", "action=getAccessControl")
    assert_json_error(r, 404, "PathNotFound")


def test_GetStatus(filesystem, server):
    f = filesystem.create_file("s")
    f.upload_data(b"12345", overwrite=True)
    r = raw(server, "HEAD", filesystem.file_system_name, "s", "action=getStatus")
    assert r.status_code == 200
    assert r.headers["x-ms-resource-type"] == "file"
    assert r.headers["Content-Length"] == "5"
