from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.config import load_config as load_agent
from chronolog.config_loading import ConfigError
from collector.config import load_config as load_collector


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_agent(path)
    return str(info.value)


def test_bad_value_names_key_value_and_expectation(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "[agent.batch]\nmax_bytes = -5\n"))
    assert "agent.batch.max_bytes = -5" in message
    assert "expected greater than or equal to 1024" in message
    assert message.count("\n") == 0


def test_unknown_key_is_an_error_listing_the_allowed_keys(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "[agent.batch]\nmax_byte = 5\n"))
    assert "agent.batch.max_byte: unknown key" in message
    assert "max_bytes" in message


def test_unknown_key_inside_a_list_of_tables(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[[agent.files]]\ninclude = ["/x/*.log"]\nzonee = "UTC"\n'))
    assert "agent.files.0.zonee: unknown key" in message
    assert "include" in message


def test_unknown_top_level_table_is_an_error(tmp_path: Path) -> None:
    assert "unknown top-level key 'agnet'" in error_of(write(tmp_path, "[agnet]\nhost = 'x'\n"))


def test_bad_zone_and_relative_glob_are_explained(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[agent]\nzone = "Tokyo"\n'))
    assert "agent.zone = 'Tokyo'" in message and "IANA" in message
    message = error_of(write(tmp_path, '[[agent.files]]\ninclude = ["logs/*.log"]\n'))
    assert "absolute path pattern" in message


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[agent]\nzone = "Nowhere"\nlog_level = "loud"\n'))
    lines = message.splitlines()
    assert len(lines) == 2
    assert any("agent.zone" in line for line in lines)
    assert any("agent.log_level = 'loud'" in line for line in lines)


def test_values_under_secret_looking_keys_are_not_echoed(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[agent.collector]\ntoken_file = 12345\n'))
    assert "agent.collector.token_file = <hidden>" in message
    assert "12345" not in message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in error_of(write(tmp_path, "[agent\n"))
    assert "no such file" in error_of(tmp_path / "absent.toml")


def test_plain_http_to_a_remote_collector_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[agent.collector]\nurl = "http://10.0.0.5:8470"\n'))
    assert "loopback" in message


def test_collector_refuses_a_public_listen_address_without_tls(tmp_path: Path) -> None:
    path = write(tmp_path, '[collector.api]\nlisten = "0.0.0.0:8470"\n')
    with pytest.raises(ConfigError) as info:
        load_collector(path)
    assert "loopback" in str(info.value)


def test_an_empty_table_means_defaults_and_local_zone_is_resolved(tmp_path: Path) -> None:
    config = load_agent(write(tmp_path, "[agent]\n[collector]\n"))
    assert config == AgentConfig()
    assert config.files[0].zone != "local"


def test_a_file_without_the_programs_table_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[collector]\n")
    assert "no [agent] table" in error_of(path)
    with pytest.raises(ConfigError, match=r"c.toml: no \[collector\] table"):
        load_collector(write(tmp_path, "[agent]\n"))


def test_drop_ins_merge_table_by_table_in_name_order(tmp_path: Path) -> None:
    path = write(tmp_path, '[agent]\nzone = "UTC"\nlog_level = "debug"\n[agent.batch]\nmax_bytes = 4096\n'
                           '[[agent.files]]\ninclude = ["/a/*.log"]\n')
    (tmp_path / "c.toml.d").mkdir()
    (tmp_path / "c.toml.d" / "20-host.toml").write_text('[agent.batch]\nmax_delay = 2.0\n'
                                                        '[[agent.files]]\ninclude = ["/b/*.log"]\n')
    (tmp_path / "c.toml.d" / "10-site.toml").write_text('[agent]\nlog_level = "error"\n')
    (tmp_path / "c.toml.d" / "notes.txt").write_text("not a drop-in")
    config = load_agent(path)
    assert (config.zone, config.log_level) == ("UTC", "error")
    assert (config.batch.max_bytes, config.batch.max_delay) == (4096, 2.0)  # merged key by key
    assert [f.include for f in config.files] == [["/b/*.log"]]  # a list is replaced whole
    (tmp_path / "c.toml.d" / "30-bad.toml").write_text('[agent]\nzone = "Mars/Base"\n')
    message = error_of(path)
    assert message.startswith(f"{path} (with 10-site.toml, 20-host.toml, 30-bad.toml): agent.zone")
