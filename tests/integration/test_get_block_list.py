"""Get Block List: committed, uncommitted and all."""
import base64
import xml.etree.ElementTree as ET

import pytest
from azure.core.exceptions import ResourceNotFoundError

from blob_util import raw


def bid(s):
    return base64.b64encode(s.encode()).decode()


@pytest.fixture
def mixed(container):
    """A blob with committed blocks c1,c2 and uncommitted u1."""
    blob = container.get_blob_client("b")
    blob.stage_block(bid("c1"), b"11")
    blob.stage_block(bid("c2"), b"2222")
    blob.commit_block_list([bid("c1"), bid("c2")])
    blob.stage_block(bid("u1"), b"333")
    return blob


def test_GetBlockList_committed(mixed):
    committed, uncommitted = mixed.get_block_list("committed")
    assert [(b.id, b.size) for b in committed] == [(bid("c1"), 2), (bid("c2"), 4)]
    assert uncommitted == []


def test_GetBlockList_uncommitted(mixed):
    committed, uncommitted = mixed.get_block_list("uncommitted")
    assert committed == []
    assert [(b.id, b.size) for b in uncommitted] == [(bid("u1"), 3)]


def test_GetBlockList_all(mixed):
    committed, uncommitted = mixed.get_block_list("all")
    assert [b.id for b in committed] == [bid("c1"), bid("c2")]
    assert [b.id for b in uncommitted] == [bid("u1")]


def test_GetBlockList_raw_xml(server, container, mixed):
    r = raw(server, "GET", container.container_name, "b", query="comp=blocklist&blocklisttype=all")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/xml")
    assert r.headers["x-ms-blob-content-length"] == "6"
    assert r.headers["ETag"] == mixed.get_blob_properties().etag
    root = ET.fromstring(r.content)
    assert root.tag == "BlockList"
    # On the wire: the SDK Base64-encoded the ids it was given once more.
    wire = [base64.b64encode(bid(i).encode()).decode() for i in ("c1", "c2")]
    assert [n.findtext("Name") for n in root.find("CommittedBlocks")] == wire
    assert [n.findtext("Size") for n in root.find("UncommittedBlocks")] == ["3"]


def test_GetBlockList_default_is_committed(server, container, mixed):
    r = raw(server, "GET", container.container_name, "b", query="comp=blocklist")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.find("CommittedBlocks") is not None
    assert root.find("UncommittedBlocks") is None


def test_GetBlockList_only_uncommitted_blocks(container):
    blob = container.get_blob_client("new")
    blob.stage_block(bid("x"), b"abc")
    committed, uncommitted = blob.get_block_list("all")
    assert committed == []
    assert [(b.id, b.size) for b in uncommitted] == [(bid("x"), 3)]


def test_GetBlockList_put_blob_has_no_blocks(container):
    blob = container.get_blob_client("single")
    blob.upload_blob(b"single shot")
    committed, uncommitted = blob.get_block_list("all")
    assert uncommitted == []
    assert blob.download_blob().readall() == b"single shot"


def test_GetBlockList_not_found(container):
    with pytest.raises(ResourceNotFoundError) as e:
        container.get_blob_client("none").get_block_list("all")
    assert e.value.status_code == 404
    assert e.value.error_code == "BlobNotFound"


def test_GetBlockList_invalid_type(server, container, mixed):
    r = raw(server, "GET", container.container_name, "b", query="comp=blocklist&blocklisttype=bogus")
    assert r.status_code == 400
    assert r.headers["x-ms-error-code"] == "InvalidQueryParameterValue"
