#!/usr/bin/env bash
# Listing and extraction speed: odix against isoinfo, bsdtar, 7z and cp, in one run on one machine.
# Builds two images with xorriso (100 000 entries; 20 000 files, about 230 MB), then times each tool with
# hyperfine and prints medians and ratios (odix / other), plus peak RSS from /usr/bin/time -v.
#   bench/read.sh [WORKDIR]      (default /tmp/odix-bench-read; needs ~1 GB free)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-read}
odix=${ODIX:-$here/target/release/odix}
runs=${RUNS:-5}
[ -x "$odix" ] || (cd "$here" && cargo build --release -p odix --quiet)
mkdir -p "$work"
cd "$work"

make_trees() {
  [ -f many.iso ] && [ -f files.iso ] && return
  rm -rf many files
  python3 - <<'PY'
import os, random
random.seed(1)
# 100 000 entries: 1 000 directories of 99 tiny files.
for d in range(1000):
    p = f"many/d{d:04}"
    os.makedirs(p)
    for f in range(99):
        with open(f"{p}/f{f:03}.txt", "wb") as fh:
            fh.write(b"x" * random.randint(0, 64))
# 20 000 files, about 230 MB: 200 directories of 100 files of 1..22 KiB.
for d in range(200):
    p = f"files/dir{d:03}"
    os.makedirs(p)
    for f in range(100):
        with open(f"{p}/file{f:03}.bin", "wb") as fh:
            fh.write(os.urandom(random.randint(1024, 22 * 1024)))
PY
  xorriso -as mkisofs -quiet -R -J -iso-level 3 -o many.iso many
  xorriso -as mkisofs -quiet -R -J -iso-level 3 -o files.iso files
}
make_trees

median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
bench() { # name command...
  local name=$1; shift
  hyperfine --style none --runs "$runs" --warmup 1 --export-json "$name.json" --prepare 'rm -rf out; mkdir out' "$*" >/dev/null 2>&1
  median "$name.json"
}
rss() { /usr/bin/time -v sh -c "rm -rf out; mkdir out; $*" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/{print $2}'; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }

echo "| case | odix (s) | other | other (s) | odix / other |"
echo "|---|---|---|---|---|"
o=$(bench ls_many "$odix ls -R many.iso > /dev/null")
i=$(bench isoinfo_many "isoinfo -R -l -i many.iso > /dev/null")
b=$(bench bsdtar_many "bsdtar tf many.iso > /dev/null")
echo "| ls -R, 100 000 entries | $o | isoinfo -R -l | $i | $(ratio "$o" "$i") |"
echo "| ls -R, 100 000 entries | $o | bsdtar tf | $b | $(ratio "$o" "$b") |"
o=$(bench ls_files "$odix ls -R files.iso > /dev/null")
i=$(bench isoinfo_files "isoinfo -R -l -i files.iso > /dev/null")
b=$(bench bsdtar_files "bsdtar tf files.iso > /dev/null")
echo "| ls -R, 20 000 files | $o | isoinfo -R -l | $i | $(ratio "$o" "$i") |"
echo "| ls -R, 20 000 files | $o | bsdtar tf | $b | $(ratio "$o" "$b") |"
o=$(bench x_odix "$odix extract files.iso -C out")
b=$(bench x_bsdtar "bsdtar xf files.iso -C out")
z=$(bench x_7z "7z x -y -oout files.iso > /dev/null")
c=$(bench x_cp "cp -r files out/")
echo "| extract, 20 000 files / 230 MB | $o | bsdtar xf | $b | $(ratio "$o" "$b") |"
echo "| extract, 20 000 files / 230 MB | $o | 7z x | $z | $(ratio "$o" "$z") |"
echo "| extract, 20 000 files / 230 MB | $o | cp -r of the tree | $c | $(ratio "$o" "$c") |"
echo
echo "peak RSS (KiB): odix extract $(rss "$odix extract files.iso -C out"), bsdtar xf $(rss "bsdtar xf files.iso -C out"), 7z x $(rss "7z x -y -oout files.iso")"
echo "peak RSS (KiB): odix ls -R many.iso $(rss "$odix ls -R many.iso"), isoinfo $(rss "isoinfo -R -l -i many.iso")"
