"""The admin port's status page, loaded in a real browser (headless
Chromium, Debian's `chromium` package): after some traffic its plots of
throughput, latency and errors hold data points, and its capacity-tier
section shows the blobs per state and the latest moves. The page is
self-contained: nothing is fetched from anywhere but the admin port."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from html.parser import HTMLParser

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tier"))

from azurite import azurite, remote_container  # noqa: E402,F401  (fixtures)
from tier_util import CACHED, CacheServer, TierServer, wait_state  # noqa: E402

from obs_util import admin_get, wait_for  # noqa: E402


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is required (Debian package `chromium`, see scripts/deps.sh)"
    return path


class Dom(HTMLParser):
    """Elements by id, polylines, and table cells, of a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.by_id = {}
        self.polylines = []  # (svg id, attrs)
        self.body = {}
        self.tables = {}  # table id -> rows of cell texts
        self._svg = None
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.by_id[a["id"]] = (tag, a)
        if tag == "body":
            self.body = a
        if tag == "svg":
            self._svg = a.get("id")
        if tag == "polyline":
            self.polylines.append((self._svg, a))
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        if tag in ("td", "th") and self._table is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None
        if tag == "table":
            self._table = None
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.fixture
def tiered(remote_container):  # noqa: F811
    s = TierServer(remote_container.sas_url,
                   extra_args=["--admin-port", "0", "--status-interval", "0.5"]).start()
    m = wait_for(lambda: re.search(r"admin on [\d.]+:(\d+)", s.log() + s.banner))
    s.admin = "http://127.0.0.1:%s" % m.group(1)
    yield s
    s.stop()


def post(server, path):
    req = urllib.request.Request(server.admin + path, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read().decode()


def test_StatusPage_draws_traffic_and_the_tier_in_a_browser(tiered, tmp_path):
    svc = tiered.service()
    cn = "sp" + uuid.uuid4().hex[:10]
    c = svc.create_container(cn)
    for name in ("set/a", "set/b", "keep"):
        c.upload_blob(name, os.urandom(70_000))
    assert post(tiered, "/tier/offload?path=%s/set/" % cn)[0] == 200
    for name in ("set/a", "set/b"):
        wait_state(c.get_blob_client(name), "offloaded")
    # Traffic, errors included, spread over several samples.
    for i in range(12):
        c.download_blob("keep").readall()
        try:
            c.get_blob_client("missing%d" % i).get_blob_properties()
        except Exception:
            pass
        time.sleep(0.1)
    assert post(tiered, "/tier/pass")[0] == 202
    # The tier's numbers are those of a pass (the scheduler counts states).
    tier = wait_for(lambda: (lambda t: t if t[0].get("states", {}).get("offloaded", {})
                             .get("blobs", 0) >= 2 else None)(
                                 json.loads(admin_get(tiered, "/status/tier.json")[1])), timeout=30)
    assert tier, admin_get(tiered, "/status/tier.json")
    hist = wait_for(lambda: (lambda h: h if sum(s["rps"] > 0 for s in h["samples"]) >= 2 else None)(
        json.loads(admin_get(tiered, "/status/history.json")[1])), timeout=15)
    assert hist

    url = tiered.admin + "/"
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--user-data-dir=%s" % (tmp_path / "profile"),
            "--window-size=1400,1100", "--virtual-time-budget=8000"]
    shot = tmp_path / "status.png"
    r = subprocess.run(base + ["--screenshot=%s" % shot, url], capture_output=True, timeout=120)
    assert shot.exists(), r.stderr.decode(errors="replace")[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    r = subprocess.run(base + ["--dump-dom", url], capture_output=True, timeout=120)
    html = r.stdout.decode(errors="replace")
    dom = Dom()
    dom.feed(html)
    assert int(dom.body.get("data-drawn", "0")) >= 2, html[:3000]

    def points(series):
        for svg, a in dom.polylines:
            if a.get("data-series") == series:
                pts = [tuple(map(float, p.split(","))) for p in a["points"].split()]
                assert int(a["data-points"]) == len(pts)
                return svg, pts
        raise AssertionError("no polyline for %s" % series)
    # Every series is drawn, and the traffic lifts some points off the
    # baseline (the lowest y on screen is the highest value).
    for series, svg_id in [("rps", "chart-rps"), ("eps", "chart-rps"), ("in_bps", "chart-bytes"),
                           ("out_bps", "chart-bytes"), ("p50_ms", "chart-latency"),
                           ("p99_ms", "chart-latency")]:
        svg, pts = points(series)
        assert svg == svg_id
        assert len(pts) >= 2, series
        ys = [y for _, y in pts]
        assert min(ys) < max(ys), (series, pts)
    assert int(dom.by_id["chart-rps"][1]["data-points"]) >= 4

    states = dom.tables["tier-states-devstoreaccount1"]
    rows = {r[0]: r[1:] for r in states[1:]}
    assert set(rows) == {"hot", "premigrated", "offloaded", "archived"}
    assert int(rows["offloaded"][0]) >= 2 and int(rows["hot"][0]) >= 1
    queue = dom.tables["tier-queue-devstoreaccount1"]
    assert queue[0][0] == "queued moves" and all(re.fullmatch(r"\d+", v) for v in queue[1])
    assert int(queue[1][queue[0].index("offloads")]) >= 2
    recent = dom.tables["tier-recent-devstoreaccount1"]
    moved = {(r[1], r[2]) for r in recent[1:]}
    assert ("offload", cn + "/set/a") in moved and ("offload", cn + "/set/b") in moved
    # Nothing but the admin port is referenced.
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_StatusPage_draws_the_cache_section(remote_container, tmp_path):  # noqa: F811
    """A cached container: its counters, its blobs per state and its remote
    (without the SAS) in the page's "Cache" section."""
    s = CacheServer(remote_container, tmp_path).start()
    try:
        for n in ("a", "b"):
            remote_container.client.get_blob_client(n).upload_blob(os.urandom(30_000))
        c = s.service().get_container_client(CACHED)
        for n in ("a", "b"):
            c.get_blob_client(n).get_blob_properties()   # imports a stub
        assert len(c.download_blob("a").readall()) == 30_000  # hydrates a
        c.upload_blob("w", b"written")                        # write-through: clean
        want = {"stub": 1, "clean": 2, "dirty": 0}
        got = wait_for(lambda: (lambda j: j if {k: v["blobs"] for k, v in
                                                j[0]["cache"]["containers"][0]["states"].items()}
                                == want else None)(
            json.loads(admin_get(s, "/status/tier.json")[1])), timeout=15)
        assert got, admin_get(s, "/status/tier.json")
        r = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--no-first-run",
                            "--user-data-dir=%s" % (tmp_path / "profile"),
                            "--virtual-time-budget=5000", "--dump-dom", s.admin + "/"],
                           capture_output=True, timeout=120)
        html = r.stdout.decode(errors="replace")
        dom = Dom()
        dom.feed(html)
        counters = dom.tables["cache-counters-devstoreaccount1"]
        row = dict(zip(counters[0], counters[1]))
        assert int(row["hydrations"]) == 1 and int(row["uploads"]) == 1, row
        assert row["write-back queue"] == "0" and row["conflicts"] == "0"
        containers = dom.tables["cache-containers-devstoreaccount1"]
        assert containers[0][:3] == ["container", "write mode", "remote"]
        (cr,) = containers[1:]
        assert cr[0] == CACHED and cr[1] == "write_through" and cr[2] == remote_container.url
        assert (cr[3], cr[5], cr[7]) == ("1", "2", "0"), cr
        recent = dom.tables["cache-recent-devstoreaccount1"]
        assert ("hydrate", CACHED + "/a") in {(x[1], x[2]) for x in recent[1:]}
        assert "sig=" not in html
    finally:
        s.stop()
