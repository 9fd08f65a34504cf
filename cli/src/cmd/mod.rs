//! The commands: each parses its arguments, calls the library and prints. No command imports another; what
//! several share (their image arguments, progress display) lives beside them here.

pub mod args;
pub mod build_args;
pub mod convert;
pub mod edit;
pub mod extract;
pub mod interrupt;
pub mod man;
pub mod mkiso;
pub mod mkisofs;
pub mod mount;
pub mod progress;
pub mod read;
pub mod rip;
pub mod verify;
pub mod xorriso;
