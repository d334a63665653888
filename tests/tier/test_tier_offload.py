"""Offload and recall by Set Blob Tier, against a real Azurite as the remote:
states, stubs, ETags, the remote layout, reads of offloaded blobs, writes
over them, and Azure's refusals."""
import hashlib
import os
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import StandardBlobTier

from azurite import azurite, remote_container  # noqa: F401  (fixtures)
from tier_util import (MIB, TierServer, raw_header, remote_names, sparse_blocks, tmp_files,
                       wait_state)


@pytest.fixture
def tiered(remote_container):  # noqa: F811
    s = TierServer(remote_container.sas_url).start()
    yield s
    s.stop()


def new_container(server):
    c = server.service().create_container("t" + uuid.uuid4().hex[:16])
    return c


def test_SetBlobTier_offload_and_recall(tiered, remote_container):  # noqa: F811
    c = new_container(tiered)
    data = os.urandom(3 * MIB + 17)
    b = c.get_blob_client("dir/shard-0001.bin")
    b.upload_blob(data, metadata={"epoch": "7"}, content_settings=None)
    before = b.get_blob_properties()
    assert raw_header(b, "x-strata-tier-state") == "hot"
    assert raw_header(b, "x-ms-access-tier-inferred") == "true"

    b.set_standard_blob_tier("Cool")
    wait_state(b, "offloaded")
    path = os.path.join(tiered.root, c.container_name, "dir", "shard-0001.bin")
    st = os.stat(path)
    assert st.st_size == len(data)          # the stub keeps the size
    assert sparse_blocks(path) * 512 <= 4096  # ... but no data (an xattr block at most)
    props = b.get_blob_properties()
    assert props.etag == before.etag        # tiering never changes the ETag
    assert props.last_modified == before.last_modified
    assert props.size == len(data)
    assert props.metadata == {"epoch": "7"}
    assert props.blob_tier == "Cool"
    assert raw_header(b, "x-ms-access-tier-inferred") is None
    # Listings say the same without touching the remote.
    # (An HNS listing also names the directory "dir", as a hot hdi_isfolder blob.)
    listed = {x.name: x for x in c.list_blobs(include=["metadata"])}
    assert listed["dir"].metadata.get("hdi_isfolder") == "true"
    shard = listed["dir/shard-0001.bin"]
    assert shard.blob_tier == "Cool" and shard.etag.strip('"') == before.etag.strip('"')

    # The remote copy is readable on its own: PREFIX/CONTAINER/BLOB, with
    # the blob's metadata and MD5.
    name = "strata/%s/dir/shard-0001.bin" % c.container_name
    assert name in remote_names(remote_container)
    rprops = remote_container.client.get_blob_client(name).get_blob_properties()
    assert rprops.metadata == {"epoch": "7"}
    assert bytes(rprops.content_settings.content_md5) == hashlib.md5(data).digest()

    # A full read and a ranged read stream from the remote.
    assert b.download_blob().readall() == data
    assert b.download_blob(offset=MIB + 5, length=1000).readall() == data[MIB + 5:MIB + 1005]

    b.set_standard_blob_tier("Hot")
    wait_state(b, "hot")
    assert sparse_blocks(path) > 0
    props = b.get_blob_properties()
    assert props.etag == before.etag
    assert props.blob_tier == "Hot"
    assert b.download_blob().readall() == data
    assert name not in remote_names(remote_container)   # no orphan
    assert tmp_files(tiered.root) == []


def test_SetBlobTier_archive_then_rehydrate(tiered, remote_container):  # noqa: F811
    c = new_container(tiered)
    data = os.urandom(100_000)
    b = c.get_blob_client("cold.bin")
    b.upload_blob(data)
    etag = b.get_blob_properties().etag
    b.set_standard_blob_tier("Archive")
    wait_state(b, "archived")
    name = "strata/%s/cold.bin" % c.container_name
    assert remote_container.client.get_blob_client(name).get_blob_properties().blob_tier == "Archive"
    with pytest.raises(HttpResponseError) as e:
        b.download_blob().readall()
    assert e.value.status_code == 409 and e.value.error_code == "BlobArchived"
    assert b.get_blob_properties().blob_tier == "Archive"
    b.set_standard_blob_tier("Hot")
    wait_state(b, "hot")
    assert b.get_blob_properties().etag == etag
    assert b.download_blob().readall() == data


def test_SetBlobTier_archive_refuses_reads_at_once(tiered, remote_container):  # noqa: F811
    """Azure answers 409 BlobArchived from the moment Set Blob Tier Archive
    returns (the archive docs: an archived blob is offline at once); the
    offload that follows here must not leave a window where reads succeed."""
    c = new_container(tiered)
    data = os.urandom(8 * MIB)
    b = c.get_blob_client("big.bin")
    b.upload_blob(data)
    b.set_standard_blob_tier("Archive")
    with pytest.raises(HttpResponseError) as e:
        b.download_blob().readall()
    assert e.value.status_code == 409 and e.value.error_code == "BlobArchived"
    with pytest.raises(HttpResponseError) as e:
        b.set_blob_metadata({"k": "v"})
    assert e.value.status_code == 409 and e.value.error_code == "BlobArchived"
    assert b.get_blob_properties().blob_tier == "Archive"
    wait_state(b, "archived")
    with pytest.raises(HttpResponseError) as e:
        b.download_blob().readall()
    assert e.value.error_code == "BlobArchived"


def test_SetBlobTier_rehydrate_while_archive_offload_runs(remote_container):  # noqa: F811
    """Archive then Hot at once: wherever the offload had got to (data still
    local, premigrated, or already archived remotely), the answer is 202
    with a pending rehydration, and the blob ends online with its data."""
    s = TierServer(remote_container.sas_url, extra_args=["--rehydrate-delay", "0.5"]).start()
    try:
        c = new_container(s)
        data = os.urandom(4 * MIB)
        b = c.get_blob_client("r.bin")
        b.upload_blob(data)
        etag = b.get_blob_properties().etag
        b.set_standard_blob_tier("Archive")
        seen = {}
        b.set_standard_blob_tier("Hot", raw_response_hook=lambda r: seen.update(
            status=r.http_response.status_code))
        assert seen["status"] == 202
        props = b.get_blob_properties()
        assert props.archive_status in ("rehydrate-pending-to-hot", None)
        wait_state(b, "hot")
        deadline = time.time() + 30
        while b.get_blob_properties().archive_status and time.time() < deadline:
            time.sleep(0.05)
        props = b.get_blob_properties()
        assert props.archive_status is None
        assert props.blob_tier == "Hot"
        assert props.etag == etag
        assert b.download_blob().readall() == data
    finally:
        s.stop()


def test_SetBlobTier_bad_values(tiered):
    c = new_container(tiered)
    b = c.get_blob_client("x")
    b.upload_blob(b"abc")
    for bad in ["Premium", "P10", "Frozen"]:
        with pytest.raises(HttpResponseError) as e:
            b.set_standard_blob_tier(bad)
        assert e.value.status_code == 400, bad
        assert e.value.error_code in ("InvalidHeaderValue", "MissingRequiredHeader"), bad
    with pytest.raises(HttpResponseError) as e:
        c.get_blob_client("missing").set_standard_blob_tier("Cool")
    assert e.value.status_code == 404 and e.value.error_code == "BlobNotFound"
    a = c.get_blob_client("append")
    a.create_append_blob()
    with pytest.raises(HttpResponseError) as e:
        a.set_standard_blob_tier("Cool")
    assert e.value.status_code == 409 and e.value.error_code == "InvalidBlobType"
    assert raw_header(b, "x-strata-tier-state") == "hot"


def test_write_over_offloaded_blob_cleans_remote(tiered, remote_container):  # noqa: F811
    c = new_container(tiered)
    b = c.get_blob_client("w.bin")
    b.upload_blob(os.urandom(50_000))
    b.set_standard_blob_tier("Cold")
    wait_state(b, "offloaded")
    name = "strata/%s/w.bin" % c.container_name
    assert name in remote_names(remote_container)
    new = os.urandom(1234)
    # Named Hot: an overwrite that names no tier keeps Cold, as on Azure
    # (test_set_blob_tier.py), and a Cold blob may be offloaded again under
    # the same remote name by the next policy pass.
    b.upload_blob(new, overwrite=True, standard_blob_tier=StandardBlobTier.HOT)
    assert raw_header(b, "x-strata-tier-state") == "hot"
    assert b.download_blob().readall() == new
    deadline = __import__("time").time() + 30
    while name in remote_names(remote_container) and __import__("time").time() < deadline:
        __import__("time").sleep(0.1)
    assert name not in remote_names(remote_container)
    # Deleting an offloaded blob removes its remote copy too.
    d = c.get_blob_client("d.bin")
    d.upload_blob(os.urandom(2000))
    d.set_standard_blob_tier("Cool")
    wait_state(d, "offloaded")
    d.delete_blob()
    dname = "strata/%s/d.bin" % c.container_name
    deadline = __import__("time").time() + 30
    while dname in remote_names(remote_container) and __import__("time").time() < deadline:
        __import__("time").sleep(0.1)
    assert dname not in remote_names(remote_container)


def test_copy_from_offloaded_source_fetches_it_first(tiered, remote_container):  # noqa: F811
    from azure.storage.blob import BlobServiceClient
    c = new_container(tiered)
    data = os.urandom(300_000)
    src = c.get_blob_client("src.bin")
    src.upload_blob(data)
    etag = src.get_blob_properties().etag
    src.set_standard_blob_tier("Cool")
    wait_state(src, "offloaded")
    svc = BlobServiceClient.from_connection_string(tiered.connection_string, retry_total=0)
    dst = svc.get_container_client(c.container_name).get_blob_client("dst.bin")
    # The data is remote: 503 ServerBusy, and the source is brought back
    # (keeping its remote copy) so that the retry succeeds.
    with pytest.raises(HttpResponseError) as e:
        dst.start_copy_from_url(src.url)
    assert e.value.status_code == 503 and e.value.error_code == "ServerBusy"
    wait_state(src, "premigrated")
    assert src.get_blob_properties().etag == etag
    dst.start_copy_from_url(src.url)
    assert dst.download_blob().readall() == data
    # Premigrated: offloading again only releases the local data.
    src.set_standard_blob_tier("Cool")
    wait_state(src, "offloaded")
    assert src.download_blob().readall() == data


def test_delete_container_cleans_remote_copies(tiered, remote_container):  # noqa: F811
    import time
    c = new_container(tiered)
    b = c.get_blob_client("deep/x.bin")
    b.upload_blob(os.urandom(10_000))
    b.set_standard_blob_tier("Cool")
    wait_state(b, "offloaded")
    name = "strata/%s/deep/x.bin" % c.container_name
    assert name in remote_names(remote_container)
    c.delete_container()
    deadline = time.time() + 30
    while name in remote_names(remote_container) and time.time() < deadline:
        time.sleep(0.05)
    assert name not in remote_names(remote_container)


def test_PutBlob_with_a_cool_tier_offloads(tiered):
    c = new_container(tiered)
    b = c.get_blob_client("direct.bin")
    data = os.urandom(40_000)
    from azure.storage.blob import StandardBlobTier
    b.upload_blob(data, standard_blob_tier=StandardBlobTier.COLD)
    wait_state(b, "offloaded")
    assert b.get_blob_properties().blob_tier == "Cold"
    assert b.download_blob().readall() == data


def test_odd_names_and_empty_blobs_round_trip(tiered, remote_container):  # noqa: F811
    c = new_container(tiered)
    cases = {"dir/a b/ü+%25#?.bin": os.urandom(5000), "empty": b""}
    for name, data in cases.items():
        b = c.get_blob_client(name)
        b.upload_blob(data)
        b.set_standard_blob_tier("Cool")
        wait_state(b, "offloaded")
        assert b.download_blob().readall() == data
        assert b.get_blob_properties().size == len(data)
    names = remote_names(remote_container)
    assert "strata/%s/dir/a b/ü+%%25#?.bin" % c.container_name in names
    for name, data in cases.items():
        b = c.get_blob_client(name)
        b.set_standard_blob_tier("Hot")
        wait_state(b, "hot")
        assert b.download_blob().readall() == data
    assert not [n for n in remote_names(remote_container) if c.container_name in n]


def test_reader_streaming_during_offload_gets_the_data(tiered):
    import hashlib
    import urllib.request
    c = new_container(tiered)
    c.set_container_access_policy(signed_identifiers={}, public_access="blob")
    data = os.urandom(64 * MIB)
    b = c.get_blob_client("stream.bin")
    b.upload_blob(data)
    resp = urllib.request.urlopen(b.url, timeout=60)   # anonymous GET, read slowly
    head = resp.read(MIB)
    b.set_standard_blob_tier("Cool")
    wait_state(b, "offloaded")   # released while the response is still being sent
    rest = resp.read()
    resp.close()
    got = head + rest
    assert len(got) == len(data)
    assert hashlib.md5(got).digest() == hashlib.md5(data).digest()   # never the stub's holes
