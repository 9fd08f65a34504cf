#!/usr/bin/env bash
# Installs everything odix's build, tests and benchmarks use on a fresh Debian machine (run as root),
# then builds odix in release mode. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  xorriso genisoimage udftools udfclient p7zip-full libarchive-tools libcdio-utils gddrescue
  qemu-system-x86 busybox-static linux-image-amd64 cpio kmod ovmf grub-pc-bin grub-efi-amd64-bin
  grub-common mtools isolinux syslinux-common ipxe memtest86+ grub-rescue-pc sg3-utils bchunk ccd2iso
  fuse3 libfuse3-dev pkg-config time hyperfine strace mandoc groff-base man-db procps util-linux
  isomd5sum mame-tools build-essential curl ca-certificates git python3 python3-pip whipper python3-libdiscid cd-discid
  nrg2iso mdf2iso iat cdrdao cuetools shntool flac sox
  python3-lz4 file zlib1g-dev
)
# zlib1g-dev: odix's Deflate is zlib's (flate2's zlib backend links the system's, the one chdman uses, so CHD
# hunks come out as chdman's; without it the crate builds its own copy of zlib's source).

if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup.sh: not root, skipping apt packages" >&2
fi

# Debian's own python3 refuses system-wide pip installs (PEP 668) unless told it may.
python3 -c 'import pycdlib' 2>/dev/null || python3 -m pip install -q pycdlib 2>/dev/null \
  || python3 -m pip install -q --break-system-packages pycdlib
# npm, for the chdman and maxcso packages (below). npm from Debian only when no Node.js with npm is
# installed already (NodeSource's nodejs package conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi
# mame-tools (above) puts chdman on the PATH; the npm package is kept beside it without linking its binary, for
# `chdman createdvd`, which the Debian version lacks.
[ -d "$(npm root -g 2>/dev/null)/chdman" ] || npm install -g --silent --no-bin-links chdman
# maxcso (CSO, ZSO and DAX), the reference compressor the container tests check against: its npm package ships a
# static build for Linux.
[ -d "$(npm root -g 2>/dev/null)/maxcso" ] || npm install -g --silent maxcso@0.1130.11
# Rust through rustup when the machine has none.
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done
# The fuzzers (scripts/fuzz.sh) run on this stable toolchain through cargo-fuzz.
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet

# The release binary the README's first command runs. ./test.sh sets ODIX_SETUP_NO_BUILD: the suite builds its own
# (the `suite` profile), and a release build with link-time optimisation would only add minutes to CI.
if [ -z "${ODIX_SETUP_NO_BUILD:-}" ]; then
  cargo build --release -p odix
fi
