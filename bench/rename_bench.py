#!/usr/bin/python3
"""Directory rename through dfs vs the Blob-API way (copy every blob, then
delete it), on one strata, for a tree of N files (default 10,000).

    /usr/bin/python3 bench/rename_bench.py [--files N] [--runs 3]

Prints the median and min-max of each and their ratio. Bounded: N blobs,
`runs` rounds.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

from azure.storage.blob import BlobServiceClient  # noqa: E402
from azure.storage.filedatalake import DataLakeServiceClient  # noqa: E402

from strata_server import DEV_ACCOUNT, DEV_KEY, StrataServer  # noqa: E402


def make_tree(root, container, name, n):
    d = os.path.join(root, container, name)
    os.makedirs(d)
    for i in range(n):
        with open(os.path.join(d, "f%06d" % i), "wb") as f:
            f.write(b"x" * 1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    server = StrataServer(root=tempfile.mkdtemp(prefix="strata-rename-"),
                          extra_args=["--durability", "none"]).start()
    try:
        blob = BlobServiceClient.from_connection_string(server.connection_string)
        dfs = DataLakeServiceClient(server.endpoint,
                                    credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY})
        renames, copies = [], []
        for run in range(args.runs):
            fs_name = "rename%d" % run
            blob.create_container(fs_name)
            make_tree(server.root, fs_name, "old", args.files)
            fs = dfs.get_file_system_client(fs_name)
            t = time.time()
            fs.get_directory_client("old").rename_directory(fs_name + "/new")
            renames.append(time.time() - t)

            c = blob.get_container_client(fs_name)
            names = [b.name for b in c.list_blobs(name_starts_with="new/")]
            assert len(names) == args.files, len(names)

            def move(name):
                src = c.get_blob_client(name)
                dst = c.get_blob_client("copied/" + name[len("new/"):])
                dst.start_copy_from_url(src.url)
                src.delete_blob()

            t = time.time()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(move, names))
            copies.append(time.time() - t)
        def fmt(v):
            return "%.3f s (%.3f-%.3f)" % (statistics.median(v), min(v), max(v))
        print("files: %d, runs: %d" % (args.files, args.runs))
        print("dfs directory rename:          " + fmt(renames))
        print("Blob API copy+delete, 8 threads: " + fmt(copies))
        print("ratio copy+delete / rename: %.0fx" % (statistics.median(copies) / statistics.median(renames)))
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
