"""Response-header overrides in a service SAS (rscc, rscd, rsce, rscl, rsct):
signed with the SAS, they replace Cache-Control, Content-Disposition,
Content-Encoding, Content-Language and Content-Type in Get Blob and Get
Blob Properties responses. Rests on Microsoft's "Create a service SAS"
(specifying query parameters to override response headers) and the SDK's
generate_blob_sas(cache_control=..., content_type=...)."""
import datetime
import urllib.parse

import requests
from azure.storage.blob import (AccountSasPermissions, BlobClient, BlobSasPermissions,
                                ContentSettings, ResourceTypes, generate_account_sas,
                                generate_blob_sas)

import signing
from strata_server import DEV_ACCOUNT, DEV_KEY

OVERRIDES = dict(cache_control="no-cache", content_disposition="attachment; filename=x.bin",
                 content_encoding="identity", content_language="de-DE",
                 content_type="application/x-override")
HEADERS = {"Cache-Control": "no-cache", "Content-Disposition": "attachment; filename=x.bin",
           "Content-Encoding": "identity", "Content-Language": "de-DE",
           "Content-Type": "application/x-override"}


def _exp():
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


def _blob(container):
    blob = container.get_blob_client("doc")
    blob.upload_blob(b"payload", content_settings=ContentSettings(
        content_type="text/plain", cache_control="max-age=60", content_language="en"))
    return blob


def _sas(blob, **overrides):
    return generate_blob_sas(DEV_ACCOUNT, blob.container_name, blob.blob_name, account_key=DEV_KEY,
                             permission=BlobSasPermissions(read=True), expiry=_exp(), **overrides)


def test_SasOverrides_get_and_head(container):
    blob = _blob(container)
    url = blob.url + "?" + _sas(blob, **OVERRIDES)
    for method in ("GET", "HEAD"):
        r = requests.request(method, url, timeout=30)
        assert r.status_code == 200, (method, r.text)
        for name, value in HEADERS.items():
            assert r.headers[name] == value, (method, name)
            assert r.headers.get(name.lower()) == value
        # Each header once: overridden, not added beside the blob's own.
        assert "max-age=60" not in r.headers["Cache-Control"]
    assert requests.get(url, timeout=30).content == b"payload"
    # Ranged reads carry them too.
    r = requests.get(url, headers={"Range": "bytes=0-2"}, timeout=30)
    assert r.status_code == 206
    assert r.headers["Content-Type"] == "application/x-override"


def test_SasOverrides_sdk(server, container):
    blob = _blob(container)
    sas = _sas(blob, cache_control="no-store", content_type="image/png")
    client = BlobClient(server.endpoint, container.container_name, "doc", credential=sas)
    props = client.get_blob_properties()
    assert props.content_settings.content_type == "image/png"
    assert props.content_settings.cache_control == "no-store"
    assert props.content_settings.content_language == "en"  # not overridden: the blob's own
    download = client.download_blob()
    assert download.properties.content_settings.content_type == "image/png"
    assert download.readall() == b"payload"
    # The blob itself is unchanged.
    assert blob.get_blob_properties().content_settings.content_type == "text/plain"


def test_SasOverrides_only_part_of_the_signature(container):
    blob = _blob(container)
    sas = _sas(blob, content_type="application/x-signed")
    tampered = sas.replace("rsct=application/x-signed", "rsct=text/html")
    assert tampered != sas
    r = requests.get(blob.url + "?" + tampered, timeout=30)
    assert r.status_code == 403
    assert signing.error_code(r) == "AuthenticationFailed"
    # Unsigned overrides beside a SAS that does not sign them are refused too.
    r = requests.get(blob.url + "?" + _sas(blob) + "&rsct=text%2Fhtml", timeout=30)
    assert r.status_code == 403


def test_SasOverrides_not_without_a_service_sas(server, container):
    blob = _blob(container)
    # SharedKey: the parameters are no SAS and change nothing.
    r = signing.request(server, "GET", "/%s/doc" % container.container_name,
                        query="rsct=" + urllib.parse.quote("text/html"))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain"
    # An account SAS does not sign them: they change nothing either.
    asas = generate_account_sas(DEV_ACCOUNT, DEV_KEY, ResourceTypes(object=True),
                                AccountSasPermissions(read=True), expiry=_exp())
    r = requests.get(blob.url + "?" + asas + "&rsct=text%2Fhtml", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain"
