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


def test_AppendFlush_wrong_append_position(filesystem, server):
    f = filesystem.create_file("x")
    f.append_data(b"abc", offset=0, length=3)
    r = raw(server, "PATCH", filesystem.file_system_name, "x", "action=append&position=5", body=b"zz")
    assert_json_error(r, 400, "InvalidFlushPosition")


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
