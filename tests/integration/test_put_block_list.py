"""Put Block List: Latest, Committed and Uncommitted; reuse of committed
blocks; malformed lists; uncommitted blocks discarded; no residue."""
import base64
import hashlib

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobBlock, BlockState, ContentSettings

from blob_util import assert_no_residue, block_files, md5_b64, raw


def bid(s):
    return base64.b64encode(s.encode()).decode()


def wire(s):
    """The id on the wire of a block staged through the SDK as bid(s): the
    SDK Base64-encodes the id it is given once more."""
    return base64.b64encode(bid(s).encode()).decode()


def commit_raw(server, container, name, *entries):
    """Put Block List with explicit Latest/Committed/Uncommitted elements, in
    order. (SDK 12.15 sends every BlobBlock as Latest, grouped by state.)"""
    return raw(server, "PUT", container.container_name, name, query="comp=blocklist",
               body=xml(*entries))


def xml(*entries):
    body = "".join("<%s>%s</%s>" % (tag, i, tag) for tag, i in entries)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>%s</BlockList>" % body).encode()


def staged(container, name, blocks):
    blob = container.get_blob_client(name)
    for i, data in blocks:
        blob.stage_block(bid(i), data)
    return blob


def test_PutBlockList_latest(container):
    blob = staged(container, "b", [("1", b"one-"), ("2", b"two-"), ("3", b"three")])
    resp = blob.commit_block_list([bid("3"), bid("1"), bid("2")],
                                  content_settings=ContentSettings(content_type="text/plain"),
                                  metadata={"k": "v"})
    assert resp["etag"]
    assert blob.download_blob().readall() == b"three" + b"one-" + b"two-"
    props = blob.get_blob_properties()
    assert props.etag == resp["etag"]
    assert props.size == 13
    assert props.content_settings.content_type == "text/plain"
    assert props.metadata == {"k": "v"}
    committed, uncommitted = blob.get_block_list("all")
    assert [(b.id, b.size) for b in committed] == [(bid("3"), 5), (bid("1"), 4), (bid("2"), 4)]
    assert uncommitted == []


def test_PutBlockList_raw_status(server, container):
    staged(container, "b", [("1", b"x")])
    r = commit_raw(server, container, "b", ("Latest", wire("1")))
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    assert r.headers["x-ms-request-server-encrypted"] == "true"


def test_PutBlockList_same_block_twice(container):
    blob = staged(container, "b", [("1", b"ab")])
    blob.commit_block_list([bid("1"), bid("1")])
    assert blob.download_blob().readall() == b"abab"


def test_PutBlockList_reuses_committed_blocks(server, container):
    blob = staged(container, "b", [("A", b"AAAA"), ("B", b"BB"), ("C", b"C")])
    blob.commit_block_list([bid("A"), bid("B"), bid("C")])
    blob.stage_block(bid("D"), b"DDD")
    r = commit_raw(server, container, "b", ("Committed", wire("C")), ("Uncommitted", wire("D")),
                   ("Committed", wire("A")))
    assert r.status_code == 201, r.text
    assert blob.download_blob().readall() == b"C" + b"DDD" + b"AAAA"
    committed, uncommitted = blob.get_block_list("all")
    assert [(b.id, b.size) for b in committed] == [(bid("C"), 1), (bid("D"), 3), (bid("A"), 4)]
    assert uncommitted == []
    # B was dropped: it can no longer be named as committed.
    r = commit_raw(server, container, "b", ("Committed", wire("B")))
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidBlockList"
    assert blob.download_blob().readall() == b"C" + b"DDD" + b"AAAA"
    assert_no_residue(server)


def test_PutBlockList_latest_prefers_uncommitted(container):
    blob = staged(container, "b", [("A", b"old")])
    blob.commit_block_list([bid("A")])
    blob.stage_block(bid("A"), b"new!")
    blob.commit_block_list([BlobBlock(bid("A"), BlockState.Latest)])
    assert blob.download_blob().readall() == b"new!"


def test_PutBlockList_latest_falls_back_to_committed(server, container):
    blob = staged(container, "b", [("A", b"aa"), ("B", b"bb")])
    blob.commit_block_list([bid("A"), bid("B")])
    blob.stage_block(bid("C"), b"cc")
    r = commit_raw(server, container, "b", ("Latest", wire("B")), ("Latest", wire("C")))
    assert r.status_code == 201, r.text
    assert blob.download_blob().readall() == b"bbcc"


def test_PutBlockList_committed_ignores_uncommitted(server, container):
    blob = staged(container, "b", [("A", b"old")])
    blob.commit_block_list([bid("A")])
    blob.stage_block(bid("A"), b"new!")
    r = commit_raw(server, container, "b", ("Committed", wire("A")))
    assert r.status_code == 201, r.text
    assert blob.download_blob().readall() == b"old"


def test_PutBlockList_committed_must_be_committed(server, container):
    blob = staged(container, "b", [("A", b"staged only")])
    r = commit_raw(server, container, "b", ("Committed", wire("A")))
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidBlockList"
    assert not blob.exists()
    assert_no_residue(server)


def test_PutBlockList_uncommitted_must_be_staged(server, container):
    blob = staged(container, "b", [("A", b"old")])
    blob.commit_block_list([bid("A")])
    r = commit_raw(server, container, "b", ("Uncommitted", wire("A")))
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidBlockList"
    assert blob.download_blob().readall() == b"old"
    assert_no_residue(server)


def test_PutBlockList_unknown_block(server, container):
    blob = container.get_blob_client("b")
    blob.upload_blob(b"previous")
    etag = blob.get_blob_properties().etag
    blob.stage_block(bid("1"), b"x")
    with pytest.raises(HttpResponseError) as e:
        blob.commit_block_list([bid("1"), bid("9")])
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidBlockList"
    assert blob.download_blob().readall() == b"previous"
    assert blob.get_blob_properties().etag == etag
    # The refused list leaves the staged block in place.
    assert [b.id for b in blob.get_block_list("uncommitted")[1]] == [bid("1")]
    assert_no_residue(server)


@pytest.mark.parametrize("body", [
    b"<BlockList><Latest>MQ==</Latest>",
    b"not xml at all",
    b"<?xml version=\"1.0\"?><Other><Latest>MQ==</Latest></Other>",
    b"<BlockList><Bogus>MQ==</Bogus></BlockList>",
])
def test_PutBlockList_malformed_xml(server, container, body):
    staged(container, "b", [("1", b"x")])
    r = raw(server, "PUT", container.container_name, "b", query="comp=blocklist", body=body)
    assert r.status_code == 400, r.text
    assert r.headers["x-ms-error-code"] == "InvalidXmlDocument"
    assert "<Code>InvalidXmlDocument</Code>" in r.text
    assert not container.get_blob_client("b").exists()
    assert_no_residue(server)


def test_PutBlockList_invalid_block_id_in_list(server, container):
    staged(container, "b", [("1", b"x")])
    r = raw(server, "PUT", container.container_name, "b", query="comp=blocklist",
            body=xml(("Latest", "***")))
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidBlockList"
    assert_no_residue(server)


def test_PutBlockList_empty_list(container):
    blob = container.get_blob_client("b")
    blob.commit_block_list([])
    props = blob.get_blob_properties()
    assert props.size == 0
    assert blob.download_blob().readall() == b""


def test_PutBlockList_discards_unlisted_uncommitted(server, container):
    before = block_files(server)
    blob = staged(container, "b", [("1", b"keep"), ("2", b"drop")])
    blob.commit_block_list([bid("1")])
    assert block_files(server) == before
    committed, uncommitted = blob.get_block_list("all")
    assert [b.id for b in committed] == [bid("1")]
    assert uncommitted == []
    assert_no_residue(server)


def test_PutBlockList_content_md5_of_body(server, container):
    staged(container, "b", [("1", b"x")])
    body = xml(("Latest", wire("1")))
    bad = raw(server, "PUT", container.container_name, "b", query="comp=blocklist",
              headers={"Content-MD5": md5_b64(b"nope")}, body=body)
    assert bad.status_code == 400
    assert bad.headers["x-ms-error-code"] == "Md5Mismatch"
    good = raw(server, "PUT", container.container_name, "b", query="comp=blocklist",
               headers={"Content-MD5": md5_b64(body)}, body=body)
    assert good.status_code == 201


def test_PutBlockList_blob_content_md5(server, container):
    staged(container, "b", [("1", b"xyz")])
    r = raw(server, "PUT", container.container_name, "b", query="comp=blocklist",
            headers={"x-ms-blob-content-md5": md5_b64(b"xyz")}, body=xml(("Latest", wire("1"))))
    assert r.status_code == 201
    props = container.get_blob_client("b").get_blob_properties()
    assert bytes(props.content_settings.content_md5) == hashlib.md5(b"xyz").digest()


def test_PutBlockList_overwrites_put_blob(container):
    blob = container.get_blob_client("b")
    blob.upload_blob(b"single shot", metadata={"old": "1"})
    blob.stage_block(bid("1"), b"blocks")
    blob.commit_block_list([bid("1")])
    props = blob.get_blob_properties()
    assert props.metadata == {}
    assert blob.download_blob().readall() == b"blocks"


def test_PutBlob_discards_uncommitted_blocks(server, container):
    before = block_files(server)
    blob = staged(container, "b", [("1", b"a"), ("2", b"b")])
    assert len(block_files(server)) >= len(before) + 2
    blob.upload_blob(b"direct", overwrite=True)
    assert block_files(server) == before
    committed, uncommitted = blob.get_block_list("all")
    assert committed == []
    assert uncommitted == []
    with pytest.raises(HttpResponseError) as e:
        blob.commit_block_list([bid("1")])
    assert e.value.error_code == "InvalidBlockList"
    assert blob.download_blob().readall() == b"direct"
