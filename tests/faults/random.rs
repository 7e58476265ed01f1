//! The randomized fault run: [`RUNS`] reads through the real binary, each of its own object,
//! each meeting a random sequence of S3 faults (reset, FIN, stall, truncation, SlowDown, 500,
//! ExpiredToken, a skewed clock, chunked framing, the object replaced mid-read), then a
//! well-behaved S3. Every answer must be either exact (hashed against the version its ETag
//! names), an abort short of its Content-Length whose bytes are a prefix of that version, or a
//! 5xx nobody caches; and every answer head must come within the store deadline and no body
//! may go silent for longer than the stated body deadline.
//!
//! The seed is printed; `FAULT_SEED=<n>` replays a run, `FAULT_RUNS=<n>` changes the count.

use super::common::client::send;
use super::common::fake_s3::{FakeS3, Fault, Plan};
use super::common::{pattern, splitmix};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 100;
/// Runs in flight at once: enough to share connections and the retry quota, few enough that
/// the quota (500 tokens) is not what every answer measures.
const BATCH: usize = 25;
/// `--store-timeout`: long enough for a stalled answer head (10 s) to be retried once.
const STORE_TIMEOUT: Duration = Duration::from_secs(12);
/// docs/limits.md: a body without a byte from the store, resumes included, is aborted then.
const BODY_SILENCE: Duration = Duration::from_secs(25);
/// A batch that takes longer has an answer that missed its deadlines by far.
const GIVE_UP: Duration = Duration::from_secs(180);
/// Scheduling slack on this noisy machine.
const SLACK: Duration = Duration::from_secs(2);

/// What one run asks imgorigin for.
#[derive(Clone, Copy, Debug)]
enum Ask {
    Whole,
    Range(usize, usize),
    Head,
    /// A GET naming the object's (first) ETag in If-None-Match.
    Revalidate,
}

#[derive(Debug)]
struct Run {
    key: String,
    ask: Ask,
    /// The plans of the run's n-th GET (and n-th HEAD); Normal after the last.
    plans: Vec<Plan>,
    versions: Vec<(String, Vec<u8>)>,
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = splitmix(self.0);
        self.0 % n
    }
}

fn draw_fault(rng: &mut Rng, len: usize) -> Fault {
    let cut = rng.below(len as u64 + 1) as usize;
    match rng.below(100) {
        0..=19 => Fault::Normal,
        20..=34 => Fault::ResetAfter(cut),
        35..=49 => Fault::FinAfter(cut),
        50..=54 => Fault::StallAfter(cut),
        55..=58 => Fault::StallHead,
        59..=70 => Fault::Error {
            status: 503,
            code: "SlowDown",
        },
        71..=80 => Fault::Error {
            status: 500,
            code: "InternalError",
        },
        81..=88 => Fault::Error {
            status: 400,
            code: "ExpiredToken",
        },
        89..=95 => Fault::Skewed {
            secs: if rng.below(2) == 0 { 3600 } else { -3600 },
        },
        _ => Fault::Chunked,
    }
}

fn draw_run(rng: &mut Rng, fake: &FakeS3, i: usize) -> Run {
    let key = format!("run-{i}.bin");
    let len = 1 + rng.below(3 << 20) as usize;
    let old = pattern(len, rng.below(u64::MAX));
    let etag = fake.put(&key, old.clone(), "application/octet-stream");
    let ask = match rng.below(4) {
        0 => Ask::Whole,
        1 => {
            let first = rng.below(len as u64) as usize;
            Ask::Range(first, first + rng.below(len as u64) as usize)
        }
        2 => Ask::Head,
        _ => Ask::Revalidate,
    };
    let mut plans: Vec<Plan> = (0..rng.below(4))
        .map(|_| Plan::from(draw_fault(rng, len)))
        .collect();
    let mut versions = vec![(etag, old)];
    if rng.below(8) == 0 {
        // Replaced while the first answer is on its way: that answer breaks off, so the
        // resume meets the new version.
        let new = pattern(len, rng.below(u64::MAX));
        let cut = rng.below(len as u64) as usize;
        let plan = Plan::from(Fault::ResetAfter(cut)).then_replace(new.clone());
        plans.insert(0, plan);
        versions.push((format!("\"{}\"", &super::sha256(&new)[..32]), new));
    }
    Run {
        key,
        ask,
        plans,
        versions,
    }
}

/// What a client saw of one answer.
struct Seen {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
    complete: bool,
    to_head: Duration,
    longest_silence: Duration,
}

async fn ask(addr: std::net::SocketAddr, run: &Run) -> Seen {
    let path = format!("/{}", run.key);
    let range;
    let (method, headers): (&str, Vec<(&str, &str)>) = match run.ask {
        Ask::Whole => ("GET", vec![]),
        Ask::Range(a, b) => {
            range = format!("bytes={a}-{b}");
            ("GET", vec![("range", range.as_str())])
        }
        Ask::Head => ("HEAD", vec![]),
        Ask::Revalidate => ("GET", vec![("if-none-match", run.versions[0].0.as_str())]),
    };
    let start = Instant::now();
    let (parts, mut body) = send(addr, method, &path, &headers).await.into_parts();
    let to_head = start.elapsed();
    let (mut received, mut complete, mut last) = (Vec::new(), false, Instant::now());
    let mut longest_silence = Duration::ZERO;
    loop {
        let frame = body.frame().await;
        longest_silence = longest_silence.max(last.elapsed());
        last = Instant::now();
        match frame {
            None => {
                complete = true;
                break;
            }
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    received.extend_from_slice(data);
                }
            }
            Some(Err(_)) => break,
        }
    }
    Seen {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: received,
        complete,
        to_head,
        longest_silence,
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The outcome's name, or what is wrong with it ("CORRUPT" when bytes are wrong).
fn judge(run: &Run, seen: &Seen) -> Result<&'static str, String> {
    if matches!(seen.status, 502..=504) {
        return match header(seen, "cache-control").contains("no-store") {
            true => Ok("5xx"),
            false => Err(format!("{} without no-store", seen.status)),
        };
    }
    let etag = header(seen, "etag");
    let Some(version) = run.versions.iter().position(|(e, _)| e == etag) else {
        return Err(format!("{} with ETag {etag:?} of no version", seen.status));
    };
    let bytes = &run.versions[version].1;
    let expected: &[u8] = match (run.ask, seen.status) {
        (Ask::Head, 200) => &[],
        (Ask::Whole, 200) => bytes,
        (Ask::Revalidate, 304) if version == 0 => &[],
        (Ask::Revalidate, 200) if version == 1 => bytes,
        (Ask::Range(a, b), 206) => &bytes[a..=b.min(bytes.len() - 1)],
        (ask, status) => return Err(format!("{status} for {ask:?} of version {version}")),
    };
    let length = match (run.ask, seen.status) {
        (_, 304) => None,
        (Ask::Head, _) => Some(bytes.len()),
        _ => Some(expected.len()),
    };
    if let Some(length) = length {
        if header(seen, "content-length") != length.to_string() {
            return Err(format!("Content-Length {}", header(seen, "content-length")));
        }
    }
    match seen.complete {
        true if seen.body == expected => Ok("exact"),
        false if seen.body.len() < expected.len() && expected.starts_with(&seen.body) => {
            Ok("aborted")
        }
        _ => Err(format!(
            "CORRUPT: {} bytes ({}) where {} of version {version} were due",
            seen.body.len(),
            if seen.complete { "complete" } else { "cut" },
            expected.len()
        )),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn randomized_faults_never_corrupt_a_body_or_miss_a_deadline() {
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(1, |d| d.as_nanos() as u64)
        });
    let runs = std::env::var("FAULT_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(RUNS);
    println!("seed {seed} (FAULT_SEED={seed} replays it), {runs} runs");
    let fake = FakeS3::start();
    let mut rng = Rng(seed);
    let all: Vec<Run> = (0..runs).map(|i| draw_run(&mut rng, &fake, i)).collect();
    let plans: HashMap<String, Vec<Plan>> = all
        .iter()
        .map(|r| (r.key.clone(), r.plans.clone()))
        .collect();
    let plans = Arc::new(plans);
    fake.script(move |req, n| {
        let key = req.key.as_deref().unwrap_or("");
        let plan = plans.get(key).and_then(|p| p.get(n));
        plan.cloned().unwrap_or_default()
    });
    let timeout = STORE_TIMEOUT.as_secs().to_string();
    let server = super::serve(
        &fake,
        &["--store-timeout", &timeout, "--log-format", "json"],
    );
    let start = Instant::now();
    let mut seen = Vec::new();
    for batch in all.chunks(BATCH) {
        let asks = batch.iter().map(|run| ask(server.addr, run));
        let answers = tokio::time::timeout(GIVE_UP, futures_util::future::join_all(asks));
        match answers.await {
            Ok(answers) => seen.extend(answers),
            Err(_) => panic!("seed {seed}: a batch took more than {GIVE_UP:?}"),
        }
    }
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    let mut wrong = Vec::new();
    for (run, seen) in all.iter().zip(&seen) {
        match judge(run, seen) {
            Ok(outcome) => *outcomes.entry(outcome).or_default() += 1,
            Err(e) => wrong.push(format!("{} {:?} {:?}: {e}", run.key, run.ask, run.plans)),
        }
    }
    let worst_head = seen.iter().map(|s| s.to_head).max().unwrap_or_default();
    let worst_silence = seen.iter().map(|s| s.longest_silence).max();
    let corrupt = wrong.iter().filter(|w| w.contains("CORRUPT")).count();
    println!(
        "{runs} runs in {:.1?}: {outcomes:?}; {corrupt} corrupt bodies; worst time to an \
         answer head {worst_head:.2?} (deadline {STORE_TIMEOUT:?}); longest body silence \
         {:.2?} (deadline {BODY_SILENCE:?}); {} S3 requests",
        start.elapsed(),
        worst_silence.unwrap_or_default(),
        fake.requests().len()
    );
    assert!(wrong.is_empty(), "seed {seed}:\n{}", wrong.join("\n"));
    logged_as_seen(&server.log.wait_for(all.len()), &all, &seen, seed);
    for (run, seen) in all.iter().zip(&seen) {
        assert!(
            seen.to_head <= STORE_TIMEOUT + SLACK,
            "seed {seed}, {}: answer head after {:?}",
            run.key,
            seen.to_head
        );
        assert!(
            seen.longest_silence <= BODY_SILENCE + SLACK,
            "seed {seed}, {}: body silent for {:?}",
            run.key,
            seen.longest_silence
        );
    }
}

/// Every request's access-log line says what its client saw: status, body bytes received,
/// complete or aborted, resumed reads included.
fn logged_as_seen(lines: &[String], all: &[Run], seen: &[Seen], seed: u64) {
    let by_path: HashMap<String, &String> = lines
        .iter()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some((v["path"].as_str()?.to_owned(), l))
        })
        .collect();
    let (mut resumed, mut aborted, mut problems) = (0, 0, Vec::new());
    for (run, seen) in all.iter().zip(seen) {
        let path = format!("/{}", run.key);
        let Some(line) = by_path.get(&path) else {
            problems.push(format!("{path}: no log line"));
            continue;
        };
        let range = match run.ask {
            Ask::Range(a, b) => Some(format!("bytes={a}-{b}")),
            _ => None,
        };
        let method = if matches!(run.ask, Ask::Head) {
            "HEAD"
        } else {
            "GET"
        };
        let want = super::common::access_log::Seen {
            method,
            path: &path,
            range: range.as_deref(),
            status: seen.status,
            bytes: seen.body.len() as u64,
            complete: seen.complete,
        };
        let found = super::common::access_log::problems(line, &want);
        problems.extend(
            found
                .into_iter()
                .map(|p| format!("{path} {:?}: {p}", run.ask)),
        );
        resumed += usize::from(line.contains("\"resumes\":") && !line.contains("\"resumes\":0"));
        aborted += usize::from(!seen.complete);
    }
    println!("access log: {} lines, {resumed} with resumed reads, {aborted} aborted bodies, all as the clients saw them", lines.len());
    assert!(problems.is_empty(), "seed {seed}:\n{}", problems.join("\n"));
}
