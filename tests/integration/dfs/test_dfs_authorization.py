"""dfs authorization (issue 10, items 2, 3 and 5): both ends of a rename are
authorized; List Paths' `directory` is confined like a blob name; every dfs
operation demands the SAS letter Azure's permission table gives it
(r a c w d l m e o p)."""
import datetime
import json
import os
import urllib.parse

import pytest
import requests
from azure.storage.blob import generate_container_sas

from dfs_util import assert_json_error, raw
from strata_server import DEV_ACCOUNT, DEV_KEY


def _sas(fs, permission):
    return generate_container_sas(
        DEV_ACCOUNT, fs, account_key=DEV_KEY, permission=permission,
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))


def _url(server, fs, path="", query=""):
    p = "/%s/%s" % (DEV_ACCOUNT, fs) + ("/" + urllib.parse.quote(path, safe="/~") if path else "")
    return "http://127.0.0.1:%d%s%s" % (server.port, p, "?" + query if query else "")


def _sas_request(server, method, fs, path, sas, query="", headers=None, body=b""):
    h = {"x-ms-version": "2021-12-02"}
    h.update(headers or {})
    q = "&".join(x for x in (query, sas) if x)
    return requests.request(method, _url(server, fs, path, q), headers=h, data=body, timeout=30)


def _make_fs(dfs, prefix):
    import uuid
    return dfs.create_file_system(prefix + uuid.uuid4().hex[:20])


@pytest.fixture
def two(dfs):
    """(a, b): the caller's filesystem and a private one it holds no SAS for."""
    a, b = _make_fs(dfs, "a"), _make_fs(dfs, "b")
    b.create_file("secret.txt").upload_data(b"secret", overwrite=True)
    d = b.create_directory("tree")
    d.create_file("x").upload_data(b"x", overwrite=True)
    yield a, b
    for fs in (a, b):
        try:
            fs.delete_file_system()
        except Exception:
            pass


def _exists(fs, path):
    return fs.get_file_client(path).exists()


# ---- item 2: the rename source ----

@pytest.mark.parametrize("src", ["secret.txt", "tree"])
def test_RenamePath_out_of_another_filesystem_with_a_sas_for_this_one_is_refused(server, two, src):
    a, b = two
    sas = _sas(a.file_system_name, "racwdlmeop")
    r = _sas_request(server, "PUT", a.file_system_name, "stolen", sas, "mode=legacy",
                     {"x-ms-rename-source": "/%s/%s" % (b.file_system_name, src)})
    assert_json_error(r, 403, "AuthorizationPermissionMismatch")
    assert _exists(b, src) and not _exists(a, "stolen")


def test_RenamePath_source_sas_must_verify_for_the_source(server, two):
    a, b = two
    sas = _sas(a.file_system_name, "racwdlmeop")
    # The SAS the source carries is A's, not B's: it does not verify for B.
    r = _sas_request(server, "PUT", a.file_system_name, "stolen", sas, "mode=legacy",
                     {"x-ms-rename-source": "/%s/secret.txt?%s" % (b.file_system_name, sas)})
    assert r.status_code == 403, r.text
    assert _exists(b, "secret.txt") and not _exists(a, "stolen")


def test_RenamePath_source_sas_without_move_or_delete_is_refused(server, two):
    a, b = two
    r = _sas_request(server, "PUT", a.file_system_name, "moved", _sas(a.file_system_name, "racwl"),
                     "mode=legacy",
                     {"x-ms-rename-source": "/%s/secret.txt?%s" % (b.file_system_name,
                                                                   _sas(b.file_system_name, "rwl"))})
    assert_json_error(r, 403, "AuthorizationPermissionMismatch")
    assert _exists(b, "secret.txt") and not _exists(a, "moved")


@pytest.mark.parametrize("letter", ["m", "d"])
def test_RenamePath_source_sas_with_move_or_delete_moves(server, two, letter):
    a, b = two
    r = _sas_request(server, "PUT", a.file_system_name, "moved", _sas(a.file_system_name, "cw"),
                     "mode=legacy",
                     {"x-ms-rename-source": "/%s/secret.txt?%s" % (b.file_system_name,
                                                                   _sas(b.file_system_name, letter))})
    assert r.status_code == 201, r.text
    assert not _exists(b, "secret.txt")
    assert a.get_file_client("moved").download_file().readall() == b"secret"


def test_RenamePath_within_a_filesystem_needs_move_on_the_source(server, two):
    a, _ = two
    a.create_file("f").upload_data(b"f", overwrite=True)
    fs = a.file_system_name
    r = _sas_request(server, "PUT", fs, "g", _sas(fs, "racwl"), "mode=legacy",
                     {"x-ms-rename-source": "/%s/f" % fs})
    assert_json_error(r, 403, "AuthorizationPermissionMismatch")
    assert _exists(a, "f") and not _exists(a, "g")
    r = _sas_request(server, "PUT", fs, "g", _sas(fs, "cm"), "mode=legacy",
                     {"x-ms-rename-source": "/%s/f" % fs})
    assert r.status_code == 201, r.text
    assert not _exists(a, "f") and _exists(a, "g")


def test_RenamePath_destination_needs_create_or_write(server, two):
    a, _ = two
    a.create_file("f").upload_data(b"f", overwrite=True)
    fs = a.file_system_name
    r = _sas_request(server, "PUT", fs, "g", _sas(fs, "rdlm"), "mode=legacy",
                     {"x-ms-rename-source": "/%s/f" % fs})
    assert_json_error(r, 403, "AuthorizationPermissionMismatch")
    assert _exists(a, "f")


@pytest.mark.parametrize("source", ["/%s/../%s/secret.txt", "/%s/./x", "/%s/a//b", "/%s/%%FF"])
def test_RenamePath_source_names_pass_the_name_gate(server, two, source):
    a, b = two
    fs = a.file_system_name
    src = source % ((fs, b.file_system_name) if source.count("%s") == 2 else (fs,))
    r = raw(server, "PUT", fs, "dst", "mode=legacy", headers={"x-ms-rename-source": src})
    assert_json_error(r, 400, "InvalidSourceUri")
    assert _exists(b, "secret.txt") and not _exists(a, "dst")


# ---- item 3: directory= and the other path-naming parameters ----

TRAVERSALS = ["../../../../etc", "../privb", "..", "a/../../x", "./", "a//b", "%2e%2e/x"]


@pytest.mark.parametrize("directory", TRAVERSALS)
def test_ListPaths_directory_is_confined_anonymous(server, two, directory):
    a, b = two
    a.set_file_system_access_policy({}, public_access="container")
    r = requests.get(_url(server, a.file_system_name, "",
                          "resource=filesystem&recursive=true&directory=" +
                          urllib.parse.quote(directory, safe="%")),
                     headers={"x-ms-version": "2021-12-02"}, timeout=30)
    assert r.status_code in (400, 404), r.text
    assert "secret" not in r.text and "passwd" not in r.text
    assert "paths" not in r.text


@pytest.mark.parametrize("directory", ["../" + "B", "../../../../etc"])
def test_ListPaths_directory_with_a_sas_for_another_filesystem(server, two, directory):
    a, b = two
    directory = directory.replace("B", b.file_system_name)
    r = _sas_request(server, "GET", a.file_system_name, "", _sas(a.file_system_name, "rl"),
                     "resource=filesystem&recursive=true&directory=" + urllib.parse.quote(directory))
    assert_json_error(r, 400, "InvalidQueryParameterValue")
    assert "secret" not in r.text and "passwd" not in r.text


def test_ListPaths_directory_valid_still_lists(server, two):
    a, b = two
    r = raw(server, "GET", b.file_system_name, "", "resource=filesystem&recursive=true&directory=tree/")
    assert r.status_code == 200, r.text
    assert [p["name"] for p in json.loads(r.text)["paths"]] == ["tree/x"]


@pytest.mark.parametrize("prefix", ["../", "../" + "B" + "/", "..", "/etc"])
def test_ListBlobs_prefix_and_marker_never_leave_the_container(server, two, prefix):
    a, b = two
    a.set_file_system_access_policy({}, public_access="container")
    prefix = prefix.replace("B", b.file_system_name)
    for q in ("prefix=" + urllib.parse.quote(prefix),
              "marker=" + urllib.parse.quote(prefix),
              "prefix=" + urllib.parse.quote(prefix) + "&delimiter=/"):
        r = requests.get(_url(server, a.file_system_name, "", "restype=container&comp=list&" + q),
                         headers={"x-ms-version": "2021-12-02"}, timeout=30)
        assert r.status_code == 200, r.text
        assert "<Blob>" not in r.text and "secret" not in r.text and "passwd" not in r.text


# ---- item 5: the SAS letters of every dfs operation ----

def _mode(server, fs, path):
    return os.stat(os.path.join(server.root, fs, path)).st_mode & 0o7777


@pytest.mark.parametrize("headers", [
    {"x-ms-permissions": "rwxrwxrwx"},
    {"x-ms-acl": "user::rwx,group::rwx,other::rwx"},
    {"x-ms-owner": "1234"},
    {"x-ms-group": "1234"},
])
def test_SetAccessControl_with_write_only_is_refused(server, two, headers):
    a, _ = two
    f = a.create_file("f")
    fs = a.file_system_name
    before = _mode(server, fs, "f")
    keys = ("owner", "group", "permissions", "acl")
    acl_before = {k: f.get_access_control()[k] for k in keys}
    r = _sas_request(server, "PATCH", fs, "f", _sas(fs, "racwdl"), "action=setAccessControl", headers)
    assert_json_error(r, 403, "AuthorizationPermissionMismatch")
    assert _mode(server, fs, "f") == before
    assert {k: f.get_access_control()[k] for k in keys} == acl_before


def test_SetAccessControl_permissions_need_p_owner_needs_o(server, two):
    a, _ = two
    a.create_file("f")
    fs = a.file_system_name
    perms = {"x-ms-permissions": "rwxr-x---"}
    owner = {"x-ms-owner": "4321"}
    assert _sas_request(server, "PATCH", fs, "f", _sas(fs, "o"), "action=setAccessControl", perms).status_code == 403
    r = _sas_request(server, "PATCH", fs, "f", _sas(fs, "p"), "action=setAccessControl", perms)
    assert r.status_code == 200, r.text
    assert _mode(server, fs, "f") == 0o750
    assert _sas_request(server, "PATCH", fs, "f", _sas(fs, "p"), "action=setAccessControl", owner).status_code == 403
    r = _sas_request(server, "PATCH", fs, "f", _sas(fs, "o"), "action=setAccessControl", owner)
    assert r.status_code == 200, r.text
    both = dict(perms, **owner)
    assert _sas_request(server, "PATCH", fs, "f", _sas(fs, "p"), "action=setAccessControl", both).status_code == 403
    assert _sas_request(server, "PATCH", fs, "f", _sas(fs, "po"), "action=setAccessControl", both).status_code == 200


def test_SetAccessControlRecursive_needs_p(server, two):
    a, _ = two
    a.create_directory("d").create_file("x")
    fs = a.file_system_name
    h = {"x-ms-acl": "user::rwx,group::r-x,other::---"}
    r = _sas_request(server, "PATCH", fs, "d", _sas(fs, "racwdlmeo"), "action=setAccessControlRecursive&mode=set", h)
    assert_json_error(r, 403, "AuthorizationPermissionMismatch")
    r = _sas_request(server, "PATCH", fs, "d", _sas(fs, "p"), "action=setAccessControlRecursive&mode=set", h)
    assert r.status_code == 200, r.text


def test_GetAccessControl_needs_e_getStatus_e_or_r(server, two):
    a, _ = two
    a.create_file("f")
    fs = a.file_system_name
    r = _sas_request(server, "HEAD", fs, "f", _sas(fs, "racwdl"), "action=getAccessControl")
    assert r.status_code == 403 and r.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch"
    assert "x-ms-acl" not in r.headers
    r = _sas_request(server, "HEAD", fs, "f", _sas(fs, "e"), "action=getAccessControl")
    assert r.status_code == 200 and "x-ms-acl" in r.headers
    for letters, status in (("w", 403), ("e", 200), ("r", 200)):
        r = _sas_request(server, "HEAD", fs, "f", _sas(fs, letters), "action=getStatus")
        assert r.status_code == status, (letters, r.status_code)


def test_dfs_write_operations_demand_their_letters(server, two):
    a, _ = two
    fs = a.file_system_name
    # Create: c or w.
    assert _sas_request(server, "PUT", fs, "n1", _sas(fs, "rl"), "resource=file").status_code == 403
    assert _sas_request(server, "PUT", fs, "n1", _sas(fs, "c"), "resource=file").status_code == 201
    assert _sas_request(server, "PUT", fs, "n2", _sas(fs, "w"), "resource=file").status_code == 201
    # Append: a or w; flush: w.
    r = _sas_request(server, "PATCH", fs, "n1", _sas(fs, "rcl"), "action=append&position=0", body=b"abc")
    assert r.status_code == 403
    r = _sas_request(server, "PATCH", fs, "n1", _sas(fs, "a"), "action=append&position=0", body=b"abc")
    assert r.status_code == 202, r.text
    r = _sas_request(server, "PATCH", fs, "n1", _sas(fs, "a"), "action=flush&position=3")
    assert r.status_code == 403
    r = _sas_request(server, "PATCH", fs, "n1", _sas(fs, "w"), "action=flush&position=3")
    assert r.status_code == 200, r.text
    # setProperties: w.
    props = {"x-ms-properties": "k=dg=="}
    assert _sas_request(server, "PATCH", fs, "n1", _sas(fs, "racdl"), "action=setProperties", props).status_code == 403
    assert _sas_request(server, "PATCH", fs, "n1", _sas(fs, "w"), "action=setProperties", props).status_code == 200
    # Delete: d.
    assert _sas_request(server, "DELETE", fs, "n2", _sas(fs, "racwl"), "recursive=false").status_code == 403
    assert _exists(a, "n2")
    assert _sas_request(server, "DELETE", fs, "n2", _sas(fs, "d"), "recursive=false").status_code == 200
    # List: l.
    assert _sas_request(server, "GET", fs, "", _sas(fs, "racwd"), "resource=filesystem&recursive=true").status_code == 403
    assert _sas_request(server, "GET", fs, "", _sas(fs, "l"), "resource=filesystem&recursive=true").status_code == 200


@pytest.mark.parametrize("marker", ["../B/secret.txt", "../../../../etc/passwd", "..", "/"])
def test_ListPaths_continuation_only_bounds_the_walk(server, two, marker):
    """A continuation token is a name to resume after, compared, never opened."""
    import base64
    a, b = two
    a.create_file("zz").upload_data(b"z", overwrite=True)
    token = base64.b64encode(marker.replace("B", b.file_system_name).encode()).decode()
    r = raw(server, "GET", a.file_system_name, "",
            "resource=filesystem&recursive=true&continuation=" + urllib.parse.quote(token))
    assert r.status_code == 200, r.text
    names = [p["name"] for p in json.loads(r.text)["paths"]]
    assert set(names) <= {"zz"}, names
    assert "secret" not in r.text and "passwd" not in r.text
