#!/usr/bin/env bash
# .ci/services.sh -- install and start the local VO services used by the
# integration tests of astropy-smass (Debian 12 "bookworm", run as root or with
# passwordless sudo; no systemd needed).
#
#   * PostgreSQL 15 (+ pgsphere, q3c) and a GAVO DaCHS TAP server on
#     127.0.0.1:$ASTROPY_SMASS_DACHS_PORT (default 8080), serving the H-ATLAS
#     galaxies of the GAMA fields as table  hatlas.galaxies  (with synthetic
#     positions, for cross-match tests), and ECO under SDSS/2MASS-style column
#     names and UCDs as table  eco.photoobj
#   * STILTS, TOPCAT, Xvfb/xvfb-run (SAMP tests; see .ci/topcat-samp.sh)
#
# Idempotent: re-running it re-imports the table and restarts DaCHS.
# On success it writes .ci/services.env (gitignored) with
#     ASTROPY_SMASS_TAP_URL=http://127.0.0.1:8080/tap
#     ASTROPY_SMASS_HATLAS_TABLE=hatlas.galaxies
#     ASTROPY_SMASS_ECO_TABLE=eco.photoobj
# which tests/services.py reads (CI may also `source` it / append it to
# $GITHUB_ENV).
#
# Environment overrides:
#   ASTROPY_SMASS_DATA_DIR    directory holding hatlas_gama_fields.txt and eco_dev.csv
#                             (default: <repo root>/../shared/data)
#   ASTROPY_SMASS_DACHS_PORT  TAP/HTTP port (default 8080)
#   ASTROPY_SMASS_PYTHON      python with astropy for .ci/dachs/make_fits.py
#                             (default: first of python3 on PATH, /usr/bin/python3
#                             that imports astropy; DaCHS pulls in python3-astropy)
#   ASTROPY_SMASS_SKIP_TOPCAT=1  do not install topcat/xvfb/stilts
#   ASTROPY_SMASS_WAIT_S      max seconds to wait for TAP availability (default 120)
set -Eeuo pipefail

T0=$(date +%s)
step_t=$T0
step_name=""
log()  { printf '[services.sh %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
step() {
    local now; now=$(date +%s)
    [ -z "$step_name" ] || log "---- $step_name: done in $(( now - step_t )) s"
    step_t=$now
    step_name=$1
    printf '\n[services.sh] ==== %s ====\n' "$*"
}
die()  { printf '\n[services.sh] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "\n[services.sh] FAILED (exit %s) at line %s after %ss: %s\n" "$?" "$LINENO" "$(( $(date +%s) - T0 ))" "$BASH_COMMAND" >&2' ERR

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "must run as root or have sudo"
    SUDO="sudo -E"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))
DATA_DIR=${ASTROPY_SMASS_DATA_DIR:-$REPO_ROOT/../shared/data}
HATLAS_TXT=$DATA_DIR/hatlas_gama_fields.txt
ECO_CSV=$DATA_DIR/eco_dev.csv
PORT=${ASTROPY_SMASS_DACHS_PORT:-8080}
WAIT_S=${ASTROPY_SMASS_WAIT_S:-120}
PGVER=15
RES=hatlas                      # DaCHS resource directory / RD id hatlas/q
TABLE=hatlas.galaxies
ECO_RES=eco                     # RD id eco/q
ECO_TABLE=eco.photoobj
TAP_URL="http://127.0.0.1:${PORT}/tap"
ENV_FILE=$HERE/services.env

[ -r "$HATLAS_TXT" ] || die "data file not found: $HATLAS_TXT (set ASTROPY_SMASS_DATA_DIR)"
[ -r "$ECO_CSV" ] || die "data file not found: $ECO_CSV (set ASTROPY_SMASS_DATA_DIR)"
[ -r "$HERE/dachs/$RES/q.rd" ] || die "missing $HERE/dachs/$RES/q.rd"
[ -r "$HERE/dachs/$ECO_RES/q.rd" ] || die "missing $HERE/dachs/$ECO_RES/q.rd"
log "repo root: $REPO_ROOT"
log "data file: $HATLAS_TXT"

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_install() {
    # install only what is missing; `apt-get update` at most once per run
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "already installed: $*"
        return 0
    fi
    if [ $APT_UPDATED -eq 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

pg_running() { pg_lsclusters -h 2>/dev/null | awk -v v=$PGVER '$1==v && $2=="main" {print $4}' | grep -q online; }
pg_start() {
    if ! pg_lsclusters -h 2>/dev/null | awk -v v=$PGVER '$1==v && $2=="main"' | grep -q .; then
        log "creating PostgreSQL cluster $PGVER/main"
        $SUDO pg_createcluster $PGVER main
    fi
    if pg_running; then
        log "PostgreSQL $PGVER/main already running"
    else
        log "starting PostgreSQL $PGVER/main"
        $SUDO pg_ctlcluster $PGVER main start \
            || { $SUDO tail -n 30 /var/log/postgresql/postgresql-$PGVER-main.log >&2 || true; die "PostgreSQL did not start"; }
    fi
    pg_running || die "PostgreSQL cluster $PGVER/main not online"
}

as_postgres() { (cd / && $SUDO runuser -u postgres -- "$@"); }

# Probe `CREATE EXTENSION pg_sphere` in a scratch database; prints the error.
pgsphere_probe() {
    local out rc=0
    as_postgres dropdb --if-exists pgsphere_probe >/dev/null 2>&1 || true
    out=$(as_postgres createdb pgsphere_probe 2>&1 \
          && as_postgres psql -X -q -v ON_ERROR_STOP=1 -d pgsphere_probe \
                 -c 'CREATE EXTENSION pg_sphere' 2>&1) || rc=$?
    as_postgres dropdb --if-exists pgsphere_probe >/dev/null 2>&1 || true
    [ $rc -eq 0 ] || { echo "$out"; return 1; }
}

# TRAP: PostgreSQL 15.20 (bookworm-security) rejects CREATE OPERATOR statements
# that name as COMMUTATOR/NEGATOR an operator already paired with another one.
# Debian 12's pgsphere 1.1.1 (pg_sphere--1.2.0.sql) has two such legacy
# "@"(bigint|spoint, smoc) operators in its "backwards-compatible operators for
# GAVO DaCHS" block, so `CREATE EXTENSION pg_sphere` -- and with it the
# gavodachs2-server postinst (`dachs init`) -- fails with
#   ERROR: commutator operator @> is already the commutator of operator <@
# (15.18 from bookworm main was fine.)  Fix: drop the COMMUTATOR/NEGATOR
# clauses of exactly those operators (planner hints only); done only when the
# probe fails with that error, original kept as *.orig.
fix_pgsphere() {
    local err f tmp
    if err=$(pgsphere_probe); then
        log "CREATE EXTENSION pg_sphere works"
        return 0
    fi
    echo "$err"
    case "$err" in
        *"is already the commutator of operator"*|*"is already the negator of operator"*) ;;
        *) die "CREATE EXTENSION pg_sphere failed (not the known commutator problem)" ;;
    esac
    for f in /usr/share/postgresql/$PGVER/extension/pg_sphere--*.sql; do
        grep -q "^CREATE OPERATOR @ (" "$f" || continue
        log "patching legacy '@' operators in $f"
        [ -e "$f.orig" ] || $SUDO cp -p "$f" "$f.orig"
        tmp=$(mktemp)
        awk '
            /^CREATE OPERATOR @ \(/ { inblk = 1; n = 0 }
            inblk {
                blk[++n] = $0
                if ($0 ~ /COMMUTATOR *= *.@>./) drop = 1
                if ($0 ~ /^\);/) {
                    for (i = 1; i <= n; i++)
                        if (!(drop && blk[i] ~ /^ *(COMMUTATOR *= *.@>.|NEGATOR *= *.!<@.),$/)) print blk[i]
                    inblk = 0; drop = 0
                }
                next
            }
            { print }' "$f" > "$tmp"
        $SUDO install -m 0644 "$tmp" "$f"
        rm -f "$tmp"
    done
    err=$(pgsphere_probe) || { echo "$err"; die "CREATE EXTENSION pg_sphere still fails after patching"; }
    log "pg_sphere patched; CREATE EXTENSION works now"
}

# ---------------------------------------------------------------------------
step "1/7 PostgreSQL + pgsphere + q3c"
apt_install ca-certificates curl postgresql postgresql-$PGVER-pgsphere postgresql-$PGVER-q3c
pg_start
fix_pgsphere

# ---------------------------------------------------------------------------
step "2/7 DaCHS (gavodachs2-server)"
# its postinst runs `dachs init`, which needs a running PostgreSQL (started above).
if ! apt_install gavodachs2-server; then
    log "gavodachs2-server install failed; restarting PostgreSQL and retrying configure"
    pg_start
    $SUDO dpkg --configure -a || die "dpkg --configure -a failed for gavodachs2-server"
fi
dpkg-query -W -f='${Status}' gavodachs2-server | grep -q 'install ok installed' \
    || { pg_start; $SUDO dpkg --configure -a; }
dpkg-query -W -f='${Status}' gavodachs2-server | grep -q 'install ok installed' \
    || die "gavodachs2-server is not configured"
command -v dachs >/dev/null || die "dachs command missing after install"
id dachsroot >/dev/null 2>&1 || die "user dachsroot missing (DaCHS postinst failed?)"

# ---------------------------------------------------------------------------
step "3/7 TOPCAT / STILTS / Xvfb"
if [ "${ASTROPY_SMASS_SKIP_TOPCAT:-0}" != 1 ]; then
    bash "$HERE/topcat-samp.sh" install
else
    log "skipped (ASTROPY_SMASS_SKIP_TOPCAT=1)"
fi

# ---------------------------------------------------------------------------
step "4/7 /etc/gavo.rc"
$SUDO tee /etc/gavo.rc >/dev/null <<EOF
# written by astropy-smass .ci/services.sh
[general]
rootDir: /var/gavo

[web]
bindAddress: 127.0.0.1
serverPort: ${PORT}
serverURL: http://127.0.0.1:${PORT}
sitename: astropy-smass CI DaCHS

[ivoa]
authority: astropy-smass.ci
EOF
cat /etc/gavo.rc

# ---------------------------------------------------------------------------
step "5/7 FITS table + resource descriptor"
PY=${ASTROPY_SMASS_PYTHON:-}
if [ -z "$PY" ]; then
    for cand in python3 /usr/bin/python3; do
        if command -v "$cand" >/dev/null && "$cand" -c 'import astropy' 2>/dev/null; then
            PY=$cand; break
        fi
    done
fi
[ -n "$PY" ] || die "no python with astropy found (set ASTROPY_SMASS_PYTHON)"
log "python for make_fits.py: $(command -v "$PY") (astropy $("$PY" -c 'import astropy; print(astropy.__version__)'))"
# install_resource RES FITS-NAME MAKE_FITS-ARGS...: FITS file + RD into /var/gavo/inputs/RES
install_resource() {
    local res=$1 fits=$2 inputs tmpf
    shift 2
    inputs=/var/gavo/inputs/$res
    $SUDO mkdir -p "$inputs/data"
    tmpf=$(mktemp --suffix=.fits)
    "$PY" "$HERE/dachs/make_fits.py" "$@" "$tmpf"
    $SUDO install -m 0644 "$tmpf" "$inputs/data/$fits"
    rm -f "$tmpf"
    $SUDO install -m 0644 "$HERE/dachs/$res/q.rd" "$inputs/q.rd"
    $SUDO chown -R dachsroot "$inputs"
}
install_resource "$RES" hatlas_gama_fields.fits "$HATLAS_TXT"
install_resource "$ECO_RES" eco_photoobj.fits --eco "$ECO_CSV"

# ---------------------------------------------------------------------------
step "6/7 dachs imp / pub / serve"
pg_start
dachs_as_root() { $SUDO su dachsroot -s /bin/bash -c "cd /var/gavo/inputs && $*"; }
for rd in "$RES/q" "$ECO_RES/q"; do
    dachs_as_root "dachs imp $rd" || die "dachs imp $rd failed (see /var/gavo/logs/dcErrors)"
    dachs_as_root "dachs pub $rd" || die "dachs pub $rd failed"
done
# `dachs serve start` fails when a server already runs; `restart` handles both
# cases, but fall back to stop+start if restart finds no pid file.
if ! $SUDO dachs serve restart; then
    log "dachs serve restart failed; trying stop + start"
    $SUDO dachs serve stop || true
    sleep 1
    $SUDO dachs serve start || die "dachs serve start failed (see /var/gavo/logs/)"
fi

# ---------------------------------------------------------------------------
step "7/7 wait for $TAP_URL/availability (max ${WAIT_S}s)"
deadline=$(( $(date +%s) + WAIT_S ))
until curl -fsS --max-time 5 "$TAP_URL/availability" 2>/dev/null | grep -qi '<[^>]*available>true'; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        $SUDO tail -n 40 /var/gavo/logs/dcErrors 2>/dev/null >&2 || true
        $SUDO tail -n 20 /var/gavo/logs/serverStderr 2>/dev/null >&2 || true
        die "DaCHS TAP not available at $TAP_URL after ${WAIT_S}s"
    fi
    sleep 1
done
log "TAP service is up"

# sanity check through the real sync endpoint (also proves the table is in TAP_SCHEMA)
n=$(curl -fsS --max-time 30 "$TAP_URL/sync" \
      --data-urlencode REQUEST=doQuery --data-urlencode LANG=ADQL \
      --data-urlencode FORMAT=csv \
      --data-urlencode "QUERY=SELECT COUNT(*) AS n FROM $TABLE" | tail -n 1 | tr -d '\r')
[ "$n" -gt 0 ] 2>/dev/null || die "sync COUNT(*) on $TABLE returned '$n'"
log "$TABLE has $n rows"
n=$(curl -fsS --max-time 30 "$TAP_URL/sync" \
      --data-urlencode REQUEST=doQuery --data-urlencode LANG=ADQL \
      --data-urlencode FORMAT=csv \
      --data-urlencode "QUERY=SELECT COUNT(*) AS n FROM $ECO_TABLE" | tail -n 1 | tr -d '\r')
[ "$n" -gt 0 ] 2>/dev/null || die "sync COUNT(*) on $ECO_TABLE returned '$n'"
log "$ECO_TABLE has $n rows"

cat > "$ENV_FILE" <<EOF
ASTROPY_SMASS_TAP_URL=$TAP_URL
ASTROPY_SMASS_HATLAS_TABLE=$TABLE
ASTROPY_SMASS_ECO_TABLE=$ECO_TABLE
EOF
step "done"
echo "---- $ENV_FILE ----"
cat "$ENV_FILE"
log "total setup time: $(( $(date +%s) - T0 )) s"
