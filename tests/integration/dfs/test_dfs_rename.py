import os
import threading
import time

from email.utils import formatdate

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

import signing
from dfs_util import assert_json_error, raw
from strata_server import DEV_ACCOUNT


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


def _account_less(server, method, path, query, headers, sign_it=True):
    """A request to http://HOST/FILESYSTEM/PATH, the account left out of the
    URL and signed for "/ACCOUNT/FILESYSTEM/PATH": what the JS SDK's move()
    sends on a path-style endpoint (DataLakePathClient.move replaces the whole
    URL path with "/filesystem/path"; @azure/storage-file-datalake 12.31.0)."""
    headers = dict(headers)
    headers.setdefault("x-ms-version", "2026-06-06")
    headers.setdefault("x-ms-date", formatdate(usegmt=True))
    headers.setdefault("Content-Length", "0")
    if sign_it:
        headers["Authorization"] = signing.sign(method, path, query, headers)
    url = "http://127.0.0.1:%d%s?%s" % (server.port, path, query)
    return requests.request(method, url, headers=headers, timeout=30)


def test_RenamePath_account_in_source_path_style(filesystem, server):
    # The JS SDK's move() on http://127.0.0.1:PORT/ACCOUNT/...: the source is
    # its URL's path, "/ACCOUNT/fs/path" (getURLPathAndQuery), the
    # destination "/fs/path". Both name this account's filesystem.
    fs = filesystem.file_system_name
    filesystem.create_file("src.txt").upload_data(b"moved", overwrite=True)
    r = _account_less(server, "PUT", "/%s/dst.txt" % fs, "mode=legacy",
                      {"x-ms-rename-source": "/%s/%s/src.txt" % (DEV_ACCOUNT, fs)})
    assert r.status_code == 201, r.text
    assert filesystem.get_file_client("dst.txt").download_file().readall() == b"moved"
    assert not filesystem.get_file_client("src.txt").exists()

    d = filesystem.create_directory("tree")
    d.create_file("x/1.txt").upload_data(b"1", overwrite=True)
    r = _account_less(server, "PUT", "/%s/tree2" % fs, "mode=legacy",
                      {"x-ms-rename-source": "/%s/%s/tree" % (DEV_ACCOUNT, fs)})
    assert r.status_code == 201, r.text
    assert filesystem.get_file_client("tree2/x/1.txt").download_file().readall() == b"1"
    assert not d.exists()


def test_RenamePath_account_in_source_refusals(filesystem, server):
    fs = filesystem.file_system_name
    filesystem.create_file("src.txt")
    # A source in no account of this server: the URL's first segment names
    # none either, so 404 ResourceNotFound as for any unknown account.
    r = _account_less(server, "PUT", "/%s/dst.txt" % fs, "mode=legacy",
                      {"x-ms-rename-source": "/noaccount/%s/src.txt" % fs})
    assert r.status_code == 404
    assert r.headers.get("x-ms-error-code") == "ResourceNotFound"
    # Only a rename takes its account from the source.
    r = _account_less(server, "GET", "/%s/src.txt" % fs, "",
                      {"x-ms-rename-source": "/%s/%s/src.txt" % (DEV_ACCOUNT, fs)})
    assert r.status_code == 404
    assert r.headers.get("x-ms-error-code") == "ResourceNotFound"
    # A source of two segments is "/filesystem/path", never an account.
    r = _account_less(server, "PUT", "/%s/dst.txt" % fs, "mode=legacy",
                      {"x-ms-rename-source": "/%s/%s" % (DEV_ACCOUNT, fs)})
    assert r.status_code == 404
    # Unsigned, or signed for another path: refused, nothing moved.
    r = _account_less(server, "PUT", "/%s/dst.txt" % fs, "mode=legacy",
                      {"x-ms-rename-source": "/%s/%s/src.txt" % (DEV_ACCOUNT, fs)},
                      sign_it=False)
    # (anonymous: no public access lets anyone rename)
    assert_json_error(r, 404, "ResourceNotFound")
    headers = {"x-ms-rename-source": "/%s/%s/src.txt" % (DEV_ACCOUNT, fs),
               "x-ms-version": "2026-06-06", "x-ms-date": formatdate(usegmt=True),
               "Content-Length": "0"}
    headers["Authorization"] = signing.sign("PUT", "/%s/other.txt" % fs, "mode=legacy", headers)
    r = requests.put("http://127.0.0.1:%d/%s/dst.txt?mode=legacy" % (server.port, fs),
                     headers=headers, timeout=30)
    assert_json_error(r, 403, "AuthenticationFailed")
    assert filesystem.get_file_client("src.txt").exists()
    assert not filesystem.get_file_client("dst.txt").exists()
