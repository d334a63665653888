"""Raw HTTP requests signed with SharedKey, for tests that must send what the
SDK would not (bad XML, lying lengths, odd headers). The signer is written
from Microsoft's documented rules, independent of the server's code."""
import base64
import hashlib
import hmac
import urllib.parse
from email.utils import formatdate

import requests

from strata_server import DEV_ACCOUNT, DEV_KEY

STANDARD = ["content-encoding", "content-language", "content-length", "content-md5",
            "content-type", "date", "if-modified-since", "if-match", "if-none-match",
            "if-unmodified-since", "range"]


def sign(method, path, query, headers, account=DEV_ACCOUNT, key=DEV_KEY):
    h = {k.lower(): v for k, v in headers.items()}
    if h.get("content-length") == "0":
        h["content-length"] = ""
    parts = [method] + [h.get(n, "") for n in STANDARD]
    xms = sorted((k, v) for k, v in h.items() if k.startswith("x-ms-"))
    canon_headers = "".join("%s:%s\n" % (k, v.strip()) for k, v in xms)
    resource = "/" + account + path
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    for name in sorted(q):
        resource += "\n%s:%s" % (name.lower(), ",".join(sorted(q[name])))
    sts = "\n".join(parts) + "\n" + canon_headers + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest())
    return "SharedKey %s:%s" % (account, sig.decode())


def request(server, method, path, query="", headers=None, body=b"", sign_it=True, **kw):
    """path: "/container/blob" (account prefix added). Returns requests.Response."""
    headers = dict(headers or {})
    headers.setdefault("x-ms-version", "2021-12-02")
    headers.setdefault("x-ms-date", formatdate(usegmt=True))
    full_path = "/" + DEV_ACCOUNT + path
    if body is not None and "Content-Length" not in headers and "content-length" not in headers:
        headers["Content-Length"] = str(len(body))
    if sign_it:
        headers["Authorization"] = sign(method, full_path, query, headers)
    url = "http://127.0.0.1:%d%s" % (server.port, full_path) + ("?" + query if query else "")
    return requests.request(method, url, headers=headers, data=body, timeout=30, **kw)


def error_code(resp):
    return resp.headers.get("x-ms-error-code")
