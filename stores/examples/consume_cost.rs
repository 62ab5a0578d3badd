//! What one single-use consume costs the SQLite store's thread (issue 18):
//! fresh links consumed in group-commit batches, each with its `link.used`
//! event, as origin-shim's `sqlite-store` thread commits them. Prints the
//! thread's CPU time per use and the WAL frames written per use (the WAL is
//! not checkpointed while it measures). Load-independent figures come from
//! running it under callgrind and dividing the instructions of `measure` by
//! USES:
//!
//!   cargo run --release -p oncelink-store --example consume_cost -- DIR [LINKS] [USES] [BATCH]
//!   cp -r DIR COPY    # the filled file, for runs that start alike
//!   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*consume_cost*measure*' \
//!     target/release/examples/consume_cost COPY 0 3000 16
//!
//! LINKS (default 150,000, as `bench/origin-shim/run.sh`) links are used
//! first so the B-trees have the bench's size (0: use the file a run left
//! in DIR as it is); then 2,000 uses warm the cache, and USES (default
//! 20,000) fresh links are consumed and measured, BATCH (default 16, about
//! what a commit held under wrk -c32) to a commit. Not a test: it asserts
//! nothing.

use oncelink_edge::event::{Client, Event, EventData, EventType};
use oncelink_store::events::DEFAULT_RETENTION;
use oncelink_store::sqlite::SqliteStore;
use oncelink_store::{EventRecord, StoreOp, StoreOpKind, StoreReply};
use std::path::Path;

const NOW: i64 = 1_800_000_000;
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// 22 base64url characters from a xorshift stream: random-looking ids and
/// fingerprints, the same every run.
fn word(state: &mut u64) -> String {
    (0..22)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            B64[(*state % 64) as usize] as char
        })
        .collect()
}

fn use_of(state: &mut u64) -> (StoreOp, Option<EventRecord>) {
    let id = word(state);
    let op = StoreOp {
        kind: StoreOpKind::Consume,
        id: id.clone(),
        region: "local".into(),
        n: 1,
        fp: word(state),
        now: NOW,
        resume_after: NOW - 30,
        expire_at: NOW + 3600,
        max_failures: None,
        miss: None,
        version: None,
        throttle: None,
        bind: None,
    };
    let event = Event {
        kind: EventType::Used,
        timestamp: oncelink_edge::time::rfc3339(NOW),
        data: EventData {
            id,
            reference: None,
            used: None,
            limit: Some(1),
            remaining: None,
            reason: None,
            client: Some(Client { agent: "other", os: "other", network: "abcdEFGH".into() }),
        },
    };
    (op, Some(EventRecord::new(event, NOW, NOW + 3600, DEFAULT_RETENTION)))
}

fn consume(store: &mut SqliteStore, state: &mut u64, uses: usize, batch: usize) {
    let mut left = uses;
    while left > 0 {
        let ops: Vec<_> = (0..batch.min(left)).map(|_| use_of(state)).collect();
        let replies = store.apply_batch_noting(&ops, &[]).expect("batch");
        assert!(replies.iter().all(|r| matches!(r, StoreReply::Counted { used: 1 })), "{replies:?}");
        left -= ops.len();
    }
}

/// This thread's CPU time so far, in ns (`/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    s.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The measured uses; returns the thread CPU time they took, in ns.
#[inline(never)]
fn measure(store: &mut SqliteStore, state: &mut u64, uses: usize, batch: usize) -> u64 {
    let cpu = thread_cpu_ns();
    consume(store, state, uses, batch);
    thread_cpu_ns() - cpu
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map(String::as_str).unwrap_or("/tmp/consume-cost"));
    let arg = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (links, uses, batch) = (arg(2, 150_000), arg(3, 20_000), arg(4, 16));
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join("cost.db");
    // LINKS 0 reuses DIR/cost.db as a run with LINKS left it (callgrind
    // runs start from a copy instead of filling the file again).
    if links > 0 {
        for f in ["cost.db", "cost.db-wal", "cost.db-shm"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let mut store = SqliteStore::create(&path).expect("create");
    // Links after the ones already there (each run reseeds from the count).
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) << 1);
    consume(&mut store, &mut state, links, 256);
    store.set_wal_autocheckpoint(0).expect("autocheckpoint");
    // A server's cache is warm: a few batches first.
    consume(&mut store, &mut state, 2_000, batch);
    // Empty the WAL, so that what it holds afterwards is what the measured
    // commits wrote (a frame is one page plus its 24-byte header).
    let side = rusqlite::Connection::open(&path).expect("open");
    side.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("truncate");
    let page: u64 = side.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0)).expect("page_size") as u64;
    drop(side);
    let wall = std::time::Instant::now();
    let cpu = measure(&mut store, &mut state, uses, batch);
    let wall = wall.elapsed();
    let wal = std::fs::metadata(dir.join("cost.db-wal")).map(|m| m.len()).unwrap_or(0);
    let frames = wal.saturating_sub(32) / (page + 24);
    let commits = uses.div_ceil(batch);
    let db = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "links {links}, uses {uses}, batch {batch}: {:.1} us CPU per use ({:.1} us wall), \
         {:.2} WAL frames per use ({:.1} per commit, {page}-byte pages), database {} MiB",
        cpu as f64 / 1e3 / uses as f64,
        wall.as_secs_f64() * 1e6 / uses as f64,
        frames as f64 / uses as f64,
        frames as f64 / commits as f64,
        db >> 20,
    );
}
