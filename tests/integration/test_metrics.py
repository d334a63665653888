"""/metrics on the admin port for the data path: requests by operation and
status, the latency histogram, bytes in and out, connections, requests in
flight, errors by Azure error code; /healthz and /readyz."""
import os
import re
import socket
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from obs_util import ObservedServer, admin_get, metrics, raw_exchange, value, wait_for
from strata_server import DEV_ACCOUNT


@pytest.fixture(scope="module")
def observed():
    s = ObservedServer().start()
    yield s
    s.stop()


def test_Metrics_count_requests_bytes_and_errors(observed):
    svc = BlobServiceClient.from_connection_string(observed.connection_string)
    c = svc.create_container("m" + uuid.uuid4().hex[:12])
    data = os.urandom(200_000)
    before = metrics(observed)
    c.upload_blob("b", data)
    assert c.download_blob("b").readall() == data
    for _ in range(3):
        with pytest.raises(ResourceNotFoundError):
            c.get_blob_client("missing").get_blob_properties()
    after = metrics(observed)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    assert delta("strata_http_requests_total", operation="PutBlob", status="201") == 1
    assert delta("strata_http_requests_total", operation="GetBlob", status="206") == 1
    assert delta("strata_http_requests_total", operation="GetBlobProperties", status="404") == 3
    assert delta("strata_http_errors_total", code="BlobNotFound") == 3
    assert len(data) < delta("strata_http_received_bytes_total") < len(data) + 8192
    assert len(data) < delta("strata_http_sent_bytes_total") < len(data) + 16384
    # The histogram counts each request once, in cumulative buckets.
    assert delta("strata_http_request_duration_seconds_count", operation="GetBlobProperties") == 3
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in after.items()
                      if k[0] == "strata_http_request_duration_seconds_bucket"
                      and dict(k[1])["operation"] == "PutBlob"))
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and buckets[-1][0] == float("inf")
    assert buckets[-1][1] == value(after, "strata_http_request_duration_seconds_count",
                                   operation="PutBlob")
    assert value(after, "strata_http_request_duration_seconds_sum", operation="PutBlob") > 0


def test_Metrics_bytes_and_connections_are_exact(observed):
    before = metrics(observed)
    req = (b"GET /%s/none%s?restype=container HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
           % (DEV_ACCOUNT.encode(), uuid.uuid4().hex[:8].encode()))
    resp, status = raw_exchange(observed.port, req)
    assert status == 404
    # Two idle connections stay open while /metrics is read.
    idle = [socket.create_connection(("127.0.0.1", observed.port)) for _ in range(2)]
    try:
        # (A request is counted once its response is out: a moment after
        # the client has read it.)
        def settled():
            m = metrics(observed)
            done = value(m, "strata_http_connections_total") - \
                value(before, "strata_http_connections_total") >= 3 and \
                value(m, "strata_http_sent_bytes_total") - \
                value(before, "strata_http_sent_bytes_total") >= len(resp)
            return m if done else None
        after = wait_for(settled)
        assert value(after, "strata_http_received_bytes_total") - \
            value(before, "strata_http_received_bytes_total") == len(req)
        assert value(after, "strata_http_sent_bytes_total") - \
            value(before, "strata_http_sent_bytes_total") == len(resp)
        assert value(after, "strata_http_connections_total") - \
            value(before, "strata_http_connections_total") == 3
        assert value(after, "strata_http_connections") >= 2
        assert value(after, "strata_http_requests_in_flight") == 0
        assert value(after, "strata_http_errors_total", code="ResourceNotFound") - \
            value(before, "strata_http_errors_total", code="ResourceNotFound") == 1
    finally:
        for s in idle:
            s.close()
    # (Connections an earlier client kept may close meanwhile too.)
    assert wait_for(lambda: value(metrics(observed), "strata_http_connections") <=
                    value(before, "strata_http_connections"))


def test_Metrics_a_request_in_flight_is_counted(observed):
    # A header that has begun but not ended is a request in flight.
    s = socket.create_connection(("127.0.0.1", observed.port))
    try:
        s.sendall(b"GET /%s/c?restype=container HTTP/1.1\r\nHost: x\r\n" % DEV_ACCOUNT.encode())
        assert wait_for(lambda: value(metrics(observed), "strata_http_requests_in_flight") == 1)
        s.sendall(b"\r\n")
        s.recv(65536)
        assert wait_for(lambda: value(metrics(observed), "strata_http_requests_in_flight") == 0)
    finally:
        s.close()


def test_Metrics_have_help_and_type_and_bounded_labels(observed):
    # Requests naming no operation all count as Unknown; odd paths add no label.
    for i in range(20):
        raw_exchange(observed.port, b"GET /%s/c/b?comp=nonsense%d HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n" % (DEV_ACCOUNT.encode(), i))
    status, text = admin_get(observed, "/metrics")
    assert status == 200
    for name, kind in [("strata_http_requests_total", "counter"),
                       ("strata_http_request_duration_seconds", "histogram"),
                       ("strata_http_received_bytes_total", "counter"),
                       ("strata_http_sent_bytes_total", "counter"),
                       ("strata_http_connections", "gauge"),
                       ("strata_http_connections_total", "counter"),
                       ("strata_http_requests_in_flight", "gauge"),
                       ("strata_http_errors_total", "counter")]:
        assert "# HELP %s " % name in text
        assert "# TYPE %s %s\n" % (name, kind) in text
    ops = set(re.findall(r'strata_http_requests_total\{operation="([^"]+)"', text))
    assert not any("nonsense" in o for o in ops)
    assert "Unknown" in ops


def test_Healthz_and_Readyz(observed):
    assert admin_get(observed, "/healthz") == (200, "ok\n")
    assert admin_get(observed, "/readyz") == (200, "ready\n")
    assert value(metrics(observed), "strata_ready") == 1
