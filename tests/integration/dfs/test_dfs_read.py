import os


def test_ReadPath_range(filesystem):
    f = filesystem.create_file("r")
    f.upload_data(b"0123456789", overwrite=True)
    assert f.download_file(offset=2, length=3).readall() == b"234"


def test_ReadPath_posix_written_file_visible(filesystem, server):
    p = os.path.join(server.root, filesystem.file_system_name, "posix.txt")
    with open(p, "wb") as fh:
        fh.write(b"from posix")
    f = filesystem.get_file_client("posix.txt")
    assert f.download_file().readall() == b"from posix"
    before = f.get_file_properties().etag
    with open(p, "wb") as fh:
        fh.write(b"changed by posix!")
    after = f.get_file_properties()
    assert after.etag != before
    assert after.size == len(b"changed by posix!")


def test_ReadPath_dfs_file_visible_to_posix_and_blob(filesystem, server, service):
    f = filesystem.create_file("dir/v.txt")
    f.upload_data(b"via dfs", overwrite=True)
    p = os.path.join(server.root, filesystem.file_system_name, "dir", "v.txt")
    assert open(p, "rb").read() == b"via dfs"
    blob = service.get_blob_client(filesystem.file_system_name, "dir/v.txt")
    assert blob.download_blob().readall() == b"via dfs"


def test_ReadPath_directory_properties(filesystem):
    d = filesystem.create_directory("dd", metadata={"k": "v"})
    props = d.get_directory_properties()
    assert props.metadata == {"k": "v", "hdi_isfolder": "true"}
    assert d.exists()
    assert not filesystem.get_directory_client("nope").exists()
