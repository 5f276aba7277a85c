#!/usr/bin/env bash
# .ci/topcat-samp.sh -- TOPCAT/STILTS helper for the SAMP integration tests.
#
#   .ci/topcat-samp.sh install
#       apt-installs (if missing) topcat, stilts, starlink-ecsv-java, xvfb,
#       xauth (xvfb-run needs it) and checks that `stilts` runs.
#       Called by .ci/services.sh.
#
#   .ci/topcat-samp.sh run LOCKFILE_URL [topcat args...]
#       runs TOPCAT headless (xvfb-run -a) as a SAMP client of the hub whose
#       lockfile is LOCKFILE_URL (e.g. file:///tmp/x/.samp).  The hub itself is
#       started by the tests (tests/services.py: samp_hub()).  Java ignores
#       $HOME, so the lockfile is passed through SAMP_HUB=std-lockurl:URL --
#       setting HOME does NOT work.  TOPCAT registers within 1-2 s.
#       tests/services.py:topcat_client() does the same from Python.
set -Eeuo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -E"
PKGS=(topcat stilts starlink-ecsv-java xvfb xauth)

cmd=${1:-install}
case "$cmd" in
install)
    t0=$(date +%s)
    missing=()
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        # apt-get update only if the package lists are absent/stale (services.sh
        # may have just run it)
        if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
            $SUDO apt-get update -qq
        fi
        echo "[topcat-samp.sh] apt-get install ${missing[*]}"
        $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "[topcat-samp.sh] already installed: ${PKGS[*]}"
    fi
    for c in topcat stilts xvfb-run xauth; do
        command -v "$c" >/dev/null || { echo "[topcat-samp.sh] ERROR: $c not on PATH" >&2; exit 1; }
    done
    stilts -version >/dev/null 2>&1 || { echo "[topcat-samp.sh] ERROR: stilts -version failed" >&2; stilts -version >&2; exit 1; }
    echo "[topcat-samp.sh] topcat/stilts/xvfb ready ($(( $(date +%s) - t0 )) s)"
    ;;
run)
    [ $# -ge 2 ] || { echo "usage: $0 run LOCKFILE_URL [topcat args]" >&2; exit 2; }
    url=$2; shift 2
    case "$url" in std-lockurl:*) ;; *) url="std-lockurl:$url" ;; esac
    export SAMP_HUB=$url
    exec xvfb-run -a topcat -verbose "$@"
    ;;
*)
    echo "usage: $0 install | run LOCKFILE_URL [topcat args]" >&2; exit 2 ;;
esac
