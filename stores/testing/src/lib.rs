//! The one test harness for oncelink's stores: real servers, never mocks.
//!
//! - [`Moto`]: moto's DynamoDB-compatible server (serialised through
//!   `edge/js/dev/moto_serialized.py`, since plain moto applies two racing
//!   conditional writes to one item without a lock), with the token table
//!   created by a request signed with the core's SigV4 signer.
//! - [`Postgres`]: a real PostgreSQL 15 cluster made with `initdb` in a
//!   temporary directory and started with `pg_ctl` on 127.0.0.1 and a free
//!   port (as the `postgres` user when the tests run as root), password
//!   authentication over TCP, stopped and deleted on drop.
//!
//! Both fail loudly (never skip) when their server is not installed:
//! `bash scripts/setup.sh` installs them.
#![forbid(unsafe_code)]

mod moto;
mod postgres;

pub use moto::{Moto, ACCESS_KEY, REGION, SECRET, TABLE};
pub use postgres::{Postgres, PASSWORD};

use oncelink_edge::{StoreOp, StoreOpKind};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// The id of the `i`-th link a test makes: 22 digits, a valid link id
/// (`oncelink_store::check_id`) that sorts as `i` does.
pub fn link_id(i: usize) -> String {
    format!("{i:022}")
}

/// A consume of a fresh single-use link `id` (n = 1, at time 100,
/// expiring at 3600), as the bench's single-use requests make: the first
/// counts (`Counted { used: 1 }`).
pub fn fresh_use(id: impl Into<String>) -> StoreOp {
    StoreOp {
        kind: StoreOpKind::Consume,
        id: id.into(),
        region: "us-east-1".into(),
        n: 1,
        fp: "fp".into(),
        now: 100,
        resume_after: 0,
        expire_at: 3600,
        max_failures: None,
        miss: None,
        version: None,
        throttle: None,
        bind: None,
    }
}

/// The pages the SQLite WAL beside `db` (`<db>-wal`, 4 KiB pages and a
/// 24-byte header each) has room for: its largest length since the file
/// was opened, since SQLite writes it over from its start and never
/// shrinks it while open. 0 when there is none.
pub fn wal_pages(db: &std::path::Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len()) / (4096 + 24)
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Whether `name` is an executable file in a PATH directory.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// One HTTP/1.1 request with `connection: close`; the status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {addr}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    // moto answers with content-length; a chunked body would need decoding.
    Ok((status, body))
}
