import json
import os
import re

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
    # The dfs message ends with the request's id and time, as the blob
    # endpoint's does: {"error":{"code":"PathNotFound","message":"The specified
    # path does not exist.\nRequestId:...\nTime:2020-05-18T05:26:55.0795499Z"}}
    # (Azure's answer recorded in the SDK for JS's Data Lake tests).
    message = json.loads(r.text)["error"]["message"]
    assert re.fullmatch(r"The specified path does not exist\.\nRequestId:%s\n"
                        r"Time:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z"
                        % re.escape(r.headers["x-ms-request-id"]), message), message


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
