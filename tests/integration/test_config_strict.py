"""Strict configuration: every unknown key and bad value in the config file
is refused with its key path and the reason (exit 2); every numeric flag is
range-checked; --check-config validates without listening or touching the
root; a missing root is refused unless it is the default ./data or
--create-root says to create it; --version and --help."""
import base64
import json
import os
import re
import socket
import subprocess

import pytest

from strata_server import StrataServer, strata_binary

KEY = base64.b64encode(b"k" * 64).decode()


def serve(*args, cwd=None, timeout=30):
    """Runs `strata serve ARGS` to its end (a refusal or --check-config)."""
    port = [] if "--port" in args else ["--port", "0"]
    p = subprocess.run([strata_binary(), "serve", "--host", "127.0.0.1"] + port + list(args),
                       capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout + p.stderr


def check(tmp_path, doc, *args):
    """--check-config of `doc` (a dict, or raw text) over an existing root."""
    cfg = tmp_path / "strata.json"
    cfg.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    return serve("--root", str(root), "--config", str(cfg), "--check-config", *args)


def account(tmp_path, **over):
    a = {"name": "acct1", "key": KEY, "root": str(tmp_path / "acct1")}
    (tmp_path / "acct1").mkdir(exist_ok=True)
    a.update(over)
    return a


# (document, the line the refusal must hold: key path and reason)
BAD = [
    ({"bogus": 1}, "bogus: unknown key"),
    ({"port": 70000}, "port: must be an integer from 0 to 65535"),
    ({"port": "10000"}, "port: must be an integer from 0 to 65535"),
    ({"dfs_port": -1}, "dfs_port: must be an integer from 0 to 65535"),
    ({"threads": -3}, "threads: must be an integer from 0 to 1024"),
    ({"threads": 2.5}, "threads: must be an integer from 0 to 1024"),
    ({"drain_seconds": -1}, "drain_seconds: must be an integer from 0 to 86400"),
    ({"host": "localhost"}, "host: must be an IPv4 or IPv6 address"),
    ({"root": "relative/root"}, "root: must be an absolute path"),
    ({"create_root": "yes"}, "create_root: must be true or false"),
    ({"durability": "sometimes"}, "durability: must be \"fsync\" or \"none\""),
    ({"single_gateway": 1}, "single_gateway: must be true or false"),
    ({"containers": {"data": {"size": 10}}}, "containers.data.size: unknown key"),
    ({"containers": {"Bad_Name": {}}}, "containers.Bad_Name: invalid container name"),
    ({"containers": {"data": {"path": "rel/dir"}}}, "containers.data.path: must be an absolute path"),
    ({"containers": {"data": {"read_only": "no"}}}, "containers.data.read_only: must be true or false"),
    ({"containers": {"data": {"max_files": "ten"}}}, "containers.data.max_files: must be a positive integer"),
    ({"containers": []}, "containers: must be an object"),
    ({"accounts": {}}, "accounts: must be an array"),
    ({"tier": {"remote": "https://h/c", "colour": "blue"}}, "tier.colour: unknown key"),
    ({"tier": {"remote": "ftp://h/c"}}, "tier.remote: must be an http(s) URL"),
    ({"tier": {"remote": "https://h/c", "key": "***"}}, "tier.key: must be a base64 key"),
    ({"tier": {"remote": "https://h/c", "interval": 0}}, "tier.interval: must be an integer from 1"),
    ({"tier": {"remote": "https://h/c", "high_watermark": 101}},
     "tier.high_watermark: must be a number from 0 to 100"),
    ({"tier": {"remote": "https://h/c", "workers": 0}}, "tier.workers: must be an integer from 1"),
    ({"tier": {"remote": "https://h/c", "pinned": "c/p"}}, "tier.pinned: must be an array"),
    ({"tier": {"remote": "https://h/c", "policy": []}}, "tier.policy: must be a lifecycle management policy"),
    ({"tier": {"remote": "https://h/c", "high_watermark": 50, "low_watermark": 60}},
     "tier.low_watermark (--tier-low-watermark): the low watermark must lie between 0 and the high one"),
    ({"copy_sources": {"hosts": ["*"], "retries": 3}}, "copy_sources.retries: unknown key"),
    ({"copy_sources": {"hosts": ["a/b"]}}, "copy_sources.hosts[0]: 'a/b' is not a host name"),
    ({"copy_sources": {"timeout_s": 0}}, "copy_sources.timeout_s: must be an integer from 1"),
    ({"copy_sources": {"allow_private": "true"}}, "copy_sources.allow_private: must be true or false"),
]


@pytest.mark.parametrize("doc,expected", BAD, ids=[e for _, e in BAD])
def test_ConfigStrict_bad_top_level_values_are_named(tmp_path, doc, expected):
    rc, out = check(tmp_path, doc)
    assert rc == 2, out
    assert expected in out, out


def test_ConfigStrict_account_keys_named(tmp_path):
    bad = [
        (dict(account(tmp_path), extra=2), "accounts[0].extra: unknown key"),
        (account(tmp_path, key="!!"), "accounts[0].key: must be a base64 key"),
        (account(tmp_path, key2="!!"), "accounts[0].key2: must be a base64 key"),
        (account(tmp_path, key=""), "accounts[0].key: must be a base64 key"),
        (account(tmp_path, name="Bad_Name"), "accounts[0].name: must be 3 to 24 lowercase letters"),
        (account(tmp_path, root="acct1"), "accounts[0].root: must be an absolute path"),
        (account(tmp_path, root=7), "accounts[0].root: must be a non-empty string"),
        (account(tmp_path, containers={"data": {"max_bytes": -1}}),
         "accounts[0].containers.data.max_bytes: must be a positive integer"),
        (account(tmp_path, containers={"data": {"max_bytes": 0}}),
         "accounts[0].containers.data.max_bytes: must be a positive integer"),
        (account(tmp_path, containers={"x": {}}), "accounts[0].containers.x: invalid container name"),
        ({"name": "acct1", "key": KEY}, "accounts[0].root: is required"),
        ({"name": "acct1", "root": str(tmp_path)}, "accounts[0].key: is required"),
    ]
    for acct, expected in bad:
        rc, out = check(tmp_path, {"accounts": [acct]})
        assert rc == 2 and expected in out, (expected, out)
        assert KEY not in out  # keys are never echoed


def test_ConfigStrict_duplicates_and_every_problem_reported(tmp_path):
    (tmp_path / "b").mkdir()
    doc = {"port": 70000, "bogus": True,
           "accounts": [account(tmp_path),
                        {"name": "acct1", "key": KEY, "root": str(tmp_path / "b")},
                        {"name": "acct2", "key": KEY, "root": str(tmp_path / "acct1")}]}
    rc, out = check(tmp_path, doc)
    assert rc == 2
    assert "accounts[1].name: \"acct1\" is already the name of accounts[0]" in out
    assert "port: must be an integer from 0 to 65535" in out
    assert "bogus: unknown key" in out
    # A root shared by two accounts: found once the file itself is sound.
    doc = {"accounts": [account(tmp_path),
                        {"name": "acct2", "key": KEY, "root": str(tmp_path / "acct1") + "/"}]}
    rc, out = check(tmp_path, doc)
    assert rc == 2 and "account acct2.root" in out and "already the root of account acct1" in out


def test_ConfigStrict_not_json_or_not_an_object(tmp_path):
    rc, out = check(tmp_path, "{not json")
    assert rc == 2 and "not JSON" in out
    rc, out = check(tmp_path, "[1, 2]")
    assert rc == 2 and "must be a JSON object" in out


def test_ConfigStrict_missing_config_file(tmp_path):
    rc, out = serve("--root", str(tmp_path), "--config", str(tmp_path / "nope.json"))
    assert rc == 2 and "cannot read" in out


def test_CheckConfig_good_exits_0_without_listening_or_touching_root(tmp_path):
    (tmp_path / "view").mkdir()
    doc = {"accounts": [account(tmp_path, key2=KEY,
                                containers={"shards": {"path": str(tmp_path / "view"),
                                                       "read_only": True}})],
           "containers": {"quota": {"max_bytes": 1000}},
           "tier": {"remote": "https://acct.blob.core.windows.net/c?sv=x", "high_watermark": 90,
                    "low_watermark": 80, "policy": {"rules": []}},
           "copy_sources": {"hosts": ["*.blob.core.windows.net"]}, "drain_seconds": 5}
    # The port is taken: a check that listened would fail.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        cfg = tmp_path / "strata.json"
        cfg.write_text(json.dumps(doc))
        (tmp_path / "root").mkdir()
        p = subprocess.run([strata_binary(), "serve", "--port", str(port), "--root",
                            str(tmp_path / "root"), "--config", str(cfg), "--check-config"],
                           capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "configuration is valid (2 accounts)" in p.stdout
    assert os.listdir(tmp_path / "root") == [] and os.listdir(tmp_path / "acct1") == []
    assert os.listdir(tmp_path / "view") == []


def test_CheckConfig_bad_exits_2_with_reasons(tmp_path):
    doc = {"accounts": [account(tmp_path, containers={"shards": {"path": str(tmp_path / "gone")}})]}
    rc, out = check(tmp_path, doc)
    assert rc == 2 and "view shards" in out and "is not a directory" in out
    doc = {"accounts": [{"name": "acct1", "key": KEY, "root": str(tmp_path / "unmounted")}]}
    rc, out = check(tmp_path, doc)
    assert rc == 2 and "unmounted does not exist" in out and "--create-root" in out
    assert not os.path.exists(tmp_path / "unmounted")
    # With create_root the same file is valid, and the check still creates nothing.
    doc["create_root"] = True
    rc, out = check(tmp_path, doc)
    assert rc == 0, out
    assert not os.path.exists(tmp_path / "unmounted")


@pytest.mark.parametrize("args,name", [
    (["--port", "70000"], "--port"),
    (["--port", "-1"], "--port"),
    (["--dfs-port", "65536"], "--dfs-port"),
    (["--threads", "-3"], "--threads"),
    (["--worker-threads", "-1"], "--worker-threads"),
    (["--copy-threads", "0"], "--copy-threads"),
    (["--drain-seconds", "-1"], "--drain-seconds"),
    (["--tier-high-watermark", "101"], "--tier-high-watermark"),
    (["--tier-low-watermark", "-1"], "--tier-low-watermark"),
    (["--tier-interval", "0"], "--tier-interval"),
    (["--tier-workers", "0"], "--tier-workers"),
    (["--tier-capacity", "-5"], "--tier-capacity"),
    (["--header-timeout", "0"], "--header-timeout"),
    (["--body-min-rate", "-1"], "--body-min-rate"),
    (["--body-rate-window", "0"], "--body-rate-window"),
    (["--body-memory", "0"], "--body-memory"),
    (["--rehydrate-delay", "-1"], "--rehydrate-delay"),
    (["--admin-port", "70000"], "--admin-port"),
    (["--io-timeout", "0"], "not in range 1 to 3600"),  # hidden: CLI11 leaves its name out
    (["--durability", "sometimes"], "--durability"),
    (["--host", "localhost"], "--host"),
    (["--port", "abc"], "--port"),
])
def test_Flags_out_of_range_refused(tmp_path, args, name):
    rc, out = serve("--root", str(tmp_path), "--check-config", *args)
    assert rc == 2, out
    assert name in out, out


def test_Flags_given_win_over_file_and_are_checked_with_it(tmp_path):
    doc = {"port": 12345, "threads": 2}
    rc, out = check(tmp_path, doc, "--threads", "3")
    assert rc == 0, out
    rc, out = check(tmp_path, {"dfs_port": 4000}, "--port", "4000")
    assert rc == 2 and "--dfs-port" in out


def test_Root_missing_is_refused_and_not_created(tmp_path):
    missing = tmp_path / "nfs" / "mount"
    rc, out = serve("--root", str(missing))
    assert rc == 2, out
    assert "does not exist" in out and "--create-root" in out
    assert not os.path.exists(tmp_path / "nfs")


def test_Root_missing_account_root_is_refused(tmp_path):
    cfg = tmp_path / "strata.json"
    cfg.write_text(json.dumps({"accounts": [{"name": "acct1", "key": KEY,
                                             "root": str(tmp_path / "gone")}]}))
    (tmp_path / "root").mkdir()
    rc, out = serve("--root", str(tmp_path / "root"), "--config", str(cfg))
    assert rc == 2 and "account acct1 root" in out and "does not exist" in out
    assert not os.path.exists(tmp_path / "gone")


def test_Root_create_root_creates(tmp_path):
    root = tmp_path / "new" / "root"
    s = StrataServer(root=str(root)).start()  # the harness passes --create-root
    try:
        assert os.path.isdir(root / ".strata")
    finally:
        s.stop()
    # The config file's create_root does the same for account roots.
    cfg = tmp_path / "strata.json"
    cfg.write_text(json.dumps({"create_root": True, "accounts": [
        {"name": "acct1", "key": KEY, "root": str(tmp_path / "acct" / "root")}]}))
    (tmp_path / "dev").mkdir()
    p = subprocess.Popen([strata_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--root",
                          str(tmp_path / "dev"), "--config", str(cfg)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        assert "listening on" in line, line + p.stdout.read()
        assert os.path.isdir(tmp_path / "acct" / "root" / ".strata")
    finally:
        p.terminate()
        assert p.wait(timeout=15) == 0
        p.stdout.close()


def test_Root_default_data_is_created(tmp_path):
    p = subprocess.Popen([strata_binary(), "serve", "--host", "127.0.0.1", "--port", "0"],
                         cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        assert "listening on" in line and "(root ./data)" in line, line + p.stdout.read()
        assert os.path.isdir(tmp_path / "data" / ".strata")
    finally:
        p.terminate()
        assert p.wait(timeout=15) == 0
        p.stdout.close()


def test_Version_prints_version_and_commit():
    p = subprocess.run([strata_binary(), "--version"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert re.fullmatch(r"strata \d+\.\d+\.\d+( \(git [0-9a-zA-Z.\-]+\))?\n", p.stdout), p.stdout


def test_Help_lists_every_flag_with_its_default():
    p = subprocess.run([strata_binary(), "serve", "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    text = p.stdout
    for flag, default in [("--port", "10000"), ("--host", "127.0.0.1"), ("--root", "./data"),
                          ("--dfs-port", "0"), ("--threads", "0"), ("--drain-seconds", "30"),
                          ("--durability", "fsync"), ("--tier-prefix", "strata"),
                          ("--tier-interval", "3600"), ("--tier-workers", "2"),
                          ("--tier-high-watermark", "0"), ("--tier-capacity", "0"),
                          ("--admin-port", "off"), ("--admin-host", "127.0.0.1"),
                          ("--worker-threads", "0"), ("--copy-threads", "2"),
                          ("--rehydrate-delay", "10"), ("--header-timeout", "30"),
                          ("--body-min-rate", "1024"), ("--body-rate-window", "30"),
                          ("--body-memory", "128")]:
        m = re.search(r"^\s+%s [^\n]*?=(\S+)" % re.escape(flag), text, re.M)
        assert m and m.group(1) == default, (flag, default, text)
    # Every option that takes a value shows a default; hidden test flags stay hidden.
    options = [line for line in text.splitlines() if re.match(r"^\s+--[a-z-]+ [A-Z]", line)]
    assert len(options) >= 25
    for line in options:
        assert re.search(r"=\S+", line), line
    for hidden in ["--io-timeout", "--tier-clock-offset-days", "--copy-step", "--max-uncommitted-blocks"]:
        assert hidden not in text
    for flag in ["--create-root", "--check-config", "--single-gateway", "--config"]:
        assert flag in text
