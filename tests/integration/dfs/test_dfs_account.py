"""Filesystem - List (GET /?resource=account) and Path - Update
action=setAccessControlRecursive, through the Data Lake SDK and raw."""
import base64
import json
import urllib.parse
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

import signing
from dfs_util import assert_json_error, raw


def test_ListFilesystems_prefix_and_continuation(server, dfs):
    prefix = "lf" + uuid.uuid4().hex[:8]
    names = sorted(prefix + s for s in ["a", "b", "c", "d", "e"])
    for n in names:
        dfs.create_file_system(n)
    try:
        # The generated client calls the dfs endpoint itself (the public
        # list_file_systems goes through the blob endpoint); its pager does
        # not follow x-ms-continuation, so pages are walked raw below.
        listed = list(dfs._client.service.list_file_systems(prefix=prefix))
        assert [fs.name for fs in listed] == names
        assert listed[0].e_tag == dfs.get_file_system_client(names[0]).get_file_system_properties().etag
        assert listed[0].last_modified
        got, token = [], ""
        for _ in range(10):
            q = "resource=account&prefix=%s&maxResults=2" % prefix
            if token:
                q += "&continuation=" + urllib.parse.quote(token, safe="")
            r = signing.request(server, "GET", "/", q)
            assert r.status_code == 200
            got.append([f["name"] for f in json.loads(r.text)["filesystems"]])
            token = r.headers.get("x-ms-continuation", "")
            if not token:
                break
        assert got == [names[0:2], names[2:4], names[4:5]]
    finally:
        for n in names:
            dfs.delete_file_system(n)


def test_ListFilesystems_raw_json(server, dfs):
    name = "lr" + uuid.uuid4().hex[:8]
    dfs.create_file_system(name)
    try:
        r = signing.request(server, "GET", "/", "resource=account&prefix=%s&maxResults=1" % name[:4])
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("application/json")
        body = json.loads(r.text)
        assert [f["name"] for f in body["filesystems"]][0].startswith(name[:4])
        assert set(body["filesystems"][0]) == {"name", "lastModified", "eTag"}
        r = signing.request(server, "GET", "/", "resource=account&prefix=%s" % name)
        assert [f["name"] for f in json.loads(r.text)["filesystems"]] == [name]
        assert "x-ms-continuation" not in r.headers
    finally:
        dfs.delete_file_system(name)


@pytest.mark.parametrize("query,code", [("resource=account&maxResults=0", "InvalidQueryParameterValue"),
                                        ("resource=account&maxResults=x", "InvalidQueryParameterValue"),
                                        ("resource=account&continuation=%%%", "InvalidQueryParameterValue")])
def test_ListFilesystems_bad_query(server, query, code):
    assert_json_error(signing.request(server, "GET", "/", query), 400, code)


def test_ListFilesystems_needs_authentication(server):
    r = signing.request(server, "GET", "/", "resource=account", sign_it=False)
    assert r.status_code == 401
    assert r.headers["x-ms-error-code"] == "NoAuthenticationInformation"


def make_tree(filesystem):
    d = filesystem.create_directory("top")
    for p in ["top/a.txt", "top/sub/b.txt", "top/sub/deeper/c.txt", "top/sub/deeper/d.txt"]:
        filesystem.create_file(p)
    return d


def acl_of(filesystem, path):
    return filesystem.get_file_client(path).get_access_control()["acl"].split(",")


def test_SetAccessControlRecursive_set_modify_remove(filesystem):
    top = make_tree(filesystem)
    r = top.set_access_control_recursive(
        acl="user::rwx,group::r-x,other::---,user:alice:r--,default:user:alice:r--")
    assert (r.counters.directories_successful, r.counters.files_successful,
            r.counters.failure_count) == (3, 4, 0)
    assert r.continuation is None
    for p in ["top", "top/sub/deeper", "top/a.txt", "top/sub/deeper/d.txt"]:
        acl = acl_of(filesystem, p)
        assert "user:alice:r--" in acl, (p, acl)
        assert "other::---" in acl
    # Default entries belong to directories only.
    assert "default:user:alice:r--" in acl_of(filesystem, "top/sub")
    assert not any(e.startswith("default:") for e in acl_of(filesystem, "top/a.txt"))
    perms = filesystem.get_file_client("top/a.txt").get_access_control()["permissions"]
    assert perms.startswith("rwxr-x---")  # the mode follows the ACL ('+': named entries)

    r = top.update_access_control_recursive(acl="user:bob:rwx,other::r--")
    assert r.counters.directories_successful + r.counters.files_successful == 7
    acl = acl_of(filesystem, "top/sub/b.txt")
    assert "user:bob:rwx" in acl and "user:alice:r--" in acl and "other::r--" in acl

    r = top.remove_access_control_recursive(acl="user:alice,default:user:alice")
    assert r.counters.failure_count == 0
    for p in ["top", "top/sub/b.txt"]:
        acl = acl_of(filesystem, p)
        assert not any("alice" in e for e in acl), (p, acl)
        assert "user:bob:rwx" in acl


def test_SetAccessControlRecursive_batches_and_continuation(filesystem):
    top = make_tree(filesystem)
    seen = []
    r = top.set_access_control_recursive(acl="user::rwx,group::---,other::---,user:eve:r-x",
                                         batch_size=2, progress_hook=lambda c: seen.append(c))
    assert len(seen) == 4  # 7 paths, 2 per batch
    assert [c.batch_counters.directories_successful + c.batch_counters.files_successful
            for c in seen] == [2, 2, 2, 1]
    assert r.counters.directories_successful == 3 and r.counters.files_successful == 4
    # Stopped after one batch, then resumed from its continuation token.
    r1 = top.set_access_control_recursive(acl="user::rwx,group::---,other::---,user:mal:--x",
                                          batch_size=3, max_batches=1)
    assert r1.continuation
    assert r1.counters.directories_successful + r1.counters.files_successful == 3
    r2 = top.set_access_control_recursive(acl="user::rwx,group::---,other::---,user:mal:--x",
                                          batch_size=3, continuation_token=r1.continuation)
    assert r2.counters.directories_successful + r2.counters.files_successful == 4
    for p in ["top", "top/a.txt", "top/sub/deeper/c.txt", "top/sub/deeper/d.txt"]:
        assert "user:mal:--x" in acl_of(filesystem, p), p


def test_SetAccessControlRecursive_on_a_file(filesystem):
    f = filesystem.create_file("single.txt")
    r = f.set_access_control_recursive(acl="user::rw-,group::r--,other::---")
    assert (r.counters.directories_successful, r.counters.files_successful) == (0, 1)
    assert f.get_access_control()["permissions"] == "rw-r-----"


def test_SetAccessControlRecursive_refusals(server, filesystem):
    make_tree(filesystem)
    acl_before = acl_of(filesystem, "top/a.txt")
    fs = filesystem.file_system_name
    q = "action=setAccessControlRecursive&mode="
    acl = {"x-ms-acl": "user::rwx,group::r-x,other::---"}
    assert_json_error(raw(server, "PATCH", fs, "top", q + "bogus", headers=acl), 400,
                      "InvalidQueryParameterValue")
    assert_json_error(raw(server, "PATCH", fs, "top", "action=setAccessControlRecursive", headers=acl),
                      400, "MissingRequiredQueryParameter")
    assert_json_error(raw(server, "PATCH", fs, "top", q + "set"), 400, "MissingRequiredHeader")
    assert_json_error(raw(server, "PATCH", fs, "top", q + "set", headers={"x-ms-acl": "user:rwx"}),
                      400, "InvalidHeaderValue")
    assert_json_error(raw(server, "PATCH", fs, "top", q + "set&maxRecords=0", headers=acl), 400,
                      "InvalidQueryParameterValue")
    bad = base64.b64encode(b"elsewhere/x").decode()
    assert_json_error(raw(server, "PATCH", fs, "top", q + "set&continuation=" + bad, headers=acl),
                      400, "InvalidQueryParameterValue")
    assert_json_error(raw(server, "PATCH", fs, "nothing", q + "set", headers=acl), 404, "PathNotFound")
    with pytest.raises(ResourceNotFoundError):
        filesystem.get_directory_client("missing").set_access_control_recursive(
            acl="user::rwx,group::r-x,other::---")
    # A leased directory needs its lease (taken through the blob endpoint,
    # as the SDK does).
    top = filesystem.get_directory_client("top")
    lease = top.acquire_lease(lease_duration=15)
    with pytest.raises(HttpResponseError) as e:
        top.set_access_control_recursive(acl="user::rwx,group::r-x,other::---")
    assert e.value.status_code == 412
    # Nothing was changed by the refusals.
    assert acl_of(filesystem, "top/a.txt") == acl_before
    r = raw(server, "PATCH", fs, "top", q + "modify",
            headers={"x-ms-acl": "user:zed:r--", "x-ms-lease-id": lease.id})
    assert r.status_code == 200, r.text
    assert json.loads(r.text)["directoriesSuccessful"] == 3
    lease.release()
    assert "user:zed:r--" in acl_of(filesystem, "top/sub/b.txt")
    r = raw(server, "PATCH", fs, "top/a.txt", q + "set", headers={"x-ms-acl": "user::r--,group::---,other::---"})
    assert r.status_code == 200
    assert "user:zed" not in ",".join(acl_of(filesystem, "top/a.txt"))
    assert r.status_code == 200
    assert json.loads(r.text) == {"directoriesSuccessful": 0, "filesSuccessful": 1, "failureCount": 0,
                                  "failedEntries": []}
