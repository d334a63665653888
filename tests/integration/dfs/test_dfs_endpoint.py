"""The dfs endpoint of its own (issue 11): a --dfs-port listener (path-style
URLs) and host-style names ACCOUNT.dfs.DOMAIN on any port, where a path
request without a Blob operation is a dfs one; the shared port keeps
telling dfs requests apart by their query.

What the expectations rest on:
- Microsoft's Data Lake Storage Gen2 REST reference: Path - Get Properties
  (HEAD on a path, answers x-ms-resource-type), Path - Read (GET), Path -
  Delete (DELETE, no query needed), and the error body
  {"error":{"code":...,"message":...}} with x-ms-error-code; a HEAD answer
  has no body.
- On Azure the dfs endpoint is another host (ACCOUNT.dfs.core.windows.net).
- The Python Data Lake SDK (Debian's azure-storage-file-datalake 12.10)
  sends its Blob calls (create/delete filesystem, list filesystems, get
  properties, download, set metadata) to the account URL with ".dfs."
  replaced by ".blob." (_serialize.convert_dfs_url_to_blob_url): for
  http://127.0.0.1:DFSPORT/ACCOUNT that is the same URL, so the dfs port
  serves requests that name a Blob operation (comp=, restype=) as the blob
  endpoint does.
"""
import json
import subprocess
import types
import urllib.parse
import uuid
from email.utils import formatdate

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import generate_container_sas
from azure.storage.filedatalake import DataLakeServiceClient

import signing
from dfs_util import assert_json_error
from strata_server import (DEV_ACCOUNT, DEV_KEY, StrataServer, free_port, start_with_dfs_port,
                           strata_binary)


@pytest.fixture(scope="module")
def dfs_server():
    s = start_with_dfs_port()
    yield s
    s.stop()


def on_dfs(server):
    """For signing.request: the server as seen through its dfs port."""
    return types.SimpleNamespace(port=server.dfs_port, root=server.root)


@pytest.fixture
def lake(dfs_server):
    return DataLakeServiceClient("http://127.0.0.1:%d/%s" % (dfs_server.dfs_port, DEV_ACCOUNT),
                                 credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY})


@pytest.fixture
def fs(lake):
    f = lake.create_file_system("e" + uuid.uuid4().hex[:20])
    yield f
    try:
        f.delete_file_system()
    except Exception:
        pass


def host_style(server, port, service, method, path, query="", headers=None, body=b""):
    """A SharedKey request with Host ACCOUNT.SERVICE.localhost on a loopback
    connection; the signed resource is /ACCOUNT/PATH, as for any host-style
    URL."""
    h = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True),
         "Content-Length": str(len(body))}
    h.update(headers or {})
    h["Authorization"] = signing.sign(method, path, query, h)  # signs /ACCOUNT + path
    h["Host"] = "%s.%s.localhost:%d" % (DEV_ACCOUNT, service, port)
    url = "http://127.0.0.1:%d%s" % (port, path) + ("?" + query if query else "")
    return requests.request(method, url, headers=h, data=body, timeout=30)


# ---- the Python Data Lake SDK on the dfs port ----

def test_DfsEndpoint_sdk_round_trip(lake, fs):
    d = fs.create_directory("dir", metadata={"m": "1"})
    f = d.create_file("a.txt")
    f.append_data(b"hello ", 0, 6)
    f.append_data(b"world", 6, 5)
    f.flush_data(11)
    assert f.download_file().readall() == b"hello world"
    assert f.download_file(offset=6, length=5).readall() == b"world"
    props = f.get_file_properties()
    assert props.size == 11
    f.set_metadata({"k": "v"})
    assert f.get_file_properties().metadata == {"k": "v"}
    assert d.get_directory_properties().metadata == {"m": "1", "hdi_isfolder": "true"}
    assert fs.get_file_system_properties().name == fs.file_system_name
    assert sorted(p.name for p in fs.get_paths(recursive=True)) == ["dir", "dir/a.txt"]
    assert fs.file_system_name in [x.name for x in lake.list_file_systems()]
    moved = f.rename_file(fs.file_system_name + "/dir/b.txt")
    assert sorted(p.name for p in fs.get_paths(recursive=True)) == ["dir", "dir/b.txt"]
    assert moved.download_file().readall() == b"hello world"
    moved.delete_file()
    assert not moved.exists()
    with pytest.raises(ResourceNotFoundError):
        moved.get_file_properties()
    d.delete_directory()
    assert list(fs.get_paths(recursive=True)) == []


def test_DfsEndpoint_sdk_upload_data_and_overwrite(fs):
    f = fs.get_file_client("u/v.bin")
    f.upload_data(b"x" * 1000, overwrite=True)
    f.upload_data(b"short", overwrite=True)
    assert f.download_file().readall() == b"short"


def test_DfsEndpoint_sdk_connection_string(dfs_server):
    """DataLakeServiceClient.from_connection_string takes BlobEndpoint (its
    _SERVICE_PARAMS["dfs"]); naming the dfs port there sends every call to it."""
    conn = ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
            "BlobEndpoint=http://127.0.0.1:%d/%s;" % (DEV_ACCOUNT, DEV_KEY, dfs_server.dfs_port,
                                                      DEV_ACCOUNT))
    lake = DataLakeServiceClient.from_connection_string(conn)
    assert ":%d/" % dfs_server.dfs_port in lake.url
    fs = lake.create_file_system("c" + uuid.uuid4().hex[:20])
    try:
        f = fs.get_file_client("d/x")
        f.upload_data(b"via connection string", overwrite=True)
        assert f.download_file().readall() == b"via connection string"
        assert [p.name for p in fs.get_paths(recursive=True)] == ["d", "d/x"]
    finally:
        fs.delete_file_system()


# ---- raw requests without a query on the dfs port ----

def test_DfsEndpoint_query_less_requests_are_dfs(dfs_server, fs):
    s = on_dfs(dfs_server)
    name = fs.file_system_name
    for method in ("HEAD", "GET", "DELETE"):
        r = signing.request(s, method, "/%s/missing" % name)
        assert_json_error(r, 404, "PathNotFound")
        if method == "HEAD":
            assert r.content == b""
    r = signing.request(s, "GET", "/nofs%s/x" % uuid.uuid4().hex[:8])
    assert_json_error(r, 404, "FilesystemNotFound")

    fs.create_directory("d")
    fs.get_file_client("d/f").upload_data(b"abc", overwrite=True)
    r = signing.request(s, "HEAD", "/%s/d/f" % name)
    assert r.status_code == 200
    assert r.headers["x-ms-resource-type"] == "file"
    assert r.headers["Content-Length"] == "3"
    r = signing.request(s, "HEAD", "/%s/d" % name)
    assert r.status_code == 200
    assert r.headers["x-ms-resource-type"] == "directory"
    r = signing.request(s, "GET", "/%s/d/f" % name)
    assert r.status_code == 200 and r.content == b"abc"
    assert r.headers["x-ms-resource-type"] == "file"
    r = signing.request(s, "GET", "/%s/d/f" % name, headers={"Range": "bytes=1-1"})
    assert r.status_code == 206 and r.content == b"b"
    # A non-empty directory needs recursive=true (Path - Delete).
    r = signing.request(s, "DELETE", "/%s/d" % name)
    assert_json_error(r, 409, "DirectoryNotEmpty")
    r = signing.request(s, "DELETE", "/%s/d/f" % name)
    assert r.status_code == 200
    r = signing.request(s, "HEAD", "/%s/d/f" % name)
    assert_json_error(r, 404, "PathNotFound")


def test_DfsEndpoint_shared_port_routing_unchanged(dfs_server, fs):
    """The shared port still reads a query-less path request as a Blob one."""
    name = fs.file_system_name
    r = signing.request(dfs_server, "HEAD", "/%s/missing" % name)
    assert r.status_code == 404 and r.headers["x-ms-error-code"] == "BlobNotFound"
    r = signing.request(dfs_server, "GET", "/%s/missing" % name)
    assert r.status_code == 404 and "<Code>BlobNotFound</Code>" in r.text
    fs.get_file_client("f").upload_data(b"abc", overwrite=True)
    r = signing.request(dfs_server, "HEAD", "/%s/f" % name)
    assert r.status_code == 200 and r.headers["x-ms-blob-type"] == "BlockBlob"
    # Get Blob Properties of an HNS account names the kind too (from
    # 2020-10-02, test_blob_properties.py), the file's.
    assert r.headers["x-ms-resource-type"] == "file"


def test_DfsEndpoint_blob_operations_and_refusals(dfs_server, fs):
    s = on_dfs(dfs_server)
    name = fs.file_system_name
    # A Blob operation named by its query is served as on the blob endpoint.
    r = signing.request(s, "GET", "/", query="comp=list")
    assert r.status_code == 200 and "<EnumerationResults" in r.text
    r = signing.request(s, "GET", "/" + name, query="restype=container&comp=list")
    assert r.status_code == 200
    # A PUT on a path that names neither a dfs nor a Blob operation: a dfs
    # error (Path - Create needs resource=file|directory).
    r = signing.request(s, "PUT", "/%s/p" % name, headers={"x-ms-blob-type": "BlockBlob"}, body=b"x")
    assert_json_error(r, 400, "InvalidQueryParameterValue")
    assert not fs.get_file_client("p").exists()
    # An unknown account: a dfs error too.
    r = requests.get("http://127.0.0.1:%d/nosuchacct/fs/x" % dfs_server.dfs_port, timeout=30)
    assert r.status_code == 404
    assert json.loads(r.text)["error"]["code"] == r.headers["x-ms-error-code"]


# ---- host style: ACCOUNT.dfs.DOMAIN and ACCOUNT.blob.DOMAIN ----

def test_DfsEndpoint_host_style_dfs_on_shared_port(dfs_server, fs):
    port = dfs_server.port
    name = fs.file_system_name
    r = host_style(dfs_server, port, "dfs", "HEAD", "/%s/missing" % name)
    assert_json_error(r, 404, "PathNotFound")
    r = host_style(dfs_server, port, "dfs", "GET", "/%s/missing" % name)
    assert_json_error(r, 404, "PathNotFound")
    r = host_style(dfs_server, port, "dfs", "PUT", "/%s/n" % name, query="resource=file")
    assert r.status_code == 201, r.text
    r = host_style(dfs_server, port, "dfs", "PATCH", "/%s/n" % name, query="action=append&position=0",
                   body=b"hey")
    assert r.status_code == 202, r.text
    r = host_style(dfs_server, port, "dfs", "PATCH", "/%s/n" % name, query="action=flush&position=3")
    assert r.status_code == 200, r.text
    r = host_style(dfs_server, port, "dfs", "HEAD", "/%s/n" % name)
    assert r.status_code == 200 and r.headers["x-ms-resource-type"] == "file"
    r = host_style(dfs_server, port, "dfs", "GET", "/%s/n" % name)
    assert r.status_code == 200 and r.content == b"hey"
    # The blob host on the same port: Blob answers.
    r = host_style(dfs_server, port, "blob", "HEAD", "/%s/n" % name)
    assert r.status_code == 200 and r.headers["x-ms-blob-type"] == "BlockBlob"
    r = host_style(dfs_server, port, "dfs", "DELETE", "/%s/n" % name)
    assert r.status_code == 200, r.text
    r = host_style(dfs_server, port, "blob", "HEAD", "/%s/n" % name)
    assert r.status_code == 404 and r.headers["x-ms-error-code"] == "BlobNotFound"


def test_DfsEndpoint_host_style_blob_on_dfs_port(dfs_server, fs):
    """ACCOUNT.blob.DOMAIN is the blob endpoint on the dfs port too (what the
    SDKs derive from a host-style dfs URL on that port)."""
    name = fs.file_system_name
    r = host_style(dfs_server, dfs_server.dfs_port, "blob", "GET", "/%s/missing" % name)
    assert r.status_code == 404 and "<Code>BlobNotFound</Code>" in r.text
    r = host_style(dfs_server, dfs_server.dfs_port, "blob", "PUT", "/%s/b" % name,
                   headers={"x-ms-blob-type": "BlockBlob"}, body=b"blob")
    assert r.status_code == 201, r.text
    r = host_style(dfs_server, dfs_server.dfs_port, "dfs", "GET", "/%s/b" % name)
    assert r.status_code == 200 and r.content == b"blob"
    assert r.headers["x-ms-resource-type"] == "file"


# ---- authorization on the dfs port: the same table ----

def _sas(container, letters):
    import datetime
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    return generate_container_sas(DEV_ACCOUNT, container, account_key=DEV_KEY, permission=letters,
                                  expiry=exp)


def _plain(server, method, path, query=""):
    url = "http://127.0.0.1:%d/%s%s" % (server.dfs_port, DEV_ACCOUNT, path) + ("?" + query if query else "")
    return requests.request(method, url, headers={"x-ms-version": "2021-12-02"}, timeout=30)


@pytest.mark.parametrize("method,needs", [("HEAD", "r"), ("GET", "r"), ("DELETE", "d")])
def test_DfsEndpoint_refusals(dfs_server, fs, method, needs):
    name = fs.file_system_name
    fs.get_file_client("f").upload_data(b"abc", overwrite=True)
    other = fs.file_system_name + "x"
    path = "/%s/f" % name
    # Anonymous on a private filesystem.
    r = _plain(dfs_server, method, path)
    assert_json_error(r, 404, "ResourceNotFound")
    # A SAS short of the letter; another filesystem's SAS with every letter.
    for sas in (_sas(name, "racwdxltmeop".replace(needs, "")), _sas(other, "racwdxltmeop")):
        r = _plain(dfs_server, method, path, sas)
        assert r.status_code == 403, (sas, r.status_code, r.text)
        assert r.headers["x-ms-error-code"] in ("AuthorizationPermissionMismatch",
                                                 "AuthenticationFailed")
        if method != "HEAD":
            assert json.loads(r.text)["error"]["code"] == r.headers["x-ms-error-code"]
    assert fs.get_file_client("f").exists()
    # The letter suffices.
    r = _plain(dfs_server, method, path, _sas(name, needs))
    assert r.status_code == 200, r.text
    # Public read access ("blob") lets anonymous reads in, not deletes.
    if method != "DELETE":
        fs.set_file_system_access_policy({}, public_access="blob")
        r = _plain(dfs_server, method, path)
        assert r.status_code == 200 and r.headers["x-ms-resource-type"] == "file"
    else:
        fs.get_file_client("f").upload_data(b"abc", overwrite=True)
        fs.set_file_system_access_policy({}, public_access="container")
        r = _plain(dfs_server, method, path)
        assert_json_error(r, 404, "ResourceNotFound")
        assert fs.get_file_client("f").exists()


# ---- configuration ----

def test_DfsPort_from_config_file(tmp_path):
    port = free_port()
    cfg = tmp_path / "strata.json"
    cfg.write_text(json.dumps({"dfs_port": port}))
    s = StrataServer(config=str(cfg)).start()
    try:
        r = requests.head("http://127.0.0.1:%d/%s/fsx/x" % (port, DEV_ACCOUNT), timeout=30)
        assert r.status_code == 404 and r.headers["x-ms-error-code"] in ("ResourceNotFound",
                                                                          "PathNotFound")
        assert "strata dfs endpoint on 127.0.0.1:%d" % port in s.banner + s.proc.stdout.readline()
    finally:
        s.stop()


def test_DfsPort_same_as_port_refused():
    port = free_port()
    out = subprocess.run([strata_binary(), "serve", "--port", str(port), "--dfs-port", str(port),
                          "--root", "/nonexistent-strata-root"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and "--dfs-port" in out.stderr


def test_DfsEndpoint_malformed_request_answers_json(dfs_server):
    """A request the HTTP layer refuses (here two Host headers, RFC 9112
    3.2) is answered with the dfs endpoint's JSON error on the dfs port."""
    import socket
    with socket.create_connection(("127.0.0.1", dfs_server.dfs_port), timeout=10) as sock:
        sock.sendall(b"GET /%s/fsx/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" % DEV_ACCOUNT.encode())
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "InvalidInput"
