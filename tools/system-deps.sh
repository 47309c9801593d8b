#!/bin/sh
# Install the Debian packages listed in FILE that are missing (one per line, '#' comments).
# Only as root on a Debian-like system; otherwise say which are missing: the tests that need
# them skip with that reason (and fail under CI=true).
#
# "unpack:PKG" is a package that conflicts with an installed one (ntpsec and systemd-timesyncd
# with chrony: all provide time-daemon). It is never installed: its .deb is unpacked into
# $UNPACK_ROOT/PKG, where the tests run it from. "unpack:PKG=@OTHER" takes the version of the
# installed package OTHER (systemd-timesyncd must match systemd's private library).
set -eu
list=$1
UNPACK_ROOT=${UNPACK_ROOT:-/opt/chronolog-tests}
entries=$(sed -e 's/#.*//' "$list" | tr -s ' \t' '\n' | sed '/^$/d')
[ -n "$entries" ] || exit 0
wanted=$(printf '%s\n' $entries | grep -v '^unpack:' || true)
unpack=$(printf '%s\n' $entries | sed -n 's/^unpack://p')
missing=""
for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done

unpack_one() {  # PKG[=@OTHER]: download the .deb and unpack it into $UNPACK_ROOT/PKG
    pkg=${1%%=*}
    spec=$pkg
    case $1 in *=@*) spec="$pkg=$(dpkg-query -W -f='${Version}' "${1#*=@}")" ;; esac
    [ "$(cat "$UNPACK_ROOT/$pkg/.spec" 2>/dev/null || true)" = "$spec" ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "not root or no apt-get: tests needing $pkg (unpacked) will be skipped" >&2
        return 0
    fi
    work=$(mktemp -d)
    (cd "$work" && apt-get -o DPkg::Lock::Timeout=300 download "$spec" >/dev/null 2>&1) ||
        (apt-get -o DPkg::Lock::Timeout=300 update -qq && cd "$work" && apt-get download "$spec" >/dev/null)
    rm -rf "$UNPACK_ROOT/$pkg"
    mkdir -p "$UNPACK_ROOT/$pkg"
    dpkg-deb -x "$work"/*.deb "$UNPACK_ROOT/$pkg"
    echo "$spec" > "$UNPACK_ROOT/$pkg/.spec"
    rm -rf "$work"
    echo "unpacked $spec into $UNPACK_ROOT/$pkg (not installed)" >&2
}
if [ -z "$missing" ]; then
    for entry in $unpack; do unpack_one "$entry"; done
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages for the tests:$missing" >&2
    # Wait for the dpkg lock rather than fail when another install is running.
    apt="apt-get -o DPkg::Lock::Timeout=300"
    $apt update -qq
    # policy-rc.d keeps package scripts from starting system daemons (rsyslog, chrony, ...):
    # tests run their own private instances.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $apt install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "not root or no apt-get: tests needing these packages will be skipped:$missing" >&2
fi
for entry in $unpack; do unpack_one "$entry"; done
