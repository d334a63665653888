"""x-ms-version (issue 11, item 1): the SDKs of today send versions newer than
the newest this server knows (@azure/storage-blob 12.30+ sends 2026-02-06 and
later, also as a SAS's sv). Azure enables new versions everywhere at once, so
a well-formed later version is served as the newest known one; a malformed
one, and one older than 2019-02-02 (the issue's floor), is refused with 400
InvalidHeaderValue naming it, on the blob and the dfs path API alike: the
code Azure answers for an x-ms-version it does not serve (its error carries
HeaderName x-ms-version and the value; e.g. Azure/azure-sdk-for-net#45302).
A SAS's signed version (sv) is not bound by the floor: Azure still verifies
SAS tokens of older versions."""
import base64
import datetime
import hashlib
import hmac
import json
import urllib.parse

import pytest
import requests

import signing
from strata_server import DEV_ACCOUNT, DEV_KEY

NEWER = ["2026-02-06", "2026-04-06", "2026-06-06", "2099-12-31"]


@pytest.mark.parametrize("version", NEWER)
def test_newer_versions_are_served(server, container, version):
    c = container.container_name
    r = signing.request(server, "PUT", "/%s/v" % c, headers={"x-ms-version": version,
                                                           "x-ms-blob-type": "BlockBlob"}, body=b"abc")
    assert r.status_code == 201, r.text
    assert r.headers["x-ms-version"] == version
    r = signing.request(server, "GET", "/%s/v" % c, headers={"x-ms-version": version})
    assert r.status_code == 200 and r.content == b"abc"
    # Served as the newest known version: CRC-64 answers as from 2019-02-02 on.
    assert "x-ms-content-crc64" in signing.request(
        server, "PUT", "/%s/v2" % c, headers={"x-ms-version": version, "x-ms-blob-type": "BlockBlob"},
        body=b"abc").headers


@pytest.mark.parametrize("version", ["2026-13-01", "2026-02-30", "2025-1-01", "latest", "2025-11-05x", "20251105", ""])
def test_malformed_versions_are_refused_naming_them(server, container, version):
    r = signing.request(server, "GET", "/%s" % container.container_name,
                        query="restype=container", headers={"x-ms-version": version})
    assert r.status_code == 400, (version, r.status_code)
    assert signing.error_code(r) == "InvalidHeaderValue"
    if version:
        assert version in r.text


def _service_sas(container, sv, sp="rl"):
    """A container SAS signed by hand from Microsoft's service SAS rules
    (version 2020-12-06 and later: sp st se resource si sip spr sv sr
    snapshot ses rscc rscd rsce rscl rsct; 2018-11-09 to 2020-12-06: the
    same without ses)."""
    se = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resource = "/blob/%s/%s" % (DEV_ACCOUNT, container)
    fields = [sp, "", se, resource, "", "", "", sv, "c", ""] + ([""] if sv >= "2020-12-06" else [])
    sts = "\n".join(fields + ["", "", "", "", ""])
    sig = base64.b64encode(hmac.new(base64.b64decode(DEV_KEY), sts.encode(), hashlib.sha256).digest()).decode()
    return urllib.parse.urlencode({"sv": sv, "sr": "c", "sp": sp, "se": se, "sig": sig})


@pytest.mark.parametrize("sv", ["2025-11-05", "2026-06-06"])
def test_a_sas_of_a_newer_version_verifies(server, container, sv):
    c = container.container_name
    container.upload_blob("x", b"x")
    url = "http://127.0.0.1:%d/%s/%s?restype=container&comp=list&%s" % (
        server.port, DEV_ACCOUNT, c, _service_sas(c, sv))
    r = requests.get(url, headers={"x-ms-version": sv}, timeout=30)
    assert r.status_code == 200, r.text
    assert "<Name>x</Name>" in r.text


def dfs_raw(server, method, fs, path, query, headers):
    return signing.request(server, method, "/" + fs + ("/" + path if path else ""), query=query,
                           headers=headers)


def assert_json_error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("x-ms-error-code") == code
    assert json.loads(r.text)["error"]["code"] == code


OLDER = ["2018-11-09", "2018-03-28", "2015-04-05", "2009-09-19", "2019-02-01"]


@pytest.mark.parametrize("version", OLDER)
def test_older_versions_are_refused_naming_them(server, container, version):
    c = container.container_name
    r = signing.request(server, "GET", "/%s" % c, query="restype=container",
                        headers={"x-ms-version": version})
    assert r.status_code == 400, r.text
    assert signing.error_code(r) == "InvalidHeaderValue"
    assert version in r.text
    # A write is refused before anything is written.
    r = signing.request(server, "PUT", "/%s/old" % c, headers={"x-ms-version": version,
                                                             "x-ms-blob-type": "BlockBlob"},
                        body=b"abc")
    assert r.status_code == 400 and signing.error_code(r) == "InvalidHeaderValue"
    assert not container.get_blob_client("old").exists()


@pytest.mark.parametrize("version", ["2018-11-09", "2009-09-19"])
def test_older_versions_are_refused_on_the_dfs_path_api(server, container, version):
    c = container.container_name
    r = dfs_raw(server, "PUT", c, "d", "resource=directory", headers={"x-ms-version": version})
    assert_json_error(r, 400, "InvalidHeaderValue")
    assert version in r.text
    r = dfs_raw(server, "GET", c, "", "resource=filesystem&recursive=true",
                headers={"x-ms-version": version})
    assert_json_error(r, 400, "InvalidHeaderValue")
    assert not container.get_blob_client("d").exists()


def test_the_oldest_version_served(server, container):
    c = container.container_name
    r = signing.request(server, "PUT", "/%s/v" % c, headers={"x-ms-version": "2019-02-02",
                                                           "x-ms-blob-type": "BlockBlob"}, body=b"abc")
    assert r.status_code == 201, r.text
    r = signing.request(server, "GET", "/%s/v" % c, headers={"x-ms-version": "2019-02-02"})
    assert r.status_code == 200 and r.content == b"abc"
    r = dfs_raw(server, "PUT", c, "d", "resource=directory", headers={"x-ms-version": "2019-02-02"})
    assert r.status_code == 201, r.text


def test_a_sas_of_an_older_version_still_verifies(server, container):
    # The floor is x-ms-version's; Azure still serves SAS tokens signed at
    # older versions (here 2018-11-09, without ses), at the SAS's version.
    c = container.container_name
    container.upload_blob("x", b"x")
    url = "http://127.0.0.1:%d/%s/%s?restype=container&comp=list&%s" % (
        server.port, DEV_ACCOUNT, c, _service_sas(c, "2018-11-09"))
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert "<Name>x</Name>" in r.text
