"""The authorization walk (issue 10): every row of the authorization table
(`strata routes`, the table the server itself uses) is driven as a real
request with each kind of credential:

- SharedKey: never refused by authorization;
- a service SAS holding every letter except the ones the row demands: 403
  AuthorizationPermissionMismatch (or AuthorizationFailure where no service
  SAS may do it), and nothing changes;
- a service SAS holding only one alternative of the demanded letters: not
  refused by authorization; where the row names letters for replacing an
  existing blob (c creates, w replaces), an alternative without them is
  refused (403 AuthorizationPermissionMismatch, nothing changes) once the
  target exists;
- a SAS for another container holding every letter: 403, nothing changes;
- anonymous, at each public access level: allowed exactly where the row
  says, refused (404 ResourceNotFound / 401) elsewhere, nothing changed.

The expectations (which letters, which access level) are the table's; this
walk proves the server enforces the table on the wire for every route, and
test_route_expectations below pins the table to Azure's SAS permission
rules so a row cannot drift silently."""
import datetime
import json
import os
import subprocess
import urllib.parse
import types
import uuid

import pytest
import requests
from azure.storage.blob import generate_account_sas, generate_container_sas

import signing
from strata_server import DEV_ACCOUNT, DEV_KEY, start_with_dfs_port, strata_binary

ALL_LETTERS = "racwdxltmeopi"
PUBLIC_XML = ('<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers></SignedIdentifiers>')
SERVICE_PROPS = ('<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>'
                 '</StorageServiceProperties>')


def _table():
    out = subprocess.run([strata_binary(), "routes"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


TABLE = _table()


def _key(row):
    return "%s/%s/%s" % (row["name"], row["level"], row["method"])


def _exp():
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


def _csas(container, letters):
    return generate_container_sas(DEV_ACCOUNT, container, account_key=DEV_KEY, permission=letters,
                                  expiry=_exp())


# Each recipe: (container, blob, query, headers, body), given the names of
# the case's container `c` and a read SAS for its blob "b" (copy sources).
def _recipes(c, src_sas):
    src_url = "http://127.0.0.1:{port}/%s/%s/b?%s" % (DEV_ACCOUNT, c, src_sas)
    lease = {"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"}
    return {
        "ListContainers/service/GET": ("", "", "comp=list", {}, b""),
        "GetServiceProperties/service/GET": ("", "", "restype=service&comp=properties", {}, b""),
        "SetServiceProperties/service/PUT": ("", "", "restype=service&comp=properties", {}, SERVICE_PROPS.encode()),
        "GetAccountInfo/service/GET": ("", "", "restype=account&comp=properties", {}, b""),
        "GetUserDelegationKey/service/POST": ("", "", "restype=service&comp=userdelegationkey", {},
                                              b"<KeyInfo><Expiry>2099-01-01T00:00:00Z</Expiry></KeyInfo>"),
        "GetAccountInfo/service/HEAD": ("", "", "restype=account&comp=properties", {}, b""),
        "GetAccountInfo/container/GET": (c, "", "restype=account&comp=properties", {}, b""),
        "GetAccountInfo/container/HEAD": (c, "", "restype=account&comp=properties", {}, b""),
        "GetAccountInfo/blob/GET": (c, "b", "restype=account&comp=properties", {}, b""),
        "GetAccountInfo/blob/HEAD": (c, "b", "restype=account&comp=properties", {}, b""),
        "CreateContainer/container/PUT": (c, "", "restype=container", {}, b""),
        "GetContainerProperties/container/GET": (c, "", "restype=container", {}, b""),
        "GetContainerProperties/container/HEAD": (c, "", "restype=container", {}, b""),
        "GetContainerMetadata/container/GET": (c, "", "restype=container&comp=metadata", {}, b""),
        "GetContainerMetadata/container/HEAD": (c, "", "restype=container&comp=metadata", {}, b""),
        "SetContainerMetadata/container/PUT": (c, "", "restype=container&comp=metadata", {"x-ms-meta-walk": "1"}, b""),
        "DeleteContainer/container/DELETE": (c, "", "restype=container", {}, b""),
        "GetContainerAcl/container/GET": (c, "", "restype=container&comp=acl", {}, b""),
        "GetContainerAcl/container/HEAD": (c, "", "restype=container&comp=acl", {}, b""),
        "SetContainerAcl/container/PUT": (c, "", "restype=container&comp=acl", {}, PUBLIC_XML.encode()),
        "ListBlobs/container/GET": (c, "", "restype=container&comp=list", {}, b""),
        "LeaseContainer/container/PUT": (c, "", "restype=container&comp=lease", lease, b""),
        "CopyBlobFromUrl/blob/PUT": (c, "copy", "", {"x-ms-copy-source": src_url, "x-ms-requires-sync": "true"}, b""),
        "PutBlobFromUrl/blob/PUT": (c, "copy", "", {"x-ms-copy-source": src_url, "x-ms-blob-type": "BlockBlob"}, b""),
        "CopyBlob/blob/PUT": (c, "copy", "", {"x-ms-copy-source": src_url}, b""),
        "PutBlob/blob/PUT": (c, "new", "", {"x-ms-blob-type": "BlockBlob"}, b"data"),
        "GetBlob/blob/GET": (c, "b", "", {}, b""),
        "GetBlobProperties/blob/HEAD": (c, "b", "", {}, b""),
        "DeleteBlob/blob/DELETE": (c, "b", "", {}, b""),
        "SetBlobProperties/blob/PUT": (c, "b", "comp=properties", {"x-ms-blob-content-type": "text/walk"}, b""),
        "GetBlobMetadata/blob/GET": (c, "b", "comp=metadata", {}, b""),
        "GetBlobMetadata/blob/HEAD": (c, "b", "comp=metadata", {}, b""),
        "SetBlobMetadata/blob/PUT": (c, "b", "comp=metadata", {"x-ms-meta-walk": "1"}, b""),
        "LeaseBlob/blob/PUT": (c, "b", "comp=lease", lease, b""),
        "SetBlobTier/blob/PUT": (c, "b", "comp=tier", {"x-ms-access-tier": "Hot"}, b""),
        "AbortCopyBlob/blob/PUT": (c, "b", "comp=copy&copyid=" + str(uuid.uuid4()), {"x-ms-copy-action": "abort"}, b""),
        "PutBlock/blob/PUT": (c, "b2", "comp=block&blockid=QUFBQQ%3D%3D", {}, b"blk"),
        "PutBlockFromUrl/blob/PUT": (c, "b3", "comp=block&blockid=QUFBQQ%3D%3D", {"x-ms-copy-source": src_url}, b""),
        "PutBlockList/blob/PUT": (c, "b2", "comp=blocklist", {}, b'<?xml version="1.0" encoding="utf-8"?><BlockList></BlockList>'),
        "GetBlockList/blob/GET": (c, "b", "comp=blocklist", {}, b""),
        "AppendBlock/blob/PUT": (c, "ab", "comp=appendblock", {}, b"more"),
        "AppendBlobSeal/blob/PUT": (c, "ab", "comp=seal", {}, b""),
        "DfsListFilesystems/service/GET": ("", "", "resource=account", {}, b""),
        "DfsCreateFilesystem/container/PUT": (c, "", "resource=filesystem", {}, b""),
        "DfsGetFilesystemProperties/container/HEAD": (c, "", "resource=filesystem", {}, b""),
        "DfsSetFilesystemProperties/container/PATCH": (c, "", "resource=filesystem", {"x-ms-properties": "k=dg=="}, b""),
        "DfsDeleteFilesystem/container/DELETE": (c, "", "resource=filesystem", {}, b""),
        "DfsListPaths/container/GET": (c, "", "resource=filesystem&recursive=true", {}, b""),
        "DfsCreatePath/blob/PUT": (c, "newf", "resource=file", {}, b""),
        "DfsRenamePath/blob/PUT": (c, "renamed", "mode=legacy", {"x-ms-rename-source": "/%s/b" % c}, b""),
        "DfsAppendData/blob/PATCH": (c, "b", "action=append&position=4", {}, b"tail"),
        "DfsFlushData/blob/PATCH": (c, "b", "action=flush&position=4", {}, b""),
        "DfsSetPathProperties/blob/PATCH": (c, "b", "action=setProperties", {"x-ms-properties": "k=dg=="}, b""),
        "DfsSetAccessControl/blob/PATCH": (c, "b", "action=setAccessControl", {"x-ms-permissions": "rwxrwxrwx"}, b""),
        "DfsSetOwner/blob/PATCH": (c, "b", "action=setAccessControl", {"x-ms-owner": "4242"}, b""),
        "DfsSetAccessControlAndOwner/blob/PATCH": (c, "b", "action=setAccessControl", {"x-ms-permissions": "rwxrwxrwx", "x-ms-owner": "4242"}, b""),
        "DfsSetAccessControlRecursive/blob/PATCH": (c, "d", "action=setAccessControlRecursive&mode=set", {"x-ms-acl": "user::rwx,group::rwx,other::rwx"}, b""),
        "DfsUpdatePath/blob/PATCH": (c, "b", "action=bogus", {}, b""),
        "DfsGetPathProperties/blob/HEAD": (c, "b", "upn=true", {}, b""),
        "DfsGetStatus/blob/HEAD": (c, "b", "action=getStatus", {}, b""),
        "DfsGetAccessControl/blob/HEAD": (c, "b", "action=getAccessControl", {}, b""),
        "DfsDeletePath/blob/DELETE": (c, "b", "recursive=false", {}, b""),
        "DfsLeasePath/blob/POST": (c, "b", "", {"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"}, b""),
        # Rows marked "endpoint": "dfs" are sent to the dfs port.
        "DfsReadPath/blob/GET": (c, "b", "", {}, b""),
    }


# Azure's SAS permission rules, written from Microsoft's service SAS
# reference (permissions by operation) independently of the server's table.
EXPECTED_PERMISSION = {
    "ListContainers": "l", "GetServiceProperties": "r", "GetUserDelegationKey": "r", "SetServiceProperties": "w",
    "GetAccountInfo": "r", "CreateContainer": "c|w", "GetContainerProperties": "r",
    "GetContainerMetadata": "r", "SetContainerMetadata": "w", "DeleteContainer": "d",
    "GetContainerAcl": "r", "SetContainerAcl": "w", "ListBlobs": "l", "LeaseContainer": "w",
    "CopyBlobFromUrl": "c|w", "PutBlobFromUrl": "c|w", "CopyBlob": "c|w", "PutBlob": "c|w",
    "GetBlob": "r", "GetBlobProperties": "r", "DeleteBlob": "d", "SetBlobProperties": "w",
    "GetBlobMetadata": "r", "SetBlobMetadata": "w", "LeaseBlob": "w", "SetBlobTier": "w",
    "AbortCopyBlob": "w", "PutBlock": "w", "PutBlockFromUrl": "w", "PutBlockList": "c|w", "GetBlockList": "r",
    "AppendBlock": "a", "AppendBlobSeal": "w",
    "DfsListFilesystems": "l", "DfsCreateFilesystem": "c", "DfsGetFilesystemProperties": "r",
    "DfsSetFilesystemProperties": "w", "DfsDeleteFilesystem": "d", "DfsListPaths": "l",
    "DfsCreatePath": "c|w", "DfsRenamePath": "c|w", "DfsAppendData": "a|w", "DfsFlushData": "w",
    "DfsSetPathProperties": "w", "DfsSetAccessControl": "p", "DfsSetOwner": "o",
    "DfsSetAccessControlAndOwner": "po", "DfsSetAccessControlRecursive": "p",
    "DfsUpdatePath": "wpo", "DfsGetPathProperties": "r", "DfsGetStatus": "e|r",
    "DfsGetAccessControl": "e", "DfsDeletePath": "d", "DfsLeasePath": "w", "DfsReadPath": "r",
}
# Create (c) writes a new blob or copies to a new one; replacing one needs w.
EXPECTED_REPLACE = {"CopyBlobFromUrl": "w", "PutBlobFromUrl": "w", "CopyBlob": "w", "PutBlob": "w",
                    "PutBlockList": "w"}
# Blob API operations on the container itself that no container (service)
# SAS may do: its properties, metadata, ACL, lease and deletion
# (ContainerSasPermissions in Microsoft's SDK reference).
EXPECTED_NO_SERVICE_SAS = {"GetContainerProperties", "GetContainerMetadata", "SetContainerMetadata",
                           "DeleteContainer", "GetContainerAcl", "SetContainerAcl", "LeaseContainer"}
EXPECTED_SOURCE = {"CopyBlobFromUrl": "r", "PutBlobFromUrl": "r", "CopyBlob": "r",
                   "PutBlockFromUrl": "r",
                   "DfsRenamePath": "m|d"}
# Reads a public container allows anonymously: "blob" (either public level)
# or "container" (container-level access only).
EXPECTED_ANONYMOUS = {
    "GetBlob": "blob", "GetBlobProperties": "blob", "GetBlobMetadata": "blob",
    "GetBlockList": "blob", "DfsGetPathProperties": "blob", "DfsGetStatus": "blob", "DfsReadPath": "blob",
    "GetContainerProperties": "container", "GetContainerMetadata": "container",
    "ListBlobs": "container", "DfsListPaths": "container",
}


def test_route_expectations_match_azure_rules():
    """Every row demands what Azure's rules say, and every route has a walk recipe."""
    recipes = _recipes("c", "sas")
    assert sorted(_key(r) for r in TABLE) == sorted(recipes), "a route without a walk recipe, or a stale recipe"
    for row in TABLE:
        assert row["sas_permission"] == EXPECTED_PERMISSION[row["name"]], row
        assert row.get("source_sas_permission") == EXPECTED_SOURCE.get(row["name"]), row
        assert row["anonymous"] == EXPECTED_ANONYMOUS.get(row["name"], "never"), row
        assert row.get("sas_replace_permission") == EXPECTED_REPLACE.get(row["name"]), row
        if row["api"] == "blob" and row["level"] == "container" and row["name"] != "GetAccountInfo":
            assert row["service_sas"] == (row["name"] not in EXPECTED_NO_SERVICE_SAS), row


def _send(server, method, c, b, query, headers, body, sas=None, sign=False, dfs_endpoint=False):
    if dfs_endpoint:  # the dfs port (a row only the dfs endpoint has)
        server = types.SimpleNamespace(port=server.dfs_port)
    path = "/%s" % DEV_ACCOUNT + ("/" + c if c else "/") + ("/" + urllib.parse.quote(b) if b else "")
    h = {"x-ms-version": "2021-12-02"}
    h.update({k: v.format(port=server.port) for k, v in headers.items()})
    q = "&".join(x for x in (query, sas) if x)
    if sign:
        p = "/" + (c + ("/" + urllib.parse.quote(b) if b else "") if c else "")
        return signing.request(server, method, p if c else "/", query=q, headers=h, body=body)
    url = "http://127.0.0.1:%d%s%s" % (server.port, path, "?" + q if q else "")
    return requests.request(method, url, headers=h, data=body, timeout=30)


def _fingerprint(server, c):
    """What a refused request must not change: every file's bytes, mode and
    owner under the container, its xattrs, and the container's own state."""
    out = []
    root = os.path.join(server.root, c)
    if not os.path.isdir(root):
        return ("gone",)
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + files):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            data = b""
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    data = f.read()
            xattrs = tuple(sorted((a, os.getxattr(p, a)) for a in os.listxattr(p)))
            out.append((os.path.relpath(p, root), st.st_mode, st.st_uid, st.st_gid, data, xattrs))
    cx = tuple(sorted((a, os.getxattr(root, a)) for a in os.listxattr(root)))
    names = sorted(os.listdir(server.root))
    return tuple(out), cx, tuple(n for n in names if not n.startswith("."))


@pytest.fixture(scope="module")
def own_server():
    """This module's own server (see conftest.py), with a dfs port for the
    rows only the dfs endpoint has."""
    s = start_with_dfs_port()
    yield s
    s.stop()


@pytest.fixture
def case(own_service):
    """On this module's own server (the walk sets service properties and
    leaves dfs appends staged, which other modules must not see): a fresh private container with a block blob "b", an append blob "ab"
    and a directory "d" holding "x"; removed afterwards."""
    name = "w" + uuid.uuid4().hex[:20]
    service = own_service
    cc = service.create_container(name)
    cc.upload_blob("b", b"data")
    cc.get_blob_client("ab").create_append_blob()
    cc.upload_blob("d/x", b"x")
    other = "o" + uuid.uuid4().hex[:20]
    service.create_container(other)
    yield name, other
    for n in (name, other):
        try:
            service.delete_container(n)
        except Exception:
            pass


def _letters_without(perm):
    return "".join(l for l in ALL_LETTERS if l not in perm.replace("|", ""))


def _short_sets(perm):
    """Every way of holding all letters but not `perm` ("c|w": neither c nor
    w; "po": p without o, o without p): one letter of each alternative left out."""
    import itertools
    alts = [a for a in perm.split("|") if a]
    return sorted({"".join(l for l in ALL_LETTERS if l not in pick)
                   for pick in itertools.product(*alts)})


def _asas(letters):
    """An account SAS for the blob service, every resource type."""
    return generate_account_sas(DEV_ACCOUNT, DEV_KEY, resource_types="sco", permission=letters,
                                expiry=_exp())


def _refused(resp):
    return resp.status_code in (401, 403, 404) and (resp.headers.get("x-ms-error-code") or "") in (
        "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationFailure",
        "AuthenticationFailed", "ResourceNotFound", "NoAuthenticationInformation",
        "CannotVerifyCopySource")


def _authz_refused(resp):
    return resp.status_code == 403 and resp.headers.get("x-ms-error-code") in (
        "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationFailure",
        "AuthenticationFailed")


ROWS = sorted(TABLE, key=_key)


# On the dfs port every dfs row is walked again, the rows that the dfs
# endpoint also reaches without a query (Path Get Properties, Path Delete)
# with no query at all.
DFS_ROWS = [r for r in ROWS if r["api"] == "dfs"]
DFS_PORT_RECIPES = {
    "DfsGetPathProperties/blob/HEAD": lambda c: (c, "b", "", {}, b""),
    "DfsDeletePath/blob/DELETE": lambda c: (c, "b", "", {}, b""),
}


@pytest.mark.parametrize("row", ROWS, ids=[_key(r) for r in ROWS])
def test_walk(own_server, case, row):
    _walk(own_server, case, row, row.get("endpoint") == "dfs")


@pytest.mark.parametrize("row", DFS_ROWS, ids=[_key(r) for r in DFS_ROWS])
def test_walk_dfs_port(own_server, case, row):
    _walk(own_server, case, row, True)


def _walk(server, case, row, dfs_endpoint):
    c, other = case
    src_sas = _csas(c, "r")
    cont, blob, query, headers, body = _recipes(c, src_sas)[_key(row)]
    if dfs_endpoint and _key(row) in DFS_PORT_RECIPES:
        cont, blob, query, headers, body = DFS_PORT_RECIPES[_key(row)](c)
    send = lambda **kw: _send(server, row["method"], cont, blob, query, headers, body,
                              dfs_endpoint=dfs_endpoint, **kw)
    perm = row["sas_permission"]
    before = _fingerprint(server, c)
    if row.get("bearer_only"):
        # Only a bearer token may (test_entra.py): any SAS, even one holding
        # every letter, and the account key are refused as Azure refuses them.
        for kw in ({"sas": _asas(ALL_LETTERS)}, {"sign": True}):
            r = send(**kw)
            assert r.status_code == 403 and r.headers.get("x-ms-error-code") == "AuthenticationFailed", r.text
            assert "Only authentication scheme Bearer is supported" in r.text, r.text
        assert _refused(send())
        return

    # Service and account SAS, each short of the demanded letters in every
    # way (for a rename also of the source's); a SAS for another container.
    short = _short_sets(perm)
    if row.get("source") == "x-ms-rename-source":
        short += [l for l in _short_sets(row["source_sas_permission"]) if l not in short]
    attempts = [(_csas(c, letters), "service SAS holding only " + letters) for letters in short]
    attempts += [(_asas(letters), "account SAS holding only " + letters) for letters in short]
    attempts.append((_csas(other, ALL_LETTERS), "another container's SAS"))
    for sas, why in attempts:
        r = send(sas=sas)
        assert _authz_refused(r), (why, r.status_code, r.headers.get("x-ms-error-code"), r.text[:300])
        if row["service_sas"] and cont and why.startswith("service SAS"):
            assert r.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch", (why, r.headers)
        if why.startswith("account SAS"):
            assert r.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch", (why, r.headers)
        assert _fingerprint(server, c) == before, why

    # Anonymous, private then at each public level.
    r = send()
    assert _refused(r), ("anonymous on a private container", r.status_code, r.text[:300])
    assert _fingerprint(server, c) == before
    if cont:
        for level in ("blob", "container"):
            acl = signing.request(server, "PUT", "/" + c, query="restype=container&comp=acl",
                                  headers={"x-ms-blob-public-access": level})
            assert acl.status_code == 200, acl.text
            before = _fingerprint(server, c)
            r = send()
            allowed = row["anonymous"] == "blob" or (row["anonymous"] == "container" and level == "container")
            if allowed:
                assert not _refused(r), (level, r.status_code, r.text[:300])
            else:
                assert _refused(r), (level, r.status_code, r.text[:300])
                assert _fingerprint(server, c) == before, level
        acl = signing.request(server, "PUT", "/" + c, query="restype=container&comp=acl")
        assert acl.status_code == 200

    # Each alternative of the demanded letters suffices (with the source's own).
    # An alternative without the replace letters creates the target, and is
    # then refused: it may not replace what now exists.
    replace = row.get("sas_replace_permission") or ""
    lacks_replace = lambda letters: replace and not all(l in letters for l in replace)
    if row["service_sas"] and cont:
        source = row.get("source_sas_permission", "").split("|")[0] if row.get("source") == "x-ms-rename-source" else ""
        for alt in perm.split("|"):
            r = send(sas=_csas(c, alt + source))
            assert not _authz_refused(r), (alt, r.status_code, r.headers.get("x-ms-error-code"), r.text[:300])
            if lacks_replace(alt):
                before = _fingerprint(server, c)
                r = send(sas=_csas(c, alt + source))
                assert r.status_code == 403, (alt, "replace", r.status_code, r.text[:300])
                assert r.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch"
                assert _fingerprint(server, c) == before, (alt, "replace")
    # An account SAS with the letters is not refused either (the target may
    # exist by now: with the replace letters too).
    source = row.get("source_sas_permission", "").split("|")[0] if row.get("source") == "x-ms-rename-source" else ""
    first = perm.split("|")[0]
    if lacks_replace(first) and row["service_sas"] and cont:
        before = _fingerprint(server, c)
        r = send(sas=_asas(first + source))
        assert r.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch", ("account SAS", r.text[:300])
        assert _fingerprint(server, c) == before
    r = send(sas=_asas(first + source + replace))
    assert not _authz_refused(r), ("account SAS", r.status_code, r.headers.get("x-ms-error-code"), r.text[:300])
    # The account key is never refused by authorization.
    r = send(sign=True)
    assert not _authz_refused(r) and r.status_code not in (401,), (r.status_code, r.text[:300])
