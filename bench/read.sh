#!/usr/bin/env bash
# Listing and extraction speed: odix against isoinfo, bsdtar, 7z and cp, in one run on one machine.
# Builds two images with xorriso (100 000 entries; 20 000 files, about 230 MB), then times each tool with
# hyperfine and prints medians and ratios (odix / other) of wall time and of CPU time, the issue's targets, peak RSS
# from /usr/bin/time -v and system-call counts from strace -c.
#   bench/read.sh [WORKDIR]      (default /dev/shm/odix-bench-read, else /tmp/odix-bench-read; needs ~1 GB free)
# A tmpfs measures the extractors: on ext4 each run after deleting the previous 20 000 files spends seconds in the
# kernel's inode allocator (recently_deleted), for every tool, and how long depends on the deletion history.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
default=/tmp/odix-bench-read
[[ -d /dev/shm && -w /dev/shm ]] && default=/dev/shm/odix-bench-read
work=${1:-$default}
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

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
bench() { hyperfine_json "$1" 'rm -rf out; mkdir out' "${*:2}"; median "$1.json"; } # name command...
rss() { peak_rss "rm -rf out; mkdir out; $*"; }

# The extractions must give the source tree before anything is timed.
rm -rf out && mkdir out && "$odix" extract files.iso -C out && diff -r files out >/dev/null
rm -rf out && mkdir out && 7z x -y -oout files.iso >/dev/null && diff -r files out >/dev/null

bench ls_many "$odix ls -R many.iso > /dev/null" >/dev/null
bench isoinfo_many "isoinfo -R -l -i many.iso > /dev/null" >/dev/null
bench bsdtar_many "bsdtar tf many.iso > /dev/null" >/dev/null
bench ls_files "$odix ls -R files.iso > /dev/null" >/dev/null
bench isoinfo_files "isoinfo -R -l -i files.iso > /dev/null" >/dev/null
bench bsdtar_files "bsdtar tf files.iso > /dev/null" >/dev/null
bench x_odix "$odix extract files.iso -C out" >/dev/null
bench x_odix_j1 "$odix extract -j 1 files.iso -C out" >/dev/null
bench x_bsdtar "bsdtar xf files.iso -C out" >/dev/null
bench x_7z "7z x -y -oout files.iso > /dev/null" >/dev/null
bench x_cp "cp -r files out/" >/dev/null

ratio_table
ratio_row "ls -R, 100 000 entries" ls_many "isoinfo -R -l" isoinfo_many "<= 1.0"
ratio_row "ls -R, 100 000 entries" ls_many "bsdtar tf" bsdtar_many "<= 0.3"
ratio_row "ls -R, 20 000 files" ls_files "isoinfo -R -l" isoinfo_files ""
ratio_row "ls -R, 20 000 files" ls_files "bsdtar tf" bsdtar_files ""
ratio_row "extract, 20 000 files / 230 MB" x_odix "bsdtar xf" x_bsdtar ""
ratio_row "extract, 20 000 files / 230 MB" x_odix "7z x" x_7z "<= 0.9"
ratio_row "extract, 20 000 files / 230 MB" x_odix "cp -r of the tree" x_cp ""
ratio_row "extract -j 1 (one thread), 20 000 files" x_odix_j1 "7z x" x_7z "<= 0.9"
ratio_row "extract -j 1 (one thread), 20 000 files" x_odix_j1 "bsdtar xf" x_bsdtar ""
echo
echo "peak RSS (KiB): odix extract $(rss "$odix extract files.iso -C out"), bsdtar xf $(rss "bsdtar xf files.iso -C out"), 7z x $(rss "7z x -y -oout files.iso")"
echo "peak RSS (KiB): odix ls -R many.iso $(rss "$odix ls -R many.iso"), isoinfo $(rss "isoinfo -R -l -i many.iso")"
if command -v strace >/dev/null; then
  sc() { rm -rf out; mkdir out; strace -f -c -o sc.txt sh -c "$*" >/dev/null 2>&1; awk '$NF == "total" {print $4}' sc.txt; }
  echo "system calls: odix extract $(sc "$odix extract files.iso -C out"), 7z x $(sc "7z x -y -oout files.iso"), bsdtar xf $(sc "bsdtar xf files.iso -C out")"
fi
