//! The Rust writer and reader of the cross-language matrix.
//!
//! `tidemark-fixture write DIR BACKEND [FIXTURE]` applies the fixture to a new journal;
//! `tidemark-fixture verify DIR BACKEND [FIXTURE]` checks a journal written by any binding.

use std::path::PathBuf;
use std::process::ExitCode;

use tidemark_compat::{open, Fixture};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: tidemark-fixture write|verify DIR lmdb|files [FIXTURE]");
        return ExitCode::from(2);
    }
    let fixture = Fixture::load(&args.get(4).map(PathBuf::from).unwrap_or_else(Fixture::default_path));
    let journal = match open(PathBuf::from(&args[2]).as_path(), &args[3]) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("open failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args[1].as_str() {
        "write" => fixture.write(&journal).map_err(|e| e.to_string()),
        "verify" => fixture.verify(&journal),
        other => Err(format!("unknown command {other}")),
    };
    let closed = journal.close();
    match (result, closed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        (_, Err(e)) => {
            eprintln!("close failed: {e}");
            ExitCode::FAILURE
        }
    }
}
