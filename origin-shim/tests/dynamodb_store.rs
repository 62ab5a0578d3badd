//! `origin-shim serve --store dynamodb:REGION@ENDPOINT --table NAME` end to
//! end: the real binary counts uses in a DynamoDB-compatible server (moto,
//! started here on a free 127.0.0.1 port) and every check is over real HTTP.
//!
//! moto runs through `edge/js/dev/moto_serialized.py`, which handles one
//! request at a time: plain `moto_server` evaluates a ConditionExpression and
//! applies the update without a lock, so two racing conditional writes can
//! both succeed, which DynamoDB never allows (docs/lambda-edge.md, "Why moto,
//! and why serialised"). The table is created and its records are read with
//! requests signed by the core's own SigV4 signer.
//!
//! moto comes from the one store test harness (`oncelink-store-testing`).
//! Needs moto: `pip install -r scripts/requirements-test.txt`. Without
//! `moto_server` on PATH the moto tests fail (never skip) and say so.

mod support;

use oncelink_store_testing::{Moto, REGION, TABLE};
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::http::Resp;
use support::{assert_denied, claims_n, content, get_as, reason, Shim, Site};

/// Clients in the parallel burst.
const CLIENTS: usize = 100;
const LEN: usize = 16 * 1024;

fn dummy_credentials_in_env() {
    Moto::credentials_in_env();
}

fn free_port() -> u16 {
    oncelink_store_testing::free_port()
}

/// An item as the tests look at it (attributes read straight from `GetItem`).
#[derive(Debug)]
struct Rec {
    exists: bool,
    used: u32,
    n: Option<u32>,
    revoked: bool,
    last_use: Option<i64>,
    expire_at: Option<i64>,
}

/// The item of token `id`, read consistently.
fn record(moto: &Moto, id: &str) -> Rec {
    let doc: serde_json::Value = serde_json::from_str(&moto.raw_item(id)).expect("GetItem answer is JSON");
    let item = doc.get("Item").cloned().unwrap_or_default();
    let num = |name: &str| item.get(name).and_then(|v| v["N"].as_str()).and_then(|n| n.parse::<i64>().ok());
    let last_use = item
        .as_object()
        .map(|o| {
            // The slots' times (docs/dynamodb.md: `s_<slot>` = {"f": fp, "t": last_use}).
            o.iter()
                .filter(|(k, _)| k.starts_with("s_"))
                .filter_map(|(_, v)| v["M"]["t"]["N"].as_str()?.parse().ok())
                .max()
        })
        .unwrap_or(None);
    Rec {
        exists: item.is_object(),
        used: num("used").unwrap_or(0) as u32,
        n: num("n").map(|n| n as u32),
        revoked: item.get("revoked").and_then(|v| v["BOOL"].as_bool()).unwrap_or(false),
        last_use,
        expire_at: num("expire_at"),
    }
}

/// Revokes `id` with `oncelink revoke --store dynamodb:... --table T ID`,
/// the CLI built in the same target directory as origin-shim (or
/// `$ONCELINK_BIN`). When it has not been built (`cargo test -p
/// origin-shim` builds only this package), the revoke goes through the store
/// layer the CLI uses, and a note says so.
fn revoke(moto: &Moto, id: &str) {
    match oncelink_bin() {
        Some(bin) => {
            let out = Command::new(&bin)
                .args(["revoke", "--store", &moto.spec(), "--table", TABLE, id])
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            assert!(
                out.status.success(),
                "{} revoke failed ({}): {}",
                bin.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        None => {
            eprintln!(
                "note: no oncelink binary next to origin-shim and no $ONCELINK_BIN; revoking through oncelink-store"
            );
            let spec = oncelink_store::StoreSpec::parse(&moto.spec()).expect("spec");
            let options = oncelink_store::OpenOptions { table: Some(TABLE.into()), ..Default::default() };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let store = oncelink_store::Store::open(&spec, &options).await.expect("open");
                store.revoke(id).await.expect("revoke");
            });
        }
    }
}

/// `$ONCELINK_BIN`, else the `oncelink` binary cargo built beside origin-shim.
fn oncelink_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("ONCELINK_BIN") {
        return Some(PathBuf::from(bin));
    }
    let sibling = Path::new(env!("CARGO_BIN_EXE_origin-shim"))
        .with_file_name(format!("oncelink{}", std::env::consts::EXE_SUFFIX));
    sibling.is_file().then_some(sibling)
}

/// `origin-shim serve --root ROOT --store dynamodb:us-east-1@ENDPOINT --table T`.
fn serve(site: &Site, endpoint: &str) -> Shim {
    serve_table(site, endpoint, TABLE)
}

/// As [`serve`], with another table name.
fn serve_table(site: &Site, endpoint: &str, table: &str) -> Shim {
    dummy_credentials_in_env();
    let mut args: Vec<OsString> = vec![
        "serve".into(),
        "--keys".into(),
        site.keys.path.clone().into(),
        "--root".into(),
        site.root.clone().into(),
        "--store".into(),
        format!("dynamodb:{REGION}@{endpoint}").into(),
        "--table".into(),
        table.into(),
    ];
    args.extend(support::NO_REFUSAL_LIMIT.iter().map(OsString::from));
    Shim::start(args)
}

/// A 200 carrying the whole file, with the server's log on failure.
#[track_caller]
fn assert_served(resp: &Resp, shim: &Shim, what: &str) {
    assert_eq!(resp.status, 200, "{what}: {} {}\nserver stderr:\n{}", resp.status, reason(resp), shim.stderr.text());
    assert_eq!(resp.body, content(LEN), "{what}: the whole file");
}

#[test]
fn two_uses_used_up_resume_and_revoke() {
    let moto = Moto::start();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = serve(&site, &moto.endpoint);
    let c = claims_n("/f.bin", 2);
    let id = c.id.clone();
    let url = format!("/f.bin?t={}", site.token(c));
    assert!(!record(&moto, &id).exists, "minting writes nothing");

    assert_served(&get_as(shim.addr, "client-a", &url, &[]), &shim, "client a, first use");
    let rec = record(&moto, &id);
    assert_eq!((rec.used, rec.n, rec.revoked), (1, Some(2), false), "after the first use: {rec:?}");
    assert!(rec.expire_at.is_some_and(|e| e > support::now() + 3600), "TTL attribute past exp: {rec:?}");

    assert_served(&get_as(shim.addr, "client-b", &url, &[]), &shim, "client b, second use");
    assert_eq!(record(&moto, &id).used, 2, "after the second use");

    assert_denied(&get_as(shim.addr, "client-c", &url, &[]), 410, "used_up");
    assert_eq!(record(&moto, &id).used, 2, "a refused use counts nothing");

    // Client a again, inside the grace window: a resume, not a use (the
    // conditional UpdateItem fails and its ALL_OLD shows a's recent use).
    assert_served(&get_as(shim.addr, "client-a", &url, &[]), &shim, "client a resuming from byte 0");
    // A ranged resume from a later byte reads the record (GetItem) instead.
    let ranged = get_as(shim.addr, "client-b", &url, &[("Range", "bytes=100-")]);
    assert_eq!(ranged.status, 206, "client b resuming from byte 100: {}", ranged.body_text());
    assert_eq!(ranged.body, content(LEN)[100..], "the rest of the file");
    assert_denied(&get_as(shim.addr, "client-c", &url, &[("Range", "bytes=100-")]), 403, "resume_denied");
    let rec = record(&moto, &id);
    assert_eq!((rec.used, rec.revoked), (2, false), "resumes count nothing: {rec:?}");
    assert!(rec.last_use.is_some_and(|t| t >= support::now() - 60), "last use recorded: {rec:?}");

    revoke(&moto, &id);
    assert!(record(&moto, &id).revoked, "the record is revoked");
    assert_denied(&get_as(shim.addr, "client-a", &url, &[]), 410, "revoked");
    assert_denied(&get_as(shim.addr, "client-b", &url, &[("Range", "bytes=100-")]), 410, "revoked");

    // A link revoked before any use never serves.
    let fresh = claims_n("/f.bin", 5);
    let fresh_id = fresh.id.clone();
    let fresh_url = format!("/f.bin?t={}", site.token(fresh));
    revoke(&moto, &fresh_id);
    assert_denied(&get_as(shim.addr, "client-a", &fresh_url, &[]), 410, "revoked");
    let rec = record(&moto, &fresh_id);
    assert_eq!((rec.used, rec.revoked), (0, true), "revoked before use: {rec:?}");
}

#[test]
fn hundred_parallel_clients_get_exactly_three_bodies() {
    let moto = Moto::start();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = serve(&site, &moto.endpoint);
    let c = claims_n("/f.bin", 3);
    let id = c.id.clone();
    let url = format!("/f.bin?t={}", site.token(c));
    let support::Burst { served, used_up, other } = support::burst(shim.addr, &url, CLIENTS, &content(LEN));
    // Serialised moto answers one request at a time (about 10 ms each here),
    // so the last of 100 waits about a second; origin-shim gives one attempt
    // 1.5 s and all attempts 4 s. A machine so loaded that moto is several
    // times slower gets 503s here ("attempt timed out" in the log): the
    // server then fails closed, as it should, but this test cannot count.
    assert!(
        other.is_empty(),
        "unexpected answers {other:?} (503s with `attempt timed out` below mean moto was too slow: is the machine overloaded?)\nserver stderr:\n{}",
        shim.stderr.text()
    );
    assert_eq!((served, used_up), (3, CLIENTS - 3), "(200s, 410 used_up)");
    let rec = record(&moto, &id);
    assert_eq!((rec.used, rec.n, rec.revoked), (3, Some(3), false), "the record agrees: {rec:?}");
}

#[test]
fn dead_endpoint_is_503_store_unavailable() {
    // Nothing listens on this port: every attempt is refused at once.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = serve(&site, &dead);
    let url = format!("/f.bin?t={}", site.token(claims_n("/f.bin", 1)));
    for range in [None, Some("bytes=100-")] {
        let headers: Vec<(&str, &str)> = range.iter().map(|r| ("Range", *r)).collect();
        let resp = get_as(shim.addr, "client-a", &url, &headers);
        assert_denied(&resp, 503, "store_unavailable");
        let retry = resp.header("retry-after").and_then(|v| v.parse::<u32>().ok());
        assert!(retry.is_some_and(|s| s > 0), "Retry-After in whole seconds: {:?}", resp.headers);
    }
    let log = shim.stderr.wait_for(&["store unavailable", "dynamodb"]);
    assert!(log.contains("store unavailable") && log.contains("dynamodb"), "the cause is logged:\n{log}");
}

#[test]
fn endpoint_that_never_answers_is_503_within_the_budget() {
    // The kernel accepts connections into the backlog; nothing ever reads or
    // answers them, so every attempt runs into its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let endpoint = format!("http://{}", silent.local_addr().expect("local addr"));
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = serve(&site, &endpoint);
    let url = format!("/f.bin?t={}", site.token(claims_n("/f.bin", 1)));
    let started = Instant::now();
    let resp = get_as(shim.addr, "client-a", &url, &[]);
    let waited = started.elapsed();
    assert_denied(&resp, 503, "store_unavailable");
    assert!(resp.header("retry-after").is_some(), "Retry-After: {:?}", resp.headers);
    // origin-shim's store budget is 4 s for all attempts together; well
    // under the 30 s request timeout, which would answer 408 instead.
    assert!(waited < Duration::from_secs(10), "a silent store held the request {waited:?}");
    let log = shim.stderr.wait_for(&["timed out"]);
    assert!(log.contains("timed out"), "the timeout is logged:\n{log}");
    drop(silent);
}

#[test]
fn missing_table_is_503_store_unavailable() {
    let moto = Moto::start();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = serve_table(&site, &moto.endpoint, "no-such-table");
    let url = format!("/f.bin?t={}", site.token(claims_n("/f.bin", 1)));
    assert_denied(&get_as(shim.addr, "client-a", &url, &[]), 503, "store_unavailable");
    assert_denied(&get_as(shim.addr, "client-a", &url, &[("Range", "bytes=100-")]), 503, "store_unavailable");
    let log = shim.stderr.wait_for(&["ResourceNotFoundException"]);
    assert!(log.contains("ResourceNotFoundException"), "DynamoDB's error type is logged:\n{log}");
}

#[test]
fn bad_table_or_endpoint_stops_the_server_at_start() {
    // Checked when the server starts, not on the first link: otherwise it
    // would run and answer 503 to every request.
    dummy_credentials_in_env();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    for (store, table, expected) in [
        ("dynamodb:us-east-1@http://127.0.0.1:9", "ab", "table name"),
        ("dynamodb:us-east-1@http://127.0.0.1:9/some/path", TABLE, "endpoint"),
    ] {
        let args: Vec<OsString> = [
            "serve",
            "--keys",
            &site.keys.path.display().to_string(),
            "--root",
            &site.root.display().to_string(),
            "--store",
            store,
            "--table",
            table,
            "--listen",
            "127.0.0.1:0",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        match Shim::try_start(&args) {
            Ok(shim) => panic!("started with --store {store} --table {table} on {}", shim.addr),
            Err(e) => assert!(e.contains(expected), "--store {store} --table {table}: error names the {expected}: {e}"),
        }
    }
}
