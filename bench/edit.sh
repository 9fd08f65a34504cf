#!/usr/bin/env bash
# Remastering speed and memory: `odix edit IN -o OUT --add FILE:/added.cfg` on a 1 GB Rock Ridge + Joliet image
# (a few large files and 2000 small ones, as a distribution's image holds) against a plain copy of the image
# (`cp`, the floor, and `cp` followed by `sync` of the copy, as odix syncs its output before naming it) and `xorriso -indev IN -outdev OUT -map FILE /added.cfg -boot_image any replay` for the same
# edit. Wall time is the median of hyperfine runs (each from no OUT, after sync), CPU time their mean, peak RSS
# one run under /usr/bin/time -v. The issue's ratios are printed last with met / NOT met.
#   bench/edit.sh [WORKDIR]     (default /tmp/odix-bench-edit; needs ~4 GB free)
#   env: ODIX=path/to/odix, RUNS=5
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-edit}
odix=${ODIX:-${CARGO_TARGET_DIR:-$here/target}/release/odix}
runs=${RUNS:-5}
[ -n "${ODIX:-}" ] || (cd "$here" && cargo build --release -p odix --quiet)
for t in xorriso hyperfine /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
mkdir -p "$work"
cd "$work"

if [ ! -f in.done ]; then
  rm -rf tree in.iso
  python3 - <<'PY'
import os, random
random.seed(16)
os.makedirs("tree/live")
for i in range(4):
    with open(f"tree/live/part{i}.squashfs", "wb") as fh:
        for _ in range(240):
            fh.write(os.urandom(1 << 20))
for d in range(20):
    p = f"tree/pool/d{d:02}"
    os.makedirs(p)
    for f in range(100):
        with open(f"{p}/pkg{f:03}.deb", "wb") as fh:
            fh.write(os.urandom(random.randint(512, 24 * 1024)))
PY
  xorriso -as mkisofs -quiet -R -J -V BENCH -o in.iso tree
  touch in.done
fi
echo "autoinstall: {version: 1}" > added.cfg
size=$(stat -c %s in.iso)
echo "input: $((size / 1048576)) MiB, $(find tree -type f | wc -l) files"
echo

hyperfine_json cp "rm -f out.iso; sync" "cp in.iso out.iso"
# odix syncs the new image to the disk before it gives it its name (a crash never leaves a half-written image
# under the final name); cp returns with the copy still in the page cache. Both are shown.
hyperfine_json cp_sync "rm -f out.iso; sync" "cp in.iso out.iso && sync out.iso"
hyperfine_json odix "rm -f out.iso; sync" "$odix edit in.iso -o out.iso -q --add added.cfg:/added.cfg"
hyperfine_json xorriso "rm -f out.iso; sync" \
  "xorriso -indev in.iso -outdev out.iso -map added.cfg /added.cfg -boot_image any replay >/dev/null 2>&1"
rss=$(peak_rss "rm -f out.iso; $odix edit in.iso -o out.iso -q --add added.cfg:/added.cfg")
xrss=$(peak_rss "rm -f out.iso; xorriso -indev in.iso -outdev out.iso -map added.cfg /added.cfg -boot_image any replay")
ratio_table
ratio_row "1 GB image, one file added" odix "cp" cp "≤ 1.1"
ratio_row "1 GB image, one file added" odix "cp + sync" cp_sync "≤ 1.1"
ratio_row "1 GB image, one file added" odix "xorriso" xorriso "≤ 0.5"
echo
echo "peak RSS: odix $((rss / 1024)) MiB, xorriso $((xrss / 1024)) MiB"
echo
echo "targets:"
target "odix / cp (wall)" "$(ratio "$(median odix.json)" "$(median cp.json)")" 1.1
target "odix / (cp + sync) (wall)" "$(ratio "$(median odix.json)" "$(median cp_sync.json)")" 1.1
target "odix / xorriso (wall)" "$(ratio "$(median odix.json)" "$(median xorriso.json)")" 0.5
target "odix peak RSS (MiB) / 64" "$(ratio "$((rss / 1024))" 64)" 1.0
