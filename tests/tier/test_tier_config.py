"""The capacity tier from the config file's "tier" section, SharedKey to the
remote, and refusals of bad tier settings at start."""
import json
import os
import subprocess
import tempfile
import uuid

from azurite import azurite, remote_container  # noqa: F401  (fixtures)
from tier_util import TierServer, remote_names, wait_state
from strata_server import strata_binary


def write_json(obj):
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f)
    return path


def test_config_file_tier_section_with_shared_key(remote_container):  # noqa: F811
    cname = "t" + uuid.uuid4().hex[:16]
    cfg = write_json({"tier": {"remote": remote_container.url, "key": remote_container.key,
                               "prefix": "pfx/x", "pinned": [cname + "/keep"]}})
    s = TierServer("", extra_args=["--config", cfg])
    s.extra_args = [a for a in s.extra_args if a not in ("--tier-remote", "")]
    s.start()
    try:
        c = s.service().create_container(cname)
        b = c.get_blob_client("a.bin")
        b.upload_blob(b"abc" * 1000)
        b.set_standard_blob_tier("Cool")
        wait_state(b, "offloaded")
        assert "pfx/x/%s/a.bin" % cname in remote_names(remote_container)
        k = c.get_blob_client("keep/b.bin")
        k.upload_blob(b"pinned")
        k.set_standard_blob_tier("Cool")   # the tier is recorded, the data never moves
        assert k.get_blob_properties().blob_tier == "Cool"
        assert not any("/keep/" in n for n in remote_names(remote_container))
    finally:
        s.stop()
        os.unlink(cfg)


def run_serve(*args):
    root = tempfile.mkdtemp(prefix="strata-test-")
    r = subprocess.run([strata_binary(), "serve", "--port", "0", "--root", root] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr


def test_bad_tier_settings_are_refused(remote_container):  # noqa: F811
    rc, err = run_serve("--tier-remote", "not a url")
    assert rc == 2 and "tier-remote" in err
    bad_policy = write_json({"rules": [{"name": "x", "definition": {"actions": {
        "baseBlob": {"tierToCool": {}}}}}]})
    rc, err = run_serve("--tier-remote", remote_container.sas_url, "--tier-policy", bad_policy)
    assert rc == 2 and "policy" in err
    rc, err = run_serve("--tier-remote", remote_container.sas_url, "--tier-high-watermark", "50",
                        "--tier-low-watermark", "60")
    assert rc == 2 and "watermark" in err
    cfg = write_json({"tier": {"remote": remote_container.url, "key": "***"}})
    rc, err = run_serve("--config", cfg)
    assert rc == 2 and "base64" in err
    os.unlink(bad_policy)
    os.unlink(cfg)
