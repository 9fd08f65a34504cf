#!/usr/bin/env bash
# The whole test suite: formatting, lints and API docs without warnings; unit, property and doc tests; the
# library's examples; integration tests that check odix against independent implementations (xorriso,
# genisoimage, pycdlib, 7z, bsdtar, libcdio, udftools, udfclient, chdman, bchunk, ddrescuelog), the Linux kernel
# in a QEMU VM, and SeaBIOS/OVMF firmware; the slow tests (files over 4 GiB); in CI also every fuzz target for 5
# seconds (longer fuzzing: scripts/fuzz.sh SECONDS).
# The tests run under cargo-nextest when it is installed (each test a process of its own, the test binaries'
# tests mixed on every core), else under cargo test; both with the `suite` profile (release without LTO).
# Installs what is missing first (./setup.sh is quick when everything is there; its release build is skipped).
set -euo pipefail
cd "$(dirname "$0")"
ODIX_SETUP_NO_BUILD=1 ./setup.sh
# Rust installed by setup.sh through rustup lives here.
export PATH="$HOME/.cargo/bin:$PATH"
export ODIX_SLOW_TESTS=${ODIX_SLOW_TESTS:-1}
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --quiet
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --cargo-profile suite --no-fail-fast --failure-output final --status-level fail \
    --final-status-level slow
  cargo test --workspace --doc --profile suite
else
  cargo test --workspace --profile suite
fi
if [ "${CI:-}" = true ] || [ -n "${ODIX_FUZZ_SECONDS:-}" ]; then
  scripts/fuzz.sh "${ODIX_FUZZ_SECONDS:-5}"
fi
