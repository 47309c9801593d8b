"""`make package`: the Debian 12 (amd64) package of chronolog, written to dist/.

What it holds (docs/install.md says how an operator uses it):

- /usr/lib/chronolog/venv: a self-contained environment on Debian's python3.11 with every
  Python dependency at the version and hash packaging/requirements.lock pins (installing
  needs no network), and chronolog itself built from this checkout;
- /usr/bin/chronolog, chronolog-agent, chronolog-collector (links into it);
- the units (systemd/), /usr/lib/sysusers.d/chronolog.conf (the agent's user);
- /etc/chronolog/chronolog.toml, a conffile made from config.example.toml, and the root-only
  directories the units hand over as credentials (/etc/chronolog/agent, /etc/chronolog/collector);
- /usr/share/doc/chronolog: README, docs/ (the units point at them), a CycloneDX SBOM of
  everything bundled (sbom.cdx.json); /usr/share/chronolog/prometheus: the alert rules;
- the maintainer scripts of packaging/debian/: installing starts nothing.

Built with Debian's dpkg-deb; `lintian dist/chronolog_*.deb` lints it. File times are set to
SOURCE_DATE_EPOCH (default: the last commit's time).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from email.utils import formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
WORK = ROOT / "build" / "package"
DIST = ROOT / "dist"
PYTHON = Path("/usr/bin/python3.11")  # Debian 12's: the environment links to it
VENV = Path("usr/lib/chronolog/venv")
PROGRAMS = ("chronolog", "chronolog-agent", "chronolog-collector")
PRIVATE_DIRS = ("etc/chronolog/agent", "etc/chronolog/collector")  # root only: LoadCredential=
REVISION = "1"
MAINTAINER = "chronolog maintainers <chronolog-maintainers@example.org>"


def run(*cmd: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kwargs)  # type: ignore[call-overload]


def version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def source_date_epoch() -> int:
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    out = run("git", "-C", ROOT, "log", "-1", "--format=%ct", capture_output=True).stdout.strip()
    return int(out)


def build_environment(stage: Path) -> None:
    """The bundled environment: Debian's python3.11, the locked dependencies, chronolog."""
    venv = stage / VENV
    run(PYTHON, "-m", "venv", "--without-pip", venv)
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
           "--no-compile", "--no-deps", "--disable-pip-version-check"]
    # Byte code is compiled on the target by postinst: compiled here it would name these paths.
    locked = [*pip, "--only-binary", ":all:", "--require-hashes", "-r", PACKAGING / "requirements.lock"]
    for attempt in range(3):  # a download cut short by the network is not retried by pip itself
        try:
            run(*locked)
            break
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            print(f"build.py: installing the locked dependencies failed; trying again ({attempt + 2} of 3)",
                  file=sys.stderr)
    wheels = WORK / "wheel"
    for stale in (ROOT / "build" / "lib", *ROOT.glob("build/bdist.*")):  # setuptools reuses them
        shutil.rmtree(stale, ignore_errors=True)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", wheels, ROOT)
    run(*pip, *wheels.glob("chronolog-*.whl"))
    for direct_url in (venv / "lib").glob("python3.11/site-packages/chronolog-*.dist-info/direct_url.json"):
        direct_url.unlink()  # it names the build directory
    # venv wrote the staging path into the scripts and pyvenv.cfg: make them the installed one.
    for path in [*(venv / "bin").iterdir(), venv / "pyvenv.cfg"]:
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes()
            if str(stage).encode() in text:
                path.write_bytes(text.replace(str(stage).encode(), b""))
    # Only our programs and the interpreter links: no activate scripts (nobody activates it),
    # no dependencies' own commands.
    for path in (venv / "bin").iterdir():
        if not path.name.startswith("python") and path.name not in PROGRAMS:
            path.unlink()
    # Debug symbols stay out, as dh_strip does for Debian's own packages.
    libraries = sorted(str(p) for p in (venv / "lib").rglob("*.so"))
    run("strip", "--strip-unneeded", "--remove-section=.comment", "--remove-section=.note", *libraries)
    for program in PROGRAMS:
        link = stage / "usr" / "bin" / program
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../lib/chronolog/venv/bin") / program)


def install_files(stage: Path, deb_version: str, epoch: int) -> None:
    def put(source: Path, target: str, mode: int = 0o644) -> None:
        path = stage / target
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        path.chmod(mode)

    for unit in sorted((ROOT / "systemd").glob("*.service")):
        put(unit, f"lib/systemd/system/{unit.name}")
    put(PACKAGING / "sysusers.conf", "usr/lib/sysusers.d/chronolog.conf")
    put(ROOT / "config.example.toml", "etc/chronolog/chronolog.toml")
    (stage / "etc/chronolog/chronolog.toml.d").mkdir()
    for private in PRIVATE_DIRS:
        (stage / private).mkdir(parents=True)
    doc = "usr/share/doc/chronolog"
    put(ROOT / "README.md", f"{doc}/README.md")
    for md in sorted((ROOT / "docs").rglob("*.md")):
        put(md, f"{doc}/{md.relative_to(ROOT / 'docs')}")
    put(PACKAGING / "copyright", f"{doc}/copyright")
    put(PACKAGING / "lintian-overrides", "usr/share/lintian/overrides/chronolog")
    changelog = (f"chronolog ({deb_version}) bookworm; urgency=medium\n\n"
                 "  * Built from the chronolog repository.\n\n"
                 f" -- {MAINTAINER}  {formatdate(epoch)}\n")
    with (stage / doc / "changelog.Debian.gz").open("wb") as f:
        f.write(gzip.compress(changelog.encode(), 9, mtime=0))
    for rules in sorted((ROOT / "deploy" / "prometheus").glob("*.yml")):
        put(rules, f"usr/share/chronolog/prometheus/{rules.name}")


def manual_pages(stage: Path, epoch: int) -> None:
    """A man page per program, from its --help (help2man), run from this checkout."""
    summaries = {"chronolog": "query and administer chronolog's collector",
                 "chronolog-agent": "chronolog's agent: ship this host's logs with verified time",
                 "chronolog-collector": "chronolog's collector: the central, durable log store"}
    pages = stage / "usr/share/man/man1"
    pages.mkdir(parents=True)
    for program, summary in summaries.items():
        page = run("help2man", "--no-info", f"--version-string={version()}", "--name", summary,
                   Path(sys.executable).parent / program, capture_output=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}).stdout
        (pages / f"{program}.1.gz").write_bytes(gzip.compress(page.encode(), 9, mtime=0))


def write_sbom(stage: Path) -> None:
    """A CycloneDX SBOM of what the environment holds, generated from the environment itself."""
    out = stage / "usr/share/doc/chronolog/sbom.cdx.json"
    run(Path(sys.executable).parent / "cyclonedx-py", "environment", "--pyproject", ROOT / "pyproject.toml",
        "--output-format", "JSON", "--output-file", out, "--output-reproducible", "--mc-type", "application",
        stage / VENV / "bin" / "python")
    out.chmod(0o644)


def control(stage: Path, deb_version: str) -> None:
    debian = stage / "DEBIAN"
    debian.mkdir()
    size_kib = sum(p.lstat().st_size for p in stage.rglob("*") if not p.is_dir()) // 1024
    text = (PACKAGING / "debian" / "control").read_text()
    (debian / "control").write_text(text.format(version=deb_version, installed_size=size_kib,
                                                maintainer=MAINTAINER))
    (debian / "conffiles").write_text("/etc/chronolog/chronolog.toml\n")
    for script in ("postinst", "prerm", "postrm"):
        shutil.copyfile(PACKAGING / "debian" / script, debian / script)
        (debian / script).chmod(0o755)
    sums = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(stage)
        if relative.parts[0] not in ("DEBIAN", "etc"):  # conffiles are checked by dpkg itself
            sums.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {relative}\n")  # noqa: S324 (dpkg's format)
    (debian / "md5sums").write_text("".join(sums))


def normalise(stage: Path, epoch: int) -> None:
    """Modes as Debian expects them, and every time set to ``epoch``."""
    executables = {stage / VENV / "bin" / p for p in PROGRAMS} | set((stage / "DEBIAN").glob("p*"))
    for path in [stage, *stage.rglob("*")]:
        if path.is_symlink():
            pass
        elif path.is_dir():
            private = str(path.relative_to(stage)) in PRIVATE_DIRS
            path.chmod(0o700 if private else 0o755)
        else:
            path.chmod(0o755 if path in executables else 0o644)
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def main() -> int:
    if not PYTHON.is_file():
        sys.exit(f"{PYTHON} is missing: the package is for Debian 12, built with its python3.11")
    deb_version = f"{version()}-{REVISION}"
    epoch = source_date_epoch()
    shutil.rmtree(WORK, ignore_errors=True)
    stage = WORK / "root"
    stage.mkdir(parents=True)
    build_environment(stage)
    install_files(stage, deb_version, epoch)
    manual_pages(stage, epoch)
    write_sbom(stage)
    # Relative, as Debian wants (it no longer resolves here, so only after the SBOM).
    python = stage / VENV / "bin" / "python3.11"
    python.unlink()
    python.symlink_to(os.path.relpath(PYTHON, Path("/") / VENV / "bin"))
    control(stage, deb_version)
    normalise(stage, epoch)
    DIST.mkdir(exist_ok=True)
    deb = DIST / f"chronolog_{deb_version}_amd64.deb"
    run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", stage, deb,
        env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}, stdout=subprocess.DEVNULL)
    shown = deb.relative_to(ROOT)
    print(f"{shown} ({deb.stat().st_size // 1024} KiB); lint it with: lintian {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
