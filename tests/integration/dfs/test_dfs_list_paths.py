import os

from dfs_util import assert_json_error, raw


def test_ListPaths_recursive_and_not(filesystem):
    filesystem.create_directory("a/b")
    filesystem.create_file("a/b/f1").upload_data(b"xyz", overwrite=True)
    filesystem.create_file("top")
    flat = [(p.name, p.is_directory) for p in filesystem.get_paths(recursive=False)]
    assert flat == [("a", True), ("top", False)]
    deep = [(p.name, p.is_directory, p.content_length) for p in filesystem.get_paths()]
    assert deep == [("a", True, 0), ("a/b", True, 0), ("a/b/f1", False, 3), ("top", False, 0)]


def test_ListPaths_continuation(filesystem, server):
    fsname = filesystem.file_system_name
    for i in range(7):
        filesystem.create_file("d/f%d" % i)
    r = raw(server, "GET", fsname, "", "resource=filesystem&recursive=true&maxResults=3")
    assert r.status_code == 200
    assert len(r.json()["paths"]) == 3
    assert r.headers.get("x-ms-continuation")
    pages = filesystem.get_paths(max_results=3).by_page()
    names = [p.name for page in pages for p in page]
    assert names == ["d"] + ["d/f%d" % i for i in range(7)]


def test_ListPaths_directory_param(filesystem):
    filesystem.create_file("x/1")
    filesystem.create_file("y/2")
    assert [p.name for p in filesystem.get_paths(path="y")] == ["y/2"]


def test_ListPaths_missing_directory(filesystem, server):
    r = raw(server, "GET", filesystem.file_system_name, "",
            "resource=filesystem&recursive=true&directory=nope")
    assert_json_error(r, 404, "PathNotFound")


def test_ListPaths_missing_filesystem(server):
    r = raw(server, "GET", "nosuchfs9876", "", "resource=filesystem&recursive=true")
    assert_json_error(r, 404, "FilesystemNotFound")


def test_ListPaths_posix_tree_visible(filesystem, server):
    base = os.path.join(server.root, filesystem.file_system_name)
    os.makedirs(os.path.join(base, "m", "n"))
    open(os.path.join(base, "m", "n", "k"), "wb").write(b"12")
    assert [p.name for p in filesystem.get_paths()] == ["m", "m/n", "m/n/k"]


def test_ListPaths_page_ending_on_a_directory_continues_into_it(filesystem):
    # Every page of one: each directory ends a page, and the next page must
    # go on with its entries (it once skipped them).
    for p in ["a/1", "a/2", "a/b/3", "c"]:
        filesystem.create_file(p)
    want = ["a", "a/1", "a/2", "a/b", "a/b/3", "c"]
    pages = [[p.name for p in page] for page in filesystem.get_paths(max_results=1).by_page()]
    assert pages == [[n] for n in want]
    pages = [[p.name for p in page] for page in filesystem.get_paths(max_results=2).by_page()]
    assert [n for page in pages for n in page] == want
