//! Test support for odix: the tricky test-tree generator, tree comparison, finding the independent tools
//! (oracles) the tests check odix against, and booting images under real firmware.
//!
//! A test whose oracle is missing skips on a developer's machine, but fails in CI (`CI=true`): the setup script
//! installs every oracle.

pub mod audio;
pub mod firmware;
pub mod hostile;
pub mod oracle;
pub mod tree;

pub use oracle::{chdman_createdvd, maxcso, require_tool, run, run_ok, script, vm_run, SmallFs};
pub use tree::{compare_trees, random_tree, tricky_tree, CompareOptions, TreeOptions};

/// Deterministic bytes that compress a little, as real data does: of every 7 bytes, 3 follow a slow count and 4
/// are xorshift noise, `seed` choosing the noise.
pub fn compressible(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 7 < 3 {
                (i / 64) as u8
            } else {
                x as u8
            }
        })
        .collect()
}
