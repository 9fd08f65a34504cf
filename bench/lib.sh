# Helpers the bench scripts share (sourced, not run). They read hyperfine's JSON exports and /usr/bin/time, and
# print plain numbers for the scripts' tables.

# hyperfine_json NAME PREPARE COMMAND: $runs timed runs (one warm-up), PREPARE before each, into NAME.json.
hyperfine_json() {
  hyperfine --style none --runs "$runs" --warmup 1 --prepare "$2" --export-json "$1.json" "$3" >/dev/null 2>&1
}
# field JSON wall|cpu: the median wall time, or the mean CPU time (user + system), of a hyperfine export.
field() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["median"] if sys.argv[2] == "wall" else r["user"] + r["system"])
PY
}
# median JSON / cpu JSON: the same, to the millisecond.
median() { printf '%.3f\n' "$(field "$1" wall)"; }
# Mean CPU time (user + system) of the runs, steadier than wall time on a loaded machine.
cpu() { printf '%.3f\n' "$(field "$1" cpu)"; }
# peak_rss COMMAND: the peak resident set size of one run, in KiB.
peak_rss() { /usr/bin/time -v sh -c "$1" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
verdict() { python3 -c "import sys; print('met' if float(sys.argv[1]) <= float(sys.argv[2]) else 'NOT met')" "$1" "$2"; }
# target WHAT RATIO LIMIT: one line of a script's goals, "- WHAT = RATIO (at most LIMIT: met)".
target() { echo "- $1 = $2 (at most $3: $(verdict "$2" "$3"))"; }
# ratio_table: the header of the table ratio_row fills.
ratio_table() {
  echo "medians of $runs runs (hyperfine); odix / other as wall-time medians and as mean CPU time (user + system)"
  echo
  echo "| case | odix (s) | other | other (s) | odix / other, wall | odix / other, CPU | issue target |"
  echo "|---|---|---|---|---|---|---|"
}
# ratio_row CASE ODIX-NAME OTHER-LABEL OTHER-NAME TARGET: one table row, odix / other by median wall and mean CPU.
ratio_row() {
  local o=$2 t=$4
  echo "| $1 | $(median "$o.json") | $3 | $(median "$t.json") | $(ratio "$(median "$o.json")" "$(median "$t.json")") | $(ratio "$(cpu "$o.json")" "$(cpu "$t.json")") | $5 |"
}
