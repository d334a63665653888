"""`cmake --install` and the systemd unit of contrib/: the binary lands in
PREFIX/bin and runs, and the unit, pointed at it, passes
`systemd-analyze verify`."""
import os
import re
import shutil
import subprocess

import pytest

from strata_server import strata_binary


@pytest.fixture
def installed(tmp_path):
    build = os.path.dirname(strata_binary())
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        pytest.fail("%s is not a CMake build tree" % build)
    prefix = tmp_path / "prefix"
    p = subprocess.run(["cmake", "--install", build, "--prefix", str(prefix)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return build, prefix


def test_install_puts_the_binary_and_the_unit_in_place(installed):
    build, prefix = installed
    binary = prefix / "bin" / "strata"
    assert os.access(binary, os.X_OK)
    p = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "serve" in p.stdout
    # Only the server: no test binaries are installed.
    assert sorted(os.listdir(prefix / "bin")) == ["strata"]
    unit = (prefix / "lib" / "systemd" / "system" / "strata.service").read_text()
    # The unit names the binary where the configured prefix puts it.
    cache = open(os.path.join(build, "CMakeCache.txt")).read()
    configured = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache, re.M).group(1)
    assert re.search(r"^ExecStart=%s/bin/strata serve --config /etc/strata/strata.json$"
                     % re.escape(configured), unit, re.M), unit
    assert re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", unit, re.M)
    assert re.search(r"^KillSignal=SIGTERM$", unit, re.M)


def test_the_unit_passes_systemd_analyze_verify(installed, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is missing (Debian's systemd package)")
    build, prefix = installed
    unit = (prefix / "lib" / "systemd" / "system" / "strata.service").read_text()
    # Verify the unit as installed under this prefix: its ExecStart must exist.
    unit = re.sub(r"^ExecStart=\S+", "ExecStart=%s" % (prefix / "bin" / "strata"), unit,
                  flags=re.M)
    path = tmp_path / "strata.service"
    path.write_text(unit)
    p = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stdout + p.stderr


def test_a_broken_unit_fails_verify(installed, tmp_path):
    # The check above can fail: a unit with a misspelt key does.
    build, prefix = installed
    unit = (prefix / "lib" / "systemd" / "system" / "strata.service").read_text()
    unit = re.sub(r"^ExecStart=\S+", "ExecStart=%s" % (prefix / "bin" / "strata"), unit,
                  flags=re.M).replace("KillSignal=", "KillSignall=")
    path = tmp_path / "strata.service"
    path.write_text(unit)
    p = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert "KillSignall" in p.stdout + p.stderr
