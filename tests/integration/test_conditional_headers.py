"""Conditional headers on reads and writes: If-Match, If-None-Match
(including *), If-Modified-Since, If-Unmodified-Since."""
import datetime
from email.utils import format_datetime

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError

from blob_util import assert_no_residue, raw

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def blob(container):
    b = container.get_blob_client("c")
    b.upload_blob(b"conditional")
    return b


def http_date(dt):
    return format_datetime(dt.astimezone(datetime.timezone.utc), usegmt=True)


def get(server, container, headers, method="GET"):
    return raw(server, method, container.container_name, "c", headers=headers)


# ---- reads ----

def test_Conditional_get_if_match(server, container, blob):
    etag = blob.get_blob_properties().etag
    assert get(server, container, {"If-Match": etag}).status_code == 200
    assert get(server, container, {"If-Match": "*"}).status_code == 200
    r = get(server, container, {"If-Match": '"0x8D000000000000"'})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"


def test_Conditional_get_if_none_match(server, container, blob):
    etag = blob.get_blob_properties().etag
    for method in ["GET", "HEAD"]:
        r = get(server, container, {"If-None-Match": etag}, method)
        assert r.status_code == 304, method
        assert r.content == b""
        assert r.headers["ETag"] == etag
        assert get(server, container, {"If-None-Match": '"other"'}, method).status_code == 200


def test_Conditional_get_if_none_match_star(server, container, blob):
    # Azure refuses If-None-Match: * on a read as a condition that can never
    # hold: 400 UnsatisfiableCondition (Azurite's ReadConditionalHeadersValidator
    # follows the service), for Get Blob, Get Blob Properties and Get Blob
    # Metadata alike. Any other ETag list still reads or answers 304.
    for method in ["GET", "HEAD"]:
        r = get(server, container, {"If-None-Match": "*"}, method)
        assert r.status_code == 400, method
        assert r.headers["x-ms-error-code"] == "UnsatisfiableCondition"
    r = raw(server, "GET", container.container_name, "c", query="comp=metadata",
            headers={"If-None-Match": "*"})
    assert (r.status_code, r.headers["x-ms-error-code"]) == (400, "UnsatisfiableCondition")
    assert get(server, container, {"If-None-Match": '"other"'}).status_code == 200


def test_Conditional_get_if_modified_since(server, container, blob):
    lm = blob.get_blob_properties().last_modified
    for method in ["GET", "HEAD"]:
        assert get(server, container, {"If-Modified-Since": http_date(lm)}, method).status_code == 304
        assert get(server, container, {"If-Modified-Since": http_date(lm + HOUR)},
                   method).status_code == 304
        assert get(server, container, {"If-Modified-Since": http_date(lm - HOUR)},
                   method).status_code == 200


def test_Conditional_get_if_unmodified_since(server, container, blob):
    lm = blob.get_blob_properties().last_modified
    assert get(server, container, {"If-Unmodified-Since": http_date(lm)}).status_code == 200
    assert get(server, container, {"If-Unmodified-Since": http_date(lm + HOUR)}).status_code == 200
    r = get(server, container, {"If-Unmodified-Since": http_date(lm - HOUR)})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"


def test_Conditional_sdk_reads(blob):
    props = blob.get_blob_properties()
    # 304 carries x-ms-error-code ConditionNotMet, which the SDK maps to
    # ResourceModifiedError; the status is what matters.
    with pytest.raises(HttpResponseError) as e:
        blob.download_blob(etag=props.etag, match_condition=MatchConditions.IfModified)
    assert e.value.status_code == 304
    with pytest.raises(HttpResponseError) as e:
        blob.get_blob_properties(if_modified_since=props.last_modified + HOUR)
    assert e.value.status_code == 304
    with pytest.raises(ResourceModifiedError) as e:
        blob.download_blob(etag='"0x1"', match_condition=MatchConditions.IfNotModified)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    with pytest.raises(ResourceModifiedError):
        blob.get_blob_properties(if_unmodified_since=props.last_modified - HOUR)
    assert blob.download_blob(etag=props.etag,
                              match_condition=MatchConditions.IfNotModified).readall() == b"conditional"


def test_Conditional_ranged_get(server, container, blob):
    etag = blob.get_blob_properties().etag
    r = get(server, container, {"If-Match": etag, "x-ms-range": "bytes=0-3"})
    assert r.status_code == 206
    assert r.content == b"cond"
    assert get(server, container, {"If-None-Match": etag, "x-ms-range": "bytes=0-3"}).status_code == 304


# ---- writes ----

def test_Conditional_write_if_match(blob):
    etag = blob.get_blob_properties().etag
    with pytest.raises(ResourceModifiedError) as e:
        blob.set_blob_metadata({"a": "1"}, etag='"0x1"', match_condition=MatchConditions.IfNotModified)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    assert blob.get_blob_properties().metadata == {}
    new = blob.set_blob_metadata({"a": "1"}, etag=etag, match_condition=MatchConditions.IfNotModified)
    # The old ETag no longer matches.
    with pytest.raises(ResourceModifiedError):
        blob.set_http_headers(etag=etag, match_condition=MatchConditions.IfNotModified)
    blob.set_http_headers(etag=new["etag"], match_condition=MatchConditions.IfNotModified)


def test_Conditional_write_if_none_match(blob):
    etag = blob.get_blob_properties().etag
    with pytest.raises(ResourceModifiedError) as e:
        blob.set_blob_metadata({"a": "1"}, etag=etag, match_condition=MatchConditions.IfModified)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    blob.set_blob_metadata({"a": "1"}, etag='"0x1"', match_condition=MatchConditions.IfModified)
    assert blob.get_blob_properties().metadata == {"a": "1"}


def test_Conditional_write_if_modified_since(blob):
    lm = blob.get_blob_properties().last_modified
    with pytest.raises(ResourceModifiedError) as e:
        blob.delete_blob(if_modified_since=lm)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    with pytest.raises(ResourceModifiedError):
        blob.delete_blob(if_modified_since=lm + HOUR)
    assert blob.exists()
    blob.delete_blob(if_modified_since=lm - HOUR)
    assert not blob.exists()


def test_Conditional_write_if_unmodified_since(blob):
    lm = blob.get_blob_properties().last_modified
    with pytest.raises(ResourceModifiedError) as e:
        blob.upload_blob(b"new", overwrite=True, if_unmodified_since=lm - HOUR)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
    assert blob.download_blob().readall() == b"conditional"
    blob.upload_blob(b"new", overwrite=True, if_unmodified_since=lm)
    assert blob.download_blob().readall() == b"new"


def test_Conditional_put_blob_if_none_match_star(server, container, blob):
    r = raw(server, "PUT", container.container_name, "c",
            headers={"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"}, body=b"again")
    assert r.status_code == 409
    assert r.headers["x-ms-error-code"] == "BlobAlreadyExists"
    assert blob.download_blob().readall() == b"conditional"
    r = raw(server, "PUT", container.container_name, "new",
            headers={"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"}, body=b"first")
    assert r.status_code == 201


def test_Conditional_put_blob_if_match_star_on_missing(server, container):
    r = raw(server, "PUT", container.container_name, "missing",
            headers={"x-ms-blob-type": "BlockBlob", "If-Match": "*"}, body=b"x")
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"
    assert not container.get_blob_client("missing").exists()


def test_Conditional_put_block_list(blob):
    etag = blob.get_blob_properties().etag
    blob.stage_block("MDE=", b"blocks")
    with pytest.raises(ResourceModifiedError) as e:
        blob.commit_block_list(["MDE="], etag='"0x1"', match_condition=MatchConditions.IfNotModified)
    assert e.value.error_code == "ConditionNotMet"
    assert blob.download_blob().readall() == b"conditional"
    blob.commit_block_list(["MDE="], etag=etag, match_condition=MatchConditions.IfNotModified)
    assert blob.download_blob().readall() == b"blocks"


def test_Conditional_put_block_list_if_none_match_star(blob):
    blob.stage_block("MDE=", b"blocks")
    with pytest.raises(ResourceExistsError) as e:
        blob.commit_block_list(["MDE="], match_condition=MatchConditions.IfMissing)
    assert e.value.status_code == 409
    assert e.value.error_code == "BlobAlreadyExists"


def test_Conditional_lease_if_match(blob):
    with pytest.raises(ResourceModifiedError) as e:
        blob.acquire_lease(lease_duration=15, etag='"0x1"', match_condition=MatchConditions.IfNotModified)
    assert e.value.error_code == "ConditionNotMet"
    assert blob.get_blob_properties().lease.state == "available"


def test_Conditional_if_match_and_if_none_match_together(server, container, blob):
    etag = blob.get_blob_properties().etag
    r = get(server, container, {"If-Match": etag, "If-None-Match": '"other"'})
    assert r.status_code == 200
    r = get(server, container, {"If-Match": etag, "If-None-Match": etag})
    assert r.status_code == 304


def test_Conditional_failed_write_leaves_no_residue(server, container, blob):
    etag = blob.get_blob_properties().etag
    r = raw(server, "PUT", container.container_name, "c",
            headers={"x-ms-blob-type": "BlockBlob", "If-Match": '"0x1"'}, body=b"z" * 100000)
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"
    assert blob.get_blob_properties().etag == etag
    assert_no_residue(server)


# ---- combinations on reads (version 2013-08-15 and later): Azure evaluates
# If-Match && If-Unmodified-Since && (If-None-Match || If-Modified-Since) ----

def test_Conditional_read_if_match_and_if_unmodified_since(server, container, blob):
    props = blob.get_blob_properties()
    r = get(server, container, {"If-Match": props.etag,
                                "If-Unmodified-Since": http_date(props.last_modified - HOUR)})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"
    r = get(server, container, {"If-Match": props.etag,
                                "If-Unmodified-Since": http_date(props.last_modified + HOUR)})
    assert r.status_code == 200


def test_Conditional_read_if_none_match_or_if_modified_since(server, container, blob):
    props = blob.get_blob_properties()
    past, future = http_date(props.last_modified - HOUR), http_date(props.last_modified + HOUR)
    # Either one passing is enough.
    for method in ["GET", "HEAD"]:
        assert get(server, container, {"If-None-Match": props.etag, "If-Modified-Since": past},
                   method).status_code == 200, method
        assert get(server, container, {"If-None-Match": '"other"', "If-Modified-Since": future},
                   method).status_code == 200, method
        assert get(server, container, {"If-None-Match": props.etag, "If-Modified-Since": future},
                   method).status_code == 304, method


def test_Conditional_read_precondition_failure_wins_over_304(server, container, blob):
    etag = blob.get_blob_properties().etag
    r = get(server, container, {"If-Match": '"0x1"', "If-None-Match": etag})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"


def test_Conditional_read_etag_lists(server, container, blob):
    etag = blob.get_blob_properties().etag
    assert get(server, container, {"If-Match": '"0x1", %s' % etag}).status_code == 200
    assert get(server, container, {"If-Match": '"0x1", "0x2"'}).status_code == 412
    assert get(server, container, {"If-None-Match": '"0x1", %s' % etag}).status_code == 304
    assert get(server, container, {"If-None-Match": '"0x1", "0x2"'}).status_code == 200


def test_Conditional_if_none_match_star_on_non_creating_writes(server, container, blob):
    # Only writes that create a blob answer 409 BlobAlreadyExists; the others
    # simply fail the condition.
    for query, headers in [("comp=metadata", {"x-ms-meta-a": "1"}),
                           ("comp=properties", {"x-ms-blob-content-type": "a/b"})]:
        r = raw(server, "PUT", container.container_name, "c", query=query,
                headers=dict(headers, **{"If-None-Match": "*"}))
        assert r.status_code == 412, query
        assert r.headers["x-ms-error-code"] == "ConditionNotMet", query
    r = raw(server, "DELETE", container.container_name, "c", headers={"If-None-Match": "*"})
    assert r.status_code == 412
    assert r.headers["x-ms-error-code"] == "ConditionNotMet"
    with pytest.raises(ResourceModifiedError) as e:
        blob.set_blob_metadata({"a": "1"}, match_condition=MatchConditions.IfMissing)
    assert e.value.error_code == "ConditionNotMet"
    assert blob.exists()
    assert blob.get_blob_properties().metadata == {}


def test_Conditional_append_block_if_none_match_star(container):
    blob = container.get_blob_client("log")
    blob.create_append_blob()
    with pytest.raises(ResourceModifiedError) as e:
        blob.append_block(b"x", match_condition=MatchConditions.IfMissing)
    assert e.value.status_code == 412
    assert e.value.error_code == "ConditionNotMet"
