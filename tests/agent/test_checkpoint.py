from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.delivery import Mark
from agent.delivery.checkpoint import Checkpoints


def test_commit_then_save_survives_a_reload(tmp_path: Path) -> None:
    cp = Checkpoints(tmp_path / "cp.json")
    cp.commit([Mark("file:/a", 10, {"offset": 100})])
    cp.save()
    again = Checkpoints(tmp_path / "cp.json").load().get("file:/a")
    assert (again.next_seq, again.high_seq, again.position) == (10, 10, {"offset": 100})


def test_an_older_mark_never_moves_a_stream_back(tmp_path: Path) -> None:
    cp = Checkpoints(tmp_path / "cp.json")
    cp.commit([Mark("s", 10, {"offset": 100}), Mark("s", 4, {"offset": 40})])
    assert cp.get("s").next_seq == 10 and cp.get("s").position == {"offset": 100}


def test_reserve_records_numbers_in_flight_without_moving_the_position(tmp_path: Path) -> None:
    cp = Checkpoints(tmp_path / "cp.json")
    cp.commit([Mark("s", 10, {"offset": 100})])
    assert cp.reserve([Mark("s", 25, {"offset": 250})])
    assert not cp.reserve([Mark("s", 20, {"offset": 200})])
    cp.save()
    state = Checkpoints(tmp_path / "cp.json").load().get("s")
    assert (state.next_seq, state.high_seq, state.position) == (10, 25, {"offset": 100})


def test_unknown_stream_starts_at_zero(tmp_path: Path) -> None:
    state = Checkpoints(tmp_path / "none.json").load().get("s")
    assert (state.next_seq, state.high_seq, state.position) == (0, 0, None)


def test_a_damaged_file_is_reported_not_silently_reset(tmp_path: Path) -> None:
    (tmp_path / "cp.json").write_text('{"streams": {')
    with pytest.raises(ValueError, match="damaged checkpoint"):
        Checkpoints(tmp_path / "cp.json").load()


def test_saved_file_is_json_with_version(tmp_path: Path) -> None:
    cp = Checkpoints(tmp_path / "cp.json")
    cp.commit([Mark("s", 1, {})])
    cp.save()
    assert json.loads((tmp_path / "cp.json").read_text())["version"] == 1
