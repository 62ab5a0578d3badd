//! Shared harness for origin-shim's end-to-end tests: spawn the real binary,
//! mint tokens with the core, and speak HTTP/1.1 over a plain `TcpStream`.
//!
//! The client is deliberately raw: several tests send bytes no HTTP library
//! would let through (`%2e%2e` paths, invalid UTF-8, headers one byte a
//! second), and URL libraries normalise dot segments before sending. Every
//! wait here is bounded: spawning waits for the `listening on` line with a
//! deadline, every socket has read and write timeouts.
#![allow(dead_code)]

pub mod http;

use oncelink_edge::{mint, new_id, Claims, KeySet};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[allow(unused_imports)]
pub use http::{get, get_as, request, Resp};

/// `serve` flags for a burst of many clients that all connect from
/// 127.0.0.1, one client network: the refusal limit (tests/rate_limit.rs)
/// would answer most of their `used_up` with 429 `rate_limited`. In the
/// field such clients come from many networks.
pub const NO_REFUSAL_LIMIT: [&str; 2] = ["--refusal-rate", "0"];

/// How long the server may take to print its `listening on` line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The origin-shim binary under test: `$ORIGIN_SHIM_BIN` when set (to run
/// the suite against a release build or a deliberately broken one), else the
/// one cargo built for these tests.
pub fn shim_bin() -> String {
    std::env::var("ORIGIN_SHIM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_origin-shim").to_owned())
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A fresh temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("oncelink-shim-test-").tempdir().expect("create a temp dir")
}

/// A key file on disk and the same keys in memory, for minting.
pub struct Keys {
    /// The key file path, to pass as `--keys`.
    pub path: PathBuf,
    /// The parsed key set.
    pub set: KeySet,
}

/// The base64url secret of 32 bytes all equal to `byte`.
fn secret_of(byte: u8) -> String {
    oncelink_edge::base64url::encode(&[byte; 32])
}

/// Writes a key file with one key `kid` whose secret is 32 bytes of `byte`.
pub fn write_keys(dir: &Path, name: &str, kid: &str, byte: u8) -> Keys {
    let json = format!(r#"{{"active":"{kid}","keys":[{{"kid":"{kid}","secret":"{}"}}]}}"#, secret_of(byte));
    let path = dir.join(name);
    std::fs::write(&path, &json).expect("write key file");
    // Private, as `oncelink keygen --out` writes it: a key file others can
    // read makes the server warn at startup.
    let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&path, private).expect("chmod 600 the key file");
    let set = KeySet::from_json(&json).expect("test key file is valid");
    Keys { path, set }
}

/// A new token id, unique within this test process run.
pub fn fresh_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&std::process::id().to_le_bytes());
    bytes[4..8].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    bytes[8..].copy_from_slice(&nanos.to_le_bytes());
    new_id(bytes)
}

/// Claims for `path`, valid for an hour, with no use limit; adjust fields
/// before minting.
pub fn claims(path: &str) -> Claims {
    Claims::new(fresh_id(), path, now() + 3600)
}

/// Claims for `path` with a use limit `n`.
pub fn claims_n(path: &str, n: u32) -> Claims {
    Claims { n: Some(n), ..claims(path) }
}

/// Signs `claims` with the active key of `keys`.
pub fn token(keys: &Keys, claims: Claims) -> String {
    mint(keys.set.active(), claims).expect("test claims are valid")
}

/// Keeps the last bytes a child wrote on one stream, for failure messages.
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<Vec<u8>>>);

impl Tail {
    const KEEP: usize = 64 * 1024;

    fn push(&self, bytes: &[u8]) {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        buf.extend_from_slice(bytes);
        if buf.len() > Self::KEEP {
            let cut = buf.len() - Self::KEEP;
            buf.drain(..cut);
        }
    }

    /// What was kept, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The text once it contains every one of `needles`, waiting up to 5 s
    /// (log lines are written after the response they describe); the text
    /// as it is when the time is up otherwise.
    #[allow(dead_code)]
    pub fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = self.text();
            if needles.iter().all(|n| text.contains(n)) || std::time::Instant::now() >= deadline {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// A running origin-shim process; killed (SIGKILL) and reaped on drop.
pub struct Shim {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The tail of its stderr (logs), for diagnostics.
    pub stderr: Tail,
    /// The tail of its stdout after the `listening on` line.
    pub stdout: Tail,
}

impl Shim {
    /// Spawns `origin-shim ARGS... --listen 127.0.0.1:0` and waits for its
    /// `listening on http://IP:PORT` line.
    pub fn start<I, S>(args: I) -> Shim
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut all: Vec<OsString> = args.into_iter().map(Into::into).collect();
        if !all.iter().any(|a| a == "--listen") {
            all.push("--listen".into());
            all.push("127.0.0.1:0".into());
        }
        Self::try_start(&all).unwrap_or_else(|e| panic!("origin-shim {all:?}: {e}"))
    }

    /// Like [`Shim::start`] but returns an error instead of panicking, and
    /// adds no `--listen`.
    pub fn try_start(args: &[OsString]) -> Result<Shim, String> {
        Self::try_start_command(Command::new(shim_bin()), args)
    }

    /// Like [`Shim::start`] with `args` as given (no `--listen` added), run
    /// in directory `dir`.
    pub fn start_in(dir: &Path, args: &[OsString]) -> Shim {
        let mut command = Command::new(shim_bin());
        command.current_dir(dir);
        Self::try_start_command(command, args).unwrap_or_else(|e| panic!("origin-shim {args:?} in {dir:?}: {e}"))
    }

    fn try_start_command(mut command: Command, args: &[OsString]) -> Result<Shim, String> {
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot spawn {}: {e}", shim_bin()))?;
        let stderr = Tail::default();
        let stdout = Tail::default();
        drain(child.stderr.take().expect("piped"), stderr.clone());
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("piped");
        let out_tail = stdout.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut line = String::new();
            let first = reader.read_line(&mut line).map(|_| line.clone());
            let _ = tx.send(first);
            let mut buf = [0u8; 8192];
            while let Ok(k) = reader.read(&mut buf) {
                if k == 0 {
                    break;
                }
                out_tail.push(&buf[..k]);
            }
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(fail(&mut child, &stderr, &format!("reading its stdout: {e}"))),
            Err(_) => return Err(fail(&mut child, &stderr, "no `listening on` line within 30 s")),
        };
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .or_else(|| line.trim_end().strip_prefix("listening on https://"))
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .ok_or_else(|| {
                fail(&mut child, &stderr, &format!("first stdout line is {line:?}, not `listening on http://IP:PORT`"))
            })?;
        Ok(Shim { child, addr, stderr, stdout })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://IP:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Resident memory of the server process, KiB (`VmRSS` in /proc).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn drain(mut stream: impl Read + Send + 'static, tail: Tail) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(k) = stream.read(&mut buf) {
            if k == 0 {
                break;
            }
            tail.push(&buf[..k]);
        }
    });
}

fn fail(child: &mut Child, stderr: &Tail, why: &str) -> String {
    let _ = child.kill();
    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
    std::thread::sleep(Duration::from_millis(100));
    format!("{why} (exit: {status}); stderr:\n{}", stderr.text())
}

/// A served directory with a key file, a database path and files in it.
pub struct Site {
    /// Owns everything; removed on drop.
    pub dir: tempfile::TempDir,
    /// The served root (`DIR/root`).
    pub root: PathBuf,
    /// Keys the server accepts.
    pub keys: Keys,
    /// SQLite database path (`DIR/uses.db`), created with the site (the
    /// server never creates one without `--create-store`).
    pub db: PathBuf,
}

impl Site {
    /// A new site whose root holds `files` (path relative to root, content).
    pub fn new(files: &[(&str, &[u8])]) -> Site {
        let dir = tempdir();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("create root");
        for (name, body) in files {
            let path = root.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create parent");
            }
            std::fs::write(&path, body).expect("write file");
        }
        let keys = write_keys(dir.path(), "keys.json", "k1", 7);
        let db = dir.path().join("uses.db");
        oncelink_store::sqlite::SqliteStore::create(&db).expect("create the site's store");
        Site { dir, root, keys, db }
    }

    /// `--store sqlite:DB` as one argument.
    pub fn store_arg(&self) -> String {
        format!("sqlite:{}", self.db.display())
    }

    /// The arguments of `serve --keys K --root R --store sqlite:DB`.
    pub fn serve_args(&self) -> Vec<OsString> {
        vec![
            "serve".into(),
            "--keys".into(),
            self.keys.path.clone().into(),
            "--root".into(),
            self.root.clone().into(),
            "--store".into(),
            self.store_arg().into(),
        ]
    }

    /// Starts `serve` on this site with extra arguments.
    pub fn serve(&self, extra: &[&str]) -> Shim {
        let mut args = self.serve_args();
        args.extend(extra.iter().map(OsString::from));
        Shim::start(args)
    }

    /// Mints a token for `claims`.
    pub fn token(&self, claims: Claims) -> String {
        token(&self.keys, claims)
    }
}

/// Deterministic test content of `len` bytes (not all equal, so offsets matter).
pub fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// The `error` code of a JSON denial body, or a description of what came instead.
pub fn reason(resp: &Resp) -> String {
    match serde_json::from_slice::<serde_json::Value>(&resp.body) {
        Ok(v) => match v.get("error").and_then(|e| e.as_str()) {
            Some(code) => code.to_owned(),
            None => format!("<no error field in {v}>"),
        },
        Err(_) => format!("<not JSON: {:?}>", String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)])),
    }
}

/// Asserts a JSON denial by the core: status, reason code, and the core's
/// denial headers (`oncelink_edge::Response::deny`).
#[track_caller]
pub fn assert_denied(resp: &Resp, status: u16, code: &str) {
    assert_refused(resp, status, code);
    assert_eq!(resp.header("x-robots-tag"), Some("noindex"));
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
}

/// Asserts a JSON refusal of the host's own (grant codes, not found): status,
/// code, message, and the headers every refusal carries.
#[track_caller]
pub fn assert_refused(resp: &Resp, status: u16, code: &str) {
    assert_eq!(
        (resp.status, reason(resp).as_str()),
        (status, code),
        "expected {status} {code}; got {} with headers {:?}",
        resp.status,
        resp.headers
    );
    assert_eq!(resp.header("content-type"), Some("application/json"), "denial content-type");
    assert_eq!(resp.header("cache-control"), Some("no-store"), "denial cache-control");
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    // Host refusals (grant_*, not_found, upstream_unavailable) are built by
    // the core too, so every refusal carries the same privacy headers.
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"), "denial referrer-policy");
    assert_eq!(resp.header("x-robots-tag"), Some("noindex"), "denial x-robots-tag");
    assert!(resp.header("content-security-policy").is_some_and(|c| c.starts_with("default-src 'none'")), "denial CSP");
    let message = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
    assert!(message.is_some_and(|m| !m.is_empty()), "denial has a message: {:?}", resp.body_text());
}

/// Revokes token `id` in the site's database through the store API, as
/// `oncelink revoke --store sqlite:PATH ID` does.
pub fn revoke(site: &Site, id: &str) {
    let mut store = oncelink_store::sqlite::SqliteStore::open(&site.db).expect("open the site's store");
    store.revoke(id).expect("revoke");
}

/// Uses counted for token `id` in the database at `db` (0 when no record).
pub fn used_in_db(db: &Path, id: &str) -> u32 {
    let mut store = oncelink_store::sqlite::SqliteStore::open(db).expect("open the store");
    store.status(id).expect("status").map_or(0, |r| r.used)
}

impl Site {
    /// Starts `origin --root ROOT --grant-keys G`: the guarded origin for this site's files.
    pub fn origin(&self, grant_keys: &Keys) -> Shim {
        Shim::start([
            OsString::from("origin"),
            "--root".into(),
            self.root.clone().into(),
            "--grant-keys".into(),
            grant_keys.path.clone().into(),
        ])
    }

    /// Starts `serve --upstream URL` with this site's keys and store, adding
    /// grants signed with `grant_keys` when given.
    pub fn serve_upstream(&self, upstream: &str, grant_keys: Option<&Keys>) -> Shim {
        let mut args: Vec<OsString> = vec![
            "serve".into(),
            "--keys".into(),
            self.keys.path.clone().into(),
            "--upstream".into(),
            upstream.into(),
            "--store".into(),
            self.store_arg().into(),
        ];
        if let Some(g) = grant_keys {
            args.push("--grant-keys".into());
            args.push(g.path.clone().into());
        }
        Shim::start(args)
    }
}

/// What a burst of clients got for one link.
#[allow(dead_code)]
pub struct Burst {
    /// 200s that carried exactly `body`.
    pub served: usize,
    /// 410 `used_up` answers.
    pub used_up: usize,
    /// Anything else, described.
    pub other: Vec<String>,
}

/// `clients` threads, released together by a barrier, each GET `url` from
/// `addr` as a distinct client (its own User-Agent: the same one from the
/// same address would be one client resuming). A 200 must carry `body`.
#[allow(dead_code)]
pub fn burst(addr: std::net::SocketAddr, url: &str, clients: usize, body: &[u8]) -> Burst {
    use std::sync::{Arc, Barrier};
    let barrier = Arc::new(Barrier::new(clients));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let url = url.to_owned();
            std::thread::spawn(move || {
                barrier.wait();
                let ua = format!("burst-client-{i}");
                http::try_request(addr, "GET", &url, &[("User-Agent", &ua), ("Accept", "application/json")])
            })
        })
        .collect();
    let mut out = Burst { served: 0, used_up: 0, other: Vec::new() };
    for t in threads {
        match t.join().expect("client thread") {
            Ok(resp) if resp.status == 200 => {
                assert_eq!(resp.body, body, "a 200 carried the whole file");
                out.served += 1;
            }
            Ok(resp) if resp.status == 410 && reason(&resp) == "used_up" => out.used_up += 1,
            Ok(resp) => out.other.push(format!("{} {}", resp.status, reason(&resp))),
            Err(e) => out.other.push(format!("I/O error: {e}")),
        }
    }
    out
}

/// Runs origin-shim with `args`, expecting it to exit on its own within 20 s;
/// returns (exit code, stdout, stderr).
pub fn run_to_exit(args: &[OsString]) -> (Option<i32>, String, String) {
    let mut child = Command::new(shim_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn origin-shim");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("origin-shim {args:?} was still running after 20 s; it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
