# ruff: noqa: E501 -- the tables below hold whole log lines and their oracles, one per row
"""Capture the real-log corpus: run real programs here under faketime and keep what they write.

    .venv/bin/python tests/chronolog/timestamps/corpus/capture.py              # every set
    .venv/bin/python tests/chronolog/timestamps/corpus/capture.py nginx redis  # some sets

Each set is two files beside this script: ``NAME.log``, the lines exactly as the program
wrote them, and ``NAME.json``: the program and its version, the command, the zone it ran in,
the instant faketime started its clock at (``start``) and how long it ran (``seconds``), when
it really ran (``captured``, UTC: a few writes escape faketime, as PostgreSQL's "ready to
accept connections"), the
source zone and read time to read the lines with, and the **second parser** (``oracle``): a
regular expression finding each line's timestamp and the ``strptime`` layout reading it,
which `test_corpus.py` uses, with `zoneinfo` (not pytz), to derive the expected instants
independently of the engine. That test also checks every expected instant lies within the
program's own faked clock window.

The programs are Debian packages (nginx-light apache2 redis-server mariadb-server postgresql
squid haproxy exim4-daemon-light golang-go liblogback-java liblog4j2-java openjdk nodejs
faketime); ``apt-get install`` them first. The excerpts are checked in rather than produced
by ``make test``: installing and starting a dozen daemons would add minutes and a dozen
system packages to every CI run for lines that do not change between runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def faked(start: str, zone: str, extra: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv prefix and environment that run a program at ``start`` (its clock then runs on)."""
    env = {"PATH": PATH, "TZ": zone, "HOME": "/root", "LANG": "C.UTF-8", **(extra or {})}
    return ["faketime", start], env


def now_in(zone: str) -> str:
    """The real clock now, as faketime's start is written: local wall time in ``zone``."""
    import datetime as dt
    import zoneinfo
    return dt.datetime.now(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def version(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0]


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def get(url: str, proxy: str | None = None) -> None:
    handlers = [urllib.request.ProxyHandler({"http": proxy} if proxy else {})]
    with contextlib.suppress(Exception):
        urllib.request.build_opener(*handlers).open(url, timeout=10).read()


@contextlib.contextmanager
def daemon(argv: list[str], env: dict[str, str], **kw: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env=env, stdout=kw.pop("stdout", subprocess.DEVNULL),  # type: ignore[arg-type]
                            stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)  # type: ignore[arg-type]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


Capture = dict[str, tuple[list[str], dict[str, object]]]


def nginx(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Asia/Tokyo"
    port = free_port()
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("hi\n")
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
pid {tmp}/nginx.pid; error_log {tmp}/error.log info; daemon off; master_process on;
events {{ }}
http {{ access_log {tmp}/access.log combined; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; root {tmp}/www; }} }}
""")
    prefix, env = faked(start, zone)
    with daemon([*prefix, "nginx", "-c", str(conf), "-p", str(tmp)], env):
        wait_port(port)
        for i in range(30):
            get(f"http://127.0.0.1:{port}/" + ("" if i % 3 else f"missing/{i}"))
    run = {"program": version(["nginx", "-v"]), "zone": zone, "start": start}
    return {
        "nginx_error": (read(tmp / "error.log"), {**run, "command": "nginx (error_log info)",
                        "oracle": {"regex": r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)", "layout": "%Y/%m/%d %H:%M:%S"}}),
        "nginx_access": (read(tmp / "access.log"), {**run, "command": "nginx (access_log combined)",
                         "oracle": {"regex": r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]",
                                    "layout": "%d/%b/%Y:%H:%M:%S %z"}}),
    }


def apache2(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Europe/Berlin"
    port = free_port()
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("hi\n")
    mods = "/usr/lib/apache2/modules"
    conf = tmp / "apache2.conf"
    conf.write_text(f"""
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {tmp}/httpd.pid
DefaultRuntimeDir {tmp}
User www-data
Group www-data
ErrorLog {tmp}/error.log
LogLevel info
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog {tmp}/access.log common
DocumentRoot {tmp}/www
<Directory {tmp}/www>
  Require all granted
</Directory>
""")
    os.chmod(tmp, 0o755)
    prefix, env = faked(start, zone)
    with daemon([*prefix, "apache2", "-f", str(conf), "-DFOREGROUND"], env):
        wait_port(port)
        for i in range(30):
            get(f"http://127.0.0.1:{port}/" + ("" if i % 3 else f"missing/{i}"))
        time.sleep(0.5)
    run = {"program": version(["apache2", "-v"]), "zone": zone, "start": start}
    return {
        "apache2_error": (read(tmp / "error.log"), {**run, "command": "apache2 -DFOREGROUND (LogLevel info)",
                          "oracle": {"regex": r"^\[\w{3} (\w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4})\]",
                                     "layout": "%b %d %H:%M:%S.%f %Y"}}),
        "apache2_access": (read(tmp / "access.log"), {**run, "command": "apache2 (CustomLog common)",
                           "oracle": {"regex": r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]",
                                      "layout": "%d/%b/%Y:%H:%M:%S %z"}}),
    }


def redis(tmp: Path) -> Capture:
    # redis-server's allocator (jemalloc) and libfaketime clash: it runs on the real clock.
    zone = "America/New_York"
    start = now_in(zone)
    port = free_port()
    prefix, env = [], {"PATH": PATH, "TZ": zone}
    log = tmp / "redis.log"
    with daemon([*prefix, "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--logfile", str(log), "--loglevel", "verbose", "--dir", str(tmp)], env):
        wait_port(port)
        for _ in range(5):
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, timeout=10, check=False)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10,
                       check=False)
        time.sleep(0.5)
    return {"redis": (read(log), {"program": version(["redis-server", "--version"]), "zone": zone,
                                  "start": start, "command": "redis-server --loglevel verbose",
                                  "oracle": {"regex": r"(\d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3})",
                                             "layout": "%d %b %Y %H:%M:%S.%f"}})}


def postgresql(tmp: Path) -> Capture:
    out: Capture = {}
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    for name, zone, start in (("postgresql_ist", "Asia/Kolkata", "2026-11-27 09:14:03"),
                              ("postgresql_est", "America/New_York", "2026-11-27 09:14:03")):
        data = tmp / name
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        os.chmod(tmp, 0o755)
        prefix, env = faked(start, zone)
        user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*user, *prefix, str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust"],
                       env=env, capture_output=True, timeout=120, check=True)
        port = free_port()
        logfile = data / "postgresql.log"
        with logfile.open("wb") as f, daemon(
                [*user, *prefix, str(bindir / "postgres"), "-D", str(data / "db"), "-p", str(port),
                 "-k", str(data), "-c", "listen_addresses=127.0.0.1", "-c", f"log_timezone={zone}",
                 "-c", "log_line_prefix=%m [%p] ", "-c", "log_statement=all",
                 "-c", "log_connections=on"], env, stderr=f):
            wait_port(port)
            for i in range(10):
                subprocess.run([*user, str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-d",
                                "postgres", "-c", f"select {i}"], env=env, capture_output=True, timeout=30,
                               check=False)
        out[name] = (read(logfile), {"program": version([str(bindir / "postgres"), "--version"]), "zone": zone,
                                     "start": start, "command": "postgres -c log_line_prefix='%m [%p] '",
                                     "oracle": {"regex": r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) [A-Z]{3}",
                                                "layout": "%Y-%m-%d %H:%M:%S.%f"}})
    return out


def mariadb(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Asia/Tokyo"
    prefix, env = faked(start, zone)
    data = tmp / "db"
    subprocess.run([*prefix, "mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   env=env, capture_output=True, timeout=300, check=True)
    log = tmp / "mariadb.err"
    sock = tmp / "mysqld.sock"
    with daemon([*prefix, "mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                 "--skip-networking", f"--log-error={log}", "--user=root", f"--pid-file={tmp}/m.pid"], env):
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
    return {"mariadb": (read(log), {"program": version(["mariadbd", "--version"]), "zone": zone, "start": start,
                                    "command": "mariadbd --log-error",
                                    "oracle": {"regex": r"^(\d{4}-\d\d-\d\d [ \d]\d:\d\d:\d\d)",
                                               "layout": "%Y-%m-%d %H:%M:%S"}})}


def java(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Asia/Tokyo"
    src = tmp / "Main.java"
    src.write_text("""
import java.util.logging.Logger;
public class Main {
  public static void main(String[] args) throws Exception {
    String kind = args[0];
    for (int i = 0; i < 20; i++) {
      if (kind.equals("jul")) Logger.getLogger("Main").info("request " + i);
      if (kind.equals("date")) System.out.println(new java.util.Date() + " request " + i);
      if (kind.equals("log4j2")) org.apache.logging.log4j.LogManager.getLogger("Main").error("request " + i);
      if (kind.equals("logback")) org.slf4j.LoggerFactory.getLogger("Main").info("request " + i);
      Thread.sleep(20);
    }
  }
}""")
    cp = ":".join(["/usr/share/java/log4j-api.jar", "/usr/share/java/log4j-core.jar",
                   "/usr/share/java/slf4j-api.jar", "/usr/share/java/logback-classic.jar",
                   "/usr/share/java/logback-core.jar", str(tmp)])
    subprocess.run(["javac", "-cp", cp, "-d", str(tmp), str(src)], capture_output=True, timeout=300, check=True)
    prefix, env = faked(start, zone)
    out: Capture = {}
    oracles = {
        "jul": {"regex": r"^(\w{3} \d\d?, \d{4} \d\d?:\d\d:\d\d [AP]M)", "layout": "%b %d, %Y %I:%M:%S %p"},
        "date": {"regex": r"^\w{3} (\w{3} \d\d \d\d:\d\d:\d\d) JST (\d{4})", "layout": "%b %d %H:%M:%S %Y"},
        "log4j2": {"regex": r"^(\d\d:\d\d:\d\d\.\d{3}) ", "layout": "%H:%M:%S.%f", "date": start[:10]},
        "logback": {"regex": r"^(\d\d:\d\d:\d\d\.\d{3}) ", "layout": "%H:%M:%S.%f", "date": start[:10]},
    }
    for kind, oracle in oracles.items():
        done = subprocess.run([*prefix, "java", "-cp", cp, "Main", kind], env=env, capture_output=True,
                              text=True, timeout=300, check=True)
        lines = (done.stdout + done.stderr).splitlines()
        out[f"java_{kind}"] = (lines, {"program": version(["java", "-version"]), "zone": zone, "start": start,
                                       "command": f"java Main {kind} ({'default configuration' if kind != 'date' else 'System.out.println(new Date())'})",
                                       "oracle": oracle})
    return out


# Java's SimpleDateFormat with the layouts apps give it, at instants the program walks itself
# (a seeded clock, so a few hundred lines cover midnight, New Year and a whole year of
# dates); each line's instant is the one the program formatted, printed beside it.
# healthapp: HealthApp's "yyyyMd-H:m:s:S" (nothing padded: 201812-19:39:28:966 is 2 January
# 2018, :6 is 6 ms), with the epoch counts its messages carry (onExtend: the next second).
_JAVA_FORMATS = r"""
import java.text.SimpleDateFormat;
import java.util.*;
public class Formats {
  static String[] STEPS = {"Step_LSC|30002312|onStandStepChanged %d", "Step_LSC|30002312|onExtend:%e 1 0 4",
    "Step_SPUtils|30002312| getTodayTotalDetailSteps = %m##7015##548365##8661##13026##27177962",
    "Step_SPUtils|30002312|setTodayTotalDetailSteps=%m##7017##548365##8661##13121##27179330",
    "Step_ExtSDM|30002312|calculateCaloriesWithCache totalCalories=%d",
    "Step_ExtSDM|30002312|calculateAltitudeWithCache totalAltitude=240",
    "Step_StandReportReceiver|30002312|REPORT : %d 5010 150304 240",
    "Step_StandStepDataManager|30002312|tryToReloadTodayBasicSteps%m|0|14696|0",
    "HiH_HiSyncControl|30002312|checkCurrentDay a new day comes , reset basicSyncCondition, currentDay is %D"};
  public static void main(String[] args) throws Exception {
    String kind = args[0];
    SimpleDateFormat f = new SimpleDateFormat(args[1]);
    SimpleDateFormat day = new SimpleDateFormat("yyyyMMdd");
    long t = new SimpleDateFormat("yyyy-MM-dd HH:mm:ss.SSS").parse(args[2]).getTime();
    Random rng = new Random(Long.parseLong(args[3]));
    for (int i = 0; i < 200; i++) {
      String msg;
      if (kind.equals("healthapp")) {
        msg = STEPS[rng.nextInt(STEPS.length)].replace("%e", Long.toString((t / 1000 + 1) * 1000))
            .replace("%m", Long.toString(t / 60000 * 60000)).replace("%D", day.format(new Date(t)))
            .replace("%d", Integer.toString(3579 + i));
      } else {
        msg = "INFO  [main] c.e.App - request " + i + " took " + rng.nextInt(900) + " ms";
      }
      System.out.println(t + "\t" + f.format(new Date(t)) + (kind.equals("healthapp") ? "|" : " ") + msg);
      int r = rng.nextInt(10);
      long step = r < 6 ? 1 + rng.nextInt(120) : r < 9 ? 1000 + rng.nextInt(60000) : 60000 + rng.nextInt(3600000);
      if (args[4].equals("days")) step = rng.nextInt(4) == 0 ? 86400000L * (1 + rng.nextInt(3)) + rng.nextInt(86400000) : step;
      if (args[4].equals("weeks")) step = 86400000L * (1 + rng.nextInt(4)) + rng.nextInt(86400000);
      t += step;
    }
  }
}"""


def java_formats(tmp: Path) -> Capture:
    import datetime as dt
    zone = "Asia/Shanghai"
    (tmp / "Formats.java").write_text(_JAVA_FORMATS)
    subprocess.run(["javac", "-d", str(tmp), str(tmp / "Formats.java")], capture_output=True, timeout=300, check=True)
    out: Capture = {}
    for name, kind, layout, start, seed, pace in (
        # loghub's HealthApp sample: one night, through midnight (20171224-0:0:1:234)
        ("java_healthapp_night", "healthapp", "yyyyMd-H:m:s:S", "2017-12-23 22:15:29.606", 1, "night"),
        # the dates: New Year (201811), January (2018111 is 11 January, not 1 November), a year on
        ("java_healthapp_days", "healthapp", "yyyyMd-H:m:s:S", "2017-12-30 23:58:10.250", 2, "days"),
        ("java_healthapp_weeks", "healthapp", "yyyyMd-H:m:s:S", "2018-09-20 08:00:00.000", 3, "weeks"),
        # log4j's yyyy-MM-dd HH:mm:ss:SSS (milliseconds after a colon), and d.M.yyyy H:m:s unpadded
        ("java_colon_millis", "app", "yyyy-MM-dd HH:mm:ss:SSS", "2026-11-27 09:14:03.118", 4, "night"),
        ("java_unpadded_dmy", "app", "d.M.yyyy H:m:s", "2026-01-02 03:04:05.000", 5, "weeks"),
    ):
        done = subprocess.run(["java", "-cp", str(tmp), "Formats", kind, layout, start, str(seed), pace],
                              env={"PATH": PATH, "TZ": zone, "LANG": "C.UTF-8"}, capture_output=True, text=True,
                              timeout=300, check=True)
        rows = [line.split("\t", 1) for line in done.stdout.splitlines()]
        unit = 1 if "S" in layout else 1000
        read = dt.datetime.fromtimestamp(int(rows[-1][0]) / 1000 + 3600, dt.UTC)  # read an hour after the last
        out[name] = ([text for _, text in rows], {
            "program": version(["java", "-version"]) + f": SimpleDateFormat({layout!r})", "zone": zone,
            "source_zone": zone, "read_time": read.isoformat().replace("+00:00", "Z"),
            "command": f"java Formats {kind} {layout!r} {start!r} {seed} {pace}",
            # The writer's own instant of each line (ms since the epoch, as µs; to the second
            # where the layout writes no milliseconds): the oracle.
            "oracle": {"instants": [int(ms) // unit * unit * 1000 for ms, _ in rows]}})
    return out


def node(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Asia/Tokyo"
    prefix, env = faked(start, zone)
    out: Capture = {}
    for kind, expr, oracle in (
        ("tostring", "new Date().toString()",
         {"regex": r"^\w{3} (\w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT[+-]\d{4})", "layout": "%b %d %Y %H:%M:%S GMT%z"}),
        ("locale", "new Date().toLocaleString('en-US')",
         {"regex": r"^(\d\d?/\d\d?/\d{4}, \d\d?:\d\d:\d\d [AP]M)", "layout": "%m/%d/%Y, %I:%M:%S %p"}),
        ("utc", "new Date().toUTCString()",
         {"regex": r"^\w{3}, (\d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT)", "layout": "%d %b %Y %H:%M:%S %Z"}),
        ("iso", "new Date().toISOString()",
         {"regex": r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)", "layout": "%Y-%m-%dT%H:%M:%S.%f%z"}),
    ):
        script = f"for (let i = 0; i < 20; i++) console.log({expr} + ' request ' + i);"
        done = subprocess.run([*prefix, "node", "-e", script], env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        out[f"node_{kind}"] = (done.stdout.splitlines(), {"program": "node " + version(["node", "--version"]),
                                                         "zone": zone, "start": start,
                                                         "command": f"node -e 'console.log({expr})'",
                                                         "oracle": oracle})
    return out


def go(tmp: Path) -> Capture:
    # Go reads the clock through the vDSO, past libfaketime: it runs on the real clock.
    zone = "Asia/Tokyo"
    start = now_in(zone)
    (tmp / "main.go").write_text("""package main

import (
	"fmt"
	"log"
	"os"
	"time"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	for i := 0; i < 20; i++ {
		switch os.Args[1] {
		case "log":
			log.Printf("request %d", i)
		case "rfc850":
			fmt.Printf("%s request %d\\n", time.Now().Format(time.RFC850), i)
		case "rubydate":
			fmt.Printf("%s request %d\\n", time.Now().Format(time.RubyDate), i)
		case "string":
			fmt.Printf("%s request %d\\n", time.Now().String(), i)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
""")
    env_build = {"PATH": PATH, "HOME": str(tmp), "GOCACHE": str(tmp / "cache"), "GOFLAGS": "-mod=mod",
                 "GO111MODULE": "off"}
    subprocess.run(["go", "build", "-o", str(tmp / "main"), str(tmp / "main.go")], env=env_build,
                   capture_output=True, timeout=600, check=True)
    prefix, env = [], {"PATH": PATH, "TZ": zone}
    out: Capture = {}
    for kind, oracle in (
        ("log", {"regex": r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6})", "layout": "%Y/%m/%d %H:%M:%S.%f"}),
        ("rfc850", {"regex": r"^\w+, (\d\d-\w{3}-\d\d \d\d:\d\d:\d\d) JST", "layout": "%d-%b-%y %H:%M:%S"}),
        ("rubydate", {"regex": r"^\w{3} (\w{3} \d\d \d\d:\d\d:\d\d [+-]\d{4} \d{4})", "layout": "%b %d %H:%M:%S %z %Y"}),
        ("string", {"regex": r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})\d* ([+-]\d{4})", "layout": "%Y-%m-%d %H:%M:%S.%f %z"}),
    ):
        done = subprocess.run([*prefix, str(tmp / "main"), kind], env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        out[f"go_{kind}"] = ((done.stdout + done.stderr).splitlines(),
                             {"program": version(["go", "version"]), "zone": zone, "start": start,
                              "command": f"a Go program: {'log.Printf' if kind == 'log' else 'time.Now()'} ({kind})",
                              "oracle": oracle})
    return out


# Layouts of public log collections (loghub's sets and other well-known programs), written by
# Python's strftime at known instants, ~5 hours apart over ten days from the 5th (so day and
# month are ambiguous at first), in the writer's zone. Not written by the programs
# themselves: their layouts, with messages of that shape. Each: (name, writer zone, source
# zone the set is read with, line template, oracle). In a template {t:FMT} is strftime of the
# instant, {e} the epoch seconds, {ms} milliseconds unpadded, {ms3} zero-padded, {us} microseconds.
LAYOUTS: list[tuple[str, str, str, str, dict[str, str]]] = [
    ("bgl", "America/Los_Angeles", "UTC",
     "- {e} {t:%Y.%m.%d} R02-M1-N0-C:J12-U11 {t:%Y-%m-%d-%H.%M.%S}.{us} R02-M1-N0-C:J12-U11 RAS KERNEL INFO "
     "instruction cache parity error corrected",
     {"regex": r"^\S+ \d+ \S+ \S+ (\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.\d{6})", "layout": "%Y-%m-%d-%H.%M.%S.%f"}),
    ("hpc", "UTC", "UTC", "{n} node-246 unix.hw state_change.unavailable {e} 1 Component State Change: "
     "Component \\042alt0\\042 is in the unavailable state (HWID=1973)", {"regex": r"^\d+ \S+ \S+ \S+ (\d{10}) ", "epoch": "1"}),
    ("thunderbird", "America/Denver", "UTC",
     "- {e} {t:%Y.%m.%d} dn228 {t:%b} {day} {t:%H:%M:%S} dn228/dn228 crond(pam_unix)[2915]: session closed for user root",
     {"regex": r"^- (\d{10}) ", "epoch": "1"}),
    ("proxifier", "Asia/Hong_Kong", "Asia/Hong_Kong",
     "[{t:%m.%d %H:%M:%S}] chrome.exe - proxy.example.org:5070 open through proxy proxy.example.org:5070 HTTPS",
     {"regex": r"^\[(\d\d\.\d\d \d\d:\d\d:\d\d)\]", "layout": "%m.%d %H:%M:%S"}),
    ("healthapp", "Asia/Shanghai", "Asia/Shanghai",
     "{t:%Y%m%d-%H:%M:%S}:{ms}|Step_LSC|30002312|onStandStepChanged 3579",
     {"regex": r"^(\d{8}-\d\d:\d\d:\d\d):(\d{1,3})\|", "layout": "%Y%m%d-%H:%M:%S", "millis": "1"}),
    ("android", "Asia/Shanghai", "Asia/Shanghai",
     "{t:%m-%d %H:%M:%S}.{ms3}  1702  2395 D WindowManager: printFreezingDisplayLogsopening app wtoken",
     {"regex": r"^(\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})", "layout": "%m-%d %H:%M:%S.%f"}),
    ("linux", "America/Chicago", "America/Chicago",
     "{t:%b} {day2} {t:%H:%M:%S} combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0",
     {"regex": r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d)", "layout": "%b %d %H:%M:%S"}),
    ("mac", "America/Los_Angeles", "America/Los_Angeles",
     "{t:%b} {day2} {t:%H:%M:%S} calvisitor-10-105-160-95 kernel[0]: IOThunderboltSwitch<0>(0x0)::listenerCallback -",
     {"regex": r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d)", "layout": "%b %d %H:%M:%S"}),
    ("openssh", "Asia/Shanghai", "Asia/Shanghai",
     "{t:%b %d %H:%M:%S} LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.example.com failed",
     {"regex": r"^(\w{3} \d\d \d\d:\d\d:\d\d)", "layout": "%b %d %H:%M:%S"}),
    ("spark", "Asia/Hong_Kong", "Asia/Hong_Kong",
     "{t:%y/%m/%d %H:%M:%S} INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]",
     {"regex": r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)", "layout": "%y/%m/%d %H:%M:%S"}),
    ("hdfs", "America/Los_Angeles", "America/Los_Angeles",
     "{t:%y%m%d %H%M%S} 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 "
     "terminating", {"regex": r"^(\d{6} \d{6}) ", "layout": "%y%m%d %H%M%S"}),
    ("zookeeper", "Asia/Hong_Kong", "Asia/Hong_Kong",
     "{t:%Y-%m-%d %H:%M:%S},{ms3} - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - "
     "Notification time out: 3200", {"regex": r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", "layout": "%Y-%m-%d %H:%M:%S,%f"}),
    ("hadoop", "Asia/Shanghai", "Asia/Shanghai",
     "{t:%Y-%m-%d %H:%M:%S},{ms3} INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
     {"regex": r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", "layout": "%Y-%m-%d %H:%M:%S,%f"}),
    ("windows_cbs", "Asia/Tokyo", "Asia/Tokyo",
     "{t:%Y-%m-%d %H:%M:%S}, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 with Core",
     {"regex": r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),", "layout": "%Y-%m-%d %H:%M:%S"}),
    ("openstack", "UTC", "UTC",
     "nova-api.log.1.2017-05-16_13:53:08 {t:%Y-%m-%d %H:%M:%S}.{ms3} 25746 INFO nova.osapi_compute.wsgi.server "
     '[req-38101a0b-2096-447d-96ea-a692162415ae] 10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200 len: 1893 '
     "time: 0.2477829", {"regex": r"^\S+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})", "layout": "%Y-%m-%d %H:%M:%S.%f"}),
    ("apache_loghub", "America/New_York", "America/New_York",
     "[{t:%a %b %d %H:%M:%S %Y}] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
     {"regex": r"^\[\w{3} (\w{3} \d\d \d\d:\d\d:\d\d \d{4})\]", "layout": "%b %d %H:%M:%S %Y"}),
    ("klog", "UTC", "UTC", "I{t:%m%d %H:%M:%S}.{us}   12345 controller.go:42] Syncing pod default/web-0",
     {"regex": r"^[IWEF](\d{4} \d\d:\d\d:\d\d\.\d{6})", "layout": "%m%d %H:%M:%S.%f"}),
    ("snort", "Europe/Paris", "Europe/Paris",
     "{t:%m/%d-%H:%M:%S}.{us}  [**] [1:2013504:4] ET POLICY GNU/Linux APT User-Agent Outbound [**] {{TCP}} 10.0.0.5:41234",
     {"regex": r"^(\d\d/\d\d-\d\d:\d\d:\d\d\.\d{6})", "layout": "%m/%d-%H:%M:%S.%f"}),
    ("tomcat", "Europe/Berlin", "Europe/Berlin",
     "{t:%d-%b-%Y %H:%M:%S}.{ms3} INFO [main] org.apache.catalina.startup.Catalina.start Server startup in [1234] ms",
     {"regex": r"^(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\.\d{3})", "layout": "%d-%b-%Y %H:%M:%S.%f"}),
    ("django", "Europe/London", "Europe/London", '[{t:%d/%b/%Y %H:%M:%S}] "GET /api/items HTTP/1.1" 200 1234',
     {"regex": r"^\[(\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d)\]", "layout": "%d/%b/%Y %H:%M:%S"}),
    ("windows_dhcp", "America/Chicago", "America/Chicago",
     "10,{t:%m/%d/%y,%H:%M:%S},Assign,10.0.0.{n3},host{n3}.example.local,000C29A1B2C3,,2093474950,0,,,,,,,,,0",
     {"regex": r"^\d+,(\d\d/\d\d/\d\d,\d\d:\d\d:\d\d),", "layout": "%m/%d/%y,%H:%M:%S"}),
    ("websphere", "Asia/Tokyo", "Asia/Tokyo",
     "[{month}/{day}/{t:%y} {hour}:{t:%M:%S}:{ms3} JST] 00000001 WebContainer I   SRVE0242I: [app] [/] [servlet]: "
     "Initialization", {"regex": r"^\[(\d\d?/\d\d?/\d\d \d\d?:\d\d:\d\d:\d{3}) JST\]",
                        "layout": "%m/%d/%y %H:%M:%S:%f"}),
    ("erlang", "Europe/Stockholm", "Europe/Stockholm",
     "=INFO REPORT==== {day}-{t:%b-%Y::%H:%M:%S} ===",
     {"regex": r"^=INFO REPORT==== (\d\d?-\w{3}-\d{4}::\d\d:\d\d:\d\d)", "layout": "%d-%b-%Y::%H:%M:%S"}),
    ("squid_access", "UTC", "UTC",
     "{e}.{ms3}    180 192.168.0.224 TCP_MISS/200 411 GET http://example.org/ - HIER_DIRECT/93.184.216.34 text/html",
     {"regex": r"^(\d{10}\.\d{3}) ", "epoch": "1"}),
    ("auditd", "UTC", "UTC",
     "type=SYSCALL msg=audit({e}.{ms3}:{n}): arch=c000003e syscall=2 success=yes exit=3 a0=7ffd items=1 ppid=1",
     {"regex": r"audit\((\d{10}\.\d{3}):", "epoch": "1"}),
    ("apt_history", "Europe/Berlin", "Europe/Berlin", "Start-Date: {t:%Y-%m-%d  %H:%M:%S}",
     {"regex": r"^Start-Date: (\d{4}-\d\d-\d\d  \d\d:\d\d:\d\d)", "layout": "%Y-%m-%d  %H:%M:%S"}),
    ("cisco", "Asia/Tokyo", "Asia/Tokyo",
     "*{t:%b %d %Y %H:%M:%S}.{ms3} JST: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up",
     {"regex": r"^\*(\w{3} \d\d \d{4} \d\d:\d\d:\d\d\.\d{3}) JST", "layout": "%b %d %Y %H:%M:%S.%f"}),
    ("redis_old", "Europe/Rome", "Europe/Rome",
     "[4242] {t:%d %b %H:%M:%S}.{ms3} * Background saving terminated with success",
     {"regex": r"^\[\d+\] (\d\d \w{3} \d\d:\d\d:\d\d\.\d{3})", "layout": "%d %b %H:%M:%S.%f"}),
    ("fortigate", "Asia/Singapore", "Asia/Singapore",
     "date={t:%Y-%m-%d} time={t:%H:%M:%S} devname=FGT60E devid=FGT60E4Q16000000 logid=0000000013 type=traffic",
     {"regex": r"^date=(\d{4}-\d\d-\d\d time=\d\d:\d\d:\d\d)", "layout": "%Y-%m-%d time=%H:%M:%S"}),
]


def collections(tmp: Path) -> Capture:
    import datetime as dt
    import random
    import zoneinfo
    rng = random.Random(12)
    out: Capture = {}
    for name, writer_zone, source_zone, template, oracle in LAYOUTS:
        tz = zoneinfo.ZoneInfo(writer_zone)
        when = dt.datetime(2026, 11, 5, 6, 7, 8, 123456, tzinfo=dt.UTC)
        lines = []
        for n in range(60):
            when += dt.timedelta(seconds=rng.randint(600, 5 * 3600), microseconds=rng.randint(0, 999_999))
            local = when.astimezone(tz)
            fields = {"e": int(when.timestamp()), "ms": local.microsecond // 1000, "ms3": f"{local.microsecond // 1000:03d}",
                      "us": f"{local.microsecond:06d}", "n": 134681 + n, "n3": n + 10, "day": local.day,
                      "day2": f"{local.day:2d}", "hour": local.hour, "month": local.month}
            text = template
            while "{t:" in text:
                i = text.index("{t:")
                j = text.index("}", i)
                text = text[:i] + local.strftime(text[i + 3:j]) + text[j + 1:]
            lines.append(text.format(**fields))
        read = (when + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        out[f"layout_{name}"] = (lines, {
            "program": f"Python strftime in the layout of {name} (public log collections); synthetic lines",
            "zone": writer_zone, "source_zone": source_zone, "read_time": read,
            "command": "capture.py collections", "oracle": {**oracle, "zone": writer_zone, "year": "2026"}})
    return out


def haproxy(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Europe/Paris"
    port = free_port()
    conf = tmp / "haproxy.cfg"
    conf.write_text(f"""
global
  log stdout format rfc3164 local0
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  server s1 127.0.0.1:{free_port()}
""")
    prefix, env = faked(start, zone)
    out = tmp / "haproxy.out"
    with out.open("wb") as f, daemon([*prefix, "haproxy", "-f", str(conf), "-db"], env, stdout=f):
        wait_port(port)
        for i in range(20):
            get(f"http://127.0.0.1:{port}/item/{i}")
        time.sleep(0.5)
    return {"haproxy": (read(out), {"program": version(["haproxy", "-v"]), "zone": zone, "start": start,
                                    "command": "haproxy -db (log stdout format rfc3164, option httplog)",
                                    "oracle": {"regex": r"^<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d)",
                                               "layout": "%b %d %H:%M:%S", "year": start[:4]}})}


def squid(tmp: Path) -> Capture:
    start, zone = "2026-11-27 09:14:03", "Asia/Tokyo"
    port = free_port()
    conf = tmp / "squid.conf"
    conf.write_text(f"""
http_port 127.0.0.1:{port}
pid_filename {tmp}/squid.pid
cache_log {tmp}/cache.log
access_log stdio:{tmp}/access.log squid
coredump_dir {tmp}
cache deny all
cache_effective_user proxy
http_access allow localhost
http_access deny all
shutdown_lifetime 1 seconds
""")
    shutil.chown(tmp, "proxy", "proxy")
    prefix, env = faked(start, zone)
    with daemon([*prefix, "squid", "-N", "-f", str(conf)], env):
        wait_port(port, 60)
        for i in range(20):
            get(f"http://127.0.0.1:{free_port()}/item/{i}", proxy=f"http://127.0.0.1:{port}")
        time.sleep(1)
    run = {"program": version(["squid", "-v"]), "zone": zone, "start": start}
    return {
        "squid_cache": (read(tmp / "cache.log"), {**run, "command": "squid -N (cache_log)",
                        "oracle": {"regex": r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)", "layout": "%Y/%m/%d %H:%M:%S"}}),
        "squid_access": (read(tmp / "access.log"), {**run, "command": "squid -N (access_log, native squid format)",
                         "oracle": {"regex": r"^(\d{10}\.\d{3}) ", "epoch": "1"}}),
    }


def exim4(tmp: Path) -> Capture:
    import smtplib
    # Without keep_environment and timezone, exim purges TZ and logs in UTC after its first line.
    start, zone = "2026-11-27 09:14:03", "America/Sao_Paulo"
    port = free_port()
    (tmp / "spool").mkdir()
    conf = tmp / "exim.conf"
    conf.write_text(f"""
keep_environment = TZ
timezone = {zone}
log_file_path = {tmp}/%slog
spool_directory = {tmp}/spool
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
exim_user = root
exim_group = root
never_users =
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  deny message = relay not permitted
begin routers
begin transports
""")
    prefix, env = faked(start, zone)
    with daemon([*prefix, "exim4", "-C", str(conf), "-bdf"], env):
        wait_port(port)
        for i in range(10):
            with contextlib.suppress(smtplib.SMTPException, OSError), smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.sendmail("a@example.org", [f"b{i}@example.org"], "Subject: x\n\nhi\n")
        time.sleep(0.5)
    return {"exim4": (read(tmp / "mainlog") + read(tmp / "rejectlog"),
                      {"program": version(["exim4", "-C", str(conf), "-bV"]), "zone": zone, "start": start,
                       "command": "exim4 -bdf (mainlog and rejectlog)",
                       "oracle": {"regex": r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", "layout": "%Y-%m-%d %H:%M:%S"}})}


def read(path: Path) -> list[str]:
    return path.read_text(errors="backslashreplace").splitlines()


SETS: dict[str, Callable[[Path], Capture]] = {
    "nginx": nginx, "apache2": apache2, "redis": redis, "postgresql": postgresql, "mariadb": mariadb,
    "java": java, "java_formats": java_formats, "node": node, "go": go, "haproxy": haproxy, "squid": squid,
    "exim4": exim4,
    "collections": collections,
}


def main(names: list[str]) -> int:
    failed = []
    for name in names or list(SETS):
        with tempfile.TemporaryDirectory(prefix=f"corpus-{name}-") as tmp:
            t0 = time.time()
            captured_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0))
            try:
                captured = SETS[name](Path(tmp))
            except Exception as e:
                print(f"{name}: FAILED: {e}", file=sys.stderr)
                failed.append(name)
                continue
            seconds = round(time.time() - t0) + 5
        for set_name, (lines, meta) in captured.items():
            lines = [x for x in lines if x.strip()][:200]
            (HERE / f"{set_name}.log").write_text("".join(x + "\n" for x in lines))
            meta = {**meta, "seconds": seconds}
            if "start" in meta:
                meta["captured"] = captured_at  # the real clock: a write faketime missed shows it
            (HERE / f"{set_name}.json").write_text(json.dumps(meta, indent=1) + "\n")
            print(f"{set_name}: {len(lines)} lines")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
