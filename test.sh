#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, property and oracle tests (xorriso, genisoimage, pycdlib,
# 7z, bsdtar, libcdio, udftools, the Linux kernel in a VM, QEMU firmware). Run ./setup.sh once first.
set -euo pipefail
cd "$(dirname "$0")"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --release -p odix --quiet
cargo test --workspace --release
