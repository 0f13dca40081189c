//! Mutation fuzzing of journals on disk, for both persistent backends: damage a copy of a real
//! journal (flipped bits, overwritten bytes, truncation, inserted garbage, zeroed pages, a page
//! copied over another, in the write-ahead log, `data.mdb`, segments, the control file,
//! snapshots, `FORMAT`), then
//! - `tidelog verify` must exit 0 or 3: never a panic (101), never a signal, never hang;
//! - opening it for writing and reading everything (in a child process, so that a crash is
//!   seen) must give a typed error or exactly the data that was written, or, when the journal
//!   reports a torn tail, a prefix of it. Anything else is silent loss or a silently wrong result.
//!
//! `cargo test -p tidelog-cli --test fuzz` runs a short pass (`./dev test` does). The long one:
//! `TIDELOG_FUZZ_ITERATIONS=10000 nice -n 15 cargo test --release -p tidelog-cli --test fuzz -- --nocapture --test-threads=1`.
//! `TIDELOG_FUZZ_ITERATIONS` is the number of random mutations per backend (each one damaged copy,
//! checked by `verify` and by the library; half of LMDB's damage `data.mdb`, anywhere in it); when
//! it is set, the flip test flips every byte of every stored value and header instead of every
//! 10th, and the truncation test cuts every file at 512 lengths and every page boundary instead
//! of five. `TIDELOG_FUZZ_SEED=n` repeats a run.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tidelog::{Backend, Journal, NewEvent, Options, Snapshot, SnapshotCriteria};

/// A case that runs longer than this is a hang (a healthy case takes milliseconds).
const HANG: Duration = Duration::from_secs(60);

/// The backends to fuzz: both, or those named in `TIDELOG_FUZZ_BACKENDS` (`lmdb,files`).
fn backends() -> Vec<Backend> {
    let wanted = std::env::var("TIDELOG_FUZZ_BACKENDS").unwrap_or_else(|_| "lmdb,files".into());
    [Backend::Lmdb, Backend::Files]
        .into_iter()
        .filter(|b| wanted.split(',').any(|w| w.trim() == b.name()))
        .collect()
}

fn iterations(default: usize) -> usize {
    std::env::var("TIDELOG_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    let seed = std::env::var("TIDELOG_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("TIDELOG_FUZZ_SEED={seed}");
    seed
}

/// Writes a journal with several streams, tags, deletions and snapshots. For LMDB the copy is
/// taken while the writer is open, so its write-ahead log holds records to replay; the files
/// backend gets small segments, so that several are sealed. With `bulk`, 400 more events go in
/// before the deletion (which checkpoints them into LMDB): every LMDB database then has branch
/// pages and leaves below them, and a large value has overflow pages, so that damage can land
/// deep in the trees and not only in the pages an open reads first.
fn build(dir: &Path, backend: Backend, bulk: bool) -> PathBuf {
    let live = dir.join("live");
    let j = Journal::open(&live, Options::new().backend(backend).segment_bytes(4 << 10)).unwrap();
    let mut append = |i: u32| {
        let pid = format!("p{}", i % 3);
        let mut event = NewEvent::new(format!("{pid}/{i}:").repeat(1 + i as usize % 7)).manifest("M");
        if i.is_multiple_of(2) {
            event = event.tag("even");
        }
        if i.is_multiple_of(5) {
            event = event.tag("five").writer_id("w").metadata(vec![i as u8]);
        }
        j.append(&pid, vec![event]).unwrap();
    };
    (0..30).for_each(&mut append);
    if bulk {
        for k in 0..40u32 {
            let events = (0..10u32)
                .map(|i| NewEvent::new(format!("bulk {k} {i} ").repeat(12)).tag(if i % 2 == 0 { "even" } else { "bulk" }))
                .collect();
            j.append(&format!("bulk-{}", k % 7), events).unwrap();
        }
        j.append("large", vec![NewEvent::new(vec![7u8; 10_000]).tag("five")]).unwrap();
    }
    j.delete_to("p0", 4).unwrap();
    j.snapshots()
        .save(&Snapshot {
            persistence_id: "p1".into(),
            sequence_nr: 3,
            timestamp: 7,
            manifest: "S".into(),
            metadata: vec![1],
            state: vec![5; 200],
        })
        .unwrap();
    (30..45).for_each(&mut append);
    j.flush().unwrap();
    let pristine = dir.join("pristine");
    copy_dir(&live, &pristine);
    j.close().unwrap();
    pristine
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "LOCK" && e.file_name() != "lock.mdb" {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

fn files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            files_in(&e.path(), out);
        } else if e.file_name() != "LOCK" && e.file_name() != "lock.mdb" {
            out.push(e.path());
        }
    }
}

/// Everything a journal answers, to compare a damaged copy with the original.
#[derive(Debug, PartialEq, Eq, Clone, Default)]
struct Model {
    /// Per stream: highest, deleted_to, and the events as (seq, offset, payload, tags, manifest).
    streams: BTreeMap<String, (u64, u64, Vec<Sig>)>,
    all: Vec<Sig>,
    tags: BTreeMap<String, Vec<u64>>,
    snapshots: BTreeMap<String, Option<(u64, Vec<u8>)>>,
}

type Sig = (String, u64, u64, Vec<u8>, Vec<String>, String, String, Vec<u8>);

fn sig(e: &tidelog::Event) -> Sig {
    (
        e.persistence_id.clone(),
        e.sequence_nr,
        e.global_offset,
        e.payload.clone(),
        e.tags.clone(),
        e.manifest.clone(),
        e.writer_id.clone(),
        e.metadata.clone(),
    )
}

fn model(j: &Journal) -> tidelog::Result<Model> {
    let mut m = Model::default();
    for pid in j.persistence_ids()? {
        let state = j.stream_state(&pid)?;
        let events = j.read(&pid, 1, u64::MAX, usize::MAX)?.iter().map(sig).collect();
        m.snapshots.insert(
            pid.clone(),
            j.snapshots()
                .load(&pid, SnapshotCriteria::latest())?
                .map(|s| (s.sequence_nr, s.state)),
        );
        m.streams.insert(pid, (state.highest_sequence_nr, state.deleted_to, events));
    }
    m.all = j.all_events(0, usize::MAX)?.iter().map(sig).collect();
    for tag in ["even", "five"] {
        m.tags.insert(
            tag.into(),
            j.events_by_tag(tag, 0, usize::MAX)?.iter().map(|e| e.global_offset).collect(),
        );
    }
    Ok(m)
}

/// True when `got` is what `expected` holds up to some global offset: what a dropped torn tail leaves.
fn is_prefix(got: &Model, expected: &Model) -> bool {
    let cut = got.all.len();
    if got.all[..] != expected.all[..cut.min(expected.all.len())] || cut > expected.all.len() {
        return false;
    }
    let last = got.all.last().map_or(0, |e| e.2);
    let kept = |e: &Sig| e.2 <= last;
    got.streams.iter().all(|(pid, (_, deleted_to, events))| {
        expected
            .streams
            .get(pid)
            .is_some_and(|(_, d, all)| d == deleted_to && events[..] == all.iter().filter(|e| kept(e)).cloned().collect::<Vec<_>>()[..])
    })
}

/// The child half: opens the damaged journal for writing, compares what it reads with the
/// original, and prints one line `RESULT <outcome>`. Does nothing unless started by a test here.
#[test]
#[ignore = "run as a child process by the tests in this file"]
fn fuzz_child() {
    let (Some(case), Some(pristine)) = (std::env::var_os("TIDELOG_FUZZ_CASE"), std::env::var_os("TIDELOG_FUZZ_PRISTINE")) else {
        return;
    };
    let backend: Backend = std::env::var("TIDELOG_FUZZ_BACKEND").unwrap().parse().unwrap();
    // Read only when the damaged copy reads at all (most cases end in a typed error first).
    let expected = || {
        let j = Journal::open(&pristine, Options::new().backend(backend).read_only(true)).unwrap();
        let m = model(&j).unwrap();
        j.close().unwrap();
        m
    };
    let outcome = match Journal::open(&case, Options::new().backend(backend)) {
        Err(e) => format!("error:{}", e.kind()),
        Ok(j) => {
            let torn = !j.torn_tails().is_empty();
            let outcome = match model(&j) {
                Err(e) => format!("error:{}", e.kind()),
                Ok(got) => {
                    let expected = expected();
                    if got == expected {
                        "right".to_owned()
                    } else {
                        // A damaged snapshot is skipped (and reported by audit) for an older one.
                        let snapshot_reported = j.snapshots().audit().map_or(true, |files| files.iter().any(|f| f.check.is_err()));
                        let same_events = Model {
                            snapshots: expected.snapshots.clone(),
                            ..got.clone()
                        } == expected;
                        if same_events && snapshot_reported {
                            "right-older-snapshot".to_owned()
                        } else if torn && is_prefix(&got, &expected) {
                            "torn-tail".to_owned()
                        } else {
                            format!("WRONG:{got:?}")
                        }
                    }
                }
            };
            let _ = j.close();
            outcome
        }
    };
    println!("RESULT {outcome}");
}

/// Runs `command` to its end or for at most [`HANG`]; its exit status (None: a hang) and stdout.
fn run_bounded(mut command: Command) -> (Option<std::process::ExitStatus>, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status, reader.join().unwrap())
}

/// What one damaged copy gave; `Err` for a failure of the promise.
fn check_case(case: &Path, pristine: &Path, backend: Backend) -> Result<String, String> {
    use std::os::unix::process::ExitStatusExt;
    // verify first: a writer's open would repair a torn tail.
    let mut verify = Command::new(env!("CARGO_BIN_EXE_tidelog"));
    verify.args(["verify", "--deep", "--json"]).arg(case);
    let verdict = match run_bounded(verify) {
        (None, _) => return Err("verify hung".into()),
        (Some(s), _) if s.signal().is_some() => return Err(format!("verify died of signal {:?}", s.signal())),
        (Some(s), _) if s.code() == Some(0) => "verify-ok",
        (Some(s), _) if s.code() == Some(3) => "verify-problems",
        (Some(s), _) => return Err(format!("verify exited {:?}", s.code())),
    };
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "fuzz_child", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env("TIDELOG_FUZZ_CASE", case)
        .env("TIDELOG_FUZZ_PRISTINE", pristine)
        .env("TIDELOG_FUZZ_BACKEND", backend.name());
    let (status, out) = run_bounded(child);
    let status = status.ok_or("the library hung")?;
    if let Some(signal) = status.signal() {
        return Err(format!("the library crashed with signal {signal}"));
    }
    let result = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or(format!("the library panicked ({status})"))?;
    if result.starts_with("WRONG") {
        return Err(format!("silently wrong: {}", &result[..result.len().min(300)]));
    }
    if verdict == "verify-ok" && result != "right" {
        return Err(format!("verify passed a journal the library reads as {result}"));
    }
    Ok(format!("{verdict} {result}"))
}

/// Runs every case; prints a tally of outcomes and fails with the cases that broke the promise.
/// A case: what it damages, and the damage done to a copy.
type Case = (String, Box<dyn Fn(&Path)>);

fn run_cases(name: &str, pristine: &Path, backend: Backend, cases: impl Iterator<Item = Case>) -> Vec<String> {
    let scratch = tempfile::tempdir().unwrap();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, (what, mutate)) in cases.enumerate() {
        if i > 0 && i % 500 == 0 {
            // A long run's progress, so that a run stopped early still says what it covered.
            eprintln!(
                "{name} ({}): {i} cases so far: {tally:?}, {} failures",
                backend.name(),
                failures.len()
            );
        }
        let case = scratch.path().join(format!("case{}", i % 2));
        let _ = fs::remove_dir_all(&case);
        copy_dir(pristine, &case);
        mutate(&case);
        match check_case(&case, pristine, backend) {
            Ok(outcome) => {
                if std::env::var("TIDELOG_FUZZ_SHOW").is_ok_and(|show| outcome.contains(&show)) {
                    eprintln!("SHOW {name} ({}): {what}: {outcome}", backend.name());
                }
                *tally.entry(outcome).or_default() += 1
            }
            Err(failure) => {
                // Printed at once too: a long run shows its failures as they happen.
                eprintln!(
                    "FAILURE {name} ({}): {what}: {}",
                    backend.name(),
                    &failure[..failure.len().min(600)]
                );
                failures.push(format!("{what}: {failure}"))
            }
        }
    }
    eprintln!("{name} ({}): {tally:?}, {} failures", backend.name(), failures.len());
    failures.into_iter().map(|f| format!("{name} ({}): {f}", backend.name())).collect()
}

fn assert_none(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// One random mutation of one file of the journal.
fn random_mutation(rng: &mut rand::rngs::StdRng, files: &[PathBuf], root: &Path) -> Case {
    // Half of an LMDB journal's mutations damage data.mdb, anywhere in it.
    let data_mdb = files.iter().find(|f| f.ends_with("data.mdb"));
    let file = match data_mdb {
        Some(f) if rng.gen_bool(0.5) => f,
        _ => &files[rng.gen_range(0..files.len())],
    };
    let file = file.strip_prefix(root).unwrap().to_owned();
    let len = fs::metadata(root.join(&file)).unwrap().len() as usize;
    let kind = rng.gen_range(0..7);
    let source_page = rng.gen_range(0..len.div_ceil(4096).max(1));
    let at = rng.gen_range(0..len.max(1));
    let flips: Vec<(usize, u8)> = (0..rng.gen_range(1..4))
        .map(|_| (rng.gen_range(0..len.max(1)), 1u8 << rng.gen_range(0..8)))
        .collect();
    let garbage: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
    let what = format!(
        "{} ({len} bytes), mutation {kind} at {at}, flips {flips:?}, page {source_page}",
        file.display()
    );
    let mutate = move |case: &Path| {
        let path = case.join(&file);
        let mut bytes = fs::read(&path).unwrap();
        if bytes.is_empty() {
            return;
        }
        match kind {
            0 | 1 => {
                let n = bytes.len();
                flips.iter().for_each(|&(i, mask)| bytes[i % n] ^= mask)
            }
            2 => bytes.truncate(at),
            3 => {
                let at = at.min(bytes.len());
                bytes.splice(at..at, garbage.iter().copied());
            }
            4 => {
                // Overwrite bytes in place (a damaged sector).
                for (k, b) in garbage.iter().enumerate() {
                    if let Some(x) = bytes.get_mut(at + k) {
                        *x = *b;
                    }
                }
            }
            5 => {
                // Zero a whole 4 KiB page (a lost write).
                let start = at / 4096 * 4096;
                let end = (start + 4096).min(bytes.len());
                bytes[start..end].fill(0);
            }
            _ => {
                // A misdirected write: another 4 KiB page of the file over this one.
                let start = at / 4096 * 4096;
                let from = (source_page * 4096).min(bytes.len());
                let page: Vec<u8> = bytes[from..(from + 4096).min(bytes.len())].to_vec();
                for (k, b) in page.into_iter().enumerate() {
                    if let Some(x) = bytes.get_mut(start + k) {
                        *x = b;
                    }
                }
            }
        }
        fs::write(&path, bytes).unwrap();
    };
    (what, Box::new(mutate))
}

#[test]
fn random_mutations_never_crash_and_never_lose_or_change_data_silently() {
    let seed = seed();
    let mut failures = Vec::new();
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let pristine = build(dir.path(), backend, true);
        let mut files = Vec::new();
        files_in(&pristine, &mut files);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ backend as u64);
        let cases: Vec<_> = (0..iterations(30)).map(|_| random_mutation(&mut rng, &files, &pristine)).collect();
        failures.extend(run_cases("random mutations", &pristine, backend, cases.into_iter()));
    }
    assert_none(failures);
}

/// Byte ranges of every value stored in LMDB's leaf pages (event bodies, stream records, names,
/// index entries, meta records), LMDB's own records of its databases excluded.
fn lmdb_values(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let page_size = 4096;
    let mut values = Vec::new();
    for page in data.chunks_exact(page_size).skip(2) {
        let base = page.as_ptr() as usize - data.as_ptr() as usize;
        let flags = u16::from_le_bytes([page[10], page[11]]);
        if flags & 0x02 == 0 || flags & 0x60 != 0 {
            continue; // not a plain leaf page
        }
        let lower = u16::from_le_bytes([page[12], page[13]]) as usize;
        for k in 0..lower.saturating_sub(16) / 2 {
            let node = u16::from_le_bytes([page[16 + 2 * k], page[17 + 2 * k]]) as usize;
            let Some(header) = page.get(node..node + 8) else { continue };
            let size = u16::from_le_bytes([header[0], header[1]]) as usize | (u16::from_le_bytes([header[2], header[3]]) as usize) << 16;
            let node_flags = u16::from_le_bytes([header[4], header[5]]);
            let key_size = u16::from_le_bytes([header[6], header[7]]) as usize;
            let start = node + 8 + key_size;
            if node_flags & 0x03 != 0 || start + size > page_size {
                continue; // a database record (LMDB's own), or a value in overflow pages
            }
            values.push(base + start..base + start + size);
        }
    }
    values
}

/// Frame headers of every segment (the 16 bytes before each payload) and segment headers.
fn frame_headers(segment: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut headers = Vec::new();
    headers.push(0..32);
    let mut pos = 32;
    while pos + 16 <= segment.len() && &segment[pos..pos + 4] == b"TMFR" {
        headers.push(pos..pos + 16);
        pos += 16 + u32::from_le_bytes(segment[pos + 4..pos + 8].try_into().unwrap()) as usize;
    }
    headers
}

/// The end of a segment's last whole frame.
fn frame_end(segment: &[u8]) -> usize {
    frame_headers(segment).last().map_or(0, |h| {
        if h.start == 0 {
            32
        } else {
            h.end + u32::from_le_bytes(segment[h.start + 4..h.start + 8].try_into().unwrap()) as usize
        }
    })
}

/// Where each record of LMDB's write-ahead log ends (format.md: length u32, CRC u32, generation
/// u64, payload; a length of `u32::MAX` is the end marker).
fn wal_record_ends(wal: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = 0;
    while let Some(header) = wal.get(pos..pos + 16) {
        let n = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
        if n == 0 || n == u32::MAX as usize || pos + 16 + n > wal.len() {
            break;
        }
        pos += 16 + n;
        ends.push(pos);
    }
    ends
}

/// A flip in every byte of every stored value (LMDB) and every segment and frame header (files):
/// only typed errors or the right data. The short pass takes every 10th byte.
#[test]
fn a_flip_in_any_stored_value_or_frame_header_is_detected() {
    let stride = std::env::var("TIDELOG_FUZZ_ITERATIONS").map_or(10, |_| 1);
    let mut failures = Vec::new();
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let pristine = build(dir.path(), backend, false);
        let mut targets: Vec<(PathBuf, std::ops::Range<usize>)> = Vec::new();
        let mut files = Vec::new();
        files_in(&pristine, &mut files);
        for file in files {
            let bytes = fs::read(&file).unwrap();
            let ranges = match file.extension().and_then(|x| x.to_str()) {
                Some("mdb") => lmdb_values(&bytes),
                Some("seg") => frame_headers(&bytes),
                _ => continue,
            };
            let relative = file.strip_prefix(&pristine).unwrap().to_owned();
            targets.extend(ranges.into_iter().map(|r| (relative.clone(), r)));
        }
        assert!(targets.len() > 20, "found only {} values", targets.len());
        let bytes: Vec<(PathBuf, usize)> = targets.iter().flat_map(|(f, r)| r.clone().map(move |b| (f.clone(), b))).collect();
        let cases = bytes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % stride == 0)
            .map(|(i, (file, at))| {
                let what = format!("{} byte {at}", file.display());
                let mutate = move |case: &Path| {
                    let path = case.join(&file);
                    let mut bytes = fs::read(&path).unwrap();
                    bytes[at] ^= 1 << (i % 8);
                    fs::write(&path, bytes).unwrap();
                };
                (what, Box::new(mutate) as Box<dyn Fn(&Path)>)
            });
        failures.extend(run_cases("value flips", &pristine, backend, cases));
    }
    assert_none(failures);
}

/// The cuts of the long run: every length of a file, or where a range of lengths is provably
/// read the same (format.md, "Residual risk, measured"), the ends of each range and a point
/// inside it:
/// - `data.mdb`: what the open reads depends on the length only through whole pages (each meta
///   page's first 152 bytes, then `len / page size` in the page walk and the size check), so every
///   length up to 160 and past the first meta page's fields, and four per page after (the page
///   boundary, one past it, its middle, its last byte);
/// - LMDB's log, when `meta/wal_min_len` says it is at least as long as the file: any cut is
///   refused by its length alone, before a byte is read; every length up to 64, every record end
///   and the 17 bytes after it, and one length per page;
/// - a segment: the classes of its header (empty, cut inside, whole) and, per frame, its start,
///   one, 8, 15, 16 and 17 bytes in and its last byte (a cut frame fails the same checks wherever
///   its payload is cut), and every length of the 17 bytes after the last frame, then one per page;
/// - every other file (control, snapshots, `FORMAT`): every length.
fn long_cut_lengths(file: &Path, bytes: &[u8], record_ends: &[usize]) -> Vec<usize> {
    let len = bytes.len();
    let page = 4096;
    let per_page = |from: usize| {
        (from..len)
            .step_by(page)
            .flat_map(|b| [b, b + 1, b + page / 2, b + page - 1])
            .collect::<Vec<_>>()
    };
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut lengths: Vec<usize> = if name == "data.mdb" {
        (0..=160).chain(page - 1..=page + 160).chain(per_page(2 * page)).collect()
    } else if name == "wal" {
        (0..=64)
            .chain(record_ends.iter().flat_map(|&e| e..=e + 17))
            .chain((0..len).step_by(page))
            .chain([len - 1])
            .collect()
    } else if file.extension().is_some_and(|x| x == "seg") {
        let headers = frame_headers(bytes);
        let end = frame_end(bytes);
        [0, 1, 16, 31, 32]
            .into_iter()
            .chain(headers.iter().skip(1).flat_map(|h| {
                let frame_end = h.end + u32::from_le_bytes(bytes[h.start + 4..h.start + 8].try_into().unwrap()) as usize;
                [
                    h.start,
                    h.start + 1,
                    h.start + 8,
                    h.start + 15,
                    h.start + 16,
                    h.start + 17,
                    frame_end - 1,
                ]
            }))
            .chain(end..=end + 17)
            .chain((end..len).step_by(page))
            .collect()
    } else {
        (0..len).collect()
    };
    lengths.retain(|cut| *cut < len);
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

/// Every file cut at many lengths (the long run: every length, or a dense sample of each range of
/// lengths that reads the same, see [`long_cut_lengths`]; the short pass: five per file and the
/// end of the last frame or record): only typed errors or the right data (a prefix of it when a
/// torn tail is reported). LMDB's lock file is not journal data: LMDB rebuilds it whenever no
/// other process has the environment open.
#[test]
fn truncation_of_any_file_at_any_length_is_detected() {
    let long = std::env::var("TIDELOG_FUZZ_ITERATIONS").is_ok();
    let mut failures = Vec::new();
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let pristine = build(dir.path(), backend, true);
        let mut files = Vec::new();
        files_in(&pristine, &mut files);
        let mut cases: Vec<Case> = Vec::new();
        for file in files {
            let len = fs::metadata(&file).unwrap().len() as usize;
            // Where a frame or a log record ends (a cut there leaves whole frames only).
            let bytes = fs::read(&file).unwrap();
            let ends: Vec<usize> = match file.extension().and_then(|x| x.to_str()) {
                Some("seg") => frame_headers(&bytes)
                    .iter()
                    .skip(1)
                    .map(|r| r.start)
                    .chain([frame_end(&bytes)])
                    .collect(),
                _ if file.ends_with("wal") => wal_record_ends(&bytes),
                _ => Vec::new(),
            };
            let lengths: Vec<usize> = if long {
                long_cut_lengths(&file, &bytes, &ends)
            } else {
                let mut lengths: Vec<usize> = vec![0, 1, len / 3, len / 2, len.saturating_sub(1)];
                lengths.extend(ends.last());
                lengths.sort_unstable();
                lengths.dedup();
                lengths
            };
            let relative = file.strip_prefix(&pristine).unwrap().to_owned();
            for cut in lengths.into_iter().filter(|cut| *cut < len) {
                let file = relative.clone();
                let what = format!("{} cut to {cut} of {len} bytes", file.display());
                cases.push((
                    what,
                    Box::new(move |case: &Path| {
                        fs::OpenOptions::new()
                            .write(true)
                            .open(case.join(&file))
                            .unwrap()
                            .set_len(cut as u64)
                            .unwrap();
                    }),
                ));
            }
        }
        failures.extend(run_cases("truncations", &pristine, backend, cases.into_iter()));
    }
    assert_none(failures);
}
