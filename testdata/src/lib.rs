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

pub use oracle::{require_tool, run, run_ok, vm_run, SmallFs};
pub use tree::{compare_trees, random_tree, tricky_tree, CompareOptions, TreeOptions};
