"""CORS: OPTIONS preflight and Access-Control-* headers on actual requests,
driven by the service properties' CORS rules. Uses a server of its own."""
import pytest
import requests
from azure.storage.blob import CorsRule

import signing

ORIGIN = "https://app.example"


@pytest.fixture
def cors(own_service):
    own_service.set_service_properties(cors=[
        CorsRule([ORIGIN, "https://other.example"], ["GET", "PUT", "HEAD"],
                 allowed_headers=["x-ms-meta-*", "content-type"],
                 exposed_headers=["x-ms-request-id", "x-ms-meta-*"], max_age_in_seconds=300),
        CorsRule(["*"], ["DELETE"]),
    ])
    yield own_service
    own_service.set_service_properties(cors=[])


def _options(server, path, headers):
    return requests.options("http://127.0.0.1:%d/devstoreaccount1%s" % (server.port, path),
                            headers=headers, timeout=10)


@pytest.mark.parametrize("path", ["/", "/somecontainer", "/somecontainer/some/blob.txt"])
def test_Preflight_allowed(own_server, cors, path):
    resp = _options(own_server, path, {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
                                       "Access-Control-Request-Headers": "x-ms-meta-abc,content-type"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PUT" in resp.headers["Access-Control-Allow-Methods"]
    allowed = [h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")]
    assert "x-ms-meta-abc" in allowed and "content-type" in allowed
    assert resp.headers["Access-Control-Max-Age"] == "300"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-ms-request-id" in resp.headers


def test_Preflight_origin_refused(own_server, cors):
    resp = _options(own_server, "/c", {"Origin": "https://evil.example",
                                       "Access-Control-Request-Method": "GET"})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "CorsPreflightFailure"
    assert "<Code>CorsPreflightFailure</Code>" in resp.text
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_Preflight_method_refused(own_server, cors):
    resp = _options(own_server, "/c", {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "CorsPreflightFailure"


def test_Preflight_header_refused(own_server, cors):
    resp = _options(own_server, "/c", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                       "Access-Control-Request-Headers": "x-custom-header"})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "CorsPreflightFailure"


def test_Preflight_wildcard_origin_rule(own_server, cors):
    resp = _options(own_server, "/c", {"Origin": "https://anyone.example",
                                       "Access-Control-Request-Method": "DELETE"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://anyone.example")
    assert "DELETE" in resp.headers["Access-Control-Allow-Methods"]


def test_Preflight_no_rules(own_server, own_service):
    own_service.set_service_properties(cors=[])
    resp = _options(own_server, "/c", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "CorsPreflightFailure"


@pytest.mark.parametrize("headers", [
    {"Access-Control-Request-Method": "GET"},
    {"Origin": ORIGIN},
])
def test_Preflight_missing_cors_headers(own_server, cors, headers):
    resp = _options(own_server, "/c", headers)
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidHeaderValue"


def test_Cors_actual_request_headers(own_server, cors):
    resp = signing.request(own_server, "GET", "/", "comp=list", headers={"Origin": ORIGIN})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = [h.strip().lower() for h in resp.headers["Access-Control-Expose-Headers"].split(",")]
    assert "x-ms-request-id" in exposed


def test_Cors_actual_request_wildcard(own_server, cors):
    resp = signing.request(own_server, "DELETE", "/nosuchcontainer", "restype=container",
                           headers={"Origin": "https://anyone.example"})
    assert resp.status_code == 404
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers


def test_Cors_actual_request_on_error(own_server, cors):
    resp = signing.request(own_server, "GET", "/nosuchcontainer", "restype=container",
                           headers={"Origin": ORIGIN})
    assert resp.status_code == 404
    assert signing.error_code(resp) == "ContainerNotFound"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_Cors_actual_request_no_match(own_server, cors):
    resp = signing.request(own_server, "GET", "/", "comp=list", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    # Method not in any rule for this origin.
    resp = signing.request(own_server, "DELETE", "/nosuchcontainer", "restype=container",
                           headers={"Origin": ORIGIN})
    assert resp.headers.get("Access-Control-Allow-Origin") == "*"  # the wildcard DELETE rule


def test_Cors_no_origin_no_headers(own_server, cors):
    resp = signing.request(own_server, "GET", "/", "comp=list")
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_Cors_rules_change_takes_effect(own_server, own_service):
    own_service.set_service_properties(cors=[CorsRule(["https://first.example"], ["GET"])])
    try:
        r1 = _options(own_server, "/c", {"Origin": "https://first.example", "Access-Control-Request-Method": "GET"})
        assert r1.status_code == 200
        own_service.set_service_properties(cors=[CorsRule(["https://second.example"], ["GET"])])
        r2 = _options(own_server, "/c", {"Origin": "https://first.example", "Access-Control-Request-Method": "GET"})
        assert r2.status_code == 403
        r3 = _options(own_server, "/c", {"Origin": "https://second.example", "Access-Control-Request-Method": "GET"})
        assert r3.status_code == 200
    finally:
        own_service.set_service_properties(cors=[])
