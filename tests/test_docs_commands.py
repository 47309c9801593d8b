"""Docs are executable: every command README.md and docs/ show is accepted by the program's
real argument parser (and every ``make`` target exists), so a document cannot drift from the
parser unnoticed. Commands that can run here are also run for real by the tests that own them
(docs/install.md by tests/system/test_install.py, inside a real systemd).

How to write a document so that this test can read it: tests/support/docs.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
from support.docs import (
    COMMAND_LANGUAGES,
    OTHER_LANGUAGES,
    ROOT,
    blocks,
    commands,
    doc_files,
    simple_commands,
    synopses,
    variants,
)

from agent.cli import build_parser as agent_parser
from chronolog.cli.main import build_parser as chronolog_parser
from chronolog.cliutil import UsageError
from collector.cli import build_parser as collector_parser

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "chronolog": chronolog_parser,
    "chronolog-agent": agent_parser,
    "chronolog-collector": collector_parser,
}
DOCS = doc_files()
# An argparse complaint that only says something is missing: a synopsis may leave it out.
MISSING = ("the following arguments are required", "one of the arguments")


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {t for line in re.findall(r"^([\w./ -]+?)\s*:(?!=)", text, re.M) for t in line.split()}


def bench_parser(script: str) -> argparse.ArgumentParser | None:
    """The argument parser of a benchmark in bench/ (its ``build_parser()``), refusing with
    `UsageError` instead of exiting; None if it has none."""
    spec = importlib.util.spec_from_file_location(f"bench_{Path(script).stem}", ROOT / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build = getattr(module, "build_parser", None)
    if build is None:
        return None
    parser: argparse.ArgumentParser = build()

    def refuse(message: str) -> NoReturn:
        raise UsageError(f"{script}: {message}")

    parser.error = refuse  # type: ignore[method-assign]
    return parser


def check_bench(script: str, argv: list[str]) -> str | None:
    if not (ROOT / script).is_file():
        return f"no benchmark {script}"
    parser = bench_parser(script)
    if parser is None:
        return f"{script} has no build_parser() for this test to check its arguments with"
    try:
        parser.parse_args(argv)
    except UsageError as e:
        return str(e)
    except SystemExit:  # --help
        pass
    return None


def check(words: list[str], partial: bool = False) -> str | None:
    """Why ``words`` (one simple command) is refused, or None when it is accepted or is not
    one of ours. ``partial``: arguments may be missing (a synopsis)."""
    program = Path(words[0]).name
    if program.startswith("python") and len(words) > 1 and words[1].startswith("bench/"):
        return check_bench(words[1], words[2:])
    if program == "make":
        targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w and w != "..."]
        unknown = [t for t in targets if t not in make_targets()]
        return f"no make target {unknown[0]!r} in the Makefile" if unknown else None
    if program not in PARSERS:
        return None
    argv = words[1:]
    tries = [argv]
    if "..." in argv:  # "more of the same" or a value left out: either reading will do
        tries = [[w for w in argv if w != "..."], [("X" if w == "..." else w) for w in argv]]
    problem = None
    for attempt in tries:
        try:
            PARSERS[program]().parse_args(attempt)
            return None
        except UsageError as e:
            problem = str(e)
            if (partial and problem.startswith(MISSING)) or _placeholder_refused(problem):
                return None
        except SystemExit:  # --help or --version
            return None
    return problem


def _placeholder_refused(problem: str) -> bool:
    """A value in capitals (FILE, DAYS) stands for one: its type is not the document's to show."""
    refused = re.search(r"invalid \w+ value: '([^']*)'", problem)
    return bool(refused and re.fullmatch(r"[A-Z][A-Z0-9_.:-]*", refused.group(1)))


def describe(where: str, shown: str, problem: str) -> str:
    return f"{where}: `{shown}`\n    {problem}"


def test_every_fenced_block_says_what_it_is() -> None:
    known = COMMAND_LANGUAGES + OTHER_LANGUAGES
    wrong = [f"{b.doc}:{b.line}: ```{b.language}" for doc in DOCS for b in blocks(doc)
             if b.language not in known]
    assert not wrong, (
        "fenced blocks without a known language (" + ", ".join(COMMAND_LANGUAGES[:1]) + " for commands, "
        "console for `$ ` commands with their output, text for output and diagrams, or one of "
        f"{', '.join(OTHER_LANGUAGES[1:])}):\n" + "\n".join(wrong))


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_command_shown_is_accepted(doc: Path) -> None:
    refused = []
    for command in commands(doc):
        try:
            parts = simple_commands(command.shell_line)
        except ValueError as e:
            refused.append(describe(command.where, command.text, f"not a shell command: {e}"))
            continue
        for words in parts:
            problem = check(words)
            if problem:
                refused.append(describe(command.where, command.text, problem))
    assert not refused, "commands the parsers refuse (fix the document or the parser):\n" + "\n".join(refused)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_synopsis_in_the_prose_is_accepted(doc: Path) -> None:
    refused = []
    for synopsis in synopses(doc):
        try:
            lines = variants(synopsis.text)
        except ValueError as e:
            refused.append(describe(synopsis.where, synopsis.text, str(e)))
            continue
        for words in lines:
            problem = check(words, partial=True)
            if problem:
                refused.append(describe(synopsis.where, synopsis.text, f"as `{' '.join(words)}`: {problem}"))
    assert not refused, "synopses the parsers refuse (fix the document or the parser):\n" + "\n".join(refused)


def test_the_checker_refuses_what_drifted(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "drift.md"
    doc.parent.mkdir()
    doc.write_text(
        "Run it:\n\n```sh\nchronolog-collector keys init --bogus F   # refused\n"
        "make no-such-target\nchronolog --token-file t query --since 1h | grep x\n```\n\n"
        "Output:\n\n```text\nchronolog-collector not a command\n```\n\n"
        "```console\n$ chronolog-agent clock --once\nchronolog-agent: output, not a command\n```\n\n"
        "See `chronolog-agent status [--jsn]` and `chronolog admin retention set --tenant T`.\n")
    problems = [(c.line, check(words)) for c in commands(doc, tmp_path) for words in simple_commands(c.text)]
    assert [(line, bool(p)) for line, p in problems] == [(4, True), (5, True), (6, False), (6, False),
                                                         (16, False)]
    assert "unrecognized arguments: --bogus F" in str(problems[0][1])
    assert "chronolog-collector keys init" in str(problems[0][1])  # which subcommand to ask --help
    spans = [(s.text, [check(w, partial=True) for w in variants(s.text)]) for s in synopses(doc, tmp_path)]
    assert spans[0][0] == "chronolog-agent status [--jsn]" and spans[0][1][0] is not None
    assert spans[1][1] == [None]  # DAYS left out of a synopsis is fine


def test_benchmark_commands_are_checked_against_their_own_parsers() -> None:
    python = ".venv/bin/python"
    shippers = "chronolog,chronolog+tls,agent->ack"
    assert check([python, "bench/ship.py", "--idle", "0", "--only", shippers]) is None
    assert check([python, "bench/store_scan.py", "--lines", "2000000"]) is None
    refused = {
        "unknown shipper 'chronolog+ssl'": [python, "bench/ship.py", "--only", "chronolog+ssl"],
        "unrecognized arguments: --bogus": [python, "bench/store_ingest.py", "--bogus"],
        "invalid int value: 'many'": [python, "bench/cluster_ingest.py", "--runs", "many"],
        "no benchmark bench/nothing.py": [python, "bench/nothing.py"],
        "bench/sinks.py has no build_parser()": [python, "bench/sinks.py", "ack"],
    }
    for said, words in refused.items():
        assert said in str(check(words)), words


def test_global_options_are_accepted_after_the_subcommand() -> None:
    parse = chronolog_parser().parse_args
    before = parse(["--url", "http://h:1", "--token-file", "t", "query", "--since", "1h"])
    after = parse(["query", "--since", "1h", "--url", "http://h:1", "--token-file", "t"])
    assert (after.url, after.token_file) == (before.url, before.token_file) == ("http://h:1", Path("t"))
    nested = chronolog_parser().parse_args(["admin", "retention", "show", "--url", "http://h:2"])
    assert nested.url == "http://h:2"
    # Where a subcommand has the flag itself, its own meaning wins: the new token's file.
    issued = chronolog_parser().parse_args(["--token-file", "admin.token", "admin", "credentials", "issue",
                                            "--tenant", "t", "--role", "agent", "--name", "n",
                                            "--token-file", "new.token"])
    assert (issued.token_file, issued.issued_token_file) == (Path("admin.token"), Path("new.token"))
    for argv in (["keys", "init", "--config", "c.toml"], ["keys", "--config", "c.toml", "init"],
                 ["credentials", "issue", "--tenant", "t", "--role", "agent", "--name", "n", "-c", "c.toml"]):
        assert collector_parser().parse_args(argv).config == Path("c.toml"), argv
    assert collector_parser().parse_args(["keys", "init"]).config is None
