#!/usr/bin/python3
"""Cache-mode figures (rows k-o of docs/BENCHMARKS.md), loopback only.

A strata whose container "data" is in cache mode over a container of a real
Azurite (tests/tier/azurite.py), measured side by side with Azurite read
directly, a normal (hot) container of the same strata, and nginx:

  k  cold read of a stub of --size MiB (its first full read hydrates) vs the
     same blob read from Azurite directly. Every run reads a blob name of its
     own, uploaded to the remote just before (so every run reads a fresh stub
     that strata has never seen: the timed read includes the Get Blob
     Properties that imports the name, then the streamed hydration).
  l  warm read of that blob (hydrated) vs a hot blob of the same bytes in a
     normal container of the same strata vs nginx (sendfile); wrk, one stream.
  m  prefetch: 64 x 4 MiB blobs hydrated ahead of a job, by strata's admin
     endpoint (POST /cache/prefetch?path=data/PREFIX&concurrency=8, polled
     every 20 ms until the job ends; it imports PREFIX, then hydrates) and by
     a bounded set of full reads through strata (8 in flight), vs the same
     reads from Azurite directly. Each way gets blobs of its own.
  n  import: the first flat List Blobs walk of a remote container of 10,000
     blobs through strata (it imports them as stubs) vs the same walk on
     Azurite directly, and a second (warm) walk through strata.
  o  import at scale against a SYNTHETIC remote (a Python HTTP server on
     loopback that generates List Blobs pages; Azurite cannot hold 1M blobs
     in reasonable time): the first walk of --import-big blobs through
     strata (blobs/s), strata's RSS, the disk the stubs take; the synthetic
     remote's own walk rate as its bound.

In rows n and o the strata under test is not the tier leader: a second
gateway on the same root (with a plain --tier-remote, no cache) holds the
leader lock, so the leader's background revalidation (a full import ~1 s
after start) does not race the listing being timed. Each run of n starts on
a fresh root.

Rows k, l, m and n take the median of --runs runs (min-max in brackets);
row o runs once. CPU is attributed per process (strata / remote / client,
in % of the machine's cores over the row's wall time). Every loop is bounded
in count and time.

    /usr/bin/python3 bench/cache_bench.py [--runs N] [--quick] [--rows klmno]
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "tier"))

import bench  # noqa: E402  (free_port, wait_port, cpu_seconds, proc_tree, Strata, Nginx, wrk)
from bench import (CORES, MiB, Nginx, Strata, cpu_seconds, free_port, peak_rss_mib,  # noqa: E402
                   proc_tree, request, wait_port)

from azure.storage.blob import ContentSettings  # noqa: E402

from azurite import Azurite  # noqa: E402

XV = {"x-ms-version": "2021-12-02"}


# ------------------------------------------------------------ synthetic remote

class Synthetic:
    """A remote container of `n` generated blobs that answers List Blobs
    (restype=container&comp=list with prefix, marker, maxresults up to 5000,
    include=metadata) and nothing else (404 for blobs, 200 for the
    container's properties). Names d%04d/f%07d.bin (500 per directory, in
    name order), sizes, ETags and Last-Modified are functions of the index.
    The SAS in a request is accepted without being checked. FOR THIS BENCH
    ONLY: it plays Azure's List Blobs page format, nothing more."""

    PER_DIR = 500

    def __init__(self, n, delay_ms=0):
        self.n = n
        self.delay = delay_ms / 1000.0  # added to every page: a remote's own time per page
        self.port = free_port()
        self.pages = 0
        self.server = None
        self.thread = None

    def name(self, i):
        return "d%04d/f%07d.bin" % (i // self.PER_DIR, i)

    def size(self, i):
        return (i * 7919) % (1 << 20) + 1

    def lower_bound(self, s):
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self.name(mid) < s:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def page(self, prefix, marker, maxresults):
        start = self.lower_bound(max(prefix, marker))
        out = ['<?xml version="1.0" encoding="utf-8"?><EnumerationResults '
               'ServiceEndpoint="http://127.0.0.1:%d/devstoreaccount1/" ContainerName="remote">'
               % self.port]
        if prefix:
            out.append("<Prefix>%s</Prefix>" % prefix)
        if marker:
            out.append("<Marker>%s</Marker>" % marker)
        out.append("<MaxResults>%d</MaxResults><Blobs>" % maxresults)
        i, count = start, 0
        while i < self.n and count < maxresults:
            nm = self.name(i)
            if not nm.startswith(prefix):
                break
            out.append(
                "<Blob><Name>%s</Name><Properties>"
                "<Creation-Time>Mon, 01 Jan 2024 00:00:00 GMT</Creation-Time>"
                "<Last-Modified>Mon, 01 Jan 2024 %02d:%02d:%02d GMT</Last-Modified>"
                "<Etag>0x8DC%013X</Etag><Content-Length>%d</Content-Length>"
                "<Content-Type>application/octet-stream</Content-Type><Content-Encoding />"
                "<Content-Language /><Content-CRC64 /><Content-MD5 /><Cache-Control />"
                "<Content-Disposition /><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier>"
                "<AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus>"
                "<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>"
                "</Properties><Metadata /></Blob>"
                % (nm, (i // 3600) % 24, (i // 60) % 60, i % 60, i, self.size(i)))
            i += 1
            count += 1
        out.append("</Blobs>")
        nxt = self.name(i) if i < self.n and self.name(i).startswith(prefix) else ""
        out.append("<NextMarker>%s</NextMarker></EnumerationResults>" % nxt)
        return "".join(out).encode()

    def start(self):
        syn = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", head=False):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-ms-version", "2021-12-02")
                if body:
                    self.send_header("Content-Type", "application/xml")
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def answer(self, head):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
                parts = u.path.strip("/").split("/", 2)
                if len(parts) == 2 and q.get("restype") == "container":
                    if q.get("comp") == "list" and not head:
                        if q.get("delimiter"):
                            return self.reply(400, b"<Error><Code>NotSupported</Code></Error>")
                        try:
                            mx = min(5000, max(1, int(q.get("maxresults", "5000"))))
                        except ValueError:
                            return self.reply(400)
                        syn.pages += 1
                        if syn.delay:
                            time.sleep(syn.delay)
                        return self.reply(200, syn.page(q.get("prefix", ""), q.get("marker", ""), mx))
                    return self.reply(200, head=head)
                self.reply(404, b"" if head else
                           b"<?xml version=\"1.0\"?><Error><Code>BlobNotFound</Code></Error>",
                           head=head)

            def do_GET(self):
                self.answer(False)

            def do_HEAD(self):
                self.answer(True)

        class Srv(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Srv(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        wait_port(self.port)
        return self

    @property
    def sas_url(self):
        # A SAS-shaped query (never checked here); strata signs nothing itself.
        return ("http://127.0.0.1:%d/devstoreaccount1/remote?sv=2021-12-02&sr=c&sp=rl"
                "&se=2099-01-01T00%%3A00%%3A00Z&sig=c3ludGhldGlj" % self.port)

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


# ------------------------------------------------------------------ helpers

class Cpu:
    """CPU seconds of some processes (and this one's children) over a span."""

    def __init__(self, **procs):
        self.procs = procs  # label -> root pid

    def __enter__(self):
        self.t0 = time.time()
        self.s0 = {k: cpu_seconds(proc_tree(p)) for k, p in self.procs.items()}
        self.c0 = os.times()
        return self

    def __exit__(self, *exc):
        self.wall = time.time() - self.t0
        c1 = os.times()
        self.secs = {k: cpu_seconds(proc_tree(p)) - self.s0[k] for k, p in self.procs.items()}
        self.secs["client"] = (c1.children_user - self.c0.children_user + c1.children_system -
                               self.c0.children_system + c1.user - self.c0.user + c1.system -
                               self.c0.system)

    def pct(self):
        return {k: 100 * v / (self.wall * CORES) for k, v in self.secs.items()}


def curl_get(url, timeout=600):
    """One GET to /dev/null with curl: bytes received."""
    out = subprocess.run(["curl", "-s", "-f", "-o", "/dev/null", "-H", "x-ms-version: 2021-12-02",
                          "-w", "%{size_download}", url],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("curl %s -> %d" % (url.split("?")[0], out.returncode))
    return int(out.stdout)


def curl_parallel(urls, parallel, work, timeout=600):
    """GETs every url to /dev/null, `parallel` at once (one curl process);
    returns the bytes received. Any status but 200 is an error."""
    cfg = os.path.join(work, "curl-parallel.cfg")
    with open(cfg, "w") as f:
        for u in urls:
            f.write('url = "%s"\noutput = "/dev/null"\n' % u)
    out = subprocess.run(["curl", "-s", "-Z", "--parallel-max", str(parallel), "-H",
                          "x-ms-version: 2021-12-02", "-w", "%{http_code} %{size_download}\\n",
                          "-K", cfg], capture_output=True, text=True, timeout=timeout)
    lines = out.stdout.split()
    codes, sizes = lines[0::2], lines[1::2]
    if out.returncode != 0 or len(codes) != len(urls) or any(c != "200" for c in codes):
        raise RuntimeError("parallel GETs: curl %d, statuses %s" % (out.returncode,
                                                                    sorted(set(codes))))
    return sum(int(s) for s in sizes)


NEXT = re.compile(rb"<NextMarker>([^<]*)</NextMarker>")


def walk(port, path, query, timeout=3600):
    """A flat List Blobs walk (maxresults=5000, following NextMarker) on one
    connection: (blobs, seconds of the first page, seconds in all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    count, marker, first = 0, "", None
    t0 = time.perf_counter()
    for _ in range(100000):
        q = "restype=container&comp=list&maxresults=5000"
        if marker:
            q += "&marker=" + urllib.parse.quote(marker, safe="")
        st, body = request(port, "GET", path + "?" + q + "&" + query, XV, None, conn)
        if st != 200:
            raise RuntimeError("list -> %d %s" % (st, body[:200]))
        if first is None:
            first = time.perf_counter() - t0
        count += body.count(b"<Blob>")
        m = NEXT.search(body, max(0, len(body) - 4096))
        marker = m.group(1).decode() if m else ""
        if not marker:
            break
    conn.close()
    return count, first, time.perf_counter() - t0


def config_file(work, name, remote_url):
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump({"containers": {"data": {"mode": "cache", "remote": remote_url,
                                           "revalidate_s": 3600}}}, f)
    return path


def cache_pair(work, label, remote_url, holder_remote):
    """A cache gateway that is NOT the tier leader: a plain-tier gateway on
    the same fresh root starts first and holds the leader lock."""
    root = os.path.join(work, label)
    shutil.rmtree(root, ignore_errors=True)
    holder = Strata(work, name=label + "-holder", extra=["--tier-remote", holder_remote], root=root)
    holder.start()
    time.sleep(0.3)  # it took the lock in Start(), before its port opened
    s = Strata(work, name=label, extra=["--config", config_file(work, label, remote_url)],
               root=root)
    s.start()
    return holder, s


def head_state(s, container, blob):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    c.request("HEAD", s.path(container, blob) + s.q(), headers=XV)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, r.getheader("x-strata-tier-state")


def admin_prefetch(admin_port, path, concurrency, timeout=600):
    """POST /cache/prefetch, then polls the job until it ends; its JSON."""
    q = "path=%s&concurrency=%d" % (urllib.parse.quote(path, safe=""), concurrency)
    st, body = request(admin_port, "POST", "/cache/prefetch?" + q, {}, b"")
    if st != 202:
        raise RuntimeError("admin prefetch -> %d %s" % (st, body[:200]))
    job = json.loads(body)["job"]
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=60)
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, body = request(admin_port, "GET", "/cache/job?id=%d" % job, {}, None, conn)
        j = json.loads(body) if st == 200 else {}
        if j.get("state", "running") != "running":
            conn.close()
            if j["state"] != "done":
                raise RuntimeError("admin prefetch: %s" % body[:300])
            return j
        time.sleep(0.02)
    raise RuntimeError("admin prefetch: still running after %d s" % timeout)


def du_bytes(path):
    out = subprocess.run(["du", "-s", "-B1", path], capture_output=True, text=True, timeout=1800)
    return int(out.stdout.split()[0]) if out.returncode == 0 else -1


def med(xs):
    return (statistics.median(xs), min(xs), max(xs)) if xs else None


def fmt(v, scale=1.0, digits=0):
    if v is None:
        return "n/a"
    m, lo, hi = (x / scale for x in v)
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (m, lo, hi)


def cpu_cell(cpus):
    """Per process, the median over the runs of its CPU in % of the machine
    and in CPU time per unit of work: 'strata 40% 2.1 / azurite ...'."""
    if not cpus:
        return "-"
    keys = list(cpus[0][0].keys())
    return " / ".join("%s %.0f%% %.2f" % (k, statistics.median(c[0][k] for c in cpus),
                                         statistics.median(c[1][k] for c in cpus)) for k in keys)


def usage(m, units):
    """(% of the machine, CPU seconds per unit) of a Cpu span, per process."""
    return (m.pct(), {k: v / units for k, v in m.secs.items()})


# ----------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true",
                    help="a few minutes: 64 MiB blob, 16 x 4 MiB, 2,000 and 50,000 listed")
    ap.add_argument("--runs", type=int, default=3, help="runs of rows k-n (median, min-max)")
    ap.add_argument("--rows", default="klmno", help="which rows, e.g. 'kl' or 'o'")
    ap.add_argument("--size", type=int, default=None, help="MiB of the blob of rows k-l (256)")
    ap.add_argument("--prefetch", type=int, default=None, help="4 MiB blobs of row m (64)")
    ap.add_argument("--list", type=int, default=None, help="remote blobs of row n (10,000)")
    ap.add_argument("--import-big", type=int, default=None,
                    help="synthetic remote blobs of row o (1,000,000)")
    ap.add_argument("--page-ms", type=int, default=0,
                    help="row o: the synthetic remote waits this long per List Blobs page "
                         "(a real remote's time per 5,000-blob page; 0: none)")
    ap.add_argument("--workdir", default=None, help="kept afterwards when given")
    a = ap.parse_args()
    rows = set(a.rows)
    quick = a.quick
    runs = max(1, a.runs)
    size = (a.size or (64 if quick else 256)) * MiB
    n_pref = a.prefetch or (16 if quick else 64)
    n_list = a.list or (2000 if quick else 10000)
    n_big = a.import_big or (50000 if quick else 1000000)
    secs = 2 if quick else 5
    work = a.workdir or tempfile.mkdtemp(prefix="strata-cachebench-")
    os.makedirs(work, exist_ok=True)
    print("workdir %s; %d cores; %d runs" % (work, CORES, runs), flush=True)

    az = Azurite().start()
    procs = []   # everything started here, stopped at the end
    res = {}     # key -> (median, min, max)
    cpu = {}     # key -> [per-run {label: %}]
    notes = []
    try:
        # ------------------------------------------------- k, l, m: one cache
        if rows & set("klm"):
            rc = az.create_container("cold")
            binary = os.environ.get("STRATA_BIN", os.path.join(REPO, "build", "strata"))
            has_admin = "--admin-port" in subprocess.run([binary, "serve", "--help"],
                                                         capture_output=True, text=True).stdout
            admin_port = free_port() if has_admin else None
            s = Strata(work, name="strata-cache",
                       extra=["--config", config_file(work, "strata-cache", rc.sas_url)] +
                       (["--admin-port", str(admin_port)] if has_admin else []))
            s.start()
            procs.append(s)
            time.sleep(1.5)  # the leader's first pass (an empty remote) is over
            data = os.urandom(MiB)
            data = b"".join(data[i:] + data[:i] for i in range(size // MiB))  # no two MiB alike
            md5 = hashlib.md5(data).digest()
            settings = ContentSettings(content_type="application/octet-stream", content_md5=md5)

            def strata_url(blob, container="data"):
                return "http://127.0.0.1:%d%s%s" % (s.port, s.path(container, blob), s.q())

            def az_url(blob):
                return "%s/%s?%s" % (rc.url, urllib.parse.quote(blob), rc.sas)

            if "k" in rows or "l" in rows:
                kv = {"strata": [], "azurite": []}
                kc = {"strata": [], "azurite": []}
                for r in range(runs):
                    blob = "k/big-%d.bin" % r
                    rc.client.upload_blob(blob, data, overwrite=True, max_concurrency=4,
                                          content_settings=settings)
                    order = ["azurite", "strata"] if r % 2 == 0 else ["strata", "azurite"]
                    for who in order:
                        url = az_url(blob) if who == "azurite" else strata_url(blob)
                        with Cpu(strata=s.proc.pid, azurite=az.proc.pid) as m:
                            got = curl_get(url)
                        if got != size:
                            raise RuntimeError("%s: read %d of %d bytes" % (who, got, size))
                        kv[who].append(size / m.wall)
                        kc[who].append(usage(m, size / (1 << 30)))
                    st, state = head_state(s, "data", blob)
                    if state != "premigrated":
                        raise RuntimeError("k: after its read, %s is %s (%d)" % (blob, state, st))
                    print("  k run %d: strata %.0f MB/s, azurite %.0f MB/s" %
                          (r + 1, kv["strata"][-1] / 1e6, kv["azurite"][-1] / 1e6), flush=True)
                # The hydrated copy is the remote's bytes.
                h = hashlib.md5()
                with open(os.path.join(s.root, "data", "k", "big-0.bin"), "rb") as f:
                    for chunk in iter(lambda: f.read(8 * MiB), b""):
                        h.update(chunk)
                if h.digest() != md5:
                    raise RuntimeError("k: the hydrated copy differs from the remote blob")
                for who in kv:
                    res[("k", who)] = med(kv[who])
                    cpu[("k", who)] = kc[who]

            if "l" in rows:
                ng = Nginx(work)
                ng.start()
                procs.append(ng)
                src = os.path.join(work, "hot.bin")
                with open(src, "wb") as f:
                    f.write(data)
                shutil.copy(src, os.path.join(ng.root, "hot.bin"))
                s.create_container("hot")
                bench.put_file(s, "hot", "hot.bin", src)
                st, state = head_state(s, "data", "k/big-0.bin")
                if state != "premigrated":
                    raise RuntimeError("l: k/big-0.bin is %s, not hydrated" % state)
                targets = [("cached", s, s.path("data", "k/big-0.bin"), s.q(), XV),
                           ("hot", s, s.path("hot", "hot.bin"), s.q(), XV),
                           ("nginx", ng, "/hot.bin", "", {})]
                lv = {t[0]: [] for t in targets}
                lc = {t[0]: [] for t in targets}
                for r in range(runs):
                    for label, srv, path, q, hdrs in targets:
                        with Cpu(server=srv.proc.pid) as m:
                            w = bench.wrk(srv, "get", path, q, hdrs, 1, secs)
                        if w["errors"] or not w["bytes"]:
                            raise RuntimeError("l: %s: wrk %r" % (label, w))
                        lv[label].append(w["bytes"] / w["secs"])
                        lc[label].append(usage(m, w["bytes"] / (1 << 30)))
                    print("  l run %d: %s" % (r + 1, ", ".join(
                        "%s %.0f MB/s" % (k, v[-1] / 1e6) for k, v in lv.items())), flush=True)
                for label in lv:
                    res[("l", label)] = med(lv[label])
                    cpu[("l", label)] = lc[label]
                ng.stop()

            if "m" in rows:
                ways = ["azurite", "strata"]
                if has_admin:
                    ways.append("admin")
                mv = {w: [] for w in ways}
                mc = {w: [] for w in ways}
                small = os.urandom(4 * MiB)
                total = n_pref * len(small)
                for r in range(runs):
                    # The direct reads use the strata-read set (before or after strata reads it).
                    sets = {w: ["m/r%d-%s/b%03d.bin" % (r, "admin" if w == "admin" else "read", i)
                                for i in range(n_pref)] for w in ways}
                    with concurrent.futures.ThreadPoolExecutor(8) as ex:
                        list(ex.map(lambda nm: rc.client.upload_blob(
                            nm, small, overwrite=True, content_settings=ContentSettings(
                                content_md5=hashlib.md5(small).digest())),
                            sorted(set(sum(sets.values(), [])))))
                    order = ways if r % 2 == 0 else ways[::-1]
                    for who in order:
                        names = sets[who]
                        with Cpu(strata=s.proc.pid, azurite=az.proc.pid) as m:
                            if who == "admin":
                                admin_prefetch(admin_port, "data/m/r%d-admin/" % r, 8)
                                got = total
                            else:
                                got = curl_parallel([az_url(nm) if who == "azurite" else
                                                     strata_url(nm) for nm in names], 8, work)
                        if got != total:
                            raise RuntimeError("m: %s read %d of %d bytes" % (who, got, total))
                        mv[who].append(total / m.wall)
                        mc[who].append(usage(m, total / (1 << 30)))
                    for w in ways[1:]:
                        cold = [nm for nm in sets[w] if head_state(s, "data", nm)[1] != "premigrated"]
                        if cold:
                            raise RuntimeError("m (%s): %d blobs not hydrated, e.g. %s"
                                               % (w, len(cold), cold[0]))
                    print("  m run %d: %s" % (r + 1, ", ".join(
                        "%s %.0f MB/s" % (w, mv[w][-1] / 1e6) for w in ways)), flush=True)
                for who in mv:
                    res[("m", who)] = med(mv[who])
                    cpu[("m", who)] = mc[who]
            res[("h", "strata-cache")] = peak_rss_mib(s.pids())
            s.stop()

        holder_rc = az.create_container("tier") if rows & set("no") else None

        # ----------------------------------------------------- n: 10k import
        if "n" in rows:
            rc = az.create_container("listing")
            t0 = time.time()
            body = b"x"
            with concurrent.futures.ThreadPoolExecutor(16) as ex:
                list(ex.map(lambda i: rc.client.upload_blob(
                    "d%03d/f%06d.txt" % (i // 500, i), body, overwrite=True), range(n_list)))
            print("  n: %d blobs uploaded to Azurite in %.0f s" % (n_list, time.time() - t0),
                  flush=True)
            nv = {"first": [], "azurite": [], "warm": []}
            nc = {"first": [], "azurite": [], "warm": []}
            for r in range(runs):
                with Cpu(azurite=az.proc.pid) as m:
                    # include=metadata, as strata's import asks for it.
                    cnt, _, wall = walk(az.port, "/%s/%s" % (az.account, rc.name),
                                        "include=metadata&" + rc.sas)
                if cnt != n_list:
                    raise RuntimeError("n: Azurite listed %d of %d" % (cnt, n_list))
                nv["azurite"].append(cnt / wall)
                nc["azurite"].append(usage(m, cnt / 1e6))
                holder, s = cache_pair(work, "strata-list-%d" % r, rc.sas_url, holder_rc.sas_url)
                procs += [holder, s]
                for kind in ("first", "warm"):
                    with Cpu(strata=s.proc.pid, azurite=az.proc.pid) as m:
                        cnt, first, wall = walk(s.port, s.path("data"), s.sas)
                    # strata also lists its directories (d000, ...) as entries.
                    if not n_list <= cnt <= n_list + n_list // 500 + 1:
                        raise RuntimeError("n: strata (%s) listed %d of %d" % (kind, cnt, n_list))
                    nv[kind].append(n_list / wall)
                    nc[kind].append(usage(m, n_list / 1e6))
                st, state = head_state(s, "data", "d000/f000000.txt")
                if state != "offloaded":
                    raise RuntimeError("n: an imported blob is %s (%d), not a stub" % (state, st))
                s.stop()
                holder.stop()
                shutil.rmtree(s.root, ignore_errors=True)
                print("  n run %d: %s" % (r + 1, ", ".join(
                    "%s %.0f blobs/s" % (k, v[-1]) for k, v in nv.items())), flush=True)
            for k in nv:
                res[("n", k)] = med(nv[k])
                cpu[("n", k)] = nc[k]

        # ------------------------------------------- o: import from synthetic
        if "o" in rows:
            syn = Synthetic(n_big, a.page_ms).start()
            try:
                with Cpu() as m:
                    cnt, _, wall = walk(syn.port, "/devstoreaccount1/remote", "include=metadata&sig=x")
                if cnt != n_big:
                    raise RuntimeError("o: the synthetic remote listed %d of %d" % (cnt, n_big))
                res[("o", "remote")] = (cnt / wall,) * 3
                cpu[("o", "remote")] = [usage(m, cnt / 1e6)]  # the remote is this process
                holder, s = cache_pair(work, "strata-import", syn.sas_url, holder_rc.sas_url)
                procs += [holder, s]
                rss0 = peak_rss_mib(s.pids())
                pages0 = syn.pages
                with Cpu(strata=s.proc.pid) as m:
                    cnt, first, wall = walk(s.port, s.path("data"), s.sas, timeout=7200)
                if not n_big <= cnt <= n_big + n_big // Synthetic.PER_DIR + 1:
                    raise RuntimeError("o: strata listed %d of %d" % (cnt, n_big))
                res[("o", "first")] = (n_big / wall,) * 3
                cpu[("o", "first")] = [usage(m, n_big / 1e6)]
                res[("o", "import_s")] = first
                res[("o", "walk_s")] = wall
                res[("o", "pages")] = syn.pages - pages0
                with Cpu(strata=s.proc.pid) as m:
                    cnt, _, wall = walk(s.port, s.path("data"), s.sas, timeout=7200)
                res[("o", "warm")] = (n_big / wall,) * 3
                cpu[("o", "warm")] = [usage(m, n_big / 1e6)]
                res[("o", "rss")] = (rss0, peak_rss_mib(s.pids()))
                with open("/proc/%d/status" % s.proc.pid) as f:
                    res[("o", "rss_now")] = next(int(x.split()[1]) for x in f
                                                 if x.startswith("VmRSS:")) / 1024
                st, state = head_state(s, "data", syn.name(n_big - 1))
                if state != "offloaded":
                    raise RuntimeError("o: the last blob is %s (%d), not a stub" % (state, st))
                s.stop()
                holder.stop()
                res[("o", "disk")] = du_bytes(os.path.join(s.root, "data"))
                res[("o", "disk_meta")] = du_bytes(os.path.join(s.root, ".strata"))
                shutil.rmtree(s.root, ignore_errors=True)
            finally:
                syn.stop()
    finally:
        for p in procs:
            p.stop()
        az.cleanup()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------- the table
    print()
    print("| row | what | unit | strata | baseline | other | ratio | CPU: %% of %d cores, and "
          "CPU s per GiB (k-m) or per 1M blobs (n-o) |" % CORES)
    print("|---|---|---|---|---|---|---|---|")

    def ratio(x, y):
        return "%.2f" % (x[0] / y[0]) if x and y and y[0] else "n/a"

    def line(row, what, unit, a_, b_, c_, rat, cpus):
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (row, what, unit, a_, b_, c_, rat,
                                                             cpus))

    ratios = []
    if ("k", "strata") in res:
        k_s, k_a = res[("k", "strata")], res[("k", "azurite")]
        line("k", "cold read %d MiB (stub: the read hydrates)" % (size // MiB), "MB/s",
             fmt(k_s, 1e6), "Azurite direct " + fmt(k_a, 1e6), "", "strata/Azurite " +
             ratio(k_s, k_a), "strata: " + cpu_cell(cpu[("k", "strata")]) + "; Azurite direct: " +
             cpu_cell(cpu[("k", "azurite")]))
        ratios.append("k strata/azurite %s" % ratio(k_s, k_a))
    if ("l", "cached") in res:
        l_c, l_h, l_n = res[("l", "cached")], res[("l", "hot")], res[("l", "nginx")]
        line("l", "warm read %d MiB (hydrated), one stream" % (size // MiB), "MB/s",
             fmt(l_c, 1e6), "local hot blob " + fmt(l_h, 1e6), "nginx " + fmt(l_n, 1e6),
             "cached/hot %s, cached/nginx %s" % (ratio(l_c, l_h), ratio(l_c, l_n)),
             "; ".join("%s: %s" % (k, cpu_cell(cpu[("l", k)])) for k in ("cached", "hot", "nginx")))
        ratios.append("l cached/hot %s, cached/nginx %s" % (ratio(l_c, l_h), ratio(l_c, l_n)))
    if ("m", "strata") in res:
        m_s, m_a = res[("m", "strata")], res[("m", "azurite")]
        m_j = res.get(("m", "admin"))
        line("m", "prefetch %d x 4 MiB, 8 at once: strata = 8 parallel full reads" % n_pref,
             "MB/s", fmt(m_s, 1e6), "Azurite direct " + fmt(m_a, 1e6),
             "admin /cache/prefetch " + fmt(m_j, 1e6) if m_j else "admin prefetch: n/a",
             "reads/Azurite %s, admin/Azurite %s" % (ratio(m_s, m_a), ratio(m_j, m_a)),
             "; ".join("%s: %s" % (k, cpu_cell(cpu[("m", k)])) for k in ("strata", "azurite", "admin")
                       if ("m", k) in cpu))
        ratios.append("m reads/azurite %s, admin/azurite %s" % (ratio(m_s, m_a), ratio(m_j, m_a)))
    if ("n", "first") in res:
        n_f, n_a, n_w = res[("n", "first")], res[("n", "azurite")], res[("n", "warm")]
        line("n", "first List Blobs walk of %d remote blobs (imports stubs)" % n_list, "blobs/s",
             fmt(n_f), "Azurite direct " + fmt(n_a), "strata warm " + fmt(n_w),
             "first/Azurite %s, warm/Azurite %s" % (ratio(n_f, n_a), ratio(n_w, n_a)),
             "; ".join("%s: %s" % (k, cpu_cell(cpu[("n", k)])) for k in ("first", "azurite", "warm")))
        ratios.append("n first/azurite %s, warm/azurite %s" % (ratio(n_f, n_a), ratio(n_w, n_a)))
    if ("o", "first") in res:
        o_f, o_r, o_w = res[("o", "first")], res[("o", "remote")], res[("o", "warm")]
        line("o", "first List Blobs walk of %d blobs, SYNTHETIC remote%s (imports stubs; 1 run)"
             % (n_big, ", %d ms per page" % a.page_ms if a.page_ms else ""), "blobs/s", "%.0f" % o_f[0], "synthetic remote direct %.0f" % o_r[0],
             "strata warm %.0f" % o_w[0], "first/remote %s" % ratio(o_f, o_r),
             "; ".join("%s: %s" % (k, cpu_cell(cpu[("o", k)])) for k in ("first", "remote", "warm")))
        rss0, rss1 = res[("o", "rss")]
        print()
        print("row o: the first page took %.1f s (the import: %d remote pages), the whole first "
              "walk %.1f s; strata peak RSS %.0f MiB before, %.0f MiB after (%.0f MiB now); stubs "
              "on disk %.1f MiB (%.0f bytes/blob) + %.1f MiB under .strata"
              % (res[("o", "import_s")], res[("o", "pages")], res[("o", "walk_s")], rss0, rss1,
                 res[("o", "rss_now")], res[("o", "disk")] / MiB, res[("o", "disk")] / n_big,
                 res[("o", "disk_meta")] / MiB))
        ratios.append("o first/remote %s" % ratio(o_f, o_r))
    if ("h", "strata-cache") in res:
        print("peak RSS of the strata of rows k-m: %.0f MiB" % res[("h", "strata-cache")])
    for n in notes:
        print("note: " + n)
    print()
    print("ratios: " + "; ".join(ratios))


if __name__ == "__main__":
    sys.exit(main())
