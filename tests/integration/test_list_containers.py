"""List Containers: GET /account/?comp=list."""
import uuid
import xml.etree.ElementTree as ET

import pytest

import signing


def _prefix():
    return "lc" + uuid.uuid4().hex[:10]


@pytest.fixture
def family(service):
    """Five containers sharing a fresh prefix; yields (prefix, sorted names)."""
    prefix = _prefix()
    names = sorted(prefix + s for s in ["a", "b", "c", "d", "e"])
    for i, n in enumerate(names):
        service.create_container(n, metadata={"idx": str(i)})
    yield prefix, names
    for n in names:
        try:
            service.delete_container(n)
        except Exception:
            pass


def test_ListContainers_prefix(service, family):
    prefix, names = family
    got = [c.name for c in service.list_containers(name_starts_with=prefix)]
    assert got == names
    assert [c.name for c in service.list_containers(name_starts_with=prefix + "c")] == [prefix + "c"]
    assert list(service.list_containers(name_starts_with=prefix + "zz")) == []


def test_ListContainers_all_includes_new(service, family):
    _, names = family
    all_names = [c.name for c in service.list_containers()]
    assert all_names == sorted(all_names)
    assert set(names) <= set(all_names)


def test_ListContainers_paging(service, family):
    prefix, names = family
    pages = list(service.list_containers(name_starts_with=prefix, results_per_page=2).by_page())
    assert [[c.name for c in p] for p in pages] == [names[0:2], names[2:4], names[4:5]]


def test_ListContainers_continuation_token(service, family):
    prefix, names = family
    pager = service.list_containers(name_starts_with=prefix, results_per_page=3).by_page()
    assert [c.name for c in next(pager)] == names[:3]
    token = pager.continuation_token
    assert token
    rest = service.list_containers(name_starts_with=prefix, results_per_page=3).by_page(
        continuation_token=token)
    assert [c.name for p in rest for c in p] == names[3:]


def test_ListContainers_include_metadata(service, family):
    prefix, names = family
    with_meta = list(service.list_containers(name_starts_with=prefix, include_metadata=True))
    assert [c.metadata for c in with_meta] == [{"idx": str(i)} for i in range(5)]
    without = list(service.list_containers(name_starts_with=prefix))
    assert all(not c.metadata for c in without)


def test_ListContainers_properties(service, container_name):
    client = service.create_container(container_name, public_access="blob")
    lease = client.acquire_lease()
    try:
        (c,) = list(service.list_containers(name_starts_with=container_name))
        assert c.public_access == "blob"
        assert c.lease.state == "leased"
        assert c.lease.status == "locked"
        assert c.lease.duration == "infinite"
        props = client.get_container_properties()
        assert c.etag == props.etag
        assert c.last_modified == props.last_modified
    finally:
        lease.release()
        client.delete_container()


def test_ListContainers_raw_xml(server, family):
    prefix, names = family
    resp = signing.request(server, "GET", "/", "comp=list&prefix=%s&maxresults=2&include=metadata" % prefix)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "EnumerationResults"
    assert root.get("ServiceEndpoint").startswith("http://127.0.0.1:%d/" % server.port)
    assert root.findtext("Prefix") == prefix
    assert root.findtext("MaxResults") == "2"
    containers = root.find("Containers").findall("Container")
    assert [c.findtext("Name") for c in containers] == names[:2]
    assert containers[0].find("Metadata").findtext("idx") == "0"
    assert containers[0].find("Properties").findtext("Etag")
    assert containers[0].find("Properties").findtext("Last-Modified").endswith("GMT")
    marker = root.findtext("NextMarker")
    assert marker
    resp = signing.request(server, "GET", "/", "comp=list&prefix=%s&maxresults=10&marker=%s" % (prefix, marker))
    root = ET.fromstring(resp.content)
    assert root.findtext("Marker") == marker
    assert [c.findtext("Name") for c in root.iter("Container")] == names[2:]
    assert not root.findtext("NextMarker")


@pytest.mark.parametrize("value,code", [("0", "OutOfRangeQueryParameterValue"),
                                        ("-3", "OutOfRangeQueryParameterValue"),
                                        ("ten", "InvalidQueryParameterValue")])
def test_ListContainers_invalid_maxresults(server, value, code):
    resp = signing.request(server, "GET", "/", "comp=list&maxresults=" + value)
    assert resp.status_code == 400
    assert signing.error_code(resp) == code


def test_ListContainers_large_maxresults_capped(server):
    resp = signing.request(server, "GET", "/", "comp=list&maxresults=100000")
    assert resp.status_code == 200
    assert ET.fromstring(resp.content).tag == "EnumerationResults"


def test_ListContainers_marker_with_base64_specials(service):
    # Container names are [a-z0-9-]; pick ones whose base64 markers contain '+' or '/'.
    prefix = "lz" + uuid.uuid4().hex[:8]
    names = sorted(prefix + s for s in ["-zz9", "-zzz", "-zy", "-z0", "-x"])
    for n in names:
        service.create_container(n)
    try:
        got = [c.name for p in service.list_containers(name_starts_with=prefix, results_per_page=1).by_page()
               for c in p]
        assert got == names
    finally:
        for n in names:
            service.delete_container(n)


def test_ListContainers_invalid_include(server):
    resp = signing.request(server, "GET", "/", "comp=list&include=bogus")
    assert resp.status_code == 400
    assert signing.error_code(resp) == "InvalidQueryParameterValue"


def test_ListContainers_include_system_and_deleted(server, family):
    prefix, names = family
    resp = signing.request(server, "GET", "/", "comp=list&prefix=%s&include=metadata,system,deleted" % prefix)
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert [c.findtext("Name") for c in root.iter("Container")] == names
