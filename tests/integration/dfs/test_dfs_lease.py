import uuid

from dfs_util import assert_json_error, raw


def test_LeasePath_acquire_renew_change_release(filesystem, server):
    fsname = filesystem.file_system_name
    filesystem.create_file("f")
    lid = str(uuid.uuid4())
    r = raw(server, "POST", fsname, "f", "", headers={
        "x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1", "x-ms-proposed-lease-id": lid})
    assert r.status_code == 201, r.text
    assert r.headers["x-ms-lease-id"] == lid
    # A write without the lease is refused.
    r = raw(server, "PATCH", fsname, "f", "action=setProperties")
    assert_json_error(r, 412, "LeaseIdMissing")
    r = raw(server, "POST", fsname, "f", "", headers={"x-ms-lease-action": "renew", "x-ms-lease-id": lid})
    assert r.status_code == 200
    new = str(uuid.uuid4())
    r = raw(server, "POST", fsname, "f", "", headers={
        "x-ms-lease-action": "change", "x-ms-lease-id": lid, "x-ms-proposed-lease-id": new})
    assert r.status_code == 200 and r.headers["x-ms-lease-id"] == new
    r = raw(server, "POST", fsname, "f", "", headers={"x-ms-lease-action": "release", "x-ms-lease-id": new})
    assert r.status_code == 200


def test_LeasePath_break_and_directory(filesystem, server):
    fsname = filesystem.file_system_name
    filesystem.create_directory("d")
    r = raw(server, "POST", fsname, "d", "", headers={
        "x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"})
    assert r.status_code == 201
    r = raw(server, "POST", fsname, "d", "", headers={"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"})
    assert_json_error(r, 409, "LeaseAlreadyPresent")
    r = raw(server, "POST", fsname, "d", "", headers={
        "x-ms-lease-action": "break", "x-ms-lease-break-period": "0"})
    assert r.status_code == 202


def test_LeasePath_missing_path(filesystem, server):
    r = raw(server, "POST", filesystem.file_system_name, "nope", "", headers={
        "x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1"})
    assert_json_error(r, 404, "PathNotFound")


def test_LeasePath_sdk_blob_lease(filesystem):
    f = filesystem.create_file("f")
    lease = f.acquire_lease(lease_duration=15)
    f.set_metadata({"a": "b"}, lease=lease)
    lease.release()
