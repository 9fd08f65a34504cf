//! Writes the hostile-input corpus into a folder, for running odix (or another tool) on it by hand and for the
//! fuzzing seeds (`fuzz/make-seeds.sh`):
//!
//! ```text
//! cargo run -p odix-testdata --example hostile -- DIR [--compact-udf FILE]
//! ```
//!
//! Prints one line per case: name, input kind, attack class.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: hostile DIR [--compact-udf FILE]");
        return ExitCode::from(2);
    };
    let cases = match odix_testdata::hostile::generate(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hostile: writing {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    for c in &cases {
        println!("{}\t{:?}\t{}", c.path.display(), c.input, c.class);
    }
    if let (Some(flag), Some(file)) = (args.get(1), args.get(2)) {
        if flag == "--compact-udf" {
            if let Err(e) = std::fs::write(file, odix_testdata::hostile::compact_udf().0) {
                eprintln!("hostile: writing {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
