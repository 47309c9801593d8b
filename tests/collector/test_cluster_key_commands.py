"""The local key commands refuse a collector on the JetStream store: its tenant keys and signing
key are in the cluster, wrapped by the master key. A master rotation there would retire the
version that wraps them (every tenant unreadable to this collector, and to every collector the
rotated file is copied to); a key backup or restore would miss them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.processes import BIN


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "collector.toml"
    path.write_text(
        f'[collector]\ndata_dir = "{tmp_path / "store"}"\n'
        f'[collector.keys]\nmaster_key_file = "{tmp_path / "master.key"}"\n'
        '[collector.store]\nbackend = "jetstream"\n'
        '[collector.store.jetstream]\nservers = ["nats://127.0.0.1:4222"]\n'
        '[collector.store.jetstream.location]\ncountry = "JP"\nregion = "Tokyo"\n')
    init = subprocess.run([BIN / "chronolog-collector", "keys", "-c", path, "init"],
                          capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    return path


@pytest.mark.parametrize("args", [["rotate-master"], ["rotate-master", "--confirm", "CURRENT"],
                                  ["backup", "OUT"], ["restore", "IN"]])
def test_key_commands_on_a_cluster_collector_refuse_and_change_nothing(
        config: Path, tmp_path: Path, args: list[str]) -> None:
    master = tmp_path / "master.key"
    before = master.read_bytes()
    current = next(line.split('"')[3] for line in before.decode().splitlines() if '"id"' in line)
    (tmp_path / "IN").write_text('{"format": "chronolog-keys", "v": 1, "files": {}}')
    names = {"CURRENT": current, "OUT": str(tmp_path / "OUT"), "IN": str(tmp_path / "IN")}
    argv = [names.get(a, a) for a in args]
    done = subprocess.run([BIN / "chronolog-collector", "keys", "-c", config, *argv],
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert f"keys {args[0]} works on the keys in data_dir" in done.stderr and "TOTP secrets" in done.stderr
    assert 'store.backend = "jetstream"' in done.stderr and "Traceback" not in done.stderr
    assert master.read_bytes() == before  # no version added, none retired
    assert not (tmp_path / "OUT").exists()
    assert not (tmp_path / "store" / "keys").exists()
