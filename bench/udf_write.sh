#!/usr/bin/env bash
# UDF build speed: `odix mkiso --udf` (an ISO 9660 + Rock Ridge + Joliet + UDF bridge) against
# `genisoimage -R -J -udf` on 20 000 small files (about 230 MB), and `odix mkiso --format udf` against the `cat`
# floor (the same bytes copied once) on 2 GiB of large files. Medians of hyperfine runs, one machine, one run.
#   bench/udf_write.sh [WORKDIR]     (default /tmp/odix-bench-udf; needs ~5 GB free)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-udf}
odix=${ODIX:-$here/target/release/odix}
runs=${RUNS:-5}
[ -x "$odix" ] || (cd "$here" && cargo build --release -p odix --quiet)
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

median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
bench() { # name command...
  local name=$1; shift
  hyperfine --style none --runs "$runs" --warmup 1 --prepare 'rm -f out.iso out.img; sync' \
    --export-json "$name.json" "$*" >/dev/null 2>&1
  median "$name.json"
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f}')" "$1"; }

export SOURCE_DATE_EPOCH=1700000000
echo "| case | odix (s) | other | other (s) | odix / other |"
echo "|---|---|---|---|---|"
o=$(bench odix_bridge "$odix mkiso -q --udf -o out.iso files")
g=$(bench geniso_udf "genisoimage -quiet -R -J -udf -o out.iso files")
echo "| bridge, 20 000 files (230 MB) | $(secs "$o") | genisoimage -R -J -udf | $(secs "$g") | $(ratio "$o" "$g") |"
o=$(bench odix_udf_large "$odix mkiso -q --format udf -o out.img large")
c=$(bench cat_large "cat large/* > out.img")
echo "| UDF only, 2 GiB in 8 files | $(secs "$o") | cat | $(secs "$c") | $(ratio "$o" "$c") |"
o=$(bench odix_bridge_large "$odix mkiso -q --udf -o out.iso large")
echo "| bridge, 2 GiB in 8 files | $(secs "$o") | cat | $(secs "$c") | $(ratio "$o" "$c") |"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f out.iso out.img
