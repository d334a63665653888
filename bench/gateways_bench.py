#!/usr/bin/python3
"""Several strata gateways on one root behind a load balancer.

Runs, interleaved, one gateway reached directly and 1, 2 and 3 gateways
sharing one root behind nginx (round robin per request, upstream
keep-alive), and measures row c (16 KiB GETs, 64 connections) and row f
(16 KiB Put Blob, concurrency 16) of bench.py through each. Prints a table
and the ratios of each setup to the single direct gateway.

    /usr/bin/python3 bench/gateways_bench.py [--runs N] [--secs S]

On a 2-core machine the gateways, nginx and the load tool share both cores:
the aggregate cannot grow with gateways here; what the rows show is what
the balancer and the coordination cost. Every load loop is bounded in time.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import (Server, Strata, account_sas, measured, proc_tree, request,  # noqa: E402
                   start_nginx, wrk)

SMALL = 16384


class Gateways(Server):
    """n strata processes on one root and nginx in front."""

    def __init__(self, work, n):
        super().__init__(work)
        self.n = n
        self.name = "lb-%d" % n
        self.gateways = []

    def start(self):
        self.root = os.path.join(self.work, "shared-%d" % self.n)
        os.makedirs(self.root, exist_ok=True)
        for i in range(self.n):
            g = Strata(self.work, name="%s-g%d" % (self.name, i), root=self.root)
            g.start()
            self.gateways.append(g)
        upstream = "\n".join("    server 127.0.0.1:%d;" % g.port for g in self.gateways)
        self.proc = start_nginx(os.path.join(self.work, "lb-%d" % self.n), self.port, """
worker_processes auto;
user root;
error_log %(p)s/error.log;
pid %(p)s/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_max_body_size 0;
  client_body_temp_path %(p)s/tmp;
  proxy_temp_path %(p)s/tmp;
  merge_slashes off;
  upstream gateways {
%(up)s
    keepalive 64;
  }
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
""", up=upstream)
        self.sas = account_sas()

    def pids(self):
        out = proc_tree(self.proc.pid) if self.proc else []
        for g in self.gateways:
            out += g.pids()
        return out

    def stop(self):
        super().stop()
        for g in self.gateways:
            g.stop()

    path = Strata.path
    q = Strata.q
    put_headers = Strata.put_headers
    get_headers = Strata.get_headers
    create_container = Strata.create_container


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="strata-gw-bench-")
    direct = Strata(work, name="direct")
    setups = [direct] + [Gateways(work, n) for n in (1, 2, 3)]
    vals = {}
    cpu = {}
    try:
        for s in setups:
            s.start()
        body = os.urandom(SMALL)
        for s in setups:
            s.create_container("bench")
            for i in range(1000):
                st, _ = request(s.port, "PUT", s.path("bench", "small/%d" % i) + s.q(),
                                dict(s.put_headers(), **{"Content-Length": str(SMALL)}), body)
                if st != 201:
                    raise RuntimeError("%s: put -> %d" % (s.name, st))
        for run in range(args.runs):
            for s in setups:
                r, wall, sc, cc = measured(s, lambda: wrk(s, "small", s.path("bench", "small/"),
                                                          s.q(), s.get_headers(), 64, args.secs,
                                                          nblobs=1000))
                if r["errors"]:
                    raise RuntimeError("%s: row c had %d errors" % (s.name, r["errors"]))
                vals.setdefault(("c", s.name), []).append(r["requests"] / r["secs"])
                cpu.setdefault(("c", s.name), []).append(sc / wall)
                r, wall, sc, cc = measured(s, lambda: wrk(s, "put", s.path("bench", "f%d/" % run),
                                                          s.q(), s.put_headers(), 16, args.secs,
                                                          size=SMALL))
                if r["errors"]:
                    raise RuntimeError("%s: row f had %d errors" % (s.name, r["errors"]))
                vals.setdefault(("f", s.name), []).append(r["requests"] / r["secs"])
                cpu.setdefault(("f", s.name), []).append(sc / wall)
            print("  run %d of %d done" % (run + 1, args.runs), flush=True)
    finally:
        for s in setups:
            s.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    names = [s.name for s in setups]
    print()
    print("| row | what | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for row, what in (("c", "16 KiB GETs, 64 connections, req/s"),
                      ("f", "16 KiB Put Blob, concurrency 16, ops/s")):
        cells = []
        for n in names:
            v = vals[(row, n)]
            cells.append("%.0f (%.0f-%.0f), server CPU %.0f%%" % (
                statistics.median(v), min(v), max(v), 100 * statistics.median(cpu[(row, n)])))
        print("| %s | %s | %s |" % (row, what, " | ".join(cells)))
    print()
    for row in ("c", "f"):
        base = statistics.median(vals[(row, "direct")])
        print("row %s ratios to one direct gateway: %s" % (row, ", ".join(
            "%s %.2f" % (n, statistics.median(vals[(row, n)]) / base) for n in names[1:])))


if __name__ == "__main__":
    sys.exit(main())
