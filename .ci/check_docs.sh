#!/usr/bin/env bash
# .ci/check_docs.sh [HTML_DIR] -- open the built documentation in a real browser.
#
# Run after the documentation build (tox -e build_docs writes docs/_build/html).
# For the quickstart, the model cards and the validation page it
#   * takes a headless Chromium screenshot and checks that it is a PNG of the window
#     size that is not blank (a blank page compresses to almost nothing; when numpy
#     and matplotlib are available the pixels are also counted);
#   * dumps the DOM after scripts ran and checks the expected headings, the <img>
#     tags of the figures made during the build, and that those image files exist;
#   * on the model-card page, checks there is a card for every bundled model.
# Installs Debian's chromium with apt-get if no Chromium is found. Any failure exits
# non-zero with a message saying what is wrong. Screenshots and DOM dumps are kept in
# $ASTROPY_SMASS_DOCS_SHOTS (default docs/_build/browser-check) for inspection.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

HTML=${1:-docs/_build/html}
OUT=${ASTROPY_SMASS_DOCS_SHOTS:-docs/_build/browser-check}
WIDTH=1280
HEIGHT=2000

die() { printf '\n[check_docs] FAILED: %s\n' "$*" >&2; exit 1; }
log() { printf '[check_docs] %s\n' "$*"; }

[ -f "$HTML/index.html" ] || die "no built documentation in $HTML (run tox -e build_docs first)"
HTML=$(cd "$HTML" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# -- a browser --------------------------------------------------------------------------
find_chromium() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
    return 1
}
if ! CHROMIUM=$(find_chromium); then
    log "no Chromium found: installing Debian's chromium with apt-get"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
        || die "apt-get install chromium failed"
    CHROMIUM=$(find_chromium) || die "chromium is still not on PATH after installing it"
fi
log "browser: $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null | tail -n 1))"

# A Python for the PNG check: the docs environment has numpy and matplotlib.
PYTHON=${ASTROPY_SMASS_PYTHON:-}
for candidate in "$PYTHON" .tox/build_docs/bin/python python3 python; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
        PYTHON=$candidate; break
    fi
done
[ -n "$PYTHON" ] || die "no python to check the screenshots with"

browser() {
    # Each run gets its own profile; no network, no first-run or update machinery.
    local profile status
    profile=$(mktemp -d)
    set +e
    timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$profile" --window-size="$WIDTH,$HEIGHT" "$@"
    status=$?
    set -e
    rm -rf "$profile"
    return $status
}

# The names of the bundled models, for the model-card check.
MODELS=$("$PYTHON" - <<'EOF' 2>/dev/null || true
import glob, os
try:
    import astropy_smass
    folder = os.path.join(os.path.dirname(astropy_smass.__file__), "data", "models")
except ImportError:
    folder = "astropy_smass/data/models"
print(" ".join(sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(folder, "*.json")))))
EOF
)

# check_page PAGE MIN_IMAGES HEADING...
check_page() {
    local page=$1 min_images=$2; shift 2
    local file="$HTML/$page.html" shot="$OUT/$page.png" dom="$OUT/$page.dom.html"
    [ -f "$file" ] || die "$page.html was not built"
    log "$page: screenshot and DOM"
    rm -f "$shot"
    browser --screenshot="$shot" "file://$file" >"$OUT/$page.chromium.log" 2>&1 \
        || die "$page: chromium failed to take a screenshot (see $OUT/$page.chromium.log)"
    [ -s "$shot" ] || die "$page: chromium wrote no screenshot (see $OUT/$page.chromium.log)"
    browser --dump-dom "file://$file" >"$dom" 2>"$OUT/$page.dom.log" \
        || die "$page: chromium failed to dump the DOM (see $OUT/$page.dom.log)"
    [ -s "$dom" ] || die "$page: empty DOM dump"

    "$PYTHON" - "$shot" "$WIDTH" "$HEIGHT" <<'EOF' || die "$page: the screenshot looks blank or broken ($shot)"
import struct, sys, zlib
path, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"{path}: not a PNG")
w, h = struct.unpack(">II", data[16:24])
if (w, h) != (width, height):
    sys.exit(f"{path}: {w}x{h} pixels, expected {width}x{height}")
# A blank page is one colour: its pixel rows compress several hundred times.
idat, pos = b"", 8
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
ratio = len(zlib.decompress(idat)) / max(len(idat), 1)
if ratio > 200:
    sys.exit(f"{path}: compresses {ratio:.0f}x, a nearly uniform image")
try:
    import numpy as np
    from matplotlib.image import imread
except ImportError:
    print(f"  screenshot {w}x{h}, compression {ratio:.0f}x (no numpy/matplotlib for pixels)")
else:
    pixels = (imread(path)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = counts.max() / counts.sum()
    if background > 0.995 or len(colours) < 16:
        sys.exit(f"{path}: {len(colours)} colours, {background:.1%} of pixels one colour")
    print(f"  screenshot {w}x{h}: {len(colours)} colours, {1 - background:.1%} of pixels "
          f"not background, compression {ratio:.0f}x")
EOF

    "$PYTHON" - "$dom" "$HTML" "$min_images" "$@" <<'EOF' || die "$page: the DOM lacks expected content ($dom)"
import html, os, re, sys
dom_path, root, min_images, headings = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
dom = open(dom_path, encoding="utf-8").read()
found = [html.unescape(re.sub(r"<[^>]+>", "", h)).replace("\u00b6", "").replace("#", "").strip()
         for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", dom, flags=re.S)]
missing = [h for h in headings if h not in found]
if missing:
    sys.exit(f"missing headings {missing}; found {found}")
images = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", dom)
figures = [src for src in images if "plot_directive" in src or "_images" in src]
if len(figures) < min_images:
    sys.exit(f"{len(figures)} figure <img> tags, expected at least {min_images}: {images}")
for src in figures:
    path = os.path.normpath(os.path.join(root, html.unescape(src).split("?")[0]))
    if not os.path.isfile(path) or os.path.getsize(path) < 1000:
        sys.exit(f"figure {src} is missing or empty on disk ({path})")
if re.search(r"Traceback \(most recent call last\)|Exception occurred", dom):
    sys.exit("the page shows a Python traceback")
print(f"  DOM: {len(found)} headings, {len(figures)} figures")
EOF
}

check_page quickstart 1 "Quickstart" "Masses in ten lines" \
    "An annotated VOTable of the demo catalogue"

# The model cards: one per bundled model, each with its sections.
card_headings=()
for name in $MODELS; do card_headings+=("$name"); done
check_page models 1 "Model cards" "The cards" ${card_headings[@]+"${card_headings[@]}"}
if [ -n "$MODELS" ]; then
    for name in $MODELS; do
        grep -q "id=\"model-${name//_/-}\"" "$OUT/models.dom.html" \
            || die "models: no card for the bundled model $name"
    done
    grep -q "No model bundle was found" "$OUT/models.dom.html" \
        && die "models: the page says no bundle was found, but there are: $MODELS"
    log "models: a card for each of: $MODELS"
else
    log "models: no bundled model in this checkout (the page says so)"
fi

if [ -f "$HTML/validation.html" ]; then
    check_page validation 1 "Validation on real galaxies"
else
    die "validation.html was not built"
fi

log "all pages render; screenshots in $OUT"
