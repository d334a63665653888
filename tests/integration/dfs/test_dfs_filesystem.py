import base64

from dfs_util import assert_json_error, raw


def test_Filesystem_create_get_set_delete_raw(server):
    name = "fsraw" + __import__("uuid").uuid4().hex[:10]
    r = raw(server, "PUT", name, "", "resource=filesystem",
            headers={"x-ms-properties": "k=" + base64.b64encode(b"v").decode()})
    assert r.status_code == 201, r.text
    assert_json_error(raw(server, "PUT", name, "", "resource=filesystem"), 409, "FilesystemAlreadyExists")
    r = raw(server, "HEAD", name, "", "resource=filesystem")
    assert r.status_code == 200
    assert r.headers["x-ms-properties"] == "k=" + base64.b64encode(b"v").decode()
    assert r.headers["x-ms-namespace-enabled"] == "true"
    r = raw(server, "PATCH", name, "", "resource=filesystem",
            headers={"x-ms-properties": "a=" + base64.b64encode(b"b").decode()})
    assert r.status_code == 200
    r = raw(server, "HEAD", name, "", "resource=filesystem")
    assert r.headers["x-ms-properties"] == "a=" + base64.b64encode(b"b").decode()
    assert raw(server, "DELETE", name, "", "resource=filesystem").status_code == 202
    assert_json_error(raw(server, "HEAD", name, "", "resource=filesystem"), 404, "FilesystemNotFound")
    assert_json_error(raw(server, "DELETE", name, "", "resource=filesystem"), 404, "FilesystemNotFound")


def test_Filesystem_sdk(dfs):
    fs = dfs.create_file_system("fsdk" + __import__("uuid").uuid4().hex[:10], metadata={"a": "1"})
    assert fs.get_file_system_properties().metadata == {"a": "1"}
    fs.delete_file_system()


def test_Filesystem_bad_properties(server):
    name = "fsbad" + __import__("uuid").uuid4().hex[:10]
    r = raw(server, "PUT", name, "", "resource=filesystem", headers={"x-ms-properties": "no-equals"})
    assert_json_error(r, 400, "InvalidPropertyName")
