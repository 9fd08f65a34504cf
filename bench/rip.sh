#!/usr/bin/env bash
# Rip throughput in the VM: `odix rip` of a clean 200 MB disc against `dd if=/dev/sr0 bs=64k`, in the same VM run.
#
#   bench/rip.sh [ODIX_BINARY]     (default: a release build, made first with `cargo build --release -p odix`)
#
# Environment: VM_SMP=N guest CPUs (default 1, as vm-run); ODIX_BEFORE=BINARY adds rows for a second odix build
# (an older one, to compare in the same VM run); VM_RUN=path of vm-run.
#
# Every reader reads the whole disc twice; the faster run counts (and the guest CPU time, user + system from
# /usr/bin/time, of that run is shown beside it). The guest page cache is dropped before every run; the host's file
# cache is warmed by a first dd run that is not counted. Like is compared with like:
# - dd to /dev/null (the issue's yardstick) and dd writing its image where odix writes its own (the guest's tmpfs);
# - odix computes CRC32, MD5 and SHA-1 of the image for its log: dd piped through `tee IMAGE | md5sum` and
#   `tee IMAGE | sha1sum` are the rows to set that against;
# - `odix verify` of a copy of the image already in the guest's memory computes the same three hashes and reads
#   nothing from the drive: the guest CPU time of hashing alone, a floor under `odix rip` that dd does not pay.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -ge 1 ]]; then
  odix=$1
else
  (cd "$here" && cargo build --release -p odix >&2)
  odix=${CARGO_TARGET_DIR:-$here/target}/release/odix
fi
before=${ODIX_BEFORE:-}
vm=${VM_RUN:-$here/../shared/vm/vm-run}
[[ -x $vm ]] || vm=/work/shared/vm/vm-run
[[ -x $odix ]] || { echo "no odix binary at $odix" >&2; exit 1; }
[[ -z $before || -x $before ]] || { echo "no odix binary at $before" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/share"
head -c 200000000 /dev/urandom > "$work/tree/payload.bin"
xorriso -as mkisofs -quiet -o "$work/disc.iso" "$work/tree" 2>/dev/null
size=$(stat -c %s "$work/disc.iso")
(cd "$work" && md5sum disc.iso | cut -d' ' -f1 > md5 && sha1sum disc.iso | cut -d' ' -f1 > sha1)

before_runs=''
[[ -n $before ]] && before_runs="timed before $before rip /dev/sr0 /tmp/out.iso
    timed before_nohash $before rip --no-hash /dev/sr0 /tmp/out.iso"
"$vm" --disc "$work/disc.iso" --mem 1024 --smp "${VM_SMP:-1}" --timeout 1200 --share "$work/share" -- sh -c "
  now() { cut -d' ' -f1 /proc/uptime; }
  timed() { name=\$1; shift; echo 3 > /proc/sys/vm/drop_caches; t=\$(now); \
            /usr/bin/time -f '%U %S' -o /tmp/cpu \"\$@\" >/dev/null 2>&1; rc=\$?; \
            echo \"\$name \$t \$(now) \$rc \$(tail -n1 /tmp/cpu)\" >> $work/share/times; rm -f /tmp/out.*; }
  cat /sys/block/sr0/queue/max_sectors_kb > $work/share/max_kb
  dd if=/dev/sr0 of=/dev/null bs=64k 2>/dev/null
  dd if=/dev/sr0 of=/tmp/hashed.iso bs=1M 2>/dev/null
  for i in 1 2; do
    timed dd_null dd if=/dev/sr0 of=/dev/null bs=64k
    timed dd_file dd if=/dev/sr0 of=/tmp/out.iso bs=64k
    timed dd_md5 sh -c 'dd if=/dev/sr0 bs=64k | tee /tmp/out.iso | md5sum'
    timed dd_sha1 sh -c 'dd if=/dev/sr0 bs=64k | tee /tmp/out.iso | sha1sum'
    timed odix $odix rip /dev/sr0 /tmp/out.iso
    timed odix_nohash $odix rip --no-hash /dev/sr0 /tmp/out.iso
    timed hash_only $odix verify /tmp/hashed.iso
    $before_runs
  done
  $odix rip /dev/sr0 /tmp/check.iso >/dev/null 2>&1 && cmp -s /dev/sr0 /tmp/check.iso && echo same > $work/share/same
  grep -i 'image ' /tmp/check.log > $work/share/hashes
"
[[ -f $work/share/same ]] || { echo "the odix image differs from the disc" >&2; exit 1; }
grep -q "md5 $(cat "$work/md5") sha1 $(cat "$work/sha1")" "$work/share/hashes" \
  || { echo "the odix log's hashes differ from md5sum/sha1sum of the disc" >&2; exit 1; }
awk -v s="$size" -v smp="${VM_SMP:-1}" '
  $4 != 0 { print "failed: " $1 > "/dev/stderr"; bad = 1 }
  { d = $3 - $2; if (!($1 in best) || d < best[$1]) { best[$1] = d; cpu[$1] = $5 + $6 } }
  END {
    if (bad) exit 1;
    printf "disc %.1f MB, guest CPUs %d, best of 2 runs (guest CPU time: user + system of that run)\n", s / 1e6, smp;
    n = split("dd_null dd_file dd_md5 dd_sha1 odix odix_nohash hash_only before before_nohash", k, " ");
    split("dd bs=64k >/dev/null;dd bs=64k >tmpfs file;dd | tee file | md5sum;dd | tee file | sha1sum;" \
          "odix rip;odix rip --no-hash;odix verify (hashes only);before: odix rip;before: odix rip --no-hash", label, ";");
    for (i = 1; i <= n; i++)
      if (k[i] in best)
        printf "%-30s %6.2f s  %6.1f MB/s  cpu %6.2f s\n", label[i], best[k[i]], s / best[k[i]] / 1e6, cpu[k[i]];
    r = best["dd_null"] / best["odix"]; rn = best["dd_null"] / best["odix_nohash"];
    printf "issue ratio odix rip / dd >/dev/null:     %.2f (target 0.95: %s); --no-hash %.2f (%s)\n",
      r, (r >= 0.95 ? "met" : "not met"), rn, (rn >= 0.95 ? "met" : "not met");
    printf "like for like, odix rip / dd >file:       %.2f; --no-hash %.2f\n",
      best["dd_file"] / best["odix"], best["dd_file"] / best["odix_nohash"];
    printf "like for like, odix rip / dd|tee|sha1sum: %.2f\n", best["dd_sha1"] / best["odix"];
    printf "hashing alone takes %.2f of dd >/dev/null'"'"'s time\n", best["hash_only"] / best["dd_null"];
  }' "$work/share/times"
echo "guest max_sectors_kb of sr0 (odix's read size limit): $(cat "$work/share/max_kb")"
