"""x-ms-version (issue 11, item 1): the SDKs of today send versions newer than
the newest this server knows (@azure/storage-blob 12.30+ sends 2026-02-06 and
later, also as a SAS's sv). Azure enables new versions everywhere at once, so
a well-formed later version is served as the newest known one; a malformed
one is refused with 400 InvalidHeaderValue naming it."""
import base64
import datetime
import hashlib
import hmac
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
    snapshot ses rscc rscd rsce rscl rsct)."""
    se = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resource = "/blob/%s/%s" % (DEV_ACCOUNT, container)
    sts = "\n".join([sp, "", se, resource, "", "", "", sv, "c", "", "", "", "", "", "", ""])
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
