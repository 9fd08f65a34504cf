#!/usr/bin/env bash
# Does a raw rip keep a fast drive's pace while it computes every checksum and encodes FLAC files? `odix rip --raw
# --speed 48` of a BIN/CUE read as the disc it describes, whose reads odix paces to a 48x drive's rate (48 x 75
# sectors of 2352 bytes a second, 8.47 MB/s: the 1x of SET CD SPEED, 176.4 kB/s), with the image's CRC32/MD5/SHA-1,
# the tracks' AccurateRip and CRC checksums and `--audio flac` (one FLAC file per track, encoded while the rip reads
# on), against the same rip with `--no-hash` and no track files. The issue's target: the achieved rate (image bytes
# / wall time of the whole command, the FLAC files finished) at least 0.95 of the drive's rate.
#
#   bench/rip_pace.sh [ODIX_BINARY]   (default: a build with `cargo build --profile suite -p odix`)
#
# Environment: SECONDS_OF_AUDIO (default 600: ten minutes, 105.8 MB), TRACKS (default 10), SPEED (default 48),
# runs (default 2).
#
# The disc is TRACKS tracks that sox synthesises with a fixed seed, alternately pink noise under a sine (compresses
# about as music does) and quiet white noise (compresses little). The FLAC files are checked with `flac -t`, and
# decoded with `flac -d` back to exactly the image's bytes. Not run by the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
if [[ $# -ge 1 ]]; then
  odix=$(realpath "$1")
else
  (cd "$here" && cargo build --profile suite -p odix >&2)
  odix=${CARGO_TARGET_DIR:-$here/target}/suite/odix
fi
[[ -x $odix ]] || { echo "no odix binary at $odix" >&2; exit 1; }
for t in sox flac hyperfine python3; do
  command -v "$t" >/dev/null || { echo "$t is missing: run ./setup.sh" >&2; exit 1; }
done
secs=${SECONDS_OF_AUDIO:-600}
tracks=${TRACKS:-10}
speed=${SPEED:-48}
runs=${runs:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw=(-t raw -r 44100 -e signed -b 16 -c 2 -L)
# Whole sectors per track, so that every track ends on a sector boundary.
per=$((secs * 75 / tracks))
{
  echo 'PERFORMER "Bench"'
  echo 'TITLE "Pace"'
  echo 'FILE "disc.bin" BINARY'
} > "$work/disc.cue"
: > "$work/disc.bin"
for i in $(seq 1 "$tracks"); do
  len=$(python3 -c "print(f'{$per * 588 / 44100:.6f}')")
  if (( i % 2 )); then
    sox -R -n "${raw[@]}" "$work/t.raw" synth "$len" pinknoise synth "$len" sine mix $((200 + 40 * i)) vol 0.5
  else
    sox -R -n "${raw[@]}" "$work/t.raw" synth "$len" whitenoise vol 0.1
  fi
  # sox may round the length by a sample: cut or pad to the whole sectors.
  head -c $((per * 2352)) "$work/t.raw" > "$work/t2.raw"
  truncate -s $((per * 2352)) "$work/t2.raw"
  at=$(( (i - 1) * per ))
  printf '  TRACK %02d AUDIO\n    TITLE "Track %d"\n    INDEX 01 %02d:%02d:%02d\n' \
    "$i" "$i" $((at / 4500)) $((at / 75 % 60)) $((at % 75)) >> "$work/disc.cue"
  cat "$work/t2.raw" >> "$work/disc.bin"
done
rm -f "$work/t.raw" "$work/t2.raw"
size=$(stat -c %s "$work/disc.bin")
cat "$work/disc.bin" > /dev/null
cd "$work"
hyperfine_json full "rm -rf out.* flac" "$odix rip --raw --speed $speed disc.cue out.bin --audio flac flac"
hyperfine_json bare "rm -rf out.* flac" "$odix rip --raw --speed $speed --no-hash disc.cue out.bin"
hyperfine_json unpaced "rm -rf out.* flac" "$odix rip --raw disc.cue out.bin --audio flac flac"
# One more rip to check its outputs.
rm -rf out.* flac
"$odix" rip --raw --speed "$speed" disc.cue out.bin --audio flac flac 2> rip.err
cmp -s disc.bin out.bin || { echo "the ripped image differs from disc.bin" >&2; exit 1; }
flac -t -s flac/*.flac
for f in flac/*.flac; do flac -d -s -c --force-raw-format --endian=little --sign=signed "$f"; done > back.raw
cmp -s disc.bin back.raw || { echo "the FLAC files do not decode to the image" >&2; exit 1; }
flac_size=$(du -cb flac/*.flac | tail -n1 | cut -f1)
mbs() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]) / 1e6:.2f}')" "$1" "$2"; }
drive=$(python3 -c "print(f'{$speed * 176400 / 1e6:.2f}')")
echo "disc: $secs s of audio in $tracks tracks, $(python3 -c "print(f'{$size / 1e6:.1f}')") MB; $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs runs (hyperfine)"
echo "drive: ${speed}x = $drive MB/s (simulated: odix paces the image's reads)"
echo
echo "| case | wall (s) | CPU (s) | MB/s achieved | achieved / drive |"
echo "|---|---|---|---|---|"
row() {
  local r; r=$(mbs "$size" "$(median "$2.json")")
  echo "| $1 | $(median "$2.json") | $(cpu "$2.json") | $r | $(ratio "$r" "$drive") |"
}
row "--speed $speed, all checksums, --audio flac" full
row "--speed $speed, --no-hash, no track files" bare
row "unpaced, all checksums, --audio flac" unpaced
echo
echo "FLAC files: $(ls flac/*.flac | wc -l), $(ratio "$flac_size" "$size") of the audio;" \
  "flac -t passed, flac -d gives the image"
grep -o 'waited [0-9.]* s for the encoding' rip.err | sed 's/^/last rip: /' || true
r=$(ratio "$(mbs "$size" "$(median full.json)")" "$drive")
verdict=$(python3 -c "import sys; print('met' if float(sys.argv[1]) >= 0.95 else 'NOT met')" "$r")
echo "- achieved / drive rate with checksums and FLAC = $r (at least 0.95: $verdict)"
