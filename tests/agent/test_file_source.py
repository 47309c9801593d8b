"""A file source's timestamp options: checked when the configuration loads, used by the input."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig, load_config
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.inputs.files import FileInput, FileSource
from agent.telemetry import Telemetry
from chronolog.config_loading import ConfigError
from chronolog.timefmt import to_rfc3339
from chronolog.wire import ClockView


def load(tmp_path: Path, files_table: str) -> AgentConfig:
    path = tmp_path / "agent.toml"
    path.write_text(f'[agent]\n[[agent.files]]\ninclude = ["/var/log/app.log"]\n{files_table}\n')
    return load_config(path)


def test_a_declared_format_with_samples_it_reads_loads(tmp_path: Path) -> None:
    config = load(tmp_path, 'format = "%d/%m/%Y %H:%M:%S"\nfuture_tolerance = 3600.0\n'
                  'format_examples = ["27/11/2026 09:14:03 login ok", "[w1] 01/12/2026 00:00:00 x"]')
    source = config.files[0]
    assert (source.format, source.future_tolerance) == ("%d/%m/%Y %H:%M:%S", 3600.0)


@pytest.mark.parametrize(("table", "message"), [
    ('format = "%Y-%m-%d %Q"\nformat_examples = ["x"]',
     "agent.files.0.format = '%Y-%m-%d %Q': format '%Y-%m-%d %Q': unknown directive %Q"),
    ('format = "%Y-%m-%d %H:%M:%S"',
     "agent.files.0.format_examples = []: a declared format needs at least one sample line"),
    ('format = "%d/%m/%Y %H:%M"\nformat_examples = ["27/11/2026 09:14 ok", "2026-11-27 09:14:03 other"]',
     "sample line 2 ('2026-11-27 09:14:03 other') has no timestamp the format '%d/%m/%Y %H:%M' reads"),
    ('format_examples = ["Nov 27 09:14:03 host ok", "nothing to see"]',
     "sample line 2 ('nothing to see') has no timestamp detection finds (declare a format)"),
    ("future_tolerance = -1.0", "agent.files.0.future_tolerance = -1.0: expected greater than or equal to 0"),
    ("future_tolerance = 1e9", "agent.files.0.future_tolerance = 1000000000.0: expected less than or equal"),
])
def test_a_bad_timestamp_option_is_one_clear_line(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, table)
    [line] = str(error.value).splitlines()
    assert message in line


async def test_a_files_lines_are_stamped_with_its_options_and_counted_by_ts_source(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("17.11.2026 09:14:03 login ok\n2026-11-27T00:14:03Z not the declared format\n"
                   "17.11.2026 09:14:04 logout\n")
    source = FileSource(include=[str(log)], zone="Asia/Tokyo", format="%d.%m.%Y %H:%M:%S",
                        format_examples=["17.11.2026 09:14:03 x"])
    telemetry = Telemetry()
    queue = BatchQueue(1 << 20, 0.01, 1 << 20)
    files = FileInput(source, queue, Checkpoints(tmp_path / "cp.json"), ClockView, telemetry, set())
    files.discover()
    assert await files.poll_once()
    [pending] = await queue.next_batch()
    assert pending.chunk.src == ["assumed_zone", "read_time", "assumed_zone"]
    assert to_rfc3339(pending.chunk.ts[0], "Asia/Tokyo") == "2026-11-17T09:14:03.000000+09:00"

    def count(ts_source: str) -> float | None:
        return telemetry.registry.get_sample_value(
            "chronolog_agent_lines_by_ts_source_total", {"stream": f"file:{log}", "ts_source": ts_source})

    assert (count("assumed_zone"), count("read_time"), count("explicit")) == (2.0, 1.0, None)


async def test_the_learned_layout_is_saved_with_the_position_and_read_on_after_a_restart(
        tmp_path: Path) -> None:
    log = tmp_path / "proxy.log"
    # "05.11" may be either order; "13.11" settles it: day first (13 is no month).
    log.write_text("[05.11 16:49:06] open\n[13.11 16:49:07] close\n")
    source = FileSource(include=[str(log)], zone="UTC")
    checkpoints = Checkpoints(tmp_path / "cp.json")
    queue = BatchQueue(1 << 20, 0.01, 1 << 20)
    files = FileInput(source, queue, checkpoints, ClockView, Telemetry(), set())
    files.discover()
    assert await files.poll_once()
    [pending] = await queue.next_batch()
    assert pending.mark.ts_layouts == ("%d.%m %H:%M:%S",)
    checkpoints.commit([pending.mark])
    checkpoints.save()

    # A restart: a new input from the saved checkpoint reads the next line day first at once,
    # where a fresh learner would have read it month first, flagged layout_unsettled.
    with log.open("a") as f:
        f.write("[06.11 00:00:01] open again\n")
    restarted = FileInput(source, BatchQueue(1 << 20, 0.01, 1 << 20),
                          Checkpoints(tmp_path / "cp.json").load(), ClockView, Telemetry(), set())
    restarted.discover()
    assert await restarted.poll_once()
    [after] = await restarted.queue.next_batch()
    assert after.chunk.msg == ["[06.11 00:00:01] open again"]
    assert to_rfc3339(after.chunk.ts[0], "UTC")[5:] == "11-06T00:00:01.000000+00:00"
    assert after.chunk.ts_flags == [(0, ["learned"])]


async def test_times_beyond_the_future_tolerance_are_flagged_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "ahead.log"
    log.write_text("2199-01-01T00:00:00Z from a clock far ahead\n2001-01-01T00:00:00Z an old line\n")
    telemetry = Telemetry()
    queue = BatchQueue(1 << 20, 0.01, 1 << 20)
    files = FileInput(FileSource(include=[str(log)], zone="UTC"), queue, Checkpoints(tmp_path / "cp.json"),
                      ClockView, telemetry, set())
    files.discover()
    assert await files.poll_once()
    [pending] = await queue.next_batch()
    assert pending.chunk.ts_flags == [(0, ["future"])]
    assert telemetry.registry.get_sample_value("chronolog_agent_lines_future_total",
                                               {"stream": f"file:{log}"}) == 1.0
