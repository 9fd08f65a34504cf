#!/usr/bin/env bash
# UDF build speed: `odix mkiso --udf` (an ISO 9660 + Rock Ridge + Joliet + UDF bridge) against
# `genisoimage -R -J -udf` on 20 000 small files (about 230 MB), and `odix mkiso --format udf` against the `cat`
# floor (the same bytes copied once) on 2 GiB of large files. Medians of hyperfine runs (each from no output,
# after sync), mean CPU time (user+sys), peak RSS of one run; the issue's ratios are printed last.
#   bench/udf_write.sh [WORKDIR]     (default /tmp/odix-bench-udf; needs ~5 GB free)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-udf}
odix=${ODIX:-${CARGO_TARGET_DIR:-$here/target}/release/odix}
runs=${RUNS:-5}
# Without ODIX, build first so a stale binary is never measured.
[ -n "${ODIX:-}" ] || (cd "$here" && cargo build --release -p odix --quiet)
mkdir -p "$work"
cd "$work"

if [ ! -d files ] || [ ! -d large ]; then
  rm -rf files large
  python3 - <<'PY'
import os, random
random.seed(1)
# 20 000 files, about 230 MB: 200 directories of 100 files of 1..22 KiB (as bench/read.sh).
for d in range(200):
    p = f"files/dir{d:03}"
    os.makedirs(p)
    for f in range(100):
        with open(f"{p}/file{f:03}.bin", "wb") as fh:
            fh.write(os.urandom(random.randint(1024, 22 * 1024)))
# 2 GiB of large files: 8 files of 256 MiB.
os.makedirs("large")
chunk = os.urandom(1 << 20)
for i in range(8):
    with open(f"large/big{i}.bin", "wb") as fh:
        for _ in range(256):
            fh.write(chunk)
PY
fi

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
declare -A w c r
bench() { # name command...: wall, CPU and peak RSS (one run) under w/c/r[name]
  local name=$1; shift
  hyperfine_json "$name" 'rm -f out.iso out.img; sync' "$*"
  w[$name]=$(field "$name.json" wall)
  c[$name]=$(field "$name.json" cpu)
  rm -f out.iso out.img
  r[$name]=$(peak_rss "$*")
}
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f}')" "$1"; }
mib() { python3 -c "import sys; print(f'{int(sys.argv[1])/1024:.1f}')" "$1"; }
row() { # label odix-name other-label other-name
  echo "| $1 | $(secs "${w[$2]}") | $(secs "${c[$2]}") | $(mib "${r[$2]}") | $3 | $(secs "${w[$4]}") | $(secs "${c[$4]}") |" \
    "$(mib "${r[$4]}") | $(ratio "${w[$2]}" "${w[$4]}") | $(ratio "${c[$2]}" "${c[$4]}") |"
}

export SOURCE_DATE_EPOCH=1700000000
echo "median of $runs runs (wall), mean CPU (user+sys), peak RSS of one run; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | odix wall (s) | odix CPU (s) | odix RSS (MiB) | other | other wall (s) | other CPU (s) | other RSS (MiB) | odix / other (wall) | odix / other (CPU) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
bench odix_bridge "$odix mkiso -q --udf -o out.iso files"
bench geniso_udf "genisoimage -quiet -R -J -udf -o out.iso files"
row "bridge, 20 000 files (230 MB)" odix_bridge "genisoimage -R -J -udf" geniso_udf
bench odix_udf_large "$odix mkiso -q --format udf -o out.img large"
bench cat_large "cat large/* > out.img"
row "UDF only, 2 GiB in 8 files" odix_udf_large cat cat_large
bench odix_bridge_large "$odix mkiso -q --udf -o out.iso large"
row "bridge, 2 GiB in 8 files" odix_bridge_large cat cat_large
echo
echo "Targets (issue #6):"
target "bridge, 20 000 files, wall: odix / genisoimage -udf" "$(ratio "${w[odix_bridge]}" "${w[geniso_udf]}")" 0.60
target "bridge, 2 GiB, wall: odix / cat" "$(ratio "${w[odix_bridge_large]}" "${w[cat_large]}")" 1.05
target "UDF only, 2 GiB, wall: odix / cat" "$(ratio "${w[odix_udf_large]}" "${w[cat_large]}")" 1.05
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f out.iso out.img
