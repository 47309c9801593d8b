"""The commands the documentation shows, found the way a reader finds them.

Every fenced block in README.md and docs/ declares a language (checked by
tests/test_docs_commands.py):

- ``sh`` (or ``shell``, ``bash``): every line is a command, run as written (``\\`` continues a
  line, ``#`` starts a comment, a here-document ``<<'EOF'`` ... ``EOF`` belongs to its command);
- ``console``: lines starting with ``$ `` are commands, the other lines are their output;
- anything else (``text``, ``json``, ``toml``, ``yaml``, ...): not commands, never checked.

Code spans in the prose that start with one of our programs (```chronolog-agent status```) are
*synopses*: ``[optional]`` parts, ``a|b`` alternatives and a final ``...`` are understood, and
arguments may be left out.

A test that runs a document's commands for real takes them from here (``commands(doc)``), so
what the reader sees is what runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMMAND_LANGUAGES",
    "OTHER_LANGUAGES",
    "ROOT",
    "Block",
    "Command",
    "Synopsis",
    "blocks",
    "commands",
    "doc_files",
    "simple_commands",
    "synopses",
    "variants",
]

ROOT = Path(__file__).resolve().parents[2]
COMMAND_LANGUAGES = ("sh", "shell", "bash", "console")
# Blocks in these languages are shown, not run: output, diagrams, file contents.
OTHER_LANGUAGES = ("text", "json", "toml", "yaml", "ini", "python", "promql", "http", "diff", "systemd")
OURS = ("chronolog", "chronolog-agent", "chronolog-collector", "make")


@dataclass(frozen=True)
class Block:
    doc: str  # path relative to the repository
    line: int  # of the opening fence
    language: str
    lines: tuple[tuple[int, str], ...]  # (line number, text)


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str  # as written, continuation lines joined, a here-document after a newline

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def shell_line(self) -> str:
        """The command without its here-document."""
        return self.text.split("\n", 1)[0]


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def blocks(path: Path, root: Path = ROOT) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    doc = str(path.relative_to(root))
    found: list[Block] = []
    opened: tuple[int, str, str] | None = None  # line, fence, language
    body: list[tuple[int, str]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = text.lstrip()
        if opened is None:
            fence = re.match(r"(`{3,}|~{3,})(.*)$", stripped)
            if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):  # CommonMark
                opened, body = (number, fence.group(1), fence.group(2).strip().split(" ")[0]), []
        elif stripped.startswith(opened[1]) and not stripped.strip(opened[1][0]).strip():
            found.append(Block(doc, opened[0], opened[2], tuple(body)))
            opened = None
        else:
            body.append((number, text))
    if opened is not None:
        found.append(Block(doc, opened[0], opened[2], tuple(body)))
    return found


def commands(path: Path, root: Path = ROOT) -> list[Command]:
    """Every command of the document's command blocks, as written."""
    found: list[Command] = []
    for block in blocks(path, root):
        if block.language not in COMMAND_LANGUAGES:
            continue
        pending: tuple[int, str] | None = None
        heredoc: tuple[Command, str, list[str]] | None = None  # command, end word, body
        for number, text in block.lines:
            if heredoc is not None:
                command, end, body = heredoc
                if text.strip() == end:
                    found.append(Command(command.doc, command.line, "\n".join([command.text, *body, end])))
                    heredoc = None
                else:
                    body.append(text)
                continue
            if pending is None:
                if block.language == "console":
                    if not text.startswith("$ "):
                        continue  # output
                    text = text[2:]
                if not text.strip() or text.lstrip().startswith("#"):
                    continue
                pending = (number, "")
            joined = pending[1] + text.strip()
            if joined.endswith("\\"):
                pending = (pending[0], joined[:-1].rstrip() + " ")
                continue
            command = Command(block.doc, pending[0], _without_comment(joined))
            pending = None
            opens = re.search(r"<<-?\s*(['\"]?)(\w+)\1", command.text)
            if opens:
                heredoc = (command, opens.group(2), [])
            else:
                found.append(command)
        if pending is not None:
            found.append(Command(block.doc, pending[0], _without_comment(pending[1])))
        if heredoc is not None:
            raise ValueError(f"{block.doc}:{heredoc[0].line}: the here-document is not closed by "
                             f"{heredoc[1]}")
    return found


def _without_comment(text: str) -> str:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        list(lexer)
    except ValueError:
        return text.strip()  # unbalanced quotes: shown to the test as written
    # shlex cannot say where the comment began: cut at the first '#' outside quotes that
    # starts a word.
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip()
    return text.strip()


def simple_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell line (split at ``|``, ``&&``, ``||``, ``;``), each as
    its words, without redirections, leading ``VAR=value`` assignments and ``sudo``."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    words = list(lexer)
    found: list[list[str]] = []
    current: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in ("|", "||", "&&", ";", "&"):
            found.append(current)
            current = []
        elif word in (">", ">>", "<", "2>", "&>"):
            skip_next = True
        elif not current and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word) or word == "sudo"):
            continue
        else:
            current.append(word)
    found.append(current)
    return [c for c in found if c]


@dataclass(frozen=True)
class Synopsis:
    doc: str
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def synopses(path: Path, root: Path = ROOT) -> list[Synopsis]:
    """Code spans in the prose (outside fenced blocks) that start with one of our programs."""
    doc = str(path.relative_to(root))
    inside = {n for b in blocks(path, root)
              for n in [b.line, *(x for x, _ in b.lines), b.line + len(b.lines) + 1]}
    found = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number in inside:
            continue
        for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", text):
            if span.split(" ")[0] in OURS and " " in span.strip():
                found.append(Synopsis(doc, number, span.replace("\\|", "|")))
    return found


def variants(synopsis: str) -> list[list[str]]:
    """The command lines a synopsis stands for, enough to try every part of it once: every
    ``[optional]`` part included, and each alternative (``a|b``, ``[x | y z]``) in turn with
    the others at their first. ``...`` is kept as a word (the caller decides what it means)."""
    tokens = _tokens(synopsis)
    alternatives, end = _sequence(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unbalanced brackets in {synopsis!r}")
    return _expand([("group", alternatives)])


# A synopsis item: ("word", its alternatives) or ("group", alternative sequences of items).
_Item = tuple[str, list]  # type: ignore[type-arg]


def _tokens(synopsis: str) -> list[str]:
    tokens: list[str] = []
    for word in synopsis.split():
        while word.startswith("["):
            tokens.append("[")
            word = word[1:]
        closing = 0
        while word.endswith("]") and word.count("]") > word.count("["):
            word, closing = word[:-1], closing + 1
        if word:
            tokens.append(word)
        tokens += ["]"] * closing
    return tokens


def _sequence(tokens: list[str], i: int) -> tuple[list[list[_Item]], int]:
    """Items from ``i`` to the end or to a ``]``; a ``|`` token starts another alternative."""
    alternatives: list[list[_Item]] = [[]]
    while i < len(tokens) and tokens[i] != "]":
        if tokens[i] == "|":
            alternatives.append([])
            i += 1
        elif tokens[i] == "[":
            inner, i = _sequence(tokens, i + 1)
            if i >= len(tokens):
                raise ValueError("a '[' is not closed")
            alternatives[-1].append(("group", inner))
            i += 1
        else:
            alternatives[-1].append(("word", tokens[i].split("|")))
            i += 1
    return alternatives, i


def _expand(sequence: list[_Item]) -> list[list[str]]:
    per_item = [_item_variants(item) for item in sequence]
    base = [word for options in per_item for word in options[0]]
    found = [base]
    for i, options in enumerate(per_item):
        for other in options[1:]:
            found.append([w for j, o in enumerate(per_item) for w in (other if j == i else o[0])])
    return found


def _item_variants(item: _Item) -> list[list[str]]:
    kind, alternatives = item
    if kind == "word":
        return [[word] for word in alternatives]
    return [v for alternative in alternatives for v in _expand(alternative)]
