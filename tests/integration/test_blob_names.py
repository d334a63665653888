"""Blob names: what can be stored, what is refused (400 InvalidResourceName,
with the broken rule in the message), and the file/directory conflict of
a hierarchical namespace (409)."""
import os
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

import signing
from blob_util import assert_no_residue, disk_path, raw


def put(server, container, quoted_name, body=b"x"):
    """Put Blob with the name already percent-encoded, so that no client
    library normalizes "." or ".." segments away."""
    return signing.request(server, "PUT", "/%s/%s" % (container, quoted_name),
                           headers={"x-ms-blob-type": "BlockBlob"}, body=body)


def message(resp):
    return ET.fromstring(resp.content).findtext("Message")


@pytest.mark.parametrize("quoted,rule", [
    ("a//b", "empty"),
    ("a/", "empty"),
    ("a/b/", "empty"),
    ("a/%2E/b", "'.'"),
    ("a/%2E%2E/b", "'..'"),
    ("%2E%2E", "'..'"),
    ("x/" + "n" * 256, "255"),
])
def test_PutBlob_invalid_name(server, container, quoted, rule):
    r = put(server, container.container_name, quoted)
    assert r.status_code == 400, r.text
    assert r.headers["x-ms-error-code"] == "InvalidResourceName"
    assert rule in message(r)
    assert_no_residue(server)
    # Nothing was created anywhere under the root.
    assert os.listdir(os.path.join(server.root, container.container_name)) == []


def test_PutBlob_invalid_name_sdk(server, container):
    with pytest.raises(HttpResponseError) as e:
        container.get_blob_client("a//b").upload_blob(b"x")
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidResourceName"
    assert "empty" in e.value.message


def test_PutBlob_segment_of_255_bytes_is_fine(container):
    name = "d/" + "\u00e9" * 127 + "x"  # 255 bytes in UTF-8
    container.get_blob_client(name).upload_blob(b"ok")
    assert container.get_blob_client(name).download_blob().readall() == b"ok"


def test_PutBlob_multibyte_segment_over_255_bytes(server, container):
    # 128 two-byte characters: 128 characters but 256 bytes.
    r = put(server, container.container_name, urllib.parse.quote("\u00e9" * 128))
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidResourceName"
    assert "255" in message(r)


def test_PutBlockList_invalid_name(server, container):
    r = signing.request(server, "PUT", "/%s/a//b" % container.container_name, query="comp=blocklist",
                        body=b"<?xml version='1.0' encoding='utf-8'?><BlockList></BlockList>")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidResourceName"


@pytest.mark.parametrize("name", ["with space/and+plus", "unicode/\u00fc\u00f1\u00ee/\u65e5\u672c",
                                  "percent%20literal", "q?mark#hash", "trailing.dot.", "-dash_"])
def test_PutBlob_unusual_valid_names(server, container, name):
    blob = container.get_blob_client(name)
    blob.upload_blob(name.encode())
    assert blob.download_blob().readall() == name.encode()
    # HNS: the directories on the way are listed too.
    parts = name.split("/")
    assert [b.name for b in container.list_blobs()] == \
        ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    assert os.path.isfile(disk_path(server, container.container_name, name))


def test_PutBlob_file_then_child_conflicts(server, container):
    container.get_blob_client("a").upload_blob(b"file")
    with pytest.raises(ResourceExistsError) as e:
        container.get_blob_client("a/b").upload_blob(b"child")
    assert e.value.status_code == 409
    assert e.value.error_code == "PathConflict"
    assert container.get_blob_client("a").download_blob().readall() == b"file"
    assert [b.name for b in container.list_blobs()] == ["a"]
    assert_no_residue(server)


def test_PutBlob_child_then_file_conflicts(server, container):
    container.get_blob_client("a/b").upload_blob(b"child")
    with pytest.raises(ResourceExistsError) as e:
        container.get_blob_client("a").upload_blob(b"file", overwrite=True)
    assert e.value.status_code == 409
    assert e.value.error_code == "PathConflict"
    assert container.get_blob_client("a/b").download_blob().readall() == b"child"
    assert [b.name for b in container.list_blobs()] == ["a", "a/b"]  # "a": the directory (HNS)
    assert_no_residue(server)


def test_PutBlockList_conflicts_like_PutBlob(server, container):
    container.get_blob_client("a").upload_blob(b"file")
    child = container.get_blob_client("a/b/c")
    with pytest.raises(ResourceExistsError) as e:
        child.stage_block("MDE=", b"x")
        child.commit_block_list(["MDE="])
    assert e.value.status_code == 409
    assert e.value.error_code == "PathConflict"
    assert_no_residue(server)


def test_GetBlob_invalid_name_is_not_found(server, container):
    r = signing.request(server, "GET", "/%s/a//b" % container.container_name)
    # No blob can have the name, so reads answer as for any missing blob.
    assert r.status_code == 404
    assert r.headers["x-ms-error-code"] == "BlobNotFound"


def test_Names_symlink_out_of_root_is_not_followed(server, container, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"do not serve")
    cdir = os.path.join(server.root, container.container_name)
    os.symlink(str(outside), os.path.join(cdir, "link"))
    os.symlink(str(outside / "secret"), os.path.join(cdir, "filelink"))
    for name in ["link/secret", "filelink"]:
        r = raw(server, "GET", container.container_name, name)
        assert r.status_code == 404, name
        assert r.headers["x-ms-error-code"] == "BlobNotFound"
        assert b"do not serve" not in r.content
    r = raw(server, "PUT", container.container_name, "link/new",
            headers={"x-ms-blob-type": "BlockBlob"}, body=b"escape")
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "PathConflict"
    assert sorted(os.listdir(outside)) == ["secret"]
    assert b"do not serve" not in b"".join(
        container.get_blob_client(b.name).download_blob().readall() for b in container.list_blobs())
    assert_no_residue(server)


@pytest.mark.parametrize("quoted", ["dir%5Cfile.txt", "dir\\file.txt"])
def test_PutBlob_backslash_is_a_slash(server, container, quoted):
    # Azure's front end reads '\' in the URL's path, sent raw or as %5C, as
    # '/': the SDK for JS's tests note "Azure Storage Server will replace '\'
    # with '/' in the blob names" (Azure/azure-sdk-for-js#5405), and
    # Azure/azure-sdk-for-php#557 explains it (.NET's Uri). So a\b is the
    # blob a/b, under the directory a, read back by either name.
    name = container.container_name
    r = put(server, name, quoted, body=b"back")
    assert r.status_code == 201, r.text
    assert [b.name for b in container.list_blobs()] == ["dir", "dir/file.txt"]
    assert container.get_blob_client("dir/file.txt").download_blob().readall() == b"back"
    got = signing.request(server, "GET", "/%s/dir%%5Cfile.txt" % name)
    assert (got.status_code, got.content) == (200, b"back")
    assert os.path.isfile(disk_path(server, name, "dir/file.txt"))


def test_PutBlob_backslash_dot_segments_are_refused(server, container):
    # Read as '/', a backslash cannot smuggle a '..' segment past the gate.
    r = put(server, container.container_name, "a%5C..%5C..%5Cescape")
    assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "InvalidResourceName")
    assert_no_residue(server)


def test_Blob_name_over_1024_characters_is_out_of_range(server, container):
    # Azure answers a blob name longer than 1024 characters with 400
    # OutOfRangeInput for every operation, reads and deletes too (Azure's
    # answers quoted in Azure/Azurite#398 and Azure/azure-powershell#16628).
    name = container.container_name
    long = "n" * 1025
    for method, headers in [("PUT", {"x-ms-blob-type": "BlockBlob"}), ("GET", {}), ("HEAD", {}),
                            ("DELETE", {})]:
        r = signing.request(server, method, "/%s/%s" % (name, long), headers=headers,
                            body=b"x" if method == "PUT" else b"")
        assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "OutOfRangeInput"), method
    # 1024 characters (of 3 bytes each here) is still a name, when its
    # segments fit the file system.
    ok = "/".join(["\u20ac" * 63] * 15 + ["\u20ac" * 64])
    assert len(ok) == 1024
    r = put(server, name, urllib.parse.quote(ok))
    assert r.status_code == 201, r.text
    assert_no_residue(server)
