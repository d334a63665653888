"""Copy sources are authorized as Azure authorizes them (issue 10, item 1):
a SAS in the source URL that verifies for the source and grants read, the
account key for a same-account Copy Blob, or a public source container.
A query that merely contains "sig" authorizes nothing: 403
CannotVerifyCopySource, and nothing is written."""
import datetime
import urllib.parse

import pytest
from azure.storage.blob import generate_blob_sas, generate_container_sas

import signing
from blob_util import blob_path, raw
from strata_server import DEV_ACCOUNT, DEV_KEY

SECRET = b"private bytes"


def _exp():
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


@pytest.fixture
def pair(make_container):
    """(private source container with blob "secret", destination container)."""
    src = make_container("src")
    src.upload_blob("secret", SECRET)
    dst = make_container("dst")
    return src.container_name, dst.container_name


def _src_url(server, c, b="secret", query=""):
    return "http://127.0.0.1:%d/%s%s%s" % (server.port, DEV_ACCOUNT, blob_path(c, b),
                                            "?" + query if query else "")


def _blob_sas(c, b="secret", permission="r"):
    return generate_blob_sas(DEV_ACCOUNT, c, b, account_key=DEV_KEY, permission=permission,
                             expiry=_exp())


def _container_sas(c, permission):
    return generate_container_sas(DEV_ACCOUNT, c, account_key=DEV_KEY, permission=permission,
                                  expiry=_exp())


def _copy_headers(kind, source):
    h = {"x-ms-copy-source": source}
    if kind == "sync":
        h["x-ms-requires-sync"] = "true"
    elif kind == "put_from_url":
        h["x-ms-blob-type"] = "BlockBlob"
    return h


def _exists(server, c, b):
    return raw(server, "HEAD", c, b).status_code == 200


FAKE_SIG_QUERIES = ["xsig=1", "foo=sig=1", "sigx=abc", "a=1&xsig=%2Fsig%3D"]


@pytest.mark.parametrize("kind", ["sync", "put_from_url"])
@pytest.mark.parametrize("query", FAKE_SIG_QUERIES)
def test_CopySource_a_query_containing_sig_is_no_sas(server, pair, kind, query):
    src, dst = pair
    r = raw(server, "PUT", dst, "copy", headers=_copy_headers(kind, _src_url(server, src, query=query)))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert not _exists(server, dst, "copy")


@pytest.mark.parametrize("query", FAKE_SIG_QUERIES)
def test_CopyBlob_with_a_destination_sas_and_a_fake_source_sig_is_refused(server, pair, query):
    """A SAS for the destination does not reach a private source."""
    src, dst = pair
    sas = _container_sas(dst, "racwdl")
    url = "http://127.0.0.1:%d/%s/%s/copy?%s" % (server.port, DEV_ACCOUNT, dst, sas)
    import requests
    r = requests.put(url, headers={"x-ms-version": "2021-12-02",
                                   "x-ms-copy-source": _src_url(server, src, query=query)},
                     timeout=30)
    assert r.status_code == 403, r.text
    assert r.headers.get("x-ms-error-code") == "CannotVerifyCopySource"
    assert not _exists(server, dst, "copy")


@pytest.mark.parametrize("kind", ["async", "sync", "put_from_url"])
def test_CopySource_with_a_valid_read_sas_succeeds(server, pair, kind):
    src, dst = pair
    r = raw(server, "PUT", dst, "copy",
            headers=_copy_headers(kind, _src_url(server, src, query=_blob_sas(src))))
    assert r.status_code in (201, 202), r.text
    assert raw(server, "GET", dst, "copy").content == SECRET


@pytest.mark.parametrize("kind", ["async", "sync", "put_from_url"])
def test_CopySource_sas_of_another_blob_or_without_read_is_refused(server, pair, make_container, kind):
    src, dst = pair
    other = make_container("oth").container_name
    for query in (_blob_sas(src, "other-blob"),            # signed for another blob
                  _container_sas(other, "rl"),             # signed for another container
                  _blob_sas(src, permission="w"),          # no read
                  _blob_sas(src) + "&sig=" + urllib.parse.quote("AAAA")):  # sig twice / forged
        r = raw(server, "PUT", dst, "copy", headers=_copy_headers(kind, _src_url(server, src, query=query)))
        assert r.status_code == 403, (query, r.text)
        assert signing.error_code(r) == "CannotVerifyCopySource"
        assert not _exists(server, dst, "copy")


def test_CopyBlob_same_account_with_the_key_needs_no_source_sas(server, pair):
    src, dst = pair
    r = raw(server, "PUT", dst, "copy", headers=_copy_headers("async", _src_url(server, src)))
    assert r.status_code == 202, r.text
    assert raw(server, "GET", dst, "copy").content == SECRET


@pytest.mark.parametrize("kind", ["sync", "put_from_url"])
def test_CopyFromUrl_private_source_without_sas_is_refused(server, pair, kind):
    src, dst = pair
    r = raw(server, "PUT", dst, "copy", headers=_copy_headers(kind, _src_url(server, src)))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert not _exists(server, dst, "copy")


@pytest.mark.parametrize("access", ["blob", "container"])
def test_CopyFromUrl_public_source_needs_no_sas(server, pair, access):
    src, dst = pair
    r = raw(server, "PUT", src, query="restype=container&comp=acl",
            headers={"x-ms-blob-public-access": access})
    assert r.status_code == 200, r.text
    r = raw(server, "PUT", dst, "copy", headers=_copy_headers("sync", _src_url(server, src)))
    assert r.status_code == 202, r.text
    assert raw(server, "GET", dst, "copy").content == SECRET


@pytest.mark.parametrize("name", ["../secret", "a/../../secret", "a/./b", "a//b"])
def test_CopySource_names_pass_the_blob_name_gate(server, pair, name):
    src, dst = pair
    # Hand-built so that no client normalizes the dot segments away.
    url = "http://127.0.0.1:%d/%s/%s/%s?%s" % (server.port, DEV_ACCOUNT, src, name, _container_sas(src, "r"))
    r = raw(server, "PUT", dst, "copy", headers=_copy_headers("sync", url))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert not _exists(server, dst, "copy")


def test_CopySource_with_copy_source_authorization_is_refused(server, pair):
    """No OAuth here: a bearer token for the source cannot be verified."""
    src, dst = pair
    h = _copy_headers("sync", _src_url(server, src))
    h["x-ms-copy-source-authorization"] = "Bearer eyJhbGciOiJub25lIn0.e30."
    r = raw(server, "PUT", dst, "copy", headers=h)
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
