"""Blob names that are not UTF-8 are refused as Azure refuses such URLs (400
InvalidUri), whatever the method, and never reach the file system."""
import os

import pytest

import signing


@pytest.mark.parametrize("name", ["%FF", "a%80b", "%C0%AF", "%ED%A0%80", "dir/%FE/x", "%F4%90%80%80"])
@pytest.mark.parametrize("method", ["PUT", "GET", "HEAD", "DELETE"])
def test_InvalidUtf8_blob_name_is_refused(server, container, name, method):
    headers = {"x-ms-blob-type": "BlockBlob"} if method == "PUT" else {}
    r = signing.request(server, method, "/%s/%s" % (container.container_name, name),
                        headers=headers, body=b"x" if method == "PUT" else b"")
    assert r.status_code == 400, (r.status_code, r.text)
    assert signing.error_code(r) == "InvalidUri"
    assert os.listdir(os.path.join(server.root, container.container_name)) == []


def test_Utf8_blob_name_still_works(server, container):
    r = signing.request(server, "PUT", "/%s/%s" % (container.container_name, "%C3%A9t%C3%A9"),
                        headers={"x-ms-blob-type": "BlockBlob"}, body=b"x")
    assert r.status_code == 201, r.text
    assert os.listdir(os.path.join(server.root, container.container_name)) == ["\u00e9t\u00e9"]
