//! `tidelog-bench`: Tidelog side by side with the raw device, SQLite and raw
//! LMDB, in one run, printing Markdown tables with ratios (issue 3).
//!
//! ```text
//! cargo run --release -p tidelog-bench -- --quick          # < 2 minutes
//! cargo run --release -p tidelog-bench                     # full sizes
//! cargo run --release -p tidelog-bench -- --only 1,2 --dir /var/tmp
//! ```

mod device;
mod harness;
mod ideal;
mod open_walk;
mod peers;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use report::Table;
use scenarios::Config;

/// A scenario: run at the given sizes, return its tables.
type Scenario = fn(&Config) -> Vec<Table>;

const USAGE: &str = "usage: tidelog-bench [--quick] [--dir DIR] [--only 1,2,...] [--rounds N]

  --quick      reduced sizes (finishes in under 2 minutes)
  --dir DIR    where scratch journals go (default: the system temp dir); must not be tmpfs
               for the durable scenarios to mean anything
  --only LIST  scenarios to run (1 durable appends, 2 latency, 3 non-durable,
               4 replay + 5 recovery, 6 close, 7 snapshots); default all
  --rounds N   interleaved rounds per scenario (default 1 quick, 3 full)
  --profile BACKEND,SYNC,WRITERS[t]
               run one Tidelog workload alone (for perf/callgrind) instead of the
               scenarios: BACKEND files|lmdb|memory (no device: the CPU of the path alone), SYNC always|interval (100 ms)|never,
               WRITERS 0 = 1,024 in flight, a trailing t (64t) = writers as async tasks, one runtime worker per core
  --open-walk MIB
               time opening an LMDB journal of about MIB MiB (the page walk every open runs,
               against raw heed's open) instead of the scenarios";

struct Args {
    quick: bool,
    dir: Option<PathBuf>,
    only: Vec<u32>,
    rounds: Option<usize>,
    profile: Option<(tidelog::Backend, tidelog::SyncPolicy, usize, bool)>,
    open_walk: Option<u64>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        quick: false,
        dir: None,
        only: (1..=7).collect(),
        rounds: None,
        profile: None,
        open_walk: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--dir" => parsed.dir = Some(PathBuf::from(value("--dir")?)),
            "--only" => {
                parsed.only = value("--only")?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..=7).contains(n))
                            .ok_or_else(|| format!("bad scenario {s:?}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--rounds" => {
                parsed.rounds = Some(
                    value("--rounds")?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("--rounds needs a positive number")?,
                )
            }
            "--profile" => {
                let v = value("--profile")?;
                let parts: Vec<&str> = v.split(',').collect();
                let [backend, sync, writers] = parts[..] else {
                    return Err("--profile needs BACKEND,SYNC,WRITERS".into());
                };
                let backend = match backend {
                    "files" => tidelog::Backend::Files,
                    "lmdb" => tidelog::Backend::Lmdb,
                    // No device: the per-append CPU of the shared path alone.
                    "memory" => tidelog::Backend::Memory,
                    _ => return Err(format!("bad backend {backend:?}")),
                };
                let sync = match sync {
                    "always" => tidelog::SyncPolicy::Always,
                    "never" => tidelog::SyncPolicy::Never,
                    "interval" => tidelog::SyncPolicy::Interval(std::time::Duration::from_millis(100)),
                    _ => return Err(format!("bad sync {sync:?}")),
                };
                // "64t": the writers are async tasks on a runtime with one worker per core.
                let (count, tasks) = match writers.strip_suffix('t') {
                    Some(count) => (count, true),
                    None => (writers, false),
                };
                let count = count.parse().map_err(|_| format!("bad writer count {writers:?}"))?;
                parsed.profile = Some((backend, sync, count, tasks));
            }
            "--open-walk" => {
                parsed.open_walk = Some(value("--open-walk")?.parse().map_err(|_| "--open-walk needs a size in MiB")?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = match tempfile::Builder::new().prefix("tidelog-bench-").tempdir_in(&base) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot create a scratch directory in {}: {e}", base.display());
            return ExitCode::FAILURE;
        }
    };
    let (fstype, device) = device::filesystem_of(scratch.path()).unwrap_or_else(|| ("unknown".into(), "unknown".into()));
    let mut cfg = Config::new(args.quick, scratch.path().to_owned());
    if let Some(r) = args.rounds {
        cfg.rounds = r;
    }

    if let Some(mib) = args.open_walk {
        println!("- load average at start: {}", load_average());
        println!("{}", open_walk::run(scratch.path(), mib, args.rounds.unwrap_or(5)).markdown());
        println!("- load average at end: {}", load_average());
        return ExitCode::SUCCESS;
    }

    if let Some((backend, sync, writers, tasks)) = args.profile {
        println!("{}", scenarios::profile(&cfg, backend, sync, writers, tasks).markdown());
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    println!("# Tidelog benchmark {}\n", if cfg.quick { "(--quick)" } else { "(full)" });
    println!("- date: {}", command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]));
    println!(
        "- command: `cargo run --release -p tidelog-bench --{}`",
        std::env::args().skip(1).map(|a| format!(" {a}")).collect::<String>()
    );
    println!("- commit: {}", command_output("git", &["rev-parse", "--short", "HEAD"]));
    println!(
        "- machine: {}, {} CPUs, Linux {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        command_output("uname", &["-r"])
    );
    println!("- scratch: {} ({fstype} on {device})", scratch.path().display());
    println!("- load average at start: {}", load_average());
    if fstype == "tmpfs" || fstype == "ramfs" {
        println!("- WARNING: the scratch directory is on {fstype}: fdatasync is free there and durable figures mean nothing. Use --dir on a real disk.");
    }
    println!();

    let scenarios: [(u32, Scenario); 6] = [
        (1, scenarios::durable_appends),
        (2, scenarios::latency),
        (3, scenarios::non_durable),
        (4, scenarios::replay_and_recovery),
        (6, scenarios::close_latency),
        (7, scenarios::snapshots),
    ];
    for (number, run) in scenarios {
        let wanted = args.only.contains(&number) || (number == 4 && args.only.contains(&5));
        if !wanted {
            continue;
        }
        let t = Instant::now();
        for table in run(&cfg).into_iter().filter(|t| !t.is_empty()) {
            println!("{}", table.markdown());
        }
        eprintln!("[scenario {number} took {:.1} s]", t.elapsed().as_secs_f64());
    }
    println!(
        "- load average at end: {}; total run time {:.0} s",
        load_average(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_run_everything_at_full_size() {
        let a = parse(&[]).unwrap();
        assert!(!a.quick);
        assert_eq!(a.only, (1..=7).collect::<Vec<_>>());
        assert!(a.dir.is_none() && a.rounds.is_none() && a.profile.is_none());
    }

    #[test]
    fn flags_are_parsed() {
        let a = parse(&["--quick", "--dir", "/x", "--only", "2, 5", "--rounds", "4"]).unwrap();
        assert!(a.quick);
        assert_eq!(a.dir, Some(PathBuf::from("/x")));
        assert_eq!(a.only, vec![2, 5]);
        assert_eq!(a.rounds, Some(4));
        let p = parse(&["--profile", "lmdb,never,0"]).unwrap().profile.unwrap();
        assert_eq!(p, (tidelog::Backend::Lmdb, tidelog::SyncPolicy::Never, 0, false));
        let p = parse(&["--profile", "files,always,64t"]).unwrap().profile.unwrap();
        assert_eq!(p, (tidelog::Backend::Files, tidelog::SyncPolicy::Always, 64, true));
    }

    #[test]
    fn bad_arguments_are_rejected() {
        assert!(parse(&["--only", "8"]).is_err());
        assert!(parse(&["--rounds", "0"]).is_err());
        assert!(parse(&["--dir"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--profile", "files,always"]).is_err());
        assert!(parse(&["--profile", "sqlite,always,1"]).is_err());
        assert_eq!(
            parse(&["--profile", "memory,always,0"]).unwrap().profile.unwrap().0,
            tidelog::Backend::Memory
        );
        assert_eq!(parse(&["--help"]).err(), Some(String::new()));
    }
}
