//! `tidelog`: the operator's tool for Tidelog journals.
//!
//! Look inside a journal (`stats`, `ls`, `cat`, `tail`), check it (`verify`),
//! move it between backends (`export`, `import`), copy it while it is live
//! (`backup`, `restore`), reclaim space (`compact`), and see the whole thing
//! work (`demo`). Human-readable tables by default, `--json` for scripts.
//!
//! Exit codes (see [`failure`]): 0 success, 1 error, 2 usage, 3 problems found
//! (verify, damaged backup, corrupt data), 4 journal locked by another process,
//! 5 path missing or not a Tidelog journal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod backup;
mod compact;
mod copy;
mod demo;
mod export;
mod failure;
mod image;
mod inspect;
mod load;
mod output;
mod store;
mod verify;

use failure::Failure;

/// Look inside, check, move and back up Tidelog event journals.
#[derive(Debug, Parser)]
#[command(
    name = "tidelog",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Exit codes: 0 success, 1 error, 2 usage, 3 problems found (verify, damaged backup, corrupt data), \
                  4 journal locked by another process, 5 path missing or not a journal (or no such stream)."
)]
struct Cli {
    /// Print JSON (one document, or JSON lines for event listings) instead of tables.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Create an LMDB journal, run simulated actors that persist and snapshot, then recover them and report how fast.
    Demo {
        /// Directory of the demo journal (created if missing; reused on later runs).
        #[arg(default_value = "./tidelog-data")]
        dir: PathBuf,
        /// Number of simulated actors.
        #[arg(long, default_value_t = 16)]
        actors: usize,
        /// Events each actor persists.
        #[arg(long, default_value_t = 2_000)]
        events: usize,
    },
    /// Backend, format version, size on disk, streams, events, snapshots and time range.
    Stats {
        /// Journal directory.
        path: PathBuf,
    },
    /// Persistence ids with event counts, highest sequence numbers and latest snapshots.
    Ls {
        /// Journal directory.
        path: PathBuf,
    },
    /// One stream's events (payloads as UTF-8 when valid, else base64).
    Cat {
        /// Journal directory.
        path: PathBuf,
        /// Persistence id of the stream.
        persistence_id: String,
        /// First sequence number shown.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last sequence number shown.
        #[arg(long, default_value_t = u64::MAX)]
        to: u64,
    },
    /// The global event feed, or the events of one tag, in offset order.
    Tail(inspect::TailArgs),
    /// Read every record and snapshot, check every checksum and index entry; exit 3 on any problem.
    ///
    /// The check runs in a child process, so damage that crashes the reader (LMDB's own page
    /// structure carries no checksum) is reported as a problem too.
    Verify {
        /// Journal directory.
        path: PathBuf,
        /// Also read every value of every LMDB database, which reaches every page in use.
        #[arg(long)]
        deep: bool,
        /// Check in this process (the child half of `verify`).
        #[arg(long, hide = true)]
        in_process: bool,
    },
    /// Write every event, stream mark and snapshot as JSON lines (lossless; `-` for stdout).
    Export {
        /// Journal directory.
        path: PathBuf,
        /// Output file (`-` writes to stdout).
        out: PathBuf,
    },
    /// Create a journal from an export, with the backend of your choice.
    Import(export::ImportArgs),
    /// Copy every event, stream mark and snapshot into a new journal, between any two backends
    /// (a directory or a `postgresql://` URI on either side), with a progress bar.
    Copy(copy::CopyArgs),
    /// Take a consistent hot copy with a sha256 manifest (safe beside a live writer).
    ///
    /// A PostgreSQL journal's backup is an LMDB journal with the same content; `restore` it, then
    /// `tidelog copy` it into a database.
    Backup {
        /// Journal directory or `postgresql://` URI.
        path: PathBuf,
        /// Backup directory to create (must not exist).
        dest: PathBuf,
    },
    /// Check a backup against its sha256 manifest and restore it into a new journal directory.
    Restore {
        /// Backup directory made by `tidelog backup`.
        backup: PathBuf,
        /// Journal directory to create (must not exist).
        path: PathBuf,
    },
    /// Rewrite a closed journal without its deleted data (needs the writer lock).
    Compact {
        /// Journal directory.
        path: PathBuf,
    },
    /// Test helper: append events to one stream and print each acknowledged sequence number.
    #[command(hide = true)]
    Load(LoadArgs),
}

/// Arguments of the hidden `load` command used by the integration tests.
#[derive(Debug, Args)]
struct LoadArgs {
    /// Journal directory (created if missing).
    path: PathBuf,
    /// Stream to append to.
    #[arg(long, default_value = "load-1")]
    persistence_id: String,
    /// Stop after this many events (default: run until killed).
    #[arg(long)]
    count: Option<u64>,
    /// Backend used when the journal is created.
    #[arg(long, default_value = "lmdb")]
    backend: String,
    /// Size of each event's payload in bytes (at least the text "load event N").
    #[arg(long, default_value_t = 0)]
    payload_bytes: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    match result {
        Ok(code) => code,
        // The reader of our output went away (`tidelog tail ... | head`): not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let failure = Failure::from_error(&err);
            eprintln!("tidelog: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// True when the error is a write to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == broken
            || e.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind) == broken
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    match cli.command {
        Command::Demo { dir, actors, events } => demo::run(&dir, actors, events, json),
        Command::Stats { path } => inspect::stats(&path, json),
        Command::Ls { path } => inspect::ls(&path, json),
        Command::Cat {
            path,
            persistence_id,
            from,
            to,
        } => inspect::cat(&path, &persistence_id, from, to, json),
        Command::Tail(args) => inspect::tail(&args, json),
        Command::Verify { path, deep, in_process } => verify::run(&path, json, deep, in_process),
        Command::Export { path, out } => export::export(&path, &out, json),
        Command::Import(args) => export::import(&args, json),
        Command::Copy(args) => copy::run(&args, json),
        Command::Backup { path, dest } => backup::backup(&path, &dest, json),
        Command::Restore { backup, path } => backup::restore(&backup, &path, json),
        Command::Compact { path } => compact::run(&path, json),
        Command::Load(args) => load::run(&args.path, &args.persistence_id, args.count, &args.backend, args.payload_bytes),
    }
}
