#!/usr/bin/python3
"""Capacity-tier figures with a real Azurite as the remote, loopback only:
offload and recall throughput (Set Blob Tier until the state changes), and
the cost of a ranged read through the tier against a local ranged read and a
ranged read straight from Azurite. Bounded: one blob of --size MiB, --reads
ranged reads per kind.

    STRATA_BIN=build-core/strata /usr/bin/python3 bench/tier_bench.py --size 256
"""
import argparse
import os
import random
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "tier"))

from azurite import Azurite  # noqa: E402
from tier_util import MIB, TierServer, wait_state  # noqa: E402


def timed_reads(blob, size, n, length, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        off = rng.randrange(0, size - length)
        t = time.perf_counter()
        data = blob.download_blob(offset=off, length=length).readall()
        out.append(time.perf_counter() - t)
        assert len(data) == length
    return out


def ms(xs):
    return "p50 %.2f ms, mean %.2f ms" % (statistics.median(xs) * 1e3, statistics.mean(xs) * 1e3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256, help="blob size in MiB")
    ap.add_argument("--reads", type=int, default=50)
    ap.add_argument("--range", type=int, default=1 << 20, help="ranged read length (bytes)")
    a = ap.parse_args()
    az = Azurite().start()
    s = None
    try:
        rc = az.create_container()
        s = TierServer(rc.sas_url, extra_args=["--durability", "none"]).start()
        c = s.service().create_container("bench")
        size = a.size * MIB
        chunk = os.urandom(MIB)
        data = b"".join(chunk[i:] + chunk[:i] for i in range(a.size))  # 1 MiB rotations
        b = c.get_blob_client("big.bin")
        b.upload_blob(data, max_concurrency=4)
        local = timed_reads(b, size, a.reads, a.range, 1)

        t = time.perf_counter()
        b.set_standard_blob_tier("Cool")
        wait_state(b, "offloaded", timeout=1800)
        off_s = time.perf_counter() - t
        tiered = timed_reads(b, size, a.reads, a.range, 1)
        direct = timed_reads(rc.client.get_blob_client("strata/bench/big.bin"), size, a.reads,
                             a.range, 1)
        t = time.perf_counter()
        b.set_standard_blob_tier("Hot")
        wait_state(b, "hot", timeout=1800)
        rec_s = time.perf_counter() - t
        assert b.download_blob(offset=size - 100, length=100).readall() == data[-100:]
        print("blob: %d MiB; ranged reads: %d x %d bytes" % (a.size, a.reads, a.range))
        print("offload (upload + read-back verify + release): %.2f s, %.0f MiB/s"
              % (off_s, a.size / off_s))
        print("recall (download + verify + rename): %.2f s, %.0f MiB/s" % (rec_s, a.size / rec_s))
        print("ranged read, local (hot):        " + ms(local))
        print("ranged read, through the tier:   " + ms(tiered))
        print("ranged read, Azurite directly:   " + ms(direct))
    finally:
        if s:
            s.stop()
        az.cleanup()


if __name__ == "__main__":
    main()
