#!/usr/bin/env bash
# The whole test suite: formatting, lints and API docs without warnings; unit, property and doc tests; the
# library's examples; integration tests that check odix against independent implementations (xorriso,
# genisoimage, pycdlib, 7z, bsdtar, libcdio, udftools, udfclient, chdman, bchunk, ddrescuelog), the Linux kernel
# in a QEMU VM, and SeaBIOS/OVMF firmware; the slow tests (files over 4 GiB); in CI also every fuzz target for 30
# seconds.
# Installs what is missing first (./setup.sh is quick when everything is there).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
# Rust installed by setup.sh through rustup lives here.
export PATH="$HOME/.cargo/bin:$PATH"
export ODIX_SLOW_TESTS=${ODIX_SLOW_TESTS:-1}
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --quiet
cargo test --workspace --release
if [ "${CI:-}" = true ] || [ -n "${ODIX_FUZZ_SECONDS:-}" ]; then
  scripts/fuzz.sh "${ODIX_FUZZ_SECONDS:-30}"
fi
