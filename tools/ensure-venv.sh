#!/bin/sh
# Create a virtual environment with PYTHON (>= 3.11) at DIR. On Debian, `python3 -m venv`
# needs the python3-venv package; install it when we are root and it is missing.
set -eu
python=$1
dir=$2

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "chronolog needs Python >= 3.11; '$python' is $("$python" --version 2>&1 || echo missing)." >&2
    echo "Install it, or run: make PYTHON=/path/to/python3.11 ..." >&2
    exit 1
fi
[ -x "$dir/bin/python" ] && exit 0
if ! "$python" -m venv "$dir" 2>/dev/null; then
    rm -rf "$dir"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        echo "installing python$version-venv (Debian) ..." >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" >/dev/null
        "$python" -m venv "$dir"
    else
        echo "'$python -m venv' failed; on Debian install python3-venv (as root: apt-get install python3-venv)." >&2
        exit 1
    fi
fi
