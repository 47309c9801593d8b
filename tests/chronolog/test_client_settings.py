"""Where `chronolog` finds its collector and token: option, environment, settings file, default."""

from __future__ import annotations

from pathlib import Path

import pytest

from chronolog.cli.main import build_parser, main


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("CHRONOLOG_URL", "CHRONOLOG_TOKEN_FILE", "CHRONOLOG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "chronolog" / "client.toml"
    path.parent.mkdir()
    path.write_text('[client]\nurl = "https://collector.example:8470"\ntoken_file = "/srv/alice.token"\n')
    return path


def test_option_then_environment_then_file_then_default(settings_file: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["query", "--since", "1h"])
    assert (args.url, args.token_file) == ("https://collector.example:8470", Path("/srv/alice.token"))
    monkeypatch.setenv("CHRONOLOG_URL", "https://other.example:8470")
    assert build_parser().parse_args(["streams"]).url == "https://other.example:8470"
    assert build_parser().parse_args(["streams", "--url", "http://127.0.0.1:1"]).url == "http://127.0.0.1:1"
    settings_file.unlink()
    monkeypatch.delenv("CHRONOLOG_URL")
    assert build_parser().parse_args(["streams"]).url == "http://127.0.0.1:8470"


def test_a_bad_settings_file_is_one_line_naming_the_key(settings_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    settings_file.write_text('[client]\ntoken_file = "alice.token"\n')
    assert main(["streams"]) == 2
    assert f"{settings_file}: client.token_file = " in capsys.readouterr().err
    monkeypatch.setenv("CHRONOLOG_CONFIG", str(settings_file.parent / "absent.toml"))
    assert main(["streams"]) == 2
    assert "absent.toml: no such file" in capsys.readouterr().err
