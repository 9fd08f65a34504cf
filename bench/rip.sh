#!/usr/bin/env bash
# Rip throughput in the VM: `odix rip` of a clean 200 MB disc against `dd if=/dev/sr0 bs=64k`, in the same VM run.
#
#   bench/rip.sh [ODIX_BINARY]     (default: target/release/odix; build it with `cargo build --release -p odix`)
#
# Each reader reads the whole disc twice; the faster run counts. dd is measured writing to /dev/null and writing
# a file on the guest's tmpfs (where odix writes its image, map and log); odix with and without the image hashes
# (CRC32, MD5, SHA-1) it computes for the log. The guest page cache is dropped before every run; the host's file
# cache is warmed by a first dd run that is not counted. Prints seconds, MB/s and the throughput ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
odix=${1:-$here/target/release/odix}
vm=${VM_RUN:-$here/../shared/vm/vm-run}
[[ -x $vm ]] || vm=/work/shared/vm/vm-run
[[ -x $odix ]] || { echo "no odix binary at $odix" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/share"
head -c 200000000 /dev/urandom > "$work/tree/payload.bin"
xorriso -as mkisofs -quiet -o "$work/disc.iso" "$work/tree" 2>/dev/null
size=$(stat -c %s "$work/disc.iso")

"$vm" --disc "$work/disc.iso" --mem 1024 --share "$work/share" -- sh -c "
  now() { cut -d' ' -f1 /proc/uptime; }
  timed() { name=\$1; shift; echo 3 > /proc/sys/vm/drop_caches; t=\$(now); \"\$@\" >/dev/null 2>&1; rc=\$?; \
            echo \"\$name \$t \$(now) \$rc\" >> $work/share/times; rm -f /tmp/out.*; }
  dd if=/dev/sr0 of=/dev/null bs=64k 2>/dev/null
  for i in 1 2; do
    timed dd_null dd if=/dev/sr0 of=/dev/null bs=64k
    timed dd_file dd if=/dev/sr0 of=/tmp/out.iso bs=64k
    timed odix $odix rip /dev/sr0 /tmp/out.iso
    timed odix_nohash $odix rip --no-hash /dev/sr0 /tmp/out.iso
  done
  $odix rip --no-hash /dev/sr0 /tmp/check.iso >/dev/null 2>&1 && cmp -s /dev/sr0 /tmp/check.iso && echo same > $work/share/same
"
[[ -f $work/share/same ]] || { echo "the odix image differs from the disc" >&2; exit 1; }
awk -v s="$size" '
  $4 != 0 { print "failed: " $1 > "/dev/stderr"; bad = 1 }
  { d = $3 - $2; if (!($1 in best) || d < best[$1]) best[$1] = d }
  END {
    if (bad) exit 1;
    printf "disc                 %.1f MB\n", s / 1e6;
    n = split("dd_null dd_file odix odix_nohash", k, " ");
    split("dd bs=64k >/dev/null|dd bs=64k >tmpfs file|odix rip|odix rip --no-hash", label, "|");
    for (i = 1; i <= n; i++) printf "%-22s %6.2f s  %6.1f MB/s\n", label[i], best[k[i]], s / best[k[i]] / 1e6;
    printf "ratio odix/dd (dd to /dev/null): %.2f with hashes, %.2f --no-hash\n",
      best["dd_null"] / best["odix"], best["dd_null"] / best["odix_nohash"];
    printf "ratio odix/dd (dd to a tmpfs file): %.2f with hashes, %.2f --no-hash\n",
      best["dd_file"] / best["odix"], best["dd_file"] / best["odix_nohash"];
  }' "$work/share/times"
