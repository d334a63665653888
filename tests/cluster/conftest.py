import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from cluster import StrataCluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """Three gateways on one root behind nginx, shared by a module's cases."""
    c = StrataCluster(3).start()
    yield c
    c.cleanup()
