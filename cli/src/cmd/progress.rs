//! Progress on standard error, shown only when it is a terminal: bars that fit the terminal's width with the time
//! left, and counters for work whose size is not known ahead.

use std::io::{self, IsTerminal};

/// A progress bar on standard error when it is a terminal (hidden otherwise): what is being done, the bar
/// filling what the terminal leaves, the percentage and the time left. At 80 columns the bar keeps 40.
pub fn bar(total: u64, what: &str) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:20!} {wide_bar} {percent:>3}% ETA {eta:>4}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// A counter on standard error when it is a terminal, for work whose size is not known ahead (a tree walk).
pub fn spinner(what: &str) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:20!} {spinner} {pos} entries, {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// A counter of bytes written for work whose total is not known ahead (an extraction walks the tree as it goes).
pub fn bytes_counter(what: &str) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:12!} {spinner} {bytes:>10} {binary_bytes_per_sec:>12} {elapsed:>4}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// The bar of an image being written: bytes written, the rate and the time left; hidden when `quiet` or when
/// standard error is no terminal.
pub fn image_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}
