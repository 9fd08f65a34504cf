#!/usr/bin/env bash
# FLAC encoding throughput of `odix convert DISC.cue DIR --audio flac` against the rip rate it must keep up with:
# 48x CD speed is 7.06 MB/s of audio, and the issue asks for at least 0.95 of it.
#
#   bench/audio.sh [ODIX_BINARY]     (default: a release build, made first with `cargo build --release -p odix`)
#
# Environment: SECONDS_OF_AUDIO (default 300: five minutes, 52.9 MB); runs (default 3).
#
# The disc is two tracks that sox synthesises with a fixed seed: pink noise under a sine (compresses about as music
# does) and quiet white noise (compresses little). The same disc is timed with odix writing WAVE files (the cost of
# reading and writing alone) and with the reference encoder `flac -5` on one thread, as yardsticks; the last row
# decodes odix's FLAC files back into one BIN (its MB/s counts the audio written). The page cache is warm: the disc
# is read once before the runs. Not run by the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
if [[ $# -ge 1 ]]; then
  odix=$(realpath "$1")
else
  (cd "$here" && cargo build --release -p odix >&2)
  odix=${CARGO_TARGET_DIR:-$here/target}/release/odix
fi
[[ -x $odix ]] || { echo "no odix binary at $odix" >&2; exit 1; }
for t in sox flac hyperfine python3; do
  command -v "$t" >/dev/null || { echo "$t is missing: run ./setup.sh" >&2; exit 1; }
done
secs=${SECONDS_OF_AUDIO:-300}
runs=${runs:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
half=$((secs / 2))
raw=(-t raw -r 44100 -e signed -b 16 -c 2 -L)
sox -R -n "${raw[@]}" "$work/a.raw" synth "$half" pinknoise synth "$half" sine mix 440 vol 0.5
sox -R -n "${raw[@]}" "$work/b.raw" synth "$half" whitenoise vol 0.1
cat "$work/a.raw" "$work/b.raw" > "$work/disc.bin"
a_frames=$(( $(stat -c %s "$work/a.raw") / 2352 ))
printf 'FILE "disc.bin" BINARY\n  TRACK 01 AUDIO\n    TITLE "Pink"\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    TITLE "White"\n    INDEX 01 %02d:%02d:%02d\n' \
  $((a_frames / 4500)) $((a_frames / 75 % 60)) $((a_frames % 75)) > "$work/disc.cue"
size=$(stat -c %s "$work/disc.bin")
cat "$work/disc.bin" > /dev/null
cd "$work"
hyperfine_json flac_odix "rm -rf out" "$odix convert disc.cue out --audio flac"
hyperfine_json wav_odix "rm -rf out" "$odix convert disc.cue out --audio wav"
"$odix" convert disc.cue tracks --audio flac >/dev/null 2>&1
hyperfine_json flac_back "rm -f back.cue back.bin" "$odix convert tracks/disc.cue back.cue"
hyperfine_json flac_ref "rm -f ref.flac" \
  "flac -s -5 --force-raw-format --endian=little --sign=signed --channels=2 --bps=16 --sample-rate=44100 -o ref.flac disc.bin"
"$odix" convert disc.cue out --audio flac --force >/dev/null 2>&1
flac -t -s out/*.flac
odix_flac=$(du -cb out/*.flac | tail -n1 | cut -f1)
ref_flac=$(stat -c %s ref.flac)
mbs() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]) / 1e6:.1f}')" "$1" "$2"; }
echo "audio: $secs s, $(python3 -c "print(f'{$size / 1e6:.1f}')") MB; $(nproc) CPUs; medians of $runs runs (hyperfine)"
echo
echo "| case | wall (s) | CPU (s) | MB/s of audio | output / input |"
echo "|---|---|---|---|---|"
row() { echo "| $1 | $(median "$2.json") | $(cpu "$2.json") | $(mbs "$size" "$(median "$2.json")") | $3 |"; }
row "odix --audio flac" flac_odix "$(ratio "$odix_flac" "$size")"
row "odix --audio wav" wav_odix "1.00"
row "flac -5 (one thread)" flac_ref "$(ratio "$ref_flac" "$size")"
row "odix, FLAC files back to BIN/CUE" flac_back "$(ratio "$size" "$odix_flac")"
echo
rate=$(mbs "$size" "$(median flac_odix.json)")
python3 -c "import sys; r=float(sys.argv[1]); print(f'- odix FLAC rate / 48x CD rate (7.056 MB/s) = {r / 7.056:.2f} (at least 0.95: {\"met\" if r / 7.056 >= 0.95 else \"NOT met\"})')" "$rate"
