"""The package built once per test run from this checkout (`make package`), for every test here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.docs import ROOT


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [tool for tool in ("dpkg-deb", "help2man", "strip") if shutil.which(tool) is None]
    if missing or not Path("/usr/bin/python3.11").is_file():
        pytest.skip(f"make package needs {', '.join(missing) or 'Debian python3.11'} "
                    "(`make test` installs tests/system-packages.txt as root)")
    built = subprocess.run([sys.executable, ROOT / "packaging" / "build.py"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    name = built.stdout.split()[0]  # "dist/chronolog_V_amd64.deb (N KiB); ..."
    directory = tmp_path_factory.mktemp("package")
    shutil.copy(ROOT / name, directory)
    return directory / Path(name).name
