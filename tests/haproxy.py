"""HAProxy from Debian in front of real servers, for the tests that need a real balancer
(tests/security/test_behind_proxy.py, tests/scale/). The config and the process come from
the project's own script, scripts/run_cluster.py (deploy/haproxy.cfg).

Under CI=true a missing haproxy fails the test (.ci/run installs it); elsewhere it is skipped
with the reason."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@cache
def cluster() -> ModuleType:
    """scripts/run_cluster.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "run_cluster", ROOT / "scripts" / "run_cluster.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_cluster"] = module
    spec.loader.exec_module(module)
    return module


def need_haproxy() -> str:
    """The haproxy binary, or skip (fail under CI=true) saying how to get it."""
    path: str = cluster().HAPROXY
    if not Path(path).exists():
        message = f"{path} is missing: apt-get install -y haproxy"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def start(config: str, folder: Path, port: int) -> subprocess.Popen[bytes]:
    """HAProxy with `config`, once it listens on `port`."""
    proxy: subprocess.Popen[bytes] = cluster().start_haproxy(
        config, folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        cluster().wait_for_port(port, proxy, timeout=15)
    except RuntimeError:
        cluster().stop(proxy)
        raise
    return proxy


def stop(proxy: subprocess.Popen[bytes]) -> None:
    cluster().stop(proxy)
