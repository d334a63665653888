#!/usr/bin/python3
"""Side-by-side benchmark: strata, Azurite and nginx serving the same bytes.

Starts the three servers on free loopback ports, puts the same data in each,
measures rows a-h of docs/BENCHMARKS.md (median of N runs, with min-max),
and rows i-j over HTTPS (strata --tls-port against nginx's ssl server with
the same certificate; Azurite and a --baseline without --tls-port skip them),
attributes CPU time to the server or the load tool for every row, and ends
with one line of ratios strata/nginx and strata/Azurite.

    bench/run.sh [--quick] [--runs N] [--skip-azurite] [--list-big N]

Every load loop is bounded in count and time and stops by itself.
"""
import argparse
import base64
import datetime
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ACCOUNT = "devstoreaccount1"
KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
       "K1SZFPTOtr/KBHBeksoGMGw==")
MiB = 1 << 20
GiB = 1 << 30
HZ = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def account_sas():
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas
    return generate_account_sas(
        ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, list=True, create=True, delete=True,
                              add=True),
        expiry=datetime.datetime.utcnow() + datetime.timedelta(hours=6))


def proc_tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / HZ


def peak_rss_mib(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Server:
    """One server under test: how to reach a blob, a PUT, a listing."""
    name = ""

    def __init__(self, work):
        self.work = work
        self.port = free_port()
        self.tls_port = None  # set when the server serves HTTPS too (rows i-j)
        self.proc = None

    def pids(self):
        return proc_tree(self.proc.pid) if self.proc else []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # Overridden per server.
    def path(self, container, blob):
        raise NotImplementedError

    def get_headers(self):
        return {}

    def put_headers(self):
        return {}


class BlobServer(Server):
    """strata and Azurite: path-style Blob endpoints with an account SAS."""

    def setup_auth(self):
        self.sas = account_sas()

    def path(self, container, blob=""):
        p = "/%s/%s" % (ACCOUNT, container)
        if blob:
            p += "/" + urllib.parse.quote(blob)
        return p

    def q(self, extra=""):
        return "?" + (extra + "&" if extra else "") + self.sas

    def put_headers(self):
        return {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-12-02"}

    def get_headers(self):
        return {"x-ms-version": "2021-12-02"}

    def create_container(self, c):
        status, _ = request(self.port, "PUT", self.path(c) + self.q("restype=container"),
                            {"x-ms-version": "2021-12-02"}, b"")
        if status not in (201, 409):
            raise RuntimeError("%s: create container %s -> %d" % (self.name, c, status))


class Strata(BlobServer):
    name = "strata"

    def __init__(self, work, binary=None, name=None, extra=(), root=None):
        super().__init__(work)
        self.binary = binary
        self.extra = list(extra)
        self.shared_root = root  # several gateways on one root (gateways_bench.py)
        if name:
            self.name = name

    def start(self, tls=None):
        """tls: (cert, key) to serve HTTPS on a port of its own as well
        (when the binary has --tls-port)."""
        self.root = self.shared_root or os.path.join(self.work, self.name)
        os.makedirs(self.root, exist_ok=True)
        binary = self.binary or os.environ.get("STRATA_BIN", os.path.join(REPO, "build", "strata"))
        extra = list(self.extra)
        if tls and "--tls-port" in subprocess.run([binary, "serve", "--help"], capture_output=True,
                                                  text=True).stdout:
            self.tls_port = free_port()
            extra += ["--tls-port", str(self.tls_port), "--cert", tls[0], "--key", tls[1]]
        self.proc = subprocess.Popen(
            [binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--root",
             self.root, "--durability", "none"] + extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        if self.tls_port:
            wait_port(self.tls_port)
        self.setup_auth()


class Azurite(BlobServer):
    name = "azurite"

    def start(self, tls=None):
        self.root = os.path.join(self.work, "azurite")
        os.makedirs(self.root, exist_ok=True)
        binary = os.path.join(REPO, "node_modules", ".bin", "azurite-blob")
        self.proc = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location",
             self.root, "--silent", "--skipApiVersionCheck", "--loose"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 60)
        self.setup_auth()


def start_nginx(prefix, port, conf, **values):
    """Writes nginx.conf from `conf` (%-formatted with p = prefix, port and
    `values`) under prefix, starts nginx there in the foreground and waits
    for its port. Returns the process."""
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf % dict(values, p=prefix, port=port))
    proc = subprocess.Popen(["nginx", "-p", prefix, "-c", path, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


# HTTPS as strata serves it (src/http/tls.cc): TLS 1.2+, the server's
# preference, the same suites in the same order, a session cache; no kTLS
# (this kernel has none), so nginx encrypts in user space as strata does.
NGINX_TLS_SERVER = """
  server {
    listen 127.0.0.1:%(tls_port)d ssl;
    root %(root)s;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_session_cache shared:SSL:10m;
    location / { }
  }
"""


def make_cert(work):
    """A self-signed P-256 certificate for 127.0.0.1 (wrk does not verify):
    (cert, key) paths, used by strata and nginx alike."""
    d = os.path.join(work, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Nginx(Server):
    name = "nginx"

    def start(self, tls=None):
        self.root = os.path.join(self.work, "nginx-root")
        os.makedirs(self.root, exist_ok=True)
        tls_server = ""
        if tls:
            self.tls_port = free_port()
            tls_server = NGINX_TLS_SERVER % dict(tls_port=self.tls_port, root=self.root,
                                                 cert=tls[0], key=tls[1])
        self.proc = start_nginx(os.path.join(self.work, "nginx"), self.port, """
worker_processes auto;
user root;
error_log %(p)s/error.log;
pid %(p)s/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_max_body_size 0;
  client_body_temp_path %(p)s/tmp;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    location / {
      dav_methods PUT;
      create_full_put_path on;
      autoindex on;
      autoindex_format json;
    }
  }
%(tls_server)s
}
""", root=self.root, tls_server=tls_server)
        if self.tls_port:
            wait_port(self.tls_port)

    def path(self, container, blob=""):
        return "/%s/%s" % (container, urllib.parse.quote(blob)) if blob else "/%s/" % container

    def q(self, extra=""):
        return ""

    def create_container(self, c):
        os.makedirs(os.path.join(self.root, c), exist_ok=True)


def request(port, method, url, headers, body, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, url, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r.status, data


# ----------------------------------------------------------------- load tools

WRK_LUA = """
local counter = 0
local mode = os.getenv("BENCH_MODE")
local base = os.getenv("BENCH_PATH")
local query = os.getenv("BENCH_QUERY") or ""
local nblobs = tonumber(os.getenv("BENCH_NBLOBS") or "1")
local extra = os.getenv("BENCH_HEADERS") or ""
local body = nil
if mode == "put" then body = string.rep("x", tonumber(os.getenv("BENCH_SIZE"))) end
local hdrs = {}
for k, v in string.gmatch(extra, "([^=;]+)=([^;]*)") do hdrs[k] = v end
function setup(thread) thread:set("tid", tostring(math.random(1, 1000000000))) end
function request()
  counter = counter + 1
  if mode == "range" then
    local off = math.random(0, 127) * 8388608
    hdrs["Range"] = "bytes=" .. off .. "-" .. (off + 8388607)
    return wrk.format("GET", base .. query, hdrs)
  elseif mode == "small" then
    return wrk.format("GET", base .. (counter %% nblobs) .. query, hdrs)
  elseif mode == "put" then
    return wrk.format("PUT", base .. tid .. "-" .. counter .. query, hdrs, body)
  end
  return wrk.format("GET", base .. query, hdrs)
end
function done(summary, latency, requests)
  local errs = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.bytes,
    summary.duration, latency:percentile(50), latency:percentile(99), errs))
end
""".replace("%%", "%")


def wrk(server, mode, path, query, headers, conns, secs, size=0, nblobs=1, tls=False):
    script = os.path.join(server.work, "bench.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
    env = dict(os.environ, BENCH_MODE=mode, BENCH_PATH=path, BENCH_QUERY=query,
               BENCH_HEADERS=";".join("%s=%s" % kv for kv in headers.items()),
               BENCH_SIZE=str(size), BENCH_NBLOBS=str(nblobs))
    threads = min(conns, 2)
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % secs, "--timeout", "30s",
           "-s", script, ("https://127.0.0.1:%d" % server.tls_port) if tls else
           "http://127.0.0.1:%d" % server.port]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=secs + 60).stdout
    for line in out.splitlines():
        if line.startswith("RESULT"):
            reqs, nbytes, dur_us, p50, p99, errs = map(int, line.split()[1:])
            return {"requests": reqs, "bytes": nbytes, "secs": dur_us / 1e6, "p50": p50 / 1000,
                    "p99": p99 / 1000, "errors": errs}
    raise RuntimeError("wrk printed no result: " + out)


def measured(server, fn):
    """Runs fn(); returns (result, wall, server cpu s, client cpu s)."""
    pids = server.pids()
    s0 = cpu_seconds(pids)
    c0 = os.times()
    t0 = time.time()
    result = fn()
    wall = time.time() - t0
    c1 = os.times()
    client = (c1.children_user - c0.children_user + c1.children_system - c0.children_system +
              c1.user - c0.user + c1.system - c0.system)
    return result, wall, cpu_seconds(pids) - s0, client


def put_file(server, container, blob, path):
    """PUT a whole file with curl (streams from the page cache)."""
    url = "http://127.0.0.1:%d%s%s" % (server.port, server.path(container, blob), server.q())
    cmd = ["curl", "-s", "-f", "-o", "/dev/null", "-w", "%{speed_upload}", "-T", path, url]
    for k, v in server.put_headers().items():
        cmd += ["-H", "%s: %s" % (k, v)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("%s: PUT %s failed (curl %d)" % (server.name, blob, out.returncode))
    return float(out.stdout)


def put_blocks(server, container, blob, total, block, inflight, buf):
    """`total` bytes as `block`-sized Put Blocks, `inflight` at once, then Put Block List."""
    n = total // block
    ids = [base64.b64encode(b"%08d" % i).decode() for i in range(n)]
    lock = threading.Lock()
    todo = list(range(n))
    errors = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        while True:
            with lock:
                if not todo:
                    break
                i = todo.pop(0)
            q = server.q("comp=block&blockid=" + urllib.parse.quote(ids[i]))
            st, _ = request(server.port, "PUT", server.path(container, blob) + q,
                            {"x-ms-version": "2021-12-02", "Content-Length": str(block)}, buf,
                            conn)
            if st != 201:
                errors.append(st)
                break
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(inflight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("%s: put block -> %s" % (server.name, errors[:3]))
    xml = "<?xml version='1.0' encoding='utf-8'?><BlockList>" + "".join(
        "<Latest>%s</Latest>" % i for i in ids) + "</BlockList>"
    st, body = request(server.port, "PUT", server.path(container, blob) + server.q("comp=blocklist"),
                       {"x-ms-version": "2021-12-02"}, xml.encode())
    if st != 201:
        raise RuntimeError("%s: put block list -> %d %s" % (server.name, st, body[:200]))


def list_all(server, container, prefix="", delimiter=""):
    """Lists every blob (following NextMarker); returns the number of items."""
    count, marker = 0, ""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    while True:
        extra = "restype=container&comp=list&maxresults=5000"
        if prefix:
            extra += "&prefix=" + urllib.parse.quote(prefix)
        if delimiter:
            extra += "&delimiter=" + urllib.parse.quote(delimiter)
        if marker:
            extra += "&marker=" + urllib.parse.quote(marker)
        st, body = request(server.port, "GET", server.path(container) + server.q(extra),
                           server.get_headers(), None, conn)
        if st != 200:
            raise RuntimeError("%s: list -> %d" % (server.name, st))
        root = ET.fromstring(body)
        blobs = root.find("Blobs")
        count += len(blobs.findall("Blob")) + len(blobs.findall("BlobPrefix"))
        marker = root.findtext("NextMarker") or ""
        if not marker:
            break
    conn.close()
    return count


LIST_LUA = """
prefixes = {}
for p in string.gmatch(os.getenv("BENCH_PREFIXES") or ",", "([^,]*),") do table.insert(prefixes, p) end
local base = os.getenv("BENCH_PATH")
local sas = os.getenv("BENCH_QUERY") or ""
local delim = os.getenv("BENCH_DELIM") or ""
local nginx = os.getenv("BENCH_NGINX") == "1"
local hdrs = {["x-ms-version"] = "2021-12-02"}
idx, marker, items = 1, "", 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
local function enc(v) return (string.gsub(v, "[^%w]", function(c) return string.format("%%%02X", string.byte(c)) end)) end
function request()
  local p = prefixes[idx]
  if nginx then return wrk.format("GET", base .. p) end
  local q = "restype=container&comp=list&maxresults=5000"
  if p ~= "" then q = q .. "&prefix=" .. enc(p) end
  if delim ~= "" then q = q .. "&delimiter=" .. enc(delim) end
  if marker ~= "" then q = q .. "&marker=" .. enc(marker) end
  return wrk.format("GET", base .. "?" .. q .. "&" .. sas, hdrs)
end
-- Plain (memchr-driven) search: string.gsub would copy the 3 MB page and
-- run the pattern matcher at every byte, and then measure Lua, not servers.
local function count(body, needle)
  local n, i = 0, 1
  while true do
    local s, e = string.find(body, needle, i, true)
    if not s then return n end
    n, i = n + 1, e + 1
  end
end
function response(status, headers, body)
  if nginx then
    items = items + count(body, '"name":')
    idx = idx % #prefixes + 1
    return
  end
  items = items + count(body, "<Blob>") + count(body, "<BlobPrefix>")
  local tail = math.max(1, #body - 2048)
  local m = string.match(body, "<NextMarker>([^<]*)</NextMarker>", tail)
  if m and m ~= "" then marker = m else marker = ""; idx = idx % #prefixes + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("items") end
  io.write(string.format("RESULT %d %d\\n", total, summary.duration))
end
"""


def wrk_list(server, container, prefixes, delimiter, secs):
    """Lists for `secs` seconds on one connection, page after page (a load
    tool in C, so the server, not an XML parser, is measured); items/s."""
    script = os.path.join(server.work, "list.lua")
    with open(script, "w") as f:
        f.write(LIST_LUA)
    nginx = isinstance(server, Nginx)
    env = dict(os.environ, BENCH_PATH=("/%s/" % container) if nginx else server.path(container),
               BENCH_QUERY=server.q()[1:] if not nginx else "",
               BENCH_PREFIXES="".join(p + "," for p in prefixes), BENCH_DELIM=delimiter,
               BENCH_NGINX="1" if nginx else "0")
    cmd = ["wrk", "-t", "1", "-c", "1", "-d", "%ds" % secs, "--timeout", "60s", "-s", script,
           "http://127.0.0.1:%d" % server.port]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=secs + 120).stdout
    for line in out.splitlines():
        if line.startswith("RESULT"):
            items, dur_us = map(int, line.split()[1:])
            return items / (dur_us / 1e6)
    raise RuntimeError("wrk printed no result: " + out)


def walk_all(server, container, dirs):
    """A hierarchical walk: one delimiter listing per directory."""
    if isinstance(server, Nginx):
        import json
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        n = 0
        for d in dirs:
            st, body = request(server.port, "GET", "/%s/%s/" % (container, d), {}, None, conn)
            n += len(json.loads(body))
        conn.close()
        return n
    return sum(list_all(server, container, d + "/", "/") for d in dirs)


# ----------------------------------------------------------------- the rows


def median_row(values):
    if not values:
        return None
    return (statistics.median(values), min(values), max(values))


def fmt(v, unit):
    if v is None:
        return "n/a"
    med, lo, hi = v
    if unit == "MB/s":
        return "%.0f (%.0f-%.0f)" % (med / 1e6, lo / 1e6, hi / 1e6)
    return "%.0f (%.0f-%.0f)" % (med, lo, hi)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="about a minute: small sizes, short runs")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-azurite", action="store_true")
    ap.add_argument("--list-big", type=int, default=None, help="blobs in the big listing (1M)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--baseline", default=None, metavar="BIN",
                    help="also run this strata binary (as strata-base), interleaved with the "
                         "others: a before/after of a change in one run")
    ap.add_argument("--single-gateway", action="store_true",
                    help="also run this strata with --single-gateway (as strata-single): the "
                         "cost of coordinating gateways through file locks")
    ap.add_argument("--rows", default="abcdefghij",
                    help="which rows to run, e.g. 'c' or 'cf' (h is always reported; i and j "
                         "are a and c over HTTPS)")
    args = ap.parse_args()
    rows_wanted = set(args.rows)
    quick = args.quick
    runs = args.runs
    secs = 2 if quick else 5
    big = 256 * MiB if quick else GiB
    put_size = 64 * MiB if quick else 256 * MiB
    blocks_total = 256 * MiB if quick else GiB
    small_count = 200 if quick else 1000
    list_small = 2000 if quick else 20000
    list_big = args.list_big if args.list_big is not None else (0 if quick else 1000000)

    work = args.workdir or tempfile.mkdtemp(prefix="strata-bench-")
    servers = [Strata(work), Nginx(work)]
    if args.baseline:
        servers.insert(1, Strata(work, args.baseline, "strata-base"))
    if args.single_gateway:
        servers.insert(1, Strata(work, None, "strata-single", ["--single-gateway"]))
    if not args.skip_azurite:
        servers.append(Azurite(work))
    results = {}   # (row, server) -> (median,min,max)
    cpu = {}       # (row, server) -> (server cpu %, client cpu %)
    notes = {}

    def record(row, srv, values, cpus):
        results[(row, srv.name)] = median_row(values)
        if cpus:
            w = sum(c[0] for c in cpus)
            cpu[(row, srv.name)] = (100 * sum(c[1] for c in cpus) / (w * CORES),
                                    100 * sum(c[2] for c in cpus) / (w * CORES))

    tls = make_cert(work) if rows_wanted & set("ij") else None
    try:
        for s in servers:
            s.start(tls=tls)
        print("servers: " + ", ".join("%s :%d" % (s.name, s.port) for s in servers), flush=True)
        src = os.path.join(work, "big.bin")
        with open(src, "wb") as f:
            chunk = os.urandom(MiB)
            for _ in range(big // MiB):
                f.write(chunk)
        putsrc = os.path.join(work, "put.bin")
        with open(putsrc, "wb") as f:
            f.write(os.urandom(put_size))
        for s in servers:
            s.create_container("bench")
            put_file(s, "bench", "big.bin", src)
            for i in range(small_count):
                st, _ = request(s.port, "PUT", s.path("bench", "small/%d" % i) + s.q(),
                                dict(s.put_headers(), **{"Content-Length": str(16384)}),
                                os.urandom(16384))
                if st not in (200, 201, 204):
                    raise RuntimeError("%s: put small -> %d" % (s.name, st))

        # Rows a-f, interleaved: each run measures every server in turn, so
        # drift on this shared VM (page cache, ext4's allocator after a mass
        # delete) hits all of them alike.
        vals = {}   # (row, server) -> [values]
        cpus = {}   # (row, server) -> [(wall, server cpu, client cpu)]
        lat = {}    # server -> ([p50], [p99])

        def add(row, s, value, m):
            vals.setdefault((row, s.name), []).append(value)
            cpus.setdefault((row, s.name), []).append(m)

        blockbuf = os.urandom(8 * MiB)
        for run in range(runs):
            for s in servers:
                q = s.q()
                path_big = s.path("bench", "big.bin")
                # a: one stream
                if "a" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: wrk(s, "get", path_big, q, s.get_headers(), 1, secs))
                    add("a", s, r["bytes"] / r["secs"], (wall, sc, cc))
                # b: 8 concurrent 8 MiB ranges
                if "b" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: wrk(s, "range", path_big, q, s.get_headers(), 8, secs))
                    add("b", s, r["bytes"] / r["secs"], (wall, sc, cc))
                # c: 16 KiB GETs over 64 connections
                if "c" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: wrk(s, "small", s.path("bench", "small/"), q,
                                                              s.get_headers(), 64, secs,
                                                              nblobs=small_count))
                    add("c", s, r["requests"] / r["secs"], (wall, sc, cc))
                    lat.setdefault(s.name, ([], []))
                    lat[s.name][0].append(r["p50"])
                    lat[s.name][1].append(r["p99"])
                    if r["errors"]:
                        notes[("c", s.name)] = "%d errors" % r["errors"]
                # d: Put Blob of put_size
                if "d" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: put_file(s, "bench", "put-%d.bin" % run, putsrc))
                    add("d", s, put_size / wall, (wall, sc, cc))
                # e: 8 MiB Put Blocks, 4 in flight, then Put Block List
                if not isinstance(s, Nginx) and "e" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: put_blocks(s, "bench", "blocks-%d.bin" % run,
                                                                     blocks_total, 8 * MiB, 4, blockbuf))
                    add("e", s, blocks_total / wall, (wall, sc, cc))
                # f: 16 KiB Put Blob at concurrency 16
                if "f" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: wrk(s, "put", s.path("bench", "f/"), q,
                                                              s.put_headers(), 16, secs, size=16384))
                    add("f", s, r["requests"] / r["secs"], (wall, sc, cc))
                    if r["errors"]:
                        notes[("f", s.name)] = "%d errors" % r["errors"]
                # i, j: rows a and c over HTTPS (servers that serve it).
                if s.tls_port and "i" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: wrk(s, "get", path_big, q, s.get_headers(),
                                                              1, secs, tls=True))
                    add("i", s, r["bytes"] / r["secs"], (wall, sc, cc))
                if s.tls_port and "j" in rows_wanted:
                    r, wall, sc, cc = measured(s, lambda: wrk(s, "small", s.path("bench", "small/"), q,
                                                              s.get_headers(), 64, secs,
                                                              nblobs=small_count, tls=True))
                    add("j", s, r["requests"] / r["secs"], (wall, sc, cc))
                    if r["errors"]:
                        notes[("j", s.name)] = "%d errors" % r["errors"]
            print("  rows a-f, i-j, run %d of %d done" % (run + 1, runs), flush=True)
        for (row, name), v in vals.items():
            srv = next(x for x in servers if x.name == name)
            record(row, srv, v, cpus[(row, name)])
        for name, (p50s, p99s) in lat.items():
            results[("c-lat", name)] = (statistics.median(p50s), statistics.median(p99s))

        # g: listings. Blobs are made as files for strata and nginx (one
        # namespace: a file under the root is a blob) and uploaded to Azurite.
        def make_tree(root, n, per_dir=200):
            dirs = []
            for i in range(n):
                d = "d%05d" % (i // per_dir)
                if i % per_dir == 0:
                    os.makedirs(os.path.join(root, d), exist_ok=True)
                    dirs.append(d)
                open(os.path.join(root, d, "f%07d" % i), "wb").close()
            return dirs

        for label, n in (("20k", list_small), ("1M", list_big)):
            if not n or "g" not in rows_wanted:
                continue
            for s in servers:
                cname = "list%s" % label.lower()
                s.create_container(cname)
                if isinstance(s, Azurite):
                    if n > 20000:
                        notes[("g-" + label, s.name)] = "not run: Azurite slows as it fills"
                        continue
                    for i in range(n):
                        d = "d%05d" % (i // 200)
                        request(s.port, "PUT", s.path(cname, "%s/f%07d" % (d, i)) + s.q(),
                                dict(s.put_headers(), **{"Content-Length": "0"}), b"")
                    dirs = ["d%05d" % j for j in range((n + 199) // 200)]
                else:
                    dirs = make_tree(os.path.join(s.root, cname), n)
                for kind in ("flat", "delim"):
                    if kind == "flat" and isinstance(s, Nginx):
                        continue
                    # Correct first (every blob listed, by a real parser),
                    # then timed with the C load tool.
                    fn = (lambda: list_all(s, cname)) if kind == "flat" else (lambda: walk_all(s, cname, dirs))
                    if fn() < n:
                        raise RuntimeError("%s listed fewer than %d" % (s.name, n))
                    vals, cpus = [], []
                    for _ in range(runs):
                        rate, wall, sc, cc = measured(s, lambda: wrk_list(
                            s, cname, [""] if kind == "flat" else [d + "/" for d in dirs],
                            "" if kind == "flat" else "/", secs))
                        vals.append(rate)
                        cpus.append((wall, sc, cc))
                    record("g-%s-%s" % (label, kind), s, vals, cpus)
            print("  listings %s done" % label, flush=True)
        for s in servers:
            results[("h", s.name)] = peak_rss_mib(s.pids())
    finally:
        for s in servers:
            s.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    names = [s.name for s in servers]
    rows = [("a", "GET 1 GiB, one stream" if not quick else "GET 256 MiB, one stream", "MB/s"),
            ("b", "8 concurrent 8 MiB ranged GETs", "MB/s"),
            ("c", "16 KiB GETs, 64 connections", "req/s"),
            ("d", "Put Blob %d MiB" % (put_size // MiB), "MB/s"),
            ("e", "%d MiB as 8 MiB blocks, 4 in flight" % (blocks_total // MiB), "MB/s"),
            ("f", "16 KiB Put Blob, concurrency 16", "ops/s"),
            ("i", "HTTPS: GET %s, one stream" % ("1 GiB" if not quick else "256 MiB"), "MB/s"),
            ("j", "HTTPS: 16 KiB GETs, 64 connections", "req/s")]
    for label, n in (("20k", list_small), ("1M", list_big)):
        if n:
            rows.append(("g-%s-flat" % label, "List %d blobs, flat" % n, "blobs/s"))
            rows.append(("g-%s-delim" % label, "List %d blobs, per-directory delimiter walk" % n, "blobs/s"))
    print()
    print("| row | what | unit | " + " | ".join(names) + " | CPU server/client % (" + "; ".join(names) + ") |")
    print("|---|---|---|" + "---|" * len(names) + "---|")
    for row, what, unit in rows:
        cells = []
        for n in names:
            cell = fmt(results.get((row, n)), unit)
            if row == "c" and ("c-lat", n) in results:
                p50, p99 = results[("c-lat", n)]
                cell += " p50 %.2f ms p99 %.2f ms" % (p50, p99)
            if (row, n) in notes:
                cell += " [%s]" % notes[(row, n)]
            cells.append(cell)
        cpus = "; ".join("%.0f/%.0f" % cpu[(row, n)] if (row, n) in cpu else "-" for n in names)
        print("| %s | %s | %s | %s | %s |" % (row, what, unit, " | ".join(cells), cpus))
    print("| h | peak RSS | MiB | " + " | ".join("%.0f" % results[("h", n)] for n in names) + " | |")
    print()

    def ratio(row, other, other_row=None):
        a = results.get((row, "strata"))
        b = results.get((other_row or row, other))
        if not a or not b or not b[0]:
            return "n/a"
        return "%.2f" % (a[0] / b[0])

    parts = []
    for row in ("a", "b", "c", "d", "f", "i", "j"):
        parts.append("%s %s" % (row, ratio(row, "nginx")))
    parts.append("e/nginx-d %s" % ratio("e", "nginx", "d"))
    line = "ratios strata/nginx: " + ", ".join(parts)
    if "azurite" in names:
        line += " | strata/azurite: " + ", ".join(
            "%s %s" % (row, ratio(row, "azurite")) for row in ("a", "b", "c", "d", "e", "f"))
    print(line)
    if "strata-single" in names:
        print("ratios strata/strata-single: " + ", ".join(
            "%s %s" % (row, ratio(row, "strata-single")) for row in ("a", "b", "c", "d", "e", "f")))
    if "strata-base" in names:
        print("ratios strata/strata-base: " + ", ".join(
            "%s %s" % (row, ratio(row, "strata-base")) for row in ("a", "b", "c", "d", "e", "f")))


if __name__ == "__main__":
    sys.exit(main())
