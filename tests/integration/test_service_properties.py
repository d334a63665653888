"""Get/Set Blob Service Properties: ?restype=service&comp=properties. Uses a
server of its own: the properties are account-wide."""
import xml.etree.ElementTree as ET

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (BlobAnalyticsLogging, CorsRule, Metrics, RetentionPolicy,
                                StaticWebsite)

import signing


def test_GetServiceProperties_defaults(own_server):
    resp = signing.request(own_server, "GET", "/", "restype=service&comp=properties")
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.tag == "StorageServiceProperties"
    for child in ("Logging", "HourMetrics", "MinuteMetrics", "Cors", "DeleteRetentionPolicy"):
        assert root.find(child) is not None, child


def test_SetServiceProperties_roundtrip(own_service):
    logging = BlobAnalyticsLogging(read=True, write=True, delete=False,
                                   retention_policy=RetentionPolicy(enabled=True, days=5))
    hour = Metrics(enabled=True, include_apis=True, retention_policy=RetentionPolicy(enabled=True, days=3))
    cors = [CorsRule(["https://a.example"], ["GET", "PUT"], allowed_headers=["x-ms-meta-*"],
                     exposed_headers=["x-ms-request-id"], max_age_in_seconds=600)]
    delete_retention = RetentionPolicy(enabled=True, days=7)
    own_service.set_service_properties(analytics_logging=logging, hour_metrics=hour, cors=cors,
                                       delete_retention_policy=delete_retention,
                                       target_version="2021-12-02")
    props = own_service.get_service_properties()
    assert props["target_version"] == "2021-12-02"
    assert props["analytics_logging"].read is True
    assert props["analytics_logging"].write is True
    assert props["analytics_logging"].delete is False
    assert props["analytics_logging"].retention_policy.days == 5
    assert props["hour_metrics"].enabled is True
    assert props["hour_metrics"].include_apis is True
    assert props["hour_metrics"].retention_policy.days == 3
    assert props["delete_retention_policy"].enabled is True
    assert props["delete_retention_policy"].days == 7
    (rule,) = props["cors"]
    assert rule.allowed_origins == "https://a.example"
    assert rule.allowed_methods == "GET,PUT"
    assert rule.allowed_headers == "x-ms-meta-*"
    assert rule.exposed_headers == "x-ms-request-id"
    assert rule.max_age_in_seconds == 600


def test_SetServiceProperties_merges(own_service):
    own_service.set_service_properties(cors=[CorsRule(["https://keep.example"], ["GET"])])
    own_service.set_service_properties(minute_metrics=Metrics(enabled=True, include_apis=False,
                                                              retention_policy=RetentionPolicy(enabled=True, days=2)))
    props = own_service.get_service_properties()
    assert props["minute_metrics"].enabled is True
    assert [r.allowed_origins for r in props["cors"]] == ["https://keep.example"]
    # Cors given as an empty list clears the rules.
    own_service.set_service_properties(cors=[])
    props = own_service.get_service_properties()
    assert props["cors"] == []
    assert props["minute_metrics"].enabled is True


def test_SetServiceProperties_static_website(own_service):
    own_service.set_service_properties(static_website=StaticWebsite(
        enabled=True, index_document="index.html", error_document404_path="404.html"))
    sw = own_service.get_service_properties()["static_website"]
    assert sw.enabled is True
    assert sw.index_document == "index.html"
    assert sw.error_document404_path == "404.html"
    own_service.set_service_properties(static_website=StaticWebsite(enabled=False))
    assert own_service.get_service_properties()["static_website"].enabled is False


def test_SetServiceProperties_raw_status(own_server):
    body = (b'<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>'
            b'<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>'
            b'</StorageServiceProperties>')
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"}, body=body)
    assert resp.status_code == 202
    assert resp.content == b""


@pytest.mark.parametrize("body", [
    b"<StorageServiceProperties><Cors>",
    b"garbage",
])
def test_SetServiceProperties_bad_xml(own_server, own_service, body):
    own_service.set_service_properties(cors=[CorsRule(["https://stay.example"], ["GET"])])
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"}, body=body)
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidXmlDocument"
    assert [r.allowed_origins for r in own_service.get_service_properties()["cors"]] == ["https://stay.example"]


def test_SetServiceProperties_invalid_cors_method(own_server, own_service):
    own_service.set_service_properties(cors=[])
    body = (b'<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><Cors><CorsRule>'
            b'<AllowedOrigins>*</AllowedOrigins><AllowedMethods>FETCH</AllowedMethods>'
            b'<MaxAgeInSeconds>5</MaxAgeInSeconds><ExposedHeaders></ExposedHeaders>'
            b'<AllowedHeaders></AllowedHeaders></CorsRule></Cors></StorageServiceProperties>')
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"}, body=body)
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidXmlNodeValue"
    assert own_service.get_service_properties()["cors"] == []


def test_SetServiceProperties_persists_restart(tmp_path):
    from azure.storage.blob import BlobServiceClient
    from strata_server import StrataServer
    s = StrataServer(root=str(tmp_path)).start()
    try:
        BlobServiceClient.from_connection_string(s.connection_string).set_service_properties(
            cors=[CorsRule(["https://persist.example"], ["GET"])])
    finally:
        s.stop()
    s = StrataServer(root=str(tmp_path)).start()
    try:
        props = BlobServiceClient.from_connection_string(s.connection_string).get_service_properties()
        assert [r.allowed_origins for r in props["cors"]] == ["https://persist.example"]
    finally:
        s.stop()



def _cors_xml(rules):
    return ('<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><Cors>%s</Cors>'
            '</StorageServiceProperties>' % "".join(rules)).encode()


def _rule(origins="https://x.example", methods="GET"):
    return ("<CorsRule><AllowedOrigins>%s</AllowedOrigins><AllowedMethods>%s</AllowedMethods>"
            "<MaxAgeInSeconds>5</MaxAgeInSeconds><ExposedHeaders></ExposedHeaders>"
            "<AllowedHeaders></AllowedHeaders></CorsRule>" % (origins, methods))


def test_SetServiceProperties_five_cors_rules(own_server, own_service):
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"}, body=_cors_xml([_rule()] * 5))
    assert resp.status_code == 202
    assert len(own_service.get_service_properties()["cors"]) == 5
    own_service.set_service_properties(cors=[])


def test_SetServiceProperties_six_cors_rules(own_server, own_service):
    own_service.set_service_properties(cors=[])
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"}, body=_cors_xml([_rule()] * 6))
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidXmlDocument"
    assert own_service.get_service_properties()["cors"] == []


def test_SetServiceProperties_too_many_origins(own_server, own_service):
    own_service.set_service_properties(cors=[])
    ok = ",".join("https://o%d.example" % i for i in range(64))
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"}, body=_cors_xml([_rule(ok)]))
    assert resp.status_code == 202
    resp = signing.request(own_server, "PUT", "/", "restype=service&comp=properties",
                           headers={"Content-Type": "application/xml"},
                           body=_cors_xml([_rule(ok + ",https://o64.example")]))
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidXmlNodeValue"
    (rule,) = own_service.get_service_properties()["cors"]
    assert len(rule.allowed_origins.split(",")) == 64
    own_service.set_service_properties(cors=[])
