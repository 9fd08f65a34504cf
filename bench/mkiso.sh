#!/usr/bin/env bash
# ISO build speed and memory: `odix mkiso` (Rock Ridge + Joliet, the defaults) against
# `xorriso -as mkisofs -R -J`, `genisoimage -R -J` and the `cat` floor (the same file bytes copied once), on
#   small: 20 000 small files (about 230 MB), tiny: 100 000 tiny files, large: 2 GiB in 8 large files.
# Wall time is the median of hyperfine runs; peak RSS is one run under /usr/bin/time -v.
#   bench/mkiso.sh [WORKDIR]     (default /tmp/odix-bench-mkiso; needs ~7 GB free)
#   env: ODIX=path/to/odix, RUNS=5
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-mkiso}
odix=${ODIX:-$here/target/release/odix}
runs=${RUNS:-5}
[ -x "$odix" ] || (cd "$here" && cargo build --release -p odix --quiet)
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
median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
wall() { # name command
  hyperfine --style none --runs "$runs" --warmup 1 --export-json "$1.json" "$2" >/dev/null 2>&1
  median "$1.json"
}
rss() { # command -> peak RSS in KiB
  /usr/bin/time -v sh -c "$1" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }

declare -A cmd
echo "| tree | tool | wall (s) | peak RSS (MiB) | odix / tool (wall) | odix / tool (RSS) |"
echo "|---|---|---|---|---|---|"
for tree in small tiny large; do
  cmd[odix]="$odix mkiso -q -o out.iso $tree"
  cmd[xorriso]="xorriso -as mkisofs -quiet -R -J -o out.iso $tree"
  cmd[genisoimage]="genisoimage -quiet -R -J -o out.iso $tree"
  cmd[cat]="find $tree -type f -print0 | sort -z | xargs -0 cat > out.iso"
  declare -A w r
  for tool in odix xorriso genisoimage cat; do
    w[$tool]=$(wall "${tree}_$tool" "${cmd[$tool]}")
    r[$tool]=$(rss "${cmd[$tool]}")
  done
  for tool in odix xorriso genisoimage cat; do
    mib=$(python3 -c "print(f'{int(\"${r[$tool]}\")/1024:.1f}')")
    printf '| %s | %s | %.3f | %s | %s | %s |\n' "$tree" "$tool" "${w[$tool]}" "$mib" \
      "$(ratio "${w[odix]}" "${w[$tool]}")" "$(ratio "${r[odix]}" "${r[$tool]}")"
  done
  rm -f out.iso
done
