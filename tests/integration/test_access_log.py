"""The access log (--access-log, --access-log-format): one line per request
with the request id the server sent, the operation's Azure analytics name,
status, error code, the bytes that went over the wire, latency, the
credential kind and the user agent; never a SAS signature, a key or an
Authorization header. A file is reopened on SIGHUP (logrotate)."""
import json
import os
import re
import signal
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, BlobClient, generate_blob_sas

from obs_util import ObservedServer, raw_exchange, wait_for
from strata_server import DEV_ACCOUNT, DEV_KEY, strata_binary

PLAIN = re.compile(
    r'^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<id>\S+) (?P<client>\S+) (?P<account>\S+) '
    r'(?P<op>\S+) (?P<status>\d+) (?P<code>\S+) (?P<bytes_in>\d+) (?P<bytes_out>\d+) '
    r'(?P<latency>\d+\.\d{3}) (?P<auth>\S+) (?P<request>"(?:[^"\\]|\\.)*"|-) (?P<ua>"(?:[^"\\]|\\.)*"|-)$')


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("accesslog") / "access.log")
    s = ObservedServer(extra_args=["--access-log", path]).start()
    s.log_path = path
    yield s
    s.stop()


def read_lines(server):
    if not os.path.exists(server.log_path):
        return []
    with open(server.log_path) as f:
        return [l.rstrip("\n") for l in f]


def line_for(server, request_id, timeout=10):
    """The parsed plain line of the request with this x-ms-request-id."""
    def find():
        for l in read_lines(server):
            m = PLAIN.match(l)
            assert m, l
            if m.group("id") == request_id:
                return m.groupdict()
        return None
    got = wait_for(find, timeout)
    assert got, "no line for %s in %s" % (request_id, read_lines(server))
    return got


class Ids:
    """A raw_response_hook that keeps each response's x-ms-request-id."""

    def __init__(self):
        self.ids = []

    def __call__(self, response):
        self.ids.append(response.http_response.headers.get("x-ms-request-id"))


def test_AccessLog_lines_name_operations_status_and_bytes(logged):
    ids = Ids()
    svc = BlobServiceClient.from_connection_string(logged.connection_string)
    name = "al" + uuid.uuid4().hex[:12]
    c = svc.get_container_client(name)
    c.create_container(raw_response_hook=ids)
    create_id = ids.ids[-1]
    data = os.urandom(300_000)
    c.upload_blob("b", data, raw_response_hook=ids)
    put_id = ids.ids[-1]
    got = c.download_blob("b", raw_response_hook=ids).readall()
    assert got == data
    get_id = ids.ids[-1]
    with pytest.raises(ResourceNotFoundError):
        c.get_blob_client("missing").get_blob_properties(raw_response_hook=ids)
    missing_id = ids.ids[-1]

    line = line_for(logged, create_id)
    assert (line["op"], line["status"], line["code"], line["account"], line["auth"]) == \
        ("CreateContainer", "201", "-", DEV_ACCOUNT, "sharedkey")
    assert line["client"] == "127.0.0.1"
    assert line["ua"].startswith('"azsdk-python-storage-blob/')
    assert line["request"] == '"PUT /%s/%s?restype=container"' % (DEV_ACCOUNT, name)
    t = datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - t).total_seconds()) < 60

    line = line_for(logged, put_id)
    assert (line["op"], line["status"]) == ("PutBlob", "201")
    # The body and the header went over the wire.
    assert len(data) < int(line["bytes_in"]) < len(data) + 4096
    assert float(line["latency"]) > 0

    line = line_for(logged, get_id)
    assert (line["op"], line["status"]) == ("GetBlob", "206")  # the SDK reads a range
    assert len(data) < int(line["bytes_out"]) < len(data) + 4096

    line = line_for(logged, missing_id)
    assert (line["op"], line["status"], line["code"]) == ("GetBlobProperties", "404", "BlobNotFound")


def test_AccessLog_bytes_are_exactly_what_went_over_the_wire(logged):
    # A raw request (anonymous: ResourceNotFound) whose bytes are known.
    req = (b"GET /%s/nocontainer%s?restype=container HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"User-Agent: raw-test\r\nConnection: close\r\n\r\n"
           % (DEV_ACCOUNT.encode(), uuid.uuid4().hex[:8].encode()))
    resp, status = raw_exchange(logged.port, req)
    assert status == 404
    rid = re.search(rb"(?i)x-ms-request-id: *(\S+)", resp).group(1).decode()
    line = line_for(logged, rid)
    assert int(line["bytes_in"]) == len(req)
    assert int(line["bytes_out"]) == len(resp)
    assert (line["op"], line["code"], line["auth"], line["ua"]) == \
        ("GetContainerProperties", "ResourceNotFound", "anonymous", '"raw-test"')


def test_AccessLog_redacts_sas_signatures_and_never_logs_keys(logged):
    svc = BlobServiceClient.from_connection_string(logged.connection_string)
    name = "al" + uuid.uuid4().hex[:12]
    c = svc.create_container(name)
    c.upload_blob("s", b"secret data")
    sas = generate_blob_sas(DEV_ACCOUNT, name, "s", account_key=DEV_KEY,
                            permission=BlobSasPermissions(read=True),
                            expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    sig = re.search(r"(?:^|&)sig=([^&]+)", sas).group(1)
    ids = Ids()
    url = "%s/%s/s?%s" % (logged.endpoint, name, sas)
    assert BlobClient.from_blob_url(url).download_blob(raw_response_hook=ids).readall() == b"secret data"
    # A bad signature is refused, and redacted too.
    bad = sas.replace(sig, "AAAA" + sig[4:])
    with pytest.raises(Exception):
        BlobClient.from_blob_url("%s/%s/s?%s" % (logged.endpoint, name, bad)).download_blob(
            raw_response_hook=ids)
    line = line_for(logged, ids.ids[0])
    assert (line["op"], line["status"], line["auth"]) == ("GetBlob", "206", "sas")
    assert "sig=REDACTED" in line["request"]
    bad_line = line_for(logged, ids.ids[-1])
    assert (bad_line["status"], bad_line["code"], bad_line["auth"]) == \
        ("403", "AuthenticationFailed", "sas")
    text = "\n".join(read_lines(logged))
    from urllib.parse import unquote
    for secret in (sig, unquote(sig), bad, DEV_KEY, DEV_KEY[:20], "SharedKey " + DEV_ACCOUNT):
        assert secret not in text, secret
    assert "authorization" not in text.lower()


def test_AccessLog_file_is_reopened_on_SIGHUP(logged):
    rotated = logged.log_path + ".1"
    svc = BlobServiceClient.from_connection_string(logged.connection_string)
    svc.get_service_properties()
    wait_for(lambda: read_lines(logged))
    os.rename(logged.log_path, rotated)
    logged.proc.send_signal(signal.SIGHUP)
    # The old file keeps what was written; lines after the reopen go to the new one.
    ids = Ids()

    def new_line():
        # (Lines reach the file in batches, within 100 ms: any request since counts.)
        svc.get_service_properties(raw_response_hook=ids)
        return os.path.exists(logged.log_path) and any(i in l for l in read_lines(logged)
                                                       for i in ids.ids)
    assert wait_for(new_line, timeout=10, step=0.2)
    assert logged.alive()
    with open(rotated) as f:
        assert f.read().count("\n") >= 1
    line = line_for(logged, ids.ids[-1])
    assert line["op"] == "GetBlobServiceProperties"


def test_AccessLog_json_to_stderr():
    s = ObservedServer(extra_args=["--access-log", "stderr", "--access-log-format", "json"]).start()
    try:
        ids = Ids()
        svc = BlobServiceClient.from_connection_string(s.connection_string)
        name = "al" + uuid.uuid4().hex[:12]
        svc.create_container(name, raw_response_hook=ids)
        lake = s.lake_client()
        fs = lake.get_file_system_client(name)
        fs.create_file("dir/f.txt", raw_response_hook=ids)
        fs.create_directory("d2", raw_response_hook=ids)
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(timeout=10)
        out = s.proc.stdout.read()  # what was written before the exit
    finally:
        s.stop()
    entries = {}
    for l in out.splitlines():
        if l.startswith("{"):
            j = json.loads(l)
            entries[j["request_id"]] = j
    create = entries[ids.ids[0]]
    assert create["operation"] == "CreateContainer" and create["status"] == 201
    assert create["error_code"] is None and create["account"] == DEV_ACCOUNT
    assert create["auth"] == "sharedkey" and create["method"] == "PUT"
    assert create["bytes_in"] > 0 and create["bytes_out"] > 0 and create["latency_ms"] > 0
    assert entries[ids.ids[1]]["operation"] == "CreatePathFile"
    assert entries[ids.ids[2]]["operation"] == "CreatePathDir"


@pytest.mark.parametrize("args", [["--access-log-format", "xml"], ["--log-level", "loud"],
                                  ["--access-log", "/nonexistent-dir/x/access.log"]])
def test_AccessLog_bad_flags_are_refused(args, tmp_path):
    r = subprocess.run([strata_binary(), "serve", "--port", "0", "--root", str(tmp_path)] + args,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert args[0] in r.stderr  # the message names the flag


@pytest.mark.parametrize("level,shown", [("info", True), ("warn", False)])
def test_LogLevel_filters_the_servers_own_messages(level, shown):
    # SIGHUP's message is an info line: shown at info, not at warn.
    s = ObservedServer(extra_args=["--log-level", level]).start()
    try:
        s.proc.send_signal(signal.SIGHUP)
        BlobServiceClient.from_connection_string(s.connection_string).get_service_properties()
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(timeout=10)
        out = s.proc.stdout.read()
    finally:
        s.stop()
    assert ("I strata: SIGHUP: reopening the log files" in out) == shown, out
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z I strata: SIGHUP", out, re.M) or not shown
