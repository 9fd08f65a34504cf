#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 30), after replaying the regression inputs.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# - Builds all targets once (release, debug assertions on so integer overflow is a crash, no sanitizer: the
#   parsers are safe Rust, and without ASan the fuzzers run about twice as fast). Installs cargo-fuzz if missing.
#   cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# - For each target: replays fuzz/regress/TARGET/* (each must pass), then fuzzes from fuzz/seeds/TARGET/ and the
#   working corpus fuzz/corpus/TARGET/ (kept between runs, not committed) with the dictionary fuzz/dict/odix.dict.
# - Limits per input: FUZZ_TIMEOUT seconds (default 10) and FUZZ_RSS_MB MiB (default 400); inputs up to 64 KiB,
#   1 MiB for the whole-image walks (`*_walk`) and the build round trips (`*_roundtrip`: a random tree built into
#   an image in memory and read back, `udf_build_roundtrip` and `iso_build_roundtrip`).
# - FUZZ_JOBS targets run at the same time (default: 1, or the number of cores when CI is set).
# - A crash, timeout or out-of-memory leaves its input in fuzz/artifacts/TARGET/ and makes the script exit 1,
#   unless fuzz/known-failures.txt lists the target (a reported bug whose fix is pending).
#   Minimise it with `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s none -a TARGET artifacts/TARGET/FILE`
#   and, once understood, add it to fuzz/regress/TARGET/ (cli/tests/hostile.rs replays those through the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${1:-30}
shift || true
export RUSTC_BOOTSTRAP=1
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-400}
if [ -n "${FUZZ_JOBS:-}" ]; then
  JOBS=$FUZZ_JOBS
elif [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
  JOBS=$(nproc)
else
  JOBS=1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

start=$(date +%s)
cd fuzz
cargo fuzz build -s none -a
BIN=${CARGO_TARGET_DIR:-$ROOT/fuzz/target}/x86_64-unknown-linux-gnu/release
if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  mapfile -t TARGETS < <(cargo fuzz list)
fi
built=$(date +%s)
echo "fuzz.sh: built ${#TARGETS[@]} targets in $((built - start)) s; fuzzing each for ${SECONDS_EACH} s, $JOBS at a time"

LOGS=$ROOT/fuzz/artifacts/logs
mkdir -p "$LOGS"

# Fuzzes one target; its exit status says whether it found anything. Output goes to its log.
run_target() {
  local t=$1 max_len=65536
  case $t in *_walk | *_roundtrip) max_len=1048576 ;; esac
  mkdir -p "corpus/$t" "artifacts/$t"
  local seeds=()
  [ -d "seeds/$t" ] && seeds+=("seeds/$t")
  if [ -d "regress/$t" ] && [ -n "$(ls -A "regress/$t")" ]; then
    seeds+=("regress/$t")
    # Each regression input alone first: a failure here is a regression, reported as such.
    if ! "$BIN/$t" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" "regress/$t"/* >"$LOGS/$t.regress.log" 2>&1; then
      echo "REGRESSION: $t fails on an input of fuzz/regress/$t (see $LOGS/$t.regress.log)"
      return 1
    fi
  fi
  "$BIN/$t" "corpus/$t" "${seeds[@]}" -dict=dict/odix.dict -max_total_time="$SECONDS_EACH" \
    -max_len="$max_len" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -artifact_prefix="artifacts/$t/" \
    -print_final_stats=1 >"$LOGS/$t.log" 2>&1
}

# Targets with a reported bug still open (fuzz/known-failures.txt): their crashes are shown, not fatal.
declare -A KNOWN=()
if [ -f known-failures.txt ]; then
  while read -r t reason; do
    case $t in '' | '#'*) continue ;; esac
    KNOWN[$t]=$reason
  done <known-failures.txt
fi

failed=()
declare -A PIDS=()
wait_one() {
  local done_pid
  wait -n -p done_pid && rc=0 || rc=$?
  local t=${PIDS[$done_pid]}
  unset "PIDS[$done_pid]"
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" 2>/dev/null | grep -o '[0-9]*$' || echo 0)
  if [ "$rc" = 0 ]; then
    echo "  ok     $t ($execs runs)"
  else
    local what
    what=$(grep -h -m1 -E 'panicked at|ERROR|deadly signal|timeout|out-of-memory' "$LOGS/$t.regress.log" "$LOGS/$t.log" 2>/dev/null | head -1 || true)
    if [ -n "${KNOWN[$t]:-}" ]; then
      echo "  KNOWN  $t: ${KNOWN[$t]}"
    else
      echo "  FAILED $t: $what"
      ls "artifacts/$t"/* 2>/dev/null | sed 's/^/         input: fuzz\//'
      failed+=("$t")
    fi
  fi
}
for t in "${TARGETS[@]}"; do
  while [ "${#PIDS[@]}" -ge "$JOBS" ]; do wait_one; done
  run_target "$t" &
  PIDS[$!]=$t
done
while [ "${#PIDS[@]}" -gt 0 ]; do wait_one; done

end=$(date +%s)
echo "fuzz.sh: ${#TARGETS[@]} targets, build $((built - start)) s, total $((end - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failures in: ${failed[*]} (logs in fuzz/artifacts/logs/)" >&2
  exit 1
fi
