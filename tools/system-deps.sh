#!/bin/sh
# Install the Debian packages listed in FILE that are missing (one per line, '#' comments).
# Only as root on a Debian-like system; otherwise say which are missing: the tests that need
# them skip with that reason (and fail under CI=true).
set -eu
list=$1
wanted=$(sed -e 's/#.*//' "$list" | tr -s ' \t' '\n' | sed '/^$/d')
[ -n "$wanted" ] || exit 0
missing=""
for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0
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
