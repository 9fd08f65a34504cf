#!/usr/bin/env bash
# UDF extraction speed: `odix extract` against `7z x` on a 20 000-file `genisoimage -udf` bridge image (about
# 230 MB, the same tree as bench/read.sh), plus odix extracting the same files through the image's ISO 9660 tree.
# Prints medians (hyperfine) and ratios, and peak RSS.
#   bench/udf_extract.sh [WORKDIR]      (default /tmp/odix-bench-udf-read; needs ~1 GB free; a tmpfs such as
#   /dev/shm/x measures the readers rather than the disk)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-udf-read}
odix=${ODIX:-$here/target/release/odix}
runs=${RUNS:-5}
[ -x "$odix" ] || (cd "$here" && cargo build --release -p odix --quiet)
mkdir -p "$work"
cd "$work"

if [ ! -f files-udf.iso ]; then
  rm -rf files
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
PY
  genisoimage -quiet -udf -R -J -o files-udf.iso files
fi

median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
cpu() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(f\"{r['user']+r['system']:.2f}\")" "$1"; }
bench() { # name command...
  local name=$1; shift
  hyperfine --style none --runs "$runs" --warmup 1 --export-json "$name.json" --prepare 'rm -rf out; mkdir out' "$*" >/dev/null 2>&1
  median "$name.json"
}
rss() { /usr/bin/time -v sh -c "rm -rf out; mkdir out; $*" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/{print $2}'; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }

# Both extractions must give the source tree before anything is timed.
rm -rf out && mkdir out && "$odix" extract -C out files-udf.iso && diff -r files out/ >/dev/null
rm -rf out && mkdir out && 7z x -tudf -oout files-udf.iso >/dev/null && diff -r files out/ >/dev/null

u=$(bench odix_udf "$odix extract --view udf -C out files-udf.iso")
z=$(bench 7z_udf "7z x -tudf -oout files-udf.iso")
i=$(bench odix_iso "$odix extract --view rockridge -C out files-udf.iso")
echo "| case | odix (s) | other | other (s) | odix / other |"
echo "|---|---|---|---|---|"
echo "| extract UDF, 20 000 files | $u | 7z x -tudf | $z | $(ratio "$u" "$z") |"
echo "| extract UDF vs ISO 9660 tree, same files | $u | odix extract --view rockridge | $i | $(ratio "$u" "$i") |"
echo
echo "CPU (user+system, s): odix UDF $(cpu odix_udf.json), 7z $(cpu 7z_udf.json), odix ISO 9660 $(cpu odix_iso.json)"
echo "peak RSS (KiB): odix UDF $(rss "$odix extract --view udf -C out files-udf.iso"), 7z $(rss "7z x -tudf -oout files-udf.iso")"
