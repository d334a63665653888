"""List Blobs: ?restype=container&comp=list, flat and with a delimiter."""
import base64
import xml.etree.ElementTree as ET

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobPrefix, ContentSettings

import signing

TREE = ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "b/c/4.txt", "d", "e/f/g.txt", "z.bin"]


def with_dirs(names):
    """What an HNS account lists flat for these blobs: each blob, and each
    directory on their paths as an entry of its own, in byte order."""
    out = set(names)
    for n in names:
        parts = n.split("/")
        for i in range(1, len(parts)):
            out.add("/".join(parts[:i]))
    return sorted(out)


def _fill(container, names):
    for n in names:
        container.upload_blob(n, n.encode())


def test_ListBlobs_flat(container):
    _fill(container, TREE)
    blobs = list(container.list_blobs(include=["metadata"]))
    # An HNS account lists directories too: zero-length, hdi_isfolder=true.
    assert [b.name for b in blobs] == with_dirs(TREE)
    by_name = {b.name: b for b in blobs}
    for d in ["b", "b/c", "e", "e/f"]:
        assert by_name[d].size == 0
        assert by_name[d].metadata == {"hdi_isfolder": "true"}
    assert not by_name["a.txt"].metadata
    assert by_name["b/c/3.txt"].size == len("b/c/3.txt")
    assert by_name["a.txt"].blob_type == "BlockBlob"
    # List Blobs gives the ETag unquoted (unlike every other blob response).
    assert '"%s"' % by_name["a.txt"].etag == container.get_blob_client("a.txt").get_blob_properties().etag


def test_ListBlobs_empty(container):
    assert list(container.list_blobs()) == []


def test_ListBlobs_prefix(container):
    _fill(container, TREE)
    # The directory "b/c" itself matches the prefix "b/c" (HNS).
    assert [b.name for b in container.list_blobs(name_starts_with="b/c")] == \
        ["b/c", "b/c/3.txt", "b/c/4.txt"]
    assert [b.name for b in container.list_blobs(name_starts_with="b/")] == \
        ["b/1.txt", "b/2.txt", "b/c", "b/c/3.txt", "b/c/4.txt"]
    assert [b.name for b in container.list_blobs(name_starts_with="nothing")] == []


def test_ListBlobs_delimiter(container):
    _fill(container, TREE)
    items = list(container.walk_blobs(delimiter="/"))
    # The SDK puts a page's prefixes before its blobs.
    prefixes = [i.name for i in items if isinstance(i, BlobPrefix)]
    blobs = [i.name for i in items if not isinstance(i, BlobPrefix)]
    assert prefixes == ["b/", "e/"]
    # HNS: a directory is both a (folder) blob and a prefix.
    assert blobs == ["a.txt", "b", "d", "e", "z.bin"]


def test_ListBlobs_delimiter_raw_order(server, container):
    _fill(container, TREE)
    resp = signing.request(server, "GET", "/" + container.container_name,
                           "restype=container&comp=list&delimiter=/")
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.findtext("Delimiter") == "/"
    entries = [(e.tag, e.findtext("Name")) for e in root.find("Blobs")]
    assert entries == [("Blob", "a.txt"), ("Blob", "b"), ("BlobPrefix", "b/"), ("Blob", "d"),
                       ("Blob", "e"), ("BlobPrefix", "e/"), ("Blob", "z.bin")]


def test_ListBlobs_delimiter_with_prefix(container):
    _fill(container, TREE)
    items = list(container.walk_blobs(name_starts_with="b/", delimiter="/"))
    assert [i.name for i in items if isinstance(i, BlobPrefix)] == ["b/c/"]
    assert [i.name for i in items if not isinstance(i, BlobPrefix)] == ["b/1.txt", "b/2.txt", "b/c"]


def test_ListBlobs_delimiter_not_slash(container):
    _fill(container, ["x-1", "x-2", "y", "x"])
    items = list(container.walk_blobs(delimiter="-"))
    assert [i.name for i in items if isinstance(i, BlobPrefix)] == ["x-"]
    assert [i.name for i in items if not isinstance(i, BlobPrefix)] == ["x", "y"]


def test_ListBlobs_paging_flat(container):
    names = sorted("blob-%03d" % i for i in range(23)) + ["dir/%02d" % i for i in range(5)]
    names.sort()
    _fill(container, names)
    pages = list(container.list_blobs(results_per_page=4).by_page())
    got = [[b.name for b in page] for page in pages]
    assert [len(p) for p in got] == [4] * 7 + [1]  # 28 blobs and the directory "dir"
    assert [n for p in got for n in p] == with_dirs(names)


def test_ListBlobs_paging_continuation_token(container):
    names = ["n%02d" % i for i in range(10)]
    _fill(container, names)
    pager = container.list_blobs(results_per_page=3).by_page()
    first = [b.name for b in next(pager)]
    token = pager.continuation_token
    assert first == names[:3]
    assert token
    rest = [b.name for page in container.list_blobs(results_per_page=3).by_page(continuation_token=token)
            for b in page]
    assert rest == names[3:]


def test_ListBlobs_paging_delimiter(container):
    names = ["d%02d/x" % i for i in range(7)] + ["f%02d" % i for i in range(6)] + ["d03/y/z"]
    _fill(container, names)
    pages = [list(p) for p in container.walk_blobs(delimiter="/", results_per_page=2).by_page()]
    got = [i.name for page in pages for i in page]
    # HNS: each directory dNN is the blob "dNN" and the prefix "dNN/".
    expected = [n for i in range(7) for n in ("d%02d" % i, "d%02d/" % i)] + \
        ["f%02d" % i for i in range(6)]
    assert sorted(got) == sorted(expected)
    # Within a page the SDK yields prefixes first; across pages, name order.
    assert [sorted(i.name for i in p) for p in pages] == \
        [sorted(expected[k:k + 2]) for k in range(0, len(expected), 2)]


def test_ListBlobs_raw_xml_paging(server, container):
    _fill(container, ["p1", "p2", "p3"])
    path = "/" + container.container_name
    resp = signing.request(server, "GET", path, "restype=container&comp=list&maxresults=2")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "EnumerationResults"
    assert root.get("ContainerName") == container.container_name
    assert root.findtext("MaxResults") == "2"
    assert [b.findtext("Name") for b in root.iter("Blob")] == ["p1", "p2"]
    marker = root.findtext("NextMarker")
    assert marker
    resp2 = signing.request(server, "GET", path,
                            "restype=container&comp=list&maxresults=2&marker=" + marker)
    root2 = ET.fromstring(resp2.content)
    assert root2.findtext("Marker") == marker
    assert [b.findtext("Name") for b in root2.iter("Blob")] == ["p3"]
    assert not root2.findtext("NextMarker")


def test_ListBlobs_include_metadata(container):
    container.upload_blob("m", b"x", metadata={"owner": "me", "n": "1"})
    container.upload_blob("plain", b"x")
    with_meta = {b.name: b.metadata for b in container.list_blobs(include=["metadata"])}
    assert with_meta["m"] == {"owner": "me", "n": "1"}
    assert not with_meta["plain"]
    without = {b.name: b.metadata for b in container.list_blobs()}
    assert not without["m"]


def test_ListBlobs_properties(container):
    container.upload_blob("props.txt", b"hello", content_settings=ContentSettings(
        content_type="text/plain", content_language="en", cache_control="no-cache"))
    (b,) = list(container.list_blobs())
    assert b.size == 5
    assert b.content_settings.content_type == "text/plain"
    assert b.content_settings.content_language == "en"
    assert b.content_settings.cache_control == "no-cache"
    assert b.lease.status == "unlocked"
    assert b.last_modified is not None
    assert b.creation_time is not None


def test_ListBlobs_include_uncommitted(container):
    container.upload_blob("committed", b"c")
    bc = container.get_blob_client("pending")
    bc.stage_block(base64.b64encode(b"block-1").decode(), b"partial")
    assert [b.name for b in container.list_blobs()] == ["committed"]
    names = [b.name for b in container.list_blobs(include=["uncommittedblobs"])]
    assert names == ["committed", "pending"]


def test_ListBlobs_include_uncommitted_with_prefix(container):
    container.get_blob_client("dir/pending").stage_block(
        base64.b64encode(b"blk").decode(), b"partial")
    container.get_blob_client("other").stage_block(base64.b64encode(b"blk").decode(), b"x")
    names = [b.name for b in container.list_blobs(name_starts_with="dir/", include=["uncommittedblobs"])]
    assert names == ["dir/pending"]


def test_ListBlobs_not_found(service, container_name):
    with pytest.raises(ResourceNotFoundError) as e:
        list(service.get_container_client(container_name).list_blobs())
    assert e.value.status_code == 404
    assert e.value.error_code == "ContainerNotFound"


@pytest.mark.parametrize("value,code", [("0", "OutOfRangeQueryParameterValue"),
                                        ("-1", "OutOfRangeQueryParameterValue"),
                                        ("abc", "InvalidQueryParameterValue")])
def test_ListBlobs_invalid_maxresults(server, container, value, code):
    resp = signing.request(server, "GET", "/" + container.container_name,
                           "restype=container&comp=list&maxresults=" + value)
    assert resp.status_code == 400
    assert signing.error_code(resp) == code


def test_ListBlobs_invalid_include(server, container):
    resp = signing.request(server, "GET", "/" + container.container_name,
                           "restype=container&comp=list&include=bogus")
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidQueryParameterValue"


def test_ListBlobs_byte_order_across_directories(container):
    # '-' < '.' < '/' < '0' in byte order: "a/..." sorts between "a.b" and "a0".
    names = ["a-b", "a.b", "a/b", "a/c/d", "a0", "A", "a~"]
    _fill(container, names)
    # The directory "a" sorts by its own name, its entries as "a/...".
    assert with_dirs(names) == ["A", "a", "a-b", "a.b", "a/b", "a/c", "a/c/d", "a0", "a~"]
    assert [b.name for b in container.list_blobs()] == with_dirs(names)
    paged = [b.name for p in container.list_blobs(results_per_page=2).by_page() for b in p]
    assert paged == with_dirs(names)


def test_ListBlobs_paging_deep_tree(container):
    names = sorted("%s/%s/%d" % (x, y, z) for x in "pq" for y in "uvw" for z in range(4))
    names += ["p0", "q/x"]
    names.sort()
    _fill(container, names)
    for size in (1, 3, 5):
        got = [b.name for p in container.list_blobs(results_per_page=size).by_page() for b in p]
        assert got == with_dirs(names), size
    got = [b.name for p in container.list_blobs(name_starts_with="p/v", results_per_page=3).by_page()
           for b in p]
    assert got == [n for n in with_dirs(names) if n.startswith("p/v")]


def test_ListBlobs_marker_with_base64_specials(container):
    # Names whose markers, base64-encoded, carry '+', '/' and '=' into the query.
    names = sorted(["~~~1", "~~~2", "???1", "???22", "><>", "ab"])
    _fill(container, names)
    got = [b.name for p in container.list_blobs(results_per_page=1).by_page() for b in p]
    assert got == names


def test_ListBlobs_prefix_special_characters(container):
    names = ["sp ace/+plus/1", "sp ace/+plus/2", "sp ace/x", "sp%25/y", "ünï/çødé"]
    _fill(container, names)
    assert [b.name for b in container.list_blobs(name_starts_with="sp ace/+")] == \
        ["sp ace/+plus", "sp ace/+plus/1", "sp ace/+plus/2"]
    assert [b.name for b in container.list_blobs(name_starts_with="ünï/")] == ["ünï/çødé"]
    assert [b.name for b in container.list_blobs(name_starts_with="sp%25")] == ["sp%25", "sp%25/y"]
    items = list(container.walk_blobs(name_starts_with="sp ace/", delimiter="/"))
    assert sorted(i.name for i in items) == ["sp ace/+plus", "sp ace/+plus/", "sp ace/x"]


def test_ListBlobs_include_uncommitted_paging(container):
    committed = ["c1", "c3", "c5"]
    pending = ["c2", "c4", "c6"]
    _fill(container, committed)
    for n in pending:
        container.get_blob_client(n).stage_block(base64.b64encode(b"b").decode(), b"x")
    pages = [[b.name for b in p]
             for p in container.list_blobs(include=["uncommittedblobs"], results_per_page=2).by_page()]
    assert all(len(p) <= 2 for p in pages), pages
    assert [n for p in pages for n in p] == sorted(committed + pending)


def test_ListBlobs_include_uncommitted_delimiter(container):
    container.upload_blob("top", b"t")
    container.get_blob_client("newdir/pending").stage_block(base64.b64encode(b"b").decode(), b"x")
    items = list(container.walk_blobs(delimiter="/", include=["uncommittedblobs"]))
    assert sorted(i.name for i in items) == ["newdir/", "top"]
    items = list(container.walk_blobs(delimiter="/"))
    assert [i.name for i in items] == ["top"]


def test_ListBlobs_resource_type_hns(server, container):
    """An HNS account (strata always is one: Get Account Information answers
    x-ms-is-hns-enabled: true) writes ResourceType file | directory in each
    entry's Properties, right after Etag, from version 2020-10-02 on, without
    any include= (azure-sdk-for-js recordings of List Blobs on HNS accounts,
    x-ms-version 2023-01-03: <Etag>…</Etag><ResourceType>file</ResourceType>
    <Content-Length>…)."""
    _fill(container, ["f.txt", "dir/g.txt"])
    path = "/" + container.container_name
    resp = signing.request(server, "GET", path, "restype=container&comp=list",
                           headers={"x-ms-version": "2020-10-02"})
    assert resp.status_code == 200
    kinds = {b.findtext("Name"): b.find("Properties").findtext("ResourceType")
             for b in ET.fromstring(resp.content).iter("Blob")}
    assert kinds == {"dir": "directory", "dir/g.txt": "file", "f.txt": "file"}
    props = [e.tag for e in ET.fromstring(resp.content).find("Blobs/Blob/Properties")]
    assert props[props.index("Etag") + 1] == "ResourceType"
    assert props[props.index("ResourceType") + 1] == "Content-Length"
    # Older versions do not have it.
    old = signing.request(server, "GET", path, "restype=container&comp=list",
                          headers={"x-ms-version": "2020-08-04"})
    assert old.status_code == 200
    assert b"ResourceType" not in old.content
