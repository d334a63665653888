"""The issue's list checked once more: path create conditions, rename modes
and conditions on both ends, filesystem set properties (SDK and its
conditions), and POSIX <-> Blob/dfs visibility both ways."""
import base64
import os
import time
from email.utils import formatdate

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError

from dfs_util import assert_json_error, raw


def test_CreatePath_conditions(filesystem, server):
    fs = filesystem.file_system_name
    # If-None-Match: * on a new path creates it; on an existing one refuses.
    r = raw(server, "PUT", fs, "new", "resource=file", headers={"If-None-Match": "*"})
    assert r.status_code == 201, r.text
    etag = r.headers["ETag"]
    assert_json_error(raw(server, "PUT", fs, "new", "resource=file", headers={"If-None-Match": "*"}),
                      409, "PathAlreadyExists")
    # If-Match: the current ETag overwrites, a stale one or a missing path refuses.
    assert_json_error(raw(server, "PUT", fs, "new", "resource=file", headers={"If-Match": '"0x1"'}),
                      412, "ConditionNotMet")
    assert_json_error(raw(server, "PUT", fs, "absent", "resource=file", headers={"If-Match": etag}),
                      412, "ConditionNotMet")
    assert raw(server, "PUT", fs, "new", "resource=file", headers={"If-Match": etag}).status_code == 201
    # If-None-Match with the current ETag refuses; the SDK's overwrite guard too.
    cur = filesystem.get_file_client("new").get_file_properties().etag
    assert_json_error(raw(server, "PUT", fs, "new", "resource=file", headers={"If-None-Match": cur}),
                      412, "ConditionNotMet")
    with pytest.raises(HttpResponseError) as e:
        filesystem.get_file_client("new").create_file(etag=cur, match_condition=MatchConditions.IfModified)
    assert e.value.status_code == 412
    assert not filesystem.get_file_client("absent").exists()


@pytest.mark.parametrize("mode", ["legacy", "posix"])
def test_RenamePath_modes_replace_a_file(filesystem, server, mode):
    fs = filesystem.file_system_name
    filesystem.create_file("a").upload_data(b"A", overwrite=True)
    filesystem.create_file("b").upload_data(b"B", overwrite=True)
    r = raw(server, "PUT", fs, "b", "mode=" + mode, headers={"x-ms-rename-source": "/%s/a" % fs})
    assert r.status_code == 201, r.text
    assert filesystem.get_file_client("b").download_file().readall() == b"A"
    assert not filesystem.get_file_client("a").exists()


def test_RenamePath_destination_and_source_conditions(filesystem, server):
    fs = filesystem.file_system_name
    src = filesystem.create_file("s")
    src.upload_data(b"S", overwrite=True)
    dst = filesystem.create_file("d")
    s_etag = src.get_file_properties().etag
    d_etag = dst.get_file_properties().etag
    past = formatdate(time.time() - 3600, usegmt=True)
    future = formatdate(time.time() + 3600, usegmt=True)
    source = {"x-ms-rename-source": "/%s/s" % fs}
    refusals = [
        ({"If-Match": '"0x1"'}, 412, "ConditionNotMet"),
        ({"If-None-Match": d_etag}, 412, "ConditionNotMet"),
        ({"If-Unmodified-Since": past}, 412, "ConditionNotMet"),
        ({"If-Modified-Since": future}, 412, "ConditionNotMet"),
        ({"x-ms-source-if-match": '"0x1"'}, 412, "SourceConditionNotMet"),
        ({"x-ms-source-if-none-match": s_etag}, 412, "SourceConditionNotMet"),
        ({"x-ms-source-if-unmodified-since": past}, 412, "SourceConditionNotMet"),
        ({"x-ms-source-if-modified-since": future}, 412, "SourceConditionNotMet"),
    ]
    for extra, status, code in refusals:
        r = raw(server, "PUT", fs, "d", "mode=legacy", headers=dict(source, **extra))
        assert_json_error(r, status, code)
        assert filesystem.get_file_client("s").exists(), extra
        assert filesystem.get_file_client("d").get_file_properties().etag == d_etag, extra
    # Both ends' conditions met: the rename happens.
    r = raw(server, "PUT", fs, "d", "mode=legacy",
            headers=dict(source, **{"If-Match": d_etag, "x-ms-source-if-match": s_etag}))
    assert r.status_code == 201, r.text
    assert filesystem.get_file_client("d").download_file().readall() == b"S"


def test_RenamePath_leases_on_both_ends(filesystem, server):
    fs = filesystem.file_system_name
    filesystem.create_file("ls")
    filesystem.create_file("ld")
    src_lease = filesystem.get_file_client("ls").acquire_lease(lease_duration=15)
    source = {"x-ms-rename-source": "/%s/ls" % fs}
    assert_json_error(raw(server, "PUT", fs, "ld", "", headers=source), 412, "LeaseIdMissing")
    dst_lease = filesystem.get_file_client("ld").acquire_lease(lease_duration=15)
    with_src = dict(source, **{"x-ms-source-lease-id": src_lease.id})
    assert_json_error(raw(server, "PUT", fs, "ld", "", headers=with_src), 412, "LeaseIdMissing")
    r = raw(server, "PUT", fs, "ld", "", headers=dict(with_src, **{"x-ms-lease-id": dst_lease.id}))
    assert r.status_code == 201, r.text


def test_SetFilesystemProperties_sdk_and_conditions(dfs, filesystem, server):
    filesystem.set_file_system_metadata({"team": "vision", "n": "2"})
    props = filesystem.get_file_system_properties()
    assert props.metadata == {"team": "vision", "n": "2"}
    fs = filesystem.file_system_name
    future = formatdate(time.time() + 3600, usegmt=True)
    r = raw(server, "PATCH", fs, "", "resource=filesystem",
            headers={"x-ms-properties": "a=" + base64.b64encode(b"b").decode(),
                     "If-Modified-Since": future})
    assert_json_error(r, 412, "ConditionNotMet")
    r = raw(server, "PATCH", fs, "", "resource=filesystem",
            headers={"x-ms-properties": "a=" + base64.b64encode(b"b").decode(), "If-Match": "*"})
    assert_json_error(r, 400, "UnsupportedHeader")
    assert filesystem.get_file_system_properties().metadata == {"team": "vision", "n": "2"}
    assert_json_error(raw(server, "PATCH", "nofs" + fs[4:], "", "resource=filesystem",
                          headers={"x-ms-properties": ""}), 404, "FilesystemNotFound")


def test_Multiprotocol_posix_rename_and_delete_seen_by_blob_and_dfs(filesystem, server, service):
    fs = filesystem.file_system_name
    root = os.path.join(server.root, fs)
    blob = service.get_container_client(fs)
    blob.upload_blob("job/tmp/ckpt.bin", b"weights")
    # Renamed with rename(2) behind strata's back: the next requests see it.
    os.rename(os.path.join(root, "job", "tmp"), os.path.join(root, "job", "final"))
    assert filesystem.get_file_client("job/final/ckpt.bin").download_file().readall() == b"weights"
    assert blob.download_blob("job/final/ckpt.bin").readall() == b"weights"
    with pytest.raises(ResourceNotFoundError):
        filesystem.get_file_client("job/tmp/ckpt.bin").get_file_properties()
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_client("job/tmp/ckpt.bin").get_blob_properties()
    assert sorted(p.name for p in filesystem.get_paths()) == ["job", "job/final", "job/final/ckpt.bin"]
    # Made with mkdir: a directory to both endpoints.
    os.makedirs(os.path.join(root, "made", "by"))
    assert filesystem.get_directory_client("made/by").get_directory_properties().metadata == \
        {"hdi_isfolder": "true"}
    assert blob.get_blob_client("made/by").get_blob_properties().metadata == {"hdi_isfolder": "true"}
    # Deleted with unlink/rmdir: gone for both.
    os.unlink(os.path.join(root, "job", "final", "ckpt.bin"))
    os.rmdir(os.path.join(root, "made", "by"))
    for name in ["job/final/ckpt.bin", "made/by"]:
        with pytest.raises(ResourceNotFoundError):
            blob.get_blob_client(name).get_blob_properties()
        with pytest.raises(ResourceNotFoundError):
            filesystem.get_file_client(name).get_file_properties()


def test_Multiprotocol_etag_changes_on_posix_rewrite_between_heads(filesystem, server, service):
    fs = filesystem.file_system_name
    f = filesystem.create_file("w.bin")
    f.upload_data(b"12345678", overwrite=True)
    blob = service.get_blob_client(fs, "w.bin")
    e_dfs, e_blob = f.get_file_properties().etag, blob.get_blob_properties().etag
    assert e_dfs == e_blob
    path = os.path.join(server.root, fs, "w.bin")
    st = os.stat(path)
    # Past one timestamp tick after strata's last write (README, Limits).
    time.sleep(0.02)
    with open(path, "r+b") as fh:  # same size, and the old mtime put back
        fh.write(b"abcdefgh")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    e_dfs2, e_blob2 = f.get_file_properties().etag, blob.get_blob_properties().etag
    assert e_dfs2 != e_dfs and e_blob2 != e_blob
    assert e_dfs2 == e_blob2
    assert f.download_file().readall() == b"abcdefgh"
    # Conditional requests follow the new ETag.
    with pytest.raises(ResourceModifiedError):
        blob.download_blob(etag=e_blob, match_condition=MatchConditions.IfNotModified).readall()
