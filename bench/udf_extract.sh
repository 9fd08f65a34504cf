#!/usr/bin/env bash
# UDF extraction speed: `odix extract` against `7z x` on a 20 000-file `genisoimage -udf` bridge image (about
# 230 MB, the same tree as bench/read.sh), plus odix extracting the same files through the image's ISO 9660 tree.
# Prints medians (hyperfine), ratios of wall time and of CPU time against the issue's targets, peak RSS and
# system-call counts (strace -c).
#   bench/udf_extract.sh [WORKDIR]      (default /dev/shm/odix-bench-udf-read, else /tmp/odix-bench-udf-read; needs
#   ~1 GB free; a tmpfs measures the readers rather than ext4's inode allocator, see bench/read.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
default=/tmp/odix-bench-udf-read
[[ -d /dev/shm && -w /dev/shm ]] && default=/dev/shm/odix-bench-udf-read
work=${1:-$default}
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

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
bench() { hyperfine_json "$1" 'rm -rf out; mkdir out' "${*:2}"; median "$1.json"; } # name command...
rss() { peak_rss "rm -rf out; mkdir out; $*"; }

# Both extractions must give the source tree before anything is timed.
rm -rf out && mkdir out && "$odix" extract -C out files-udf.iso && diff -r files out/ >/dev/null
rm -rf out && mkdir out && 7z x -tudf -oout files-udf.iso >/dev/null && diff -r files out/ >/dev/null

bench odix_udf "$odix extract --view udf -C out files-udf.iso" >/dev/null
bench 7z_udf "7z x -tudf -oout files-udf.iso" >/dev/null
bench odix_iso "$odix extract --view rockridge -C out files-udf.iso" >/dev/null
# One thread: the files written by the walking thread itself (`-j 1`), as on a one-core machine.
bench odix_udf_j1 "$odix extract -j 1 --view udf -C out files-udf.iso" >/dev/null
bench odix_iso_j1 "$odix extract -j 1 --view rockridge -C out files-udf.iso" >/dev/null
ratio_table
ratio_row "extract UDF, 20 000 files" odix_udf "7z x -tudf" 7z_udf "<= 0.2"
ratio_row "extract UDF vs ISO 9660 tree, same files" odix_udf "odix extract --view rockridge" odix_iso "<= 1.0"
ratio_row "extract UDF, one thread (-j 1)" odix_udf_j1 "7z x -tudf" 7z_udf "<= 0.2"
ratio_row "UDF vs ISO 9660 tree, both -j 1" odix_udf_j1 "odix extract -j 1 --view rockridge" odix_iso_j1 "<= 1.0"
echo
echo "CPU (user+system, s): odix UDF $(cpu odix_udf.json), 7z $(cpu 7z_udf.json), odix ISO 9660 $(cpu odix_iso.json); -j 1: odix UDF $(cpu odix_udf_j1.json), ISO 9660 $(cpu odix_iso_j1.json)"
echo "odix writer threads by default: $(nproc) CPUs here, at most 8"
echo "peak RSS (KiB): odix UDF $(rss "$odix extract --view udf -C out files-udf.iso"), 7z $(rss "7z x -tudf -oout files-udf.iso")"
if command -v strace >/dev/null; then
  sc() { rm -rf out; mkdir out; strace -f -c -o sc.txt sh -c "$*" >/dev/null 2>&1; awk '$NF == "total" {print $4}' sc.txt; }
  echo "system calls: odix UDF $(sc "$odix extract --view udf -C out files-udf.iso"), 7z $(sc "7z x -tudf -oout files-udf.iso"), odix ISO 9660 $(sc "$odix extract --view rockridge -C out files-udf.iso")"
fi
