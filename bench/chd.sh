#!/usr/bin/env bash
# CHD speed and size: `odix convert x.cue x.chd` against `chdman createcd` with the same number of threads (both
# write CD LZMA, CD Deflate and CD FLAC hunks of 8 frames), and listing and extracting from the CHD against the
# same image as BIN/CUE. Builds a CD image of SIZE_MB (default 700) MB of files: a third random bytes, a third
# text, a third runs of zeros and repeated blocks (roughly the mix of a game disc), and one 2-minute audio track.
#   bench/chd.sh [WORKDIR]      (default /tmp/odix-bench-chd; needs about 4 × SIZE_MB free)
# ODIX=path/to/odix picks the binary (default target/release/odix, built if missing); THREADS (default nproc) is
# given to both; RUNS (default 3) timed runs each; READS_ONLY=1 times listing and extracting only, with the CHDs
# and write timings of the last run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/odix-bench-chd}
odix=${ODIX:-$here/target/release/odix}
runs=${RUNS:-3}
size_mb=${SIZE_MB:-700}
threads=${THREADS:-$(nproc)}
[ -x "$odix" ] || (cd "$here" && cargo build --release -p odix --quiet)
mkdir -p "$work"
cd "$work"

if [ ! -f disc.cue ] || [ "$(cat size 2>/dev/null)" != "$size_mb" ]; then
  # A new disc: the CHDs and timings of an earlier one go too.
  rm -rf tree disc.* data.* audio.bin ./*.chd ./*_write.json
  python3 - "$size_mb" <<'PY'
import os, random, sys
random.seed(7)
total = int(sys.argv[1]) * 1_000_000 - 21_000_000  # room for the audio track
os.makedirs("tree", exist_ok=True)
words = b"the quick brown fox jumps over the lazy dog and keeps running through the field ".split()
n = 0
while total > 0:
    size = min(total, random.randint(100_000, 8_000_000))
    kind = n % 3
    if kind == 0:
        data = os.urandom(size)
    elif kind == 1:
        data = b" ".join(random.choice(words) for _ in range(size // 5 + 1))[:size]
    else:
        block = os.urandom(4096)
        data = b"".join(block if random.random() < 0.5 else bytes(4096) for _ in range(size // 4096 + 1))[:size]
    with open(f"tree/f{n:04}.bin", "wb") as f:
        f.write(data)
    total -= size
    n += 1
# Two minutes of a 16-bit stereo tone with noise, as a BIN holds audio (little-endian).
import math, struct
frames = 120 * 75
with open("audio.bin", "wb") as f:
    for i in range(frames * 588):
        v = int(8000 * math.sin(i * 0.05)) + random.randint(-300, 300)
        f.write(struct.pack("<hh", v, v))
PY
  xorriso -as mkisofs -quiet -R -J -iso-level 3 -o data.iso tree
  "$odix" convert --force data.iso data.cue >/dev/null 2>&1
  cat data.bin audio.bin > disc.bin
  data_frames=$(( $(stat -c %s data.bin) / 2352 ))
  msf=$(printf '%02d:%02d:%02d' $((data_frames / 4500)) $((data_frames / 75 % 60)) $((data_frames % 75)))
  printf 'FILE "disc.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 01 %s\n' \
    "$msf" > disc.cue
  rm -f data.bin data.cue audio.bin
  echo "$size_mb" > size
fi

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
bench() { hyperfine_json "$1" "$2" "$3"; median "$1.json"; } # name prepare command

# READS_ONLY=1 keeps the CHDs and write timings of an earlier run (when there are some) and times the reads only.
if [ "${READS_ONLY:-}" != 1 ] || [ ! -f odix_write.json ] || [ ! -f chdman_write.json ]; then
  bench odix_write 'rm -f odix.chd' "$odix convert disc.cue odix.chd" >/dev/null
  bench chdman_write 'rm -f chdman.chd' "chdman createcd -np $threads -i disc.cue -o chdman.chd" >/dev/null
fi
chdman verify -i odix.chd >/dev/null
odix_size=$(stat -c %s odix.chd)
chdman_size=$(stat -c %s chdman.chd)
bench ls_chd true "$odix ls -R odix.chd > /dev/null" >/dev/null
bench ls_cue true "$odix ls -R disc.cue > /dev/null" >/dev/null
bench extract_chd 'rm -rf out; mkdir out' "$odix extract odix.chd -C out" >/dev/null
bench extract_cue 'rm -rf out; mkdir out' "$odix extract disc.cue -C out" >/dev/null
# Back to BIN/CUE: odix against chdman's own extraction of the same CHD.
bench tocue_odix 'rm -f back.cue back.bin' "$odix convert odix.chd back.cue" >/dev/null
bench tocue_chdman 'rm -f back.cue back.bin' "chdman extractcd -i odix.chd -o back.cue" >/dev/null
rm -rf out back.cue back.bin

echo "CD of $(du -m disc.bin | cut -f1) MB (BIN), $threads threads, $(nproc) cores, medians of $runs runs"
echo
echo "| case | odix (s) | other | other (s) | odix / other, wall | odix / other, CPU | issue target |"
echo "|---|---|---|---|---|---|---|"
ratio_row "BIN/CUE to CHD" odix_write "chdman createcd" chdman_write "at most 1.0"
ratio_row "ls -R" ls_chd "the same BIN/CUE" ls_cue "at most 1.2"
ratio_row "extract" extract_chd "the same BIN/CUE" extract_cue "at most 1.2"
ratio_row "CHD to BIN/CUE" tocue_odix "chdman extractcd" tocue_chdman ""
echo
echo "CHD size: odix $odix_size bytes, chdman $chdman_size bytes, odix / chdman = $(ratio "$odix_size" "$chdman_size")"
# Which codec each CHD stored its hunks with (copies of other hunks included): where a size difference comes from.
for f in odix chdman; do
  echo "$f.chd hunks by codec: $(chdman info -v -i $f.chd | awk '/^ +[0-9,]+ +[0-9.]+%/ {$2=""; printf "%s; ", $0}')"
done
target "CHD size, odix / chdman" "$(ratio "$odix_size" "$chdman_size")" 1.00
target "CHD write time, odix / chdman" "$(ratio "$(median odix_write.json)" "$(median chdman_write.json)")" 1.00
target "ls -R, CHD / BIN/CUE" "$(ratio "$(median ls_chd.json)" "$(median ls_cue.json)")" 1.20
target "extract, CHD / BIN/CUE" "$(ratio "$(median extract_chd.json)" "$(median extract_cue.json)")" 1.20
