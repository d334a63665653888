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


# ---- wildcard subdomains and Vary: Origin ----
# Allowed origins may name every subdomain of a domain with "*." (as the
# issue asks and Azure's CORS rule guidance describes: http://*.contoso.com);
# an origin is otherwise compared exactly, case included (CorsRule
# AllowedOrigins: "an exact case-sensitive match"). Vary: Origin follows
# "CORS support for the Azure Storage services" (the Vary header): set on
# GET/HEAD responses when the origin matched a rule by name, or when CORS is
# on and no rule took the request (no Origin at all included); not when the
# rule that matched allows any origin.

@pytest.fixture
def wild(own_service):
    own_service.set_service_properties(cors=[
        CorsRule(["https://*.contoso.com", "*.fabrikam.com:8443"], ["GET", "HEAD", "PUT"],
                 allowed_headers=["x-ms-*"]),
        CorsRule([ORIGIN], ["GET", "HEAD"]),
        CorsRule(["*"], ["DELETE", "GET"]),
    ])
    yield own_service
    own_service.set_service_properties(cors=[])


@pytest.mark.parametrize("origin", ["https://app.contoso.com", "https://a.b.contoso.com",
                                    "http://x.fabrikam.com:8443", "https://y.fabrikam.com:8443"])
def test_Cors_wildcard_subdomain_matches(own_server, wild, origin):
    resp = _options(own_server, "/c", {"Origin": origin, "Access-Control-Request-Method": "PUT",
                                       "Access-Control-Request-Headers": "x-ms-blob-type"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    resp = signing.request(own_server, "GET", "/", "comp=list", headers={"Origin": origin})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    assert resp.headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://contoso.com", "http://app.contoso.com",
                                    "https://evilcontoso.com", "https://app.contoso.com.evil.example",
                                    "https://app.contoso.com:444", "https://x.fabrikam.com",
                                    "https://APP.EXAMPLE"])
def test_Cors_wildcard_subdomain_refuses_others(own_server, wild, origin):
    resp = _options(own_server, "/c", {"Origin": origin, "Access-Control-Request-Method": "PUT"})
    assert resp.status_code == 403, origin
    assert signing.error_code(resp) == "CorsPreflightFailure"


def test_Cors_vary_rules(own_server, wild):
    get = lambda headers: signing.request(own_server, "GET", "/", "comp=list", headers=headers)
    # Named origin: the response names it, and varies with it.
    r = get({"Origin": ORIGIN})
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert r.headers["Vary"] == "Origin"
    # Taken only by the any-origin rule: "*", the same for everyone, no Vary.
    r = get({"Origin": "https://anyone.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in r.headers
    # No Origin, CORS on: a cache must not serve this to a CORS request.
    r = get({})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert r.headers["Vary"] == "Origin"
    r = signing.request(own_server, "HEAD", "/nosuchcontainer", "restype=container")
    assert r.headers["Vary"] == "Origin"
    # Not a GET or HEAD: nothing to cache, no Vary.
    r = signing.request(own_server, "PUT", "/nosuchcontainer", "restype=container&comp=metadata",
                        headers={"Origin": "https://app.contoso.com"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.contoso.com"
    assert "Vary" not in r.headers


def test_Cors_vary_unmatched_origin(own_server, own_service):
    own_service.set_service_properties(cors=[CorsRule([ORIGIN], ["GET"])])
    try:
        r = signing.request(own_server, "GET", "/", "comp=list", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in r.headers
        assert r.headers["Vary"] == "Origin"
    finally:
        own_service.set_service_properties(cors=[])


def test_Cors_no_rules_no_vary(own_server, own_service):
    own_service.set_service_properties(cors=[CorsRule([ORIGIN], ["GET"])])
    assert signing.request(own_server, "GET", "/", "comp=list").headers["Vary"] == "Origin"
    # Rules removed through this gateway: seen at once.
    own_service.set_service_properties(cors=[])
    for headers in ({}, {"Origin": ORIGIN}):
        r = signing.request(own_server, "GET", "/", "comp=list", headers=headers)
        assert r.status_code == 200
        assert "Vary" not in r.headers
        assert "Access-Control-Allow-Origin" not in r.headers


def test_Cors_origin_is_case_sensitive(own_server, wild):
    # HEAD: only the named-origin rule allows it (the "*" rule does not).
    resp = _options(own_server, "/c", {"Origin": ORIGIN, "Access-Control-Request-Method": "HEAD"})
    assert resp.status_code == 200
    resp = _options(own_server, "/c", {"Origin": ORIGIN.upper(), "Access-Control-Request-Method": "HEAD"})
    assert resp.status_code == 403
    assert signing.error_code(resp) == "CorsPreflightFailure"
