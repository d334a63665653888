"""Raw signed dfs requests and JSON error checks. (The server fixtures come
from tests/integration/conftest.py, which pytest applies here too.)"""
import json
import urllib.parse

import signing


def raw(server, method, fs, path="", query="", headers=None, body=b""):
    p = "/" + fs + ("/" + urllib.parse.quote(path, safe="/~") if path else "")
    return signing.request(server, method, p, query=query, headers=headers, body=body)


def assert_json_error(resp, status, code):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("x-ms-error-code") == code, resp.headers
    if resp.request.method != "HEAD":
        assert resp.headers["Content-Type"].startswith("application/json")
        assert json.loads(resp.text)["error"]["code"] == code
