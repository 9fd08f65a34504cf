#!/usr/bin/env bash
# ISO build speed and memory: `odix mkiso` (Rock Ridge + Joliet, the defaults) against
# `xorriso -as mkisofs -R -J`, `genisoimage -R -J` and the `cat` floor (the same file bytes copied once), on
#   small: 20 000 small files (about 230 MB), tiny: 100 000 tiny files, large: 2 GiB in 8 large files.
# Wall time is the median of hyperfine runs (each from no out.iso, after sync), CPU time (user+sys) their mean,
# peak RSS one run under /usr/bin/time -v; the issue's ratios are printed last with met / NOT met.
#   bench/mkiso.sh [WORKDIR]     (default /tmp/odix-bench-mkiso; needs ~7 GB free)
#   env: ODIX=path/to/odix, RUNS=5
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-mkiso}
odix=${ODIX:-${CARGO_TARGET_DIR:-$here/target}/release/odix}
runs=${RUNS:-5}
# Without ODIX, build first so a stale binary is never measured.
[ -n "${ODIX:-}" ] || (cd "$here" && cargo build --release -p odix --quiet)
for t in xorriso genisoimage hyperfine /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done
mkdir -p "$work"
cd "$work"

if [ ! -f trees.done ]; then
  rm -rf small tiny large
  python3 - <<'PY'
import os, random
random.seed(7)
# small: 200 directories of 100 files of 1..22 KiB, about 230 MB.
for d in range(200):
    p = f"small/d{d:03}"
    os.makedirs(p)
    for f in range(100):
        with open(f"{p}/f{f:03}.bin", "wb") as fh:
            fh.write(os.urandom(random.randint(1024, 22 * 1024)))
# tiny: 1000 directories of 100 files of 0..200 bytes.
for d in range(1000):
    p = f"tiny/d{d:04}"
    os.makedirs(p)
    for f in range(100):
        with open(f"{p}/t{f:03}.txt", "wb") as fh:
            fh.write(os.urandom(random.randint(0, 200)))
# large: 8 files of 256 MiB.
os.makedirs("large")
chunk = os.urandom(1 << 20)
for i in range(8):
    with open(f"large/big{i}.bin", "wb") as fh:
        for _ in range(256):
            fh.write(chunk)
PY
  touch trees.done
fi

export SOURCE_DATE_EPOCH=1700000000
# Every run starts without out.iso and with no earlier writeback pending: replacing an existing 2 GiB image costs
# each tool something different (ext4 flushes a file renamed over another one, and frees the old blocks).
prep='rm -f out.iso; sync'
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
rss() { rm -f out.iso; peak_rss "$1"; } # command -> peak RSS in KiB

declare -A cmd w c r
echo "median of $runs runs (wall), mean CPU (user+sys), peak RSS of one run; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| tree | tool | wall (s) | CPU (s) | peak RSS (MiB) | odix / tool (wall) | odix / tool (CPU) | odix / tool (RSS) |"
echo "|---|---|---|---|---|---|---|---|"
for tree in small tiny large; do
  cmd[odix]="$odix mkiso -q -o out.iso $tree"
  cmd[xorriso]="xorriso -as mkisofs -quiet -R -J -o out.iso $tree"
  cmd[genisoimage]="genisoimage -quiet -R -J -o out.iso $tree"
  cmd[cat]="find $tree -type f -print0 | sort -z | xargs -0 cat > out.iso"
  for tool in odix xorriso genisoimage cat; do
    hyperfine_json "${tree}_$tool" "$prep" "${cmd[$tool]}"
    w[$tree.$tool]=$(field "${tree}_$tool.json" wall)
    c[$tree.$tool]=$(field "${tree}_$tool.json" cpu)
    r[$tree.$tool]=$(rss "${cmd[$tool]}")
  done
  for tool in odix xorriso genisoimage cat; do
    mib=$(python3 -c "print(f'{int(\"${r[$tree.$tool]}\")/1024:.1f}')")
    printf '| %s | %s | %.3f | %.3f | %s | %s | %s | %s |\n' "$tree" "$tool" "${w[$tree.$tool]}" "${c[$tree.$tool]}" \
      "$mib" "$(ratio "${w[$tree.odix]}" "${w[$tree.$tool]}")" "$(ratio "${c[$tree.odix]}" "${c[$tree.$tool]}")" \
      "$(ratio "${r[$tree.odix]}" "${r[$tree.$tool]}")"
  done
  rm -f out.iso
done
echo
echo "Targets (issue #3):"
target "small, wall: odix / xorriso" "$(ratio "${w[small.odix]}" "${w[small.xorriso]}")" 0.30
target "small, wall: odix / genisoimage" "$(ratio "${w[small.odix]}" "${w[small.genisoimage]}")" 0.60
target "tiny, peak RSS: odix / genisoimage" "$(ratio "${r[tiny.odix]}" "${r[tiny.genisoimage]}")" 0.50
x=$(ratio "${w[large.odix]}" "${w[large.cat]}")
echo "- large, wall: odix / cat = $x (at most 1.05: $(verdict "$x" 1.05)); CPU: $(ratio "${c[large.odix]}" "${c[large.cat]}")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
