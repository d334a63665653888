"""Headers on every response: x-ms-request-id, x-ms-version (echoed), Date,
x-ms-client-request-id (echoed); and the shape of error responses."""
import datetime
import email.utils
import re
import time
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import BlobServiceClient

import signing

# Every x-ms-version published from 2019-02-02 on.
VERSIONS = ["2019-02-02", "2019-07-07", "2019-10-10", "2019-12-12", "2020-02-10", "2020-04-08",
            "2020-06-12", "2020-08-04", "2020-10-02", "2020-12-06", "2021-02-12", "2021-04-10",
            "2021-06-08", "2021-08-06", "2021-10-04", "2021-12-02", "2022-11-02", "2023-01-03",
            "2023-05-03", "2023-08-03", "2023-11-03", "2024-02-04", "2024-05-04", "2024-08-04",
            "2024-11-04", "2025-01-05", "2025-05-05", "2025-07-05", "2025-11-05"]


@pytest.mark.parametrize("version", VERSIONS)
def test_Version_accepted_and_echoed(server, container, version):
    resp = signing.request(server, "GET", "/" + container.container_name, "restype=container",
                           headers={"x-ms-version": version})
    assert resp.status_code == 200
    assert resp.headers["x-ms-version"] == version


@pytest.mark.parametrize("version", ["2019-02-02", "2020-10-02", "2021-08-06"])
def test_Version_sdk_api_version(server, version, container_name):
    svc = BlobServiceClient.from_connection_string(server.connection_string, api_version=version)
    seen = {}
    client = svc.create_container(container_name,
                                  raw_response_hook=lambda r: seen.update(r.http_response.headers))
    try:
        assert seen["x-ms-version"] == version
        client.upload_blob("b", b"v")
        assert client.download_blob("b").readall() == b"v"
    finally:
        client.delete_container()


def test_Version_echoed_on_error(server, container_name):
    resp = signing.request(server, "GET", "/" + container_name, "restype=container",
                           headers={"x-ms-version": "2020-04-08"})
    assert resp.status_code == 404
    assert resp.headers["x-ms-version"] == "2020-04-08"


def test_Version_invalid(server):
    resp = signing.request(server, "GET", "/", "comp=list", headers={"x-ms-version": "not-a-date"})
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidHeaderValue"


def test_RequestId_and_Date(server, container):
    r1 = signing.request(server, "GET", "/" + container.container_name, "restype=container")
    r2 = signing.request(server, "GET", "/" + container.container_name, "restype=container")
    for r in (r1, r2):
        assert r.headers["x-ms-request-id"]
        date = email.utils.parsedate_to_datetime(r.headers["Date"])
        assert abs(date.timestamp() - time.time()) < 120
        assert r.headers["Date"].endswith("GMT")
    assert r1.headers["x-ms-request-id"] != r2.headers["x-ms-request-id"]


def test_ClientRequestId_echoed(server, container):
    resp = signing.request(server, "GET", "/" + container.container_name, "restype=container",
                           headers={"x-ms-client-request-id": "my-trace-123"})
    assert resp.headers["x-ms-client-request-id"] == "my-trace-123"
    bad = signing.request(server, "GET", "/nosuchcontainer1", "restype=container",
                          headers={"x-ms-client-request-id": "err-trace"})
    assert bad.status_code == 404
    assert bad.headers["x-ms-client-request-id"] == "err-trace"


def test_ClientRequestId_from_sdk(service, container):
    seen = {}
    container.get_container_properties(raw_response_hook=lambda r: seen.update(
        req=r.http_request.headers.get("x-ms-client-request-id"),
        resp=r.http_response.headers.get("x-ms-client-request-id")))
    assert seen["req"] and seen["resp"] == seen["req"]


def test_CommonHeaders_on_auth_failure(server):
    resp = signing.request(server, "GET", "/", "comp=list", sign_it=False,
                           headers={"Authorization": "SharedKey devstoreaccount1:AAAA",
                                    "x-ms-client-request-id": "auth-fail"})
    assert resp.status_code == 403
    assert resp.headers["x-ms-request-id"]
    assert resp.headers["x-ms-client-request-id"] == "auth-fail"
    assert "Date" in resp.headers


@pytest.mark.parametrize("method,path,query,status,code", [
    ("GET", "/nosuchcontainer2", "restype=container", 404, "ContainerNotFound"),
    ("PUT", "/Bad_Name", "restype=container", 400, "InvalidResourceName"),
    ("GET", "/nosuchcontainer3", "restype=container&comp=list", 404, "ContainerNotFound"),
])
def test_ErrorBody_shape(server, method, path, query, status, code):
    resp = signing.request(server, method, path, query)
    assert resp.status_code == status
    assert resp.headers["x-ms-error-code"] == code
    assert resp.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "Error"
    assert root.findtext("Code") == code
    assert root.findtext("Message")


def test_ErrorBody_head_has_no_body(server):
    resp = signing.request(server, "HEAD", "/nosuchcontainer4", "restype=container")
    assert resp.status_code == 404
    assert resp.headers["x-ms-error-code"] == "ContainerNotFound"
    assert resp.content == b""


# Azure ends every error message with the request's id and time on lines of
# their own, the time in ISO 8601 with 7 fractional digits, e.g.
#   <Message>The specified blob does not exist.\nRequestId:...\nTime:2020-05-18T05:26:55.0795499Z</Message>
# (the answers recorded in the Azure SDK for JS's tests, and quoted in
# Azure/azure-sdk-for-js#9507).
MESSAGE_LINES = re.compile(r"\nRequestId:([0-9a-f-]{36})\nTime:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)$")


@pytest.mark.parametrize("method,path,query,headers", [
    ("GET", "/nosuchcontainer5", "restype=container", {}),
    ("GET", "/nosuchcontainer5/blob", "", {}),
    ("PUT", "/Bad_Name", "restype=container", {}),
    ("GET", "/", "comp=list", {"x-ms-version": "1999-01-01"}),
])
def test_ErrorBody_message_ends_with_request_id_and_time(server, method, path, query, headers):
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    resp = signing.request(server, method, path, query, headers=headers)
    assert resp.status_code >= 400
    message = ET.fromstring(resp.content).findtext("Message")
    m = MESSAGE_LINES.search(message)
    assert m, message
    assert m.group(1) == resp.headers["x-ms-request-id"]
    when = datetime.datetime.strptime(m.group(2)[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)
    assert before <= when <= before + datetime.timedelta(seconds=65)
    assert not message.startswith("\n")


def test_ErrorBody_unauthenticated_has_request_lines(server):
    resp = signing.request(server, "GET", "/", "comp=list", sign_it=False)
    assert resp.status_code in (401, 403)
    message = ET.fromstring(resp.content).findtext("Message")
    assert MESSAGE_LINES.search(message), message


def test_ErrorBody_header_name_and_value(server):
    # An error about a header names it and the value sent, after the message:
    # <HeaderName>x-ms-version</HeaderName><HeaderValue>yyyy-mm-dd</HeaderValue>
    # (Azure's answer quoted in Microsoft's troubleshooting guide for
    # InvalidHeaderValue, and in the SDK for JS's recorded copy tests).
    resp = signing.request(server, "GET", "/", "comp=list", headers={"x-ms-version": "yyyy-mm-dd"})
    assert (resp.status_code, resp.headers["x-ms-error-code"]) == (400, "InvalidHeaderValue")
    root = ET.fromstring(resp.content)
    assert [c.tag for c in root] == ["Code", "Message", "HeaderName", "HeaderValue"]
    assert root.findtext("HeaderName") == "x-ms-version"
    assert root.findtext("HeaderValue") == "yyyy-mm-dd"


def test_ErrorBody_missing_header_is_named(server, container_name):
    assert signing.request(server, "PUT", "/" + container_name, "restype=container").status_code == 201
    try:
        resp = signing.request(server, "PUT", "/%s/b" % container_name, "", body=b"x")
        assert (resp.status_code, resp.headers["x-ms-error-code"]) == (400, "MissingRequiredHeader")
        root = ET.fromstring(resp.content)
        assert root.findtext("HeaderName") == "x-ms-blob-type"
        assert root.find("HeaderValue") is None
    finally:
        signing.request(server, "DELETE", "/" + container_name, "restype=container")


def test_ErrorBody_query_parameter_name_and_value(server):
    # <QueryParameterName>, <QueryParameterValue> after the message, as in
    # Azure's answers recorded by the SDKs' tests.
    resp = signing.request(server, "GET", "/", "comp=list&maxresults=abc")
    assert (resp.status_code, resp.headers["x-ms-error-code"]) == (400, "InvalidQueryParameterValue")
    root = ET.fromstring(resp.content)
    assert [c.tag for c in root][:4] == ["Code", "Message", "QueryParameterName", "QueryParameterValue"]
    assert root.findtext("QueryParameterName") == "maxresults"
    assert root.findtext("QueryParameterValue") == "abc"
    resp = signing.request(server, "GET", "/", "comp=list&maxresults=0")
    assert resp.headers["x-ms-error-code"] == "OutOfRangeQueryParameterValue"
    assert ET.fromstring(resp.content).findtext("QueryParameterValue") == "0"


@pytest.mark.parametrize("path,query", [
    ("/nosuchcontainer6", "restype=container"),
    ("/nosuchcontainer6/blob", ""),
    ("/ab", "restype=container"),
])
def test_ErrorBody_head_error_is_bare(server, path, query):
    # Azure answers an error to HEAD with x-ms-error-code and no body, and
    # without a Content-Type (its 404s to HEAD recorded in the SDK for JS's
    # tests carry Transfer-Encoding, Server, x-ms-request-id, x-ms-version,
    # x-ms-error-code and Date only).
    resp = signing.request(server, "HEAD", path, query)
    assert resp.status_code >= 400
    assert resp.headers["x-ms-error-code"]
    assert resp.content == b""
    assert "Content-Type" not in resp.headers
    assert resp.headers["x-ms-request-id"]


def test_ErrorBody_unknown_operation_names_comp(server):
    # Azure's answer to a request naming no operation of its resource, as
    # recorded in public error bodies (a GET of an account's root: comp named
    # with an empty value; Azure Queue's comp=stats on the wrong host: the
    # value as sent): 400 InvalidQueryParameterValue, the plain message,
    # <QueryParameterName>, <QueryParameterValue> and an empty <Reason>.
    container_name = "unknownop"
    signing.request(server, "PUT", "/" + container_name, "restype=container")
    try:
        cases = [("/", "", "comp", ""),
                 ("/%s/b" % container_name, "comp=bogus", "comp", "bogus"),
                 ("/" + container_name, "restype=container&comp=bogus", "comp", "bogus"),
                 ("/" + container_name, "restype=bogus", "restype", "bogus")]
        for path, query, name, value in cases:
            resp = signing.request(server, "GET", path, query)
            assert (resp.status_code, resp.headers["x-ms-error-code"]) == \
                (400, "InvalidQueryParameterValue"), (path, query)
            root = ET.fromstring(resp.content)
            assert [c.tag for c in root] == ["Code", "Message", "QueryParameterName",
                                             "QueryParameterValue", "Reason"], (path, query)
            assert root.findtext("Message").startswith(
                "Value for one of the query parameters specified in the request URI is invalid.\n")
            assert root.findtext("QueryParameterName") == name
            assert root.findtext("QueryParameterValue") == value
            assert root.findtext("Reason") == ""
    finally:
        signing.request(server, "DELETE", "/" + container_name, "restype=container")
