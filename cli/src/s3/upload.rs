//! The multipart upload itself: parts read from the file at their offsets
//! (never the whole file in memory: at most `parallel` parts at once), sent
//! by `parallel` workers, each part retried on S3's 5xx answers and on
//! transport failures, progress on a bar, and a resume from where a failed
//! or killed run stopped (`ListParts` says which parts S3 holds).

use super::calls::{self, Bucket, Call, Part};
use super::state::{self, State};
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use oncelink_edge::dynamodb::Credentials;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Attempts per request, the first included.
const ATTEMPTS: u32 = 5;
/// Time allowed for one part's request (a 5 GiB part at 20 MiB/s fits).
const PART_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest S3 answer read.
const MAX_ANSWER: usize = 1 << 20;

/// What to upload, and how.
pub struct Plan {
    /// The file.
    pub file: PathBuf,
    /// Where to.
    pub bucket: Bucket,
    /// A new object's key, from its folder id (used unless a resume brings its own).
    pub key_for: Box<dyn Fn(&str) -> String>,
    /// A new folder id (used unless resuming).
    pub new_id: String,
    /// Object tags (URL-encoded `k=v&...`).
    pub tagging: String,
    /// Wanted bytes per part (raised for huge files).
    pub part_size: u64,
    /// Parts in flight.
    pub parallel: usize,
    /// Bytes per second, at most (none: as fast as the network goes).
    pub limit_rate: Option<u64>,
    /// The resume state file.
    pub state_file: PathBuf,
    /// Show a progress bar (on stderr, when it is a terminal).
    pub progress: bool,
}

/// A finished upload.
#[derive(Debug)]
pub struct Uploaded {
    /// The object key.
    pub key: String,
    /// The folder id in it.
    pub id: String,
    /// Bytes.
    pub size: u64,
    /// Parts in all.
    pub parts: usize,
    /// Parts S3 already held from an earlier run.
    pub resumed_parts: usize,
}

type Http = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Everything the workers share.
struct Shared {
    http: Http,
    bucket: Bucket,
    credentials: Credentials,
    key: String,
    upload_id: String,
    file: std::fs::File,
    size: u64,
    part_size: u64,
    queue: Mutex<Vec<u32>>,
    done: Mutex<Vec<Part>>,
    pace: Option<Mutex<(u64, Instant)>>,
    bar: ProgressBar,
}

/// Uploads `plan.file`, resuming when the state file says S3 holds part of it.
pub async fn run(plan: Plan, credentials: Credentials) -> Result<Uploaded> {
    let file = std::fs::File::open(&plan.file).with_context(|| format!("cannot open {}", plan.file.display()))?;
    let meta = file.metadata().with_context(|| format!("cannot read {}", plan.file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", plan.file.display());
    }
    let size = meta.len();
    let mtime_ns = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let http = client();

    let loaded = state::load(&plan.state_file, size, mtime_ns);
    if let state::Loaded::Stale(old) = &loaded {
        // The file changed since: drop the old parts (a failure here only
        // leaves them to the bucket's abort-incomplete lifecycle rule).
        let call = plan.bucket.abort(&old.key, &old.upload_id, &credentials, now());
        if let Err(e) = send(&http, call, Bytes::new(), Duration::from_secs(30)).await {
            eprintln!("oncelink: note: could not abort the earlier upload of this file's older version: {e:#}");
        }
        state::remove(&plan.state_file);
    }
    let (state, held) = match loaded {
        state::Loaded::Resume(state) => {
            let held = list_parts(&http, &plan.bucket, &state, &credentials).await?;
            (state, held)
        }
        state::Loaded::Stale(_) | state::Loaded::Nothing => {
            let part_size = calls::part_size(size, plan.part_size).map_err(|e| anyhow!(e))?;
            let key = (plan.key_for)(&plan.new_id);
            let call = plan.bucket.create(&key, &plan.tagging, &credentials, now());
            let body = send(&http, call, Bytes::new(), Duration::from_secs(30)).await?;
            let upload_id = calls::upload_id(&body).map_err(|e| anyhow!(e))?;
            let state = State { v: 1, key, id: plan.new_id.clone(), upload_id, part_size, size, mtime_ns };
            state::save(&plan.state_file, &state)?;
            (state, Vec::new())
        }
    };

    let count = size.div_ceil(state.part_size).max(1) as u32;
    let expected = |n: u32| if n < count { state.part_size } else { size - state.part_size * u64::from(count - 1) };
    // A held part counts only with the size this plan gives it.
    let held: Vec<Part> = held.into_iter().filter(|p| p.number <= count && p.size == expected(p.number)).collect();
    let resumed_parts = held.len();
    let bar = if plan.progress { ProgressBar::new(size) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.inc(held.iter().map(|p| p.size).sum());
    if resumed_parts > 0 {
        bar.println(format!("oncelink: resuming: S3 holds {resumed_parts} of {count} parts from an earlier run"));
    }
    let queue: Vec<u32> = (1..=count).rev().filter(|n| held.iter().all(|p| p.number != *n)).collect();
    let shared = Arc::new(Shared {
        http,
        bucket: plan.bucket.clone(),
        credentials,
        key: state.key.clone(),
        upload_id: state.upload_id.clone(),
        file,
        size,
        part_size: state.part_size,
        queue: Mutex::new(queue),
        done: Mutex::new(held),
        pace: plan.limit_rate.map(|rate| Mutex::new((rate.max(1), Instant::now()))),
        bar: bar.clone(),
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.parallel.max(1) {
        workers.spawn(worker(shared.clone()));
    }
    let mut failure = None;
    while let Some(joined) = workers.join_next().await {
        let result = joined.map_err(|e| anyhow!("an upload worker stopped: {e}")).and_then(|r| r);
        if let Err(e) = result {
            // Stop handing out parts; the others finish theirs.
            shared.queue.lock().expect("queue").clear();
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        bar.abandon();
        return Err(e.context(format!(
            "the upload stopped; S3 keeps the parts sent so far: run the same command again to resume \
             (state in {})",
            plan.state_file.display()
        )));
    }

    let mut parts = shared.done.lock().expect("done").clone();
    parts.sort_by_key(|p| p.number);
    let (call, body) = shared.bucket.complete(&state.key, &state.upload_id, &parts, &shared.credentials, now());
    let answer = send(&shared.http, call, Bytes::from(body), Duration::from_secs(120)).await?;
    // CompleteMultipartUpload can fail with a 200 and an <Error> body.
    if answer.contains("<Error>") {
        bail!("{}", calls::error_line(200, &answer));
    }
    bar.finish_and_clear();
    state::remove(&plan.state_file);
    Ok(Uploaded { key: state.key, id: state.id, size, parts: parts.len(), resumed_parts })
}

/// Sends parts from the shared queue until it is empty.
async fn worker(shared: Arc<Shared>) -> Result<()> {
    loop {
        let Some(number) = shared.queue.lock().expect("queue").pop() else { return Ok(()) };
        let offset = u64::from(number - 1) * shared.part_size;
        let length = shared.part_size.min(shared.size - offset) as usize;
        let mut buffer = vec![0u8; length];
        shared
            .file
            .read_exact_at(&mut buffer, offset)
            .with_context(|| format!("cannot read part {number} of the file (did it shrink?)"))?;
        pace(&shared, length as u64).await;
        let body = Bytes::from(buffer);
        let etag = send_part(&shared, number, body).await?;
        shared.done.lock().expect("done").push(Part { number, etag, size: length as u64 });
        shared.bar.inc(length as u64);
    }
}

/// Waits until `bytes` more fit the `--limit-rate` budget.
async fn pace(shared: &Shared, bytes: u64) {
    let Some(pace) = &shared.pace else { return };
    let start = {
        let mut slot = pace.lock().expect("pace");
        let (rate, next) = *slot;
        let start = next.max(Instant::now());
        slot.1 = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
        start
    };
    tokio::time::sleep_until(start.into()).await;
}

async fn send_part(shared: &Shared, number: u32, body: Bytes) -> Result<String> {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        let call = shared.bucket.upload_part(&shared.key, &shared.upload_id, number, &body, &shared.credentials, now());
        match attempt_call(&shared.http, call, body.clone(), PART_TIMEOUT).await {
            Ok((200, headers, _)) => {
                return headers
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("S3 accepted part {number} without an ETag"));
            }
            Ok((status, _, body)) if status >= 500 => last = Some(anyhow!("{}", calls::error_line(status, &body))),
            Ok((status, _, body)) => bail!("part {number}: {}", calls::error_line(status, &body)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow!("no attempt made")).context(format!("part {number} failed {ATTEMPTS} times")))
}

/// Every page of `ListParts` for a resumed upload.
async fn list_parts(http: &Http, bucket: &Bucket, state: &State, credentials: &Credentials) -> Result<Vec<Part>> {
    let (mut parts, mut marker) = (Vec::new(), 0);
    loop {
        let call = bucket.list_parts(&state.key, &state.upload_id, marker, credentials, now());
        let body = send(http, call, Bytes::new(), Duration::from_secs(30)).await.context(
            "cannot list the parts of the earlier upload (it may have been aborted or cleaned up by a lifecycle \
             rule): remove the state file to start afresh",
        )?;
        let (page, next) = calls::listed_parts(&body).map_err(|e| anyhow!(e))?;
        parts.extend(page);
        match next {
            Some(next) if next > marker => marker = next,
            _ => return Ok(parts),
        }
    }
}

/// One call with retries on 5xx and transport failures; the body of a 2xx.
async fn send(http: &Http, call: Call, body: Bytes, timeout: Duration) -> Result<String> {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        let again = Call { method: call.method, url: call.url.clone(), headers: call.headers.clone() };
        match attempt_call(http, again, body.clone(), timeout).await {
            Ok((status, _, text)) if (200..300).contains(&status) => return Ok(text),
            Ok((status, _, text)) if status >= 500 => last = Some(anyhow!("{}", calls::error_line(status, &text))),
            Ok((status, _, text)) => bail!("{}", calls::error_line(status, &text)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow!("no attempt made")))
}

async fn attempt_call(
    http: &Http,
    call: Call,
    body: Bytes,
    timeout: Duration,
) -> Result<(u16, hyper::HeaderMap, String)> {
    let mut request = hyper::Request::builder().method(call.method).uri(&call.url);
    for (name, value) in &call.headers {
        if name != "host" {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    let request = request.body(Full::new(body)).context("cannot build the S3 request")?;
    let url = call.url.split('?').next().unwrap_or_default().to_owned();
    let response = tokio::time::timeout(timeout, http.request(request))
        .await
        .map_err(|_| anyhow!("S3 did not answer within {timeout:?} ({url})"))?
        .map_err(|e| anyhow!("cannot reach S3 at {url}: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| anyhow!("reading S3's answer failed: {e}"))?
        .to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&bytes).into_owned()))
}

fn client() -> Http {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector =
        HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(connector)
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The state file's folder exists and is writable before any byte is sent.
pub fn check_state_folder(path: &Path) -> Result<()> {
    let folder = path.parent().context("state file without a folder")?;
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create the state folder {}", folder.display()))
}
