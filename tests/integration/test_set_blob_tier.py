"""Set Blob Tier and the access tier of blobs on an account without a
capacity tier (the data stays local).

What the expectations rest on:
- Set Blob Tier REST reference: Hot, Cool, Cold and Archive on every
  general-purpose v2 account; Archive -> an online tier is a rehydration
  answered 202 with x-ms-archive-status rehydrate-pending-to-<tier>;
  x-ms-rehydrate-priority Standard | High (Get Blob Properties reports it
  from version 2019-12-12).
- Azure's recorded SDK tests (azure-sdk-for-js storage-blob recordings
  "setAccessTier with rehydrate priority", 2019-02-02 and 2023-01-03): after
  Archive then Cool, Get Blob Properties answers x-ms-access-tier: Archive,
  x-ms-access-tier-change-time, x-ms-archive-status:
  rehydrate-pending-to-cool and no x-ms-access-tier-inferred; List Blobs
  writes AccessTier, ArchiveStatus, RehydratePriority, AccessTierChangeTime
  in that order, and AccessTierInferred only while the tier is inferred.
- Blob rehydration and archive docs: an archived blob's data can be neither
  read nor modified and its metadata is read-only (409 BlobArchived); an
  archived blob cannot be overwritten (azcopy issue 1688: Azure refuses
  the upload); once a rehydration began its target cannot change
  (409 BlobBeingRehydrated); Standard priority may be raised to High.
- Azurite (the emulator Microsoft ships) parses the tier header in any case.
"""
import re
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobBlock, BlobServiceClient, StandardBlobTier

import signing
from blob_util import disk_path, raw, read_sas_url
from strata_server import StrataServer

# Standard rehydrations of local data complete after this many seconds,
# High ones after a tenth of it.
DELAY_S = 4


@pytest.fixture(scope="module")
def tier_server():
    s = StrataServer(extra_args=["--rehydrate-delay", str(DELAY_S)]).start()
    yield s
    s.stop()


@pytest.fixture
def tc(tier_server):
    service = BlobServiceClient.from_connection_string(tier_server.connection_string)
    client = service.create_container("t" + uuid.uuid4().hex[:20])
    yield client
    try:
        client.delete_container()
    except Exception:
        pass


def set_tier(server, c, b, tier, priority=None, version=None):
    h = {"x-ms-access-tier": tier}
    if priority:
        h["x-ms-rehydrate-priority"] = priority
    if version:
        h["x-ms-version"] = version
    return raw(server, "PUT", c, b, query="comp=tier", headers=h)


def head(server, c, b, version=None):
    return raw(server, "HEAD", c, b, headers={"x-ms-version": version} if version else None)


def wait_online(server, c, b, timeout=20):
    """Polls Get Blob Properties (bounded) until no rehydration is pending."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = head(server, c, b)
        if "x-ms-archive-status" not in r.headers:
            return r
        time.sleep(0.1)
    raise AssertionError("rehydration still pending after %ss" % timeout)


def listing(server, c, version=None):
    r = raw(server, "GET", c, query="restype=container&comp=list",
            headers={"x-ms-version": version} if version else None)
    assert r.status_code == 200
    return r.text


def test_SetBlobTier_every_tier_without_capacity_tier(tier_server, tc):
    blob = tc.get_blob_client("b")
    blob.upload_blob(b"data")
    c = tc.container_name
    for tier in ["Cool", "Cold", "Hot", "Cool"]:
        r = set_tier(tier_server, c, "b", tier)
        assert r.status_code == 200, r.text
        props = blob.get_blob_properties()
        assert props.blob_tier == tier
        assert not props.blob_tier_inferred  # Azure omits the header once set
        assert props.blob_tier_change_time is not None
        assert blob.download_blob().readall() == b"data"  # the data stays local
    h = head(tier_server, c, "b")
    assert h.headers["x-ms-access-tier"] == "Cool"
    assert "x-ms-access-tier-inferred" not in h.headers
    assert "x-ms-access-tier-change-time" in h.headers
    # Setting a tier changes neither ETag nor Last-Modified.
    assert h.headers["ETag"] == blob.get_blob_properties().etag


def test_SetBlobTier_tier_names_in_any_case(tier_server, tc):
    tc.get_blob_client("b").upload_blob(b"x")
    c = tc.container_name
    assert set_tier(tier_server, c, "b", "cold").status_code == 200
    assert head(tier_server, c, "b").headers["x-ms-access-tier"] == "Cold"
    assert set_tier(tier_server, c, "b", "HOT").status_code == 200
    assert head(tier_server, c, "b").headers["x-ms-access-tier"] == "Hot"


def test_SetBlobTier_invalid_tier(tier_server, tc):
    tc.get_blob_client("b").upload_blob(b"x")
    for bad in ["Warm", "P10", ""]:
        r = set_tier(tier_server, tc.container_name, "b", bad)
        assert r.status_code == 400, bad
        assert signing.error_code(r) in ("InvalidHeaderValue", "MissingRequiredHeader"), bad
    r = set_tier(tier_server, tc.container_name, "b", "Hot", priority="Urgent")
    assert r.status_code == 400
    assert signing.error_code(r) == "InvalidHeaderValue"


def header_details(r):
    root = ET.fromstring(r.content)
    return root.findtext("HeaderName"), root.findtext("HeaderValue")


# A refused tier or priority names the header and the value sent, as Azure's
# InvalidHeaderValue does (Set Blob Tier's answer recorded in rclone/rclone
# #2509: HeaderName x-ms-access-tier, HeaderValue as sent); a missing
# x-ms-access-tier is named without a value.
def test_access_tier_errors_name_the_header(tier_server, tc):
    c = tc.container_name
    tc.get_blob_client("b").upload_blob(b"x")
    r = set_tier(tier_server, c, "b", "Warm")
    assert (r.status_code, signing.error_code(r)) == (400, "InvalidHeaderValue")
    assert header_details(r) == ("x-ms-access-tier", "Warm")
    r = set_tier(tier_server, c, "b", "Hot", priority="Urgent")
    assert header_details(r) == ("x-ms-rehydrate-priority", "Urgent")
    r = raw(tier_server, "PUT", c, "b", query="comp=tier")
    assert (r.status_code, signing.error_code(r)) == (400, "MissingRequiredHeader")
    assert header_details(r) == ("x-ms-access-tier", None)
    r = raw(tier_server, "PUT", c, "p",
            headers={"x-ms-blob-type": "BlockBlob", "x-ms-access-tier": "Tepid"}, body=b"w")
    assert (r.status_code, signing.error_code(r)) == (400, "InvalidHeaderValue")
    assert header_details(r) == ("x-ms-access-tier", "Tepid")
    r = raw(tier_server, "PUT", c, "l", query="comp=blocklist",
            headers={"x-ms-access-tier": "Tepid"},
            body=b'<?xml version="1.0" encoding="utf-8"?><BlockList></BlockList>')
    assert (r.status_code, signing.error_code(r)) == (400, "InvalidHeaderValue")
    assert header_details(r) == ("x-ms-access-tier", "Tepid")
    r = raw(tier_server, "PUT", c, "cp", headers={
        "x-ms-copy-source": "%s/%s/b" % (tier_server.endpoint, c), "x-ms-access-tier": "Tepid"})
    assert (r.status_code, signing.error_code(r)) == (400, "InvalidHeaderValue")
    assert header_details(r) == ("x-ms-access-tier", "Tepid")


def test_GetBlobProperties_tier_inferred_by_default(tier_server, tc):
    tc.get_blob_client("b").upload_blob(b"x")
    h = head(tier_server, tc.container_name, "b")
    assert h.headers["x-ms-access-tier"] == "Hot"
    assert h.headers["x-ms-access-tier-inferred"] == "true"
    assert "x-ms-access-tier-change-time" not in h.headers
    x = listing(tier_server, tc.container_name)
    assert "<AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>" in x
    assert "AccessTierChangeTime" not in x


def test_PutBlob_and_PutBlockList_with_access_tier(tier_server, tc):
    a = tc.get_blob_client("a")
    a.upload_blob(b"aaa", standard_blob_tier=StandardBlobTier.Cool)
    assert a.get_blob_properties().blob_tier == "Cool"
    assert not a.get_blob_properties().blob_tier_inferred
    b = tc.get_blob_client("b")
    b.stage_block("b1", b"bbb")
    b.commit_block_list([BlobBlock("b1")], standard_blob_tier=StandardBlobTier.Cold)
    assert b.get_blob_properties().blob_tier == "Cold"
    assert b.download_blob().readall() == b"bbb"
    z = tc.get_blob_client("z")
    z.upload_blob(b"zzz", standard_blob_tier=StandardBlobTier.Archive)
    assert z.get_blob_properties().blob_tier == "Archive"
    with pytest.raises(HttpResponseError) as e:
        z.download_blob().readall()
    assert e.value.status_code == 409 and e.value.error_code == "BlobArchived"
    r = raw(tier_server, "PUT", tc.container_name, "w",
            headers={"x-ms-blob-type": "BlockBlob", "x-ms-access-tier": "Tepid"}, body=b"w")
    assert r.status_code == 400
    assert signing.error_code(r) == "InvalidHeaderValue"


# An overwrite without x-ms-access-tier keeps the overwritten blob's tier
# (a Microsoft engineer in microsoft/AzureStorageExplorer #7726: "In the
# overwrite case, the service will preserve its previous access tier";
# #187: an explicitly Hot blob stays Hot, its tier change time the
# overwrite's); a named tier wins; an inferred tier stays inferred.
def test_PutBlob_and_PutBlockList_overwrite_keeps_the_tier(tier_server, tc):
    a = tc.get_blob_client("a")
    a.upload_blob(b"one", standard_blob_tier=StandardBlobTier.Cool)
    a.upload_blob(b"two", overwrite=True)
    props = a.get_blob_properties()
    assert props.blob_tier == "Cool"
    assert not props.blob_tier_inferred
    assert props.blob_tier_change_time == props.last_modified
    a.stage_block("b1", b"three")
    a.commit_block_list([BlobBlock("b1")])
    assert a.get_blob_properties().blob_tier == "Cool"
    a.upload_blob(b"four", overwrite=True, standard_blob_tier=StandardBlobTier.Cold)
    assert a.get_blob_properties().blob_tier == "Cold"
    a.stage_block("b2", b"five")
    a.commit_block_list([BlobBlock("b2")], standard_blob_tier=StandardBlobTier.Hot)
    assert a.get_blob_properties().blob_tier == "Hot"
    assert not a.get_blob_properties().blob_tier_inferred
    # Never set: still inferred after an overwrite.
    i = tc.get_blob_client("i")
    i.upload_blob(b"x")
    i.upload_blob(b"y", overwrite=True)
    assert i.get_blob_properties().blob_tier == "Hot"
    assert i.get_blob_properties().blob_tier_inferred is True
    # A tier set by Set Blob Tier is kept too.
    assert set_tier(tier_server, tc.container_name, "i", "Cold").status_code == 200
    i.upload_blob(b"z", overwrite=True)
    assert i.get_blob_properties().blob_tier == "Cold"


def test_CopyBlob_with_access_tier(tier_server, tc):
    src = tc.get_blob_client("src")
    src.upload_blob(b"copy me", standard_blob_tier=StandardBlobTier.Cold)
    dst = tc.get_blob_client("dst")
    dst.start_copy_from_url(src.url, standard_blob_tier=StandardBlobTier.Cool)
    assert dst.get_blob_properties().blob_tier == "Cool"
    assert dst.download_blob().readall() == b"copy me"


def test_Archive_refuses_reads_and_writes(tier_server, tc):
    blob = tc.get_blob_client("b")
    blob.upload_blob(b"secret", metadata={"k": "v"})
    c = tc.container_name
    assert set_tier(tier_server, c, "b", "Archive").status_code == 200
    # At once: Get Blob (whole or ranged) answers 409 BlobArchived.
    for headers in [None, {"x-ms-range": "bytes=0-1"}]:
        r = raw(tier_server, "GET", c, "b", headers=headers)
        assert r.status_code == 409
        assert signing.error_code(r) == "BlobArchived"
    # Properties and metadata stay readable...
    props = blob.get_blob_properties()
    assert props.blob_tier == "Archive"
    assert props.metadata == {"k": "v"}
    assert props.blob_tier_change_time is not None
    assert props.archive_status is None
    # ...but cannot change, and the blob cannot be overwritten or copied.
    for call in [lambda: blob.set_blob_metadata({"k": "w"}),
                 lambda: blob.set_http_headers(),
                 lambda: blob.upload_blob(b"new", overwrite=True),
                 lambda: tc.get_blob_client("cp").start_copy_from_url(blob.url)]:
        with pytest.raises(HttpResponseError) as e:
            call()
        assert e.value.status_code == 409
        assert e.value.error_code == "BlobArchived"
    blob.stage_block("b1", b"other")
    with pytest.raises(HttpResponseError) as e:
        blob.commit_block_list([BlobBlock("b1")])
    assert e.value.error_code == "BlobArchived"
    # Archive again: nothing to do.
    assert set_tier(tier_server, c, "b", "Archive").status_code == 200
    # Listing shows the tier, without the inferred flag.
    x = listing(tier_server, c)
    assert "<AccessTier>Archive</AccessTier>" in x
    assert "AccessTierInferred" not in x
    assert "<AccessTierChangeTime>" in x
    # Deleting an archived blob works.
    blob.delete_blob()


def test_SetBlobTier_rehydrate_from_archive(tier_server, tc):
    blob = tc.get_blob_client("b")
    blob.upload_blob(b"cold data")
    c = tc.container_name
    assert set_tier(tier_server, c, "b", "Archive").status_code == 200
    r = set_tier(tier_server, c, "b", "Cool")
    assert r.status_code == 202, r.text
    h = head(tier_server, c, "b")
    assert h.headers["x-ms-access-tier"] == "Archive"
    assert h.headers["x-ms-archive-status"] == "rehydrate-pending-to-cool"
    assert h.headers["x-ms-rehydrate-priority"] == "Standard"
    assert "x-ms-access-tier-inferred" not in h.headers
    # Before 2019-12-12 Get Blob Properties has no rehydrate priority.
    assert "x-ms-rehydrate-priority" not in head(tier_server, c, "b", "2019-02-02").headers
    props = blob.get_blob_properties()
    assert props.archive_status == "rehydrate-pending-to-cool"
    # Still archived while pending.
    r = raw(tier_server, "GET", c, "b")
    assert r.status_code == 409 and signing.error_code(r) == "BlobArchived"
    # The target cannot change, nor go back to Archive; the same target again is accepted.
    for other in ["Hot", "Archive"]:
        r = set_tier(tier_server, c, "b", other)
        assert r.status_code == 409, other
        assert signing.error_code(r) == "BlobBeingRehydrated"
    assert set_tier(tier_server, c, "b", "Cool").status_code == 202
    x = listing(tier_server, c)
    assert re.search(r"<AccessTier>Archive</AccessTier><ArchiveStatus>rehydrate-pending-to-cool"
                     r"</ArchiveStatus><RehydratePriority>Standard</RehydratePriority>"
                     r"<AccessTierChangeTime>[^<]+</AccessTierChangeTime><LeaseStatus>", x), x
    # It completes (bounded poll), and the blob is online again.
    h = wait_online(tier_server, c, "b")
    assert h.headers["x-ms-access-tier"] == "Cool"
    assert "x-ms-rehydrate-priority" not in h.headers
    assert blob.download_blob().readall() == b"cold data"
    assert "<AccessTier>Cool</AccessTier>" in listing(tier_server, c)
    blob.set_blob_metadata({"now": "writable"})


def copy(server, c, src, dst, headers=None):
    h = {"x-ms-copy-source": "%s/%s/%s" % (server.endpoint, c, src)}
    h.update(headers or {})
    return raw(server, "PUT", c, dst, headers=h)


# Rehydrate by copy ("Rehydrate an archived blob to an online tier": copy it
# to another blob in an online tier with Copy Blob, x-ms-access-tier and
# optionally x-ms-rehydrate-priority; the destination must have another
# name; Copy Blob REST reference): the destination shows the rehydration
# (Archive, x-ms-archive-status) and its copy stays pending until it
# completes; the source stays archived.
def test_CopyBlob_rehydrates_archived_source(tier_server, tc):
    c = tc.container_name
    tc.get_blob_client("src").upload_blob(b"archived bytes", metadata={"k": "v"})
    assert set_tier(tier_server, c, "src", "Archive").status_code == 200
    r = copy(tier_server, c, "src", "dst", {"x-ms-access-tier": "Hot"})
    assert r.status_code == 202, r.text
    assert r.headers["x-ms-copy-status"] == "pending"
    copy_id = r.headers["x-ms-copy-id"]
    h = head(tier_server, c, "dst")
    assert h.headers["x-ms-copy-id"] == copy_id
    assert h.headers["x-ms-copy-status"] == "pending"
    assert "x-ms-copy-completion-time" not in h.headers
    assert h.headers["x-ms-access-tier"] == "Archive"
    assert h.headers["x-ms-archive-status"] == "rehydrate-pending-to-hot"
    assert h.headers["x-ms-rehydrate-priority"] == "Standard"
    assert h.headers["x-ms-meta-k"] == "v"
    r = raw(tier_server, "GET", c, "dst")
    assert r.status_code == 409 and signing.error_code(r) == "BlobArchived"
    assert "<CopyStatus>pending</CopyStatus>" in listing(tier_server, c)
    # Completes (bounded poll): online, readable, the copy concluded.
    h = wait_online(tier_server, c, "dst")
    assert h.headers["x-ms-access-tier"] == "Hot"
    assert h.headers["x-ms-copy-status"] == "success"
    assert h.headers["x-ms-copy-progress"] == "14/14"
    assert "x-ms-copy-completion-time" in h.headers
    assert tc.get_blob_client("dst").download_blob().readall() == b"archived bytes"
    assert "<CopyStatus>success</CopyStatus>" in listing(tier_server, c)
    # The source is still archived.
    h = head(tier_server, c, "src")
    assert h.headers["x-ms-access-tier"] == "Archive"
    assert "x-ms-archive-status" not in h.headers
    # High priority completes sooner (a tenth of the delay).
    r = copy(tier_server, c, "src", "fast",
             {"x-ms-access-tier": "Cool", "x-ms-rehydrate-priority": "High"})
    assert r.status_code == 202, r.text
    # (Under load the High-priority rehydration may already be done: the
    # header is then absent, which the assertion allows.)
    assert head(tier_server, c, "fast").headers.get("x-ms-archive-status") in (
        "rehydrate-pending-to-cool", None)
    assert wait_online(tier_server, c, "fast", timeout=DELAY_S).headers[
        "x-ms-access-tier"] == "Cool"


def test_CopyBlob_archived_source_needs_an_online_tier(tier_server, tc):
    c = tc.container_name
    tc.get_blob_client("src").upload_blob(b"x")
    assert set_tier(tier_server, c, "src", "Archive").status_code == 200
    # No tier, Archive, or the source itself: 409 BlobArchived.
    for dst, headers in [("d1", {}), ("d2", {"x-ms-access-tier": "Archive"}),
                         ("src", {"x-ms-access-tier": "Hot"})]:
        r = copy(tier_server, c, "src", dst, headers)
        assert r.status_code == 409, (dst, r.text)
        assert signing.error_code(r) == "BlobArchived"
    r = copy(tier_server, c, "src", "d3",
             {"x-ms-access-tier": "Hot", "x-ms-rehydrate-priority": "Urgent"})
    assert r.status_code == 400 and signing.error_code(r) == "InvalidHeaderValue"
    # Copy Blob From URL (synchronous) cannot wait for a rehydration.
    # (Its source needs its own authorization: a read SAS.)
    r = raw(tier_server, "PUT", c, "d4", headers={
        "x-ms-copy-source": read_sas_url(tc.get_blob_client("src")),
        "x-ms-access-tier": "Hot", "x-ms-requires-sync": "true"})
    assert r.status_code == 409 and signing.error_code(r) == "BlobArchived"
    for d in ["d1", "d2", "d3", "d4"]:
        assert head(tier_server, c, d).status_code == 404


def test_SetBlobTier_rehydrate_priority_high(tier_server, tc):
    c = tc.container_name
    for name in ["std", "high"]:
        tc.get_blob_client(name).upload_blob(b"x")
        assert set_tier(tier_server, c, name, "Archive").status_code == 200
    start = time.time()
    assert set_tier(tier_server, c, "std", "Hot").status_code == 202
    assert set_tier(tier_server, c, "high", "Hot", priority="High").status_code == 202
    assert head(tier_server, c, "high").headers.get("x-ms-rehydrate-priority") in ("High", None)
    wait_online(tier_server, c, "high", timeout=DELAY_S)
    if time.time() - start < DELAY_S * 0.9:
        # High finished well before Standard would.
        assert head(tier_server, c, "std").headers["x-ms-archive-status"] == \
            "rehydrate-pending-to-hot"
    # A pending Standard rehydration may be raised to High.
    assert set_tier(tier_server, c, "std", "Hot", priority="High").status_code == 202
    wait_online(tier_server, c, "std", timeout=DELAY_S)


def test_tier_state_survives_restart_and_is_shared_by_gateways(tmp_path):
    root = str(tmp_path / "root")
    a = StrataServer(root=root, extra_args=["--rehydrate-delay", "1000"]).start()
    try:
        svc = BlobServiceClient.from_connection_string(a.connection_string)
        cont = svc.create_container("tiers")
        for name in ["cool", "arch", "rehyd"]:
            cont.get_blob_client(name).upload_blob(b"x")
        assert set_tier(a, "tiers", "cool", "Cool").status_code == 200
        assert set_tier(a, "tiers", "arch", "Archive").status_code == 200
        assert set_tier(a, "tiers", "rehyd", "Archive").status_code == 200
        assert set_tier(a, "tiers", "rehyd", "Hot").status_code == 202
        # A second gateway on the same root sees the same state.
        b = StrataServer(root=root).start()
        try:
            assert head(b, "tiers", "cool").headers["x-ms-access-tier"] == "Cool"
            assert raw(b, "GET", "tiers", "arch").status_code == 409
            assert head(b, "tiers", "rehyd").headers["x-ms-archive-status"] == \
                "rehydrate-pending-to-hot"
        finally:
            b.stop()
    finally:
        a.stop()
    a = StrataServer(root=root).start()
    try:
        assert head(a, "tiers", "cool").headers["x-ms-access-tier"] == "Cool"
        assert head(a, "tiers", "arch").headers["x-ms-access-tier"] == "Archive"
        assert raw(a, "GET", "tiers", "arch").status_code == 409
        h = head(a, "tiers", "rehyd")
        assert h.headers["x-ms-access-tier"] == "Archive"
        assert h.headers["x-ms-archive-status"] == "rehydrate-pending-to-hot"
    finally:
        a.stop()


def test_SetBlobTier_append_blob_refused(tier_server, tc):
    tc.get_blob_client("ap").create_append_blob()
    r = set_tier(tier_server, tc.container_name, "ap", "Cool")
    assert r.status_code == 409
    assert signing.error_code(r) == "InvalidBlobType"


def test_Archive_posix_rewrite_makes_the_blob_readable(tier_server, tc):
    """A file rewritten through POSIX holds new data that is local and
    readable (as after any POSIX rewrite, the ETag changes): it is no longer
    archived, and a rehydration that was pending no longer is."""
    c = tc.container_name
    for name in ["a", "r"]:
        tc.get_blob_client(name).upload_blob(b"old")
        assert set_tier(tier_server, c, name, "Archive").status_code == 200
    assert set_tier(tier_server, c, "r", "Hot").status_code == 202
    for name in ["a", "r"]:
        with open(disk_path(tier_server, c, name), "wb") as f:
            f.write(b"new data")
        h = head(tier_server, c, name)
        assert h.headers["x-ms-access-tier"] == "Hot", name
        assert "x-ms-archive-status" not in h.headers, name
        assert tc.get_blob_client(name).download_blob().readall() == b"new data"
