import os

import pytest
from azure.core.exceptions import HttpResponseError

from dfs_util import assert_json_error, raw


def test_AppendFlush_data_appears_only_at_flush(filesystem, server):
    f = filesystem.create_file("data.bin")
    f.append_data(b"hello ", offset=0, length=6)
    f.append_data(b"world", offset=6, length=5)
    assert f.download_file().readall() == b""
    f.flush_data(11)
    assert f.download_file().readall() == b"hello world"
    path = os.path.join(server.root, filesystem.file_system_name, "data.bin")
    assert open(path, "rb").read() == b"hello world"


def test_AppendFlush_append_after_flush_extends(filesystem):
    f = filesystem.create_file("log")
    f.append_data(b"abc", offset=0, length=3)
    f.flush_data(3)
    f.append_data(b"def", offset=3, length=3)
    f.flush_data(6, close=True)
    assert f.download_file().readall() == b"abcdef"


def test_AppendFlush_holes_filled_in_any_order(filesystem, server):
    # Path - Update: position "allows the caller to upload data in parallel
    # and control the order in which it is appended"; a flush needs the
    # uploaded data contiguous (else 400 InvalidFlushPosition). The JS
    # SDK's DataLakeFileClient.upload sends its chunks so, 5 at a time.
    fs = filesystem.file_system_name
    f = filesystem.create_file("x")
    f.append_data(b"abc", offset=0, length=3)
    r = raw(server, "PATCH", fs, "x", "action=append&position=5", body=b"zz")
    assert r.status_code == 202, r.text
    # A hole at [3, 5): not contiguous, nothing committed.
    r = raw(server, "PATCH", fs, "x", "action=flush&position=7")
    assert_json_error(r, 400, "InvalidFlushPosition")
    assert f.get_file_properties().size == 0
    r = raw(server, "PATCH", fs, "x", "action=append&position=3", body=b"xy")
    assert r.status_code == 202, r.text
    r = raw(server, "PATCH", fs, "x", "action=flush&position=7")
    assert r.status_code == 200, r.text
    assert f.download_file().readall() == b"abcxyzz"
    # Later appends start at the committed end, not before it.
    r = raw(server, "PATCH", fs, "x", "action=append&position=2", body=b"q")
    assert_json_error(r, 400, "InvalidFlushPosition")
    # Many chunks in reverse order, as a parallel uploader may deliver them.
    chunks = [bytes([65 + i]) * 1000 for i in range(8)]
    for i in reversed(range(8)):
        r = raw(server, "PATCH", fs, "x", "action=append&position=%d" % (7 + 1000 * i),
                body=chunks[i])
        assert r.status_code == 202, r.text
    r = raw(server, "PATCH", fs, "x", "action=flush&position=%d" % (7 + 8000))
    assert r.status_code == 200, r.text
    assert f.download_file().readall() == b"abcxyzz" + b"".join(chunks)
    # The committed file carries no trace of the bookkeeping.
    path = os.path.join(server.root, fs, "x")
    assert not [a for a in os.listxattr(path) if "gaps" in a]


def test_AppendFlush_gap_refused_at_flush(filesystem, server):
    """An append past the end is accepted (Azure's Path - Update: `position`
    lets a caller upload in parallel); the flush needs the data contiguous up
    to its position (400 InvalidFlushPosition). Issue 11 changed this test: an
    append at a gap was refused at once before."""
    fs = filesystem.file_system_name
    f = filesystem.create_file("x")
    f.append_data(b"abc", offset=0, length=3)
    r = raw(server, "PATCH", fs, "x", "action=append&position=5", body=b"zz")
    assert r.status_code == 202, r.text
    r = raw(server, "PATCH", fs, "x", "action=flush&position=7")
    assert_json_error(r, 400, "InvalidFlushPosition")
    # What is contiguous can be flushed; the flush discards the rest.
    f.flush_data(3)
    assert f.download_file().readall() == b"abc"
    r = raw(server, "PATCH", fs, "x", "action=append&position=3", body=b"de")
    assert r.status_code == 202, r.text
    r = raw(server, "PATCH", fs, "x", "action=flush&position=7")
    assert_json_error(r, 400, "InvalidFlushPosition")
    f.flush_data(5)
    assert f.download_file().readall() == b"abcde"


def test_AppendFlush_partial_flush_retains_the_rest(filesystem, server):
    """retainUncommittedData=true lets a flush stop short of what was
    appended: azcopy flushes a large file in steps so (its test
    Scenario_UploadFileMultiflushOAuth, run against Azure with
    --flush-threshold). Without it the position must be the staged end."""
    f = filesystem.create_file("steps")
    f.append_data(b"0123456789", offset=0, length=10)
    f.flush_data(4, retain_uncommitted_data=True)
    assert f.download_file().readall() == b"0123"
    f.append_data(b"abc", offset=10, length=3)
    f.flush_data(8, retain_uncommitted_data=True)
    assert f.download_file().readall() == b"01234567"
    with pytest.raises(HttpResponseError) as e:
        f.flush_data(10)
    assert e.value.error_code == "InvalidFlushPosition"
    with pytest.raises(HttpResponseError) as e:  # not before what is committed
        f.flush_data(2, retain_uncommitted_data=True)
    assert e.value.error_code == "InvalidFlushPosition"
    f.flush_data(13, close=True)
    assert f.download_file().readall() == b"0123456789abc"


def test_AppendFlush_append_before_staged_end_refused(filesystem, server):
    f = filesystem.create_file("x")
    f.append_data(b"abc", offset=0, length=3)
    r = raw(server, "PATCH", filesystem.file_system_name, "x", "action=append&position=1", body=b"zz")
    assert_json_error(r, 400, "InvalidFlushPosition")


def test_AppendFlush_out_of_order_appends(filesystem, server):
    """azcopy appends a file's 8 MiB chunks in parallel, so later chunks can
    arrive first; Azure accepts them (Path - Update, `position`: "allows the
    caller to upload data in parallel"). Chunks in reverse order, after a
    first flush, then flushed at the end, give the file in order."""
    fs = filesystem.file_system_name
    f = filesystem.create_file("par")
    f.append_data(b"0123", offset=0, length=4)
    f.flush_data(4)
    chunks = [(4 + 5 * i, bytes([65 + i]) * 5) for i in range(6)]
    for pos, data in reversed(chunks):
        r = raw(server, "PATCH", fs, "par", "action=append&position=%d" % pos, body=data)
        assert r.status_code == 202, r.text
    assert f.download_file().readall() == b"0123"  # nothing shows before the flush
    f.flush_data(34)
    want = b"0123" + b"".join(d for _, d in chunks)
    assert f.download_file().readall() == want
    # A chunk sent twice (a retry) replaces itself; the middle chunk last.
    g = filesystem.create_file("par2")
    for pos in (10, 10, 0, 20, 5, 15):
        r = raw(server, "PATCH", fs, "par2", "action=append&position=%d" % pos,
                body=bytes([97 + pos // 5]) * 5)
        assert r.status_code == 202, r.text
    g.flush_data(25)
    assert g.download_file().readall() == b"aaaaabbbbbcccccdddddeeeee"
    # Nothing of the bookkeeping of holes is left on the flushed files.
    for name in ("par", "par2"):
        path = os.path.join(server.root, fs, name)
        assert not [a for a in os.listxattr(path) if "gaps" in a]


def test_AppendFlush_wrong_flush_position(filesystem):
    f = filesystem.create_file("x")
    f.append_data(b"abc", offset=0, length=3)
    with pytest.raises(HttpResponseError) as e:
        f.flush_data(2)
    assert e.value.status_code == 400
    assert e.value.error_code == "InvalidFlushPosition"


def test_AppendFlush_missing_file(filesystem, server):
    r = raw(server, "PATCH", filesystem.file_system_name, "nope", "action=append&position=0", body=b"a")
    assert_json_error(r, 404, "PathNotFound")


def test_AppendFlush_content_settings_at_flush(filesystem):
    from azure.storage.filedatalake import ContentSettings
    f = filesystem.create_file("t.txt")
    f.append_data(b"x", offset=0, length=1)
    f.flush_data(1, content_settings=ContentSettings(content_type="text/plain"))
    assert f.get_file_properties().content_settings.content_type == "text/plain"


def test_AppendFlush_upload_data_large(filesystem):
    data = os.urandom(5 * 1024 * 1024 + 3)
    f = filesystem.get_file_client("big")
    f.upload_data(data, overwrite=True, chunk_size=1024 * 1024)
    assert f.download_file().readall() == data


def test_AppendFlush_empty_content_md5_means_none(filesystem, server):
    """azcopy's dfs upload sends `x-ms-content-md5:` empty on every flush; an
    empty digest header means no digest (issue 11: it uploaded 0 of 100 files)."""
    fs = filesystem.file_system_name
    filesystem.create_file("f")
    r = raw(server, "PATCH", fs, "f", "action=append&position=0", body=b"abc")
    assert r.status_code == 202, r.text
    r = raw(server, "PATCH", fs, "f", "action=flush&position=3", headers={"x-ms-content-md5": ""})
    assert r.status_code == 200, r.text
    assert filesystem.get_file_client("f").download_file().readall() == b"abc"
    # A digest that is there must still be a valid one.
    r = raw(server, "PATCH", fs, "f", "action=flush&position=3", headers={"x-ms-content-md5": "nope"})
    assert_json_error(r, 400, "InvalidMd5")
