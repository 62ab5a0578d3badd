//! Link events in the store (docs/events.md), on every engine that keeps
//! them, through the one [`Store`] interface: a real SQLite file and a real
//! PostgreSQL 15. Then what only a database shared by several processes
//! needs: an event that commits after a later one is still delivered, a
//! batch or a retry is handed to one process at a time, and a claim left
//! by a dead process passes to another when its lease runs out.

use oncelink_edge::event::{Event, EventData, EventType};
use oncelink_store::events::{DEFAULT_RETENTION, MAX_EVENTS_PER_LINK};
use oncelink_store::{EventRecord, OpenOptions, Store, StoreOp, StoreOpKind, StoreReply, StoreSpec};
use oncelink_store_testing::Postgres;
use std::time::{Duration, Instant};

const ID: &str = "evtAAAAAAAAAAAAAAAAAAA";

async fn open(spec: &str, lease: Option<Duration>) -> Store {
    let spec = StoreSpec::parse(spec).expect("spec");
    let create = matches!(spec, StoreSpec::Sqlite(_));
    let options = OpenOptions { create, delivery_lease: lease, ..Default::default() };
    Store::open(&spec, &options).await.unwrap_or_else(|e| panic!("open {spec:?}: {e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn consume(fp: &str, at: i64, n: u32) -> StoreOp {
    StoreOp {
        kind: StoreOpKind::Consume,
        id: ID.into(),
        region: "us-east-1".into(),
        n,
        fp: format!("{fp}fp"),
        now: at,
        resume_after: at - 600,
        expire_at: at + 3600,
        max_failures: None,
        miss: None,
        version: None,
        throttle: None,
        bind: None,
    }
}

/// A `link.used` draft of link [`ID`] (limit `n`) at `at`.
fn draft(n: u32, at: i64) -> EventRecord {
    let event = Event {
        kind: EventType::Used,
        timestamp: oncelink_edge::time::rfc3339(at),
        data: EventData {
            id: ID.into(),
            reference: Some("ticket 7".into()),
            used: None,
            limit: Some(n),
            remaining: None,
            reason: None,
            client: None,
        },
    };
    EventRecord::new(event, at, at + 3600, DEFAULT_RETENTION)
}

fn bodies(events: &[oncelink_store::StoredEvent]) -> Vec<serde_json::Value> {
    events.iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect()
}

async fn a_consume_that_counts_keeps_its_event_and_one_that_does_not_keeps_none(s: &Store) {
    let replies = [
        s.apply_noting(&consume("a", 1000, 2), Some(draft(2, 1000))).await.unwrap(),
        s.apply_noting(&consume("a", 1001, 2), Some(draft(2, 1001))).await.unwrap(),
        s.apply_noting(&consume("b", 1002, 2), Some(draft(2, 1002))).await.unwrap(),
        s.apply_noting(&consume("c", 1003, 2), Some(draft(2, 1003))).await.unwrap(),
    ];
    assert_eq!(replies[0], StoreReply::Counted { used: 1 });
    assert_eq!(replies[2], StoreReply::Counted { used: 2 });
    let stored = s.link_events(ID).await.unwrap();
    let kept = bodies(&stored);
    assert_eq!(kept.len(), 2, "one event per counted use: {kept:?}");
    for (e, (used, at)) in stored.iter().zip([(1, 1000), (2, 1002)]) {
        assert_eq!(e.body, draft(2, at).event.counted(used).to_json(), "the body is exactly the core's rendering");
    }
    assert_eq!((kept[0]["data"]["used"].as_u64(), kept[0]["data"]["remaining"].as_u64()), (Some(1), Some(1)));
    assert_eq!((kept[1]["data"]["used"].as_u64(), kept[1]["data"]["remaining"].as_u64()), (Some(2), Some(0)));
    assert_eq!(kept[1]["type"], "link.used");
    assert_eq!(kept[1]["data"]["ref"], "ticket 7");
}

async fn a_ref_that_looks_like_the_counts_is_kept_as_it_is(s: &Store) {
    let id = "refAAAAAAAAAAAAAAAAAAA";
    let mut record = draft(3, 1000);
    record.event.data.id = id.into();
    record.event.data.reference = Some("\"used\":4294967295,\"remaining\":4294967294 \\\"used\\\":".into());
    let op = StoreOp { id: id.into(), ..consume("a", 1000, 3) };
    assert_eq!(s.apply_noting(&op, Some(record.clone())).await.unwrap(), StoreReply::Counted { used: 1 });
    let stored = s.link_events(id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, record.event.counted(1).to_json());
}

async fn a_revoke_keeps_a_revoked_event_once(s: &Store) {
    let id = "revAAAAAAAAAAAAAAAAAAA";
    s.apply(&StoreOp { id: id.into(), ..consume("a", 1000, 3) }).await.unwrap();
    s.revoke(id).await.unwrap();
    s.revoke(id).await.unwrap();
    let kept = bodies(&s.link_events(id).await.unwrap());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!((kept[0]["type"].as_str(), kept[0]["data"]["used"].as_u64()), (Some("link.revoked"), Some(1)));
}

async fn a_webhook_target_starts_at_the_newest_event_and_retries_what_failed(s: &Store) {
    let t = "http://a";
    s.record(draft(1, 900)).await.unwrap();
    assert_eq!(s.webhook_next(t, 10).await.unwrap(), vec![], "a new target starts after what exists");
    for at in [1000, 1001, 1002] {
        s.record(draft(1, at)).await.unwrap();
    }
    let next = s.webhook_next(t, 10).await.unwrap();
    assert_eq!(next.iter().map(|e| e.at).collect::<Vec<_>>(), [1000, 1001, 1002]);
    s.webhook_advance(t, next[2].seq, vec![(next[1].seq, 5_000)]).await.unwrap();
    assert_eq!(s.webhook_next(t, 10).await.unwrap(), vec![]);
    assert_eq!(s.webhook_due(t, 4_999, 10).await.unwrap(), vec![]);
    let due = s.webhook_due(t, 5_000, 10).await.unwrap();
    assert_eq!((due.len(), due[0].attempts, due[0].event.seq), (1, 1, next[1].seq));
    assert_eq!(due[0].event.message_id(), next[1].message_id(), "the same webhook-id on a retry");
    s.webhook_retried(t, next[1].seq, Some(9_000)).await.unwrap();
    assert_eq!(s.webhook_due(t, 9_000, 10).await.unwrap()[0].attempts, 2);
    s.webhook_retried(t, next[1].seq, None).await.unwrap();
    assert_eq!(s.webhook_waiting(t).await.unwrap(), 0);
    assert_eq!(s.webhook_next("http://b", 10).await.unwrap(), vec![], "each target has its own cursor");
}

async fn events_are_kept_until_their_retention_and_at_most_a_thousand_per_link(s: &Store) {
    let id = "capAAAAAAAAAAAAAAAAAAA";
    for at in 1000..1000 + MAX_EVENTS_PER_LINK + 5 {
        let mut record = draft(1, at);
        record.event.data.id = id.into();
        s.record(record).await.unwrap();
    }
    let kept = s.link_events(id).await.unwrap();
    assert_eq!(kept.len() as i64, MAX_EVENTS_PER_LINK);
    assert_eq!(kept[0].at, 1005, "the oldest went first");
    s.prune(1000 + 1004 + 3600 + DEFAULT_RETENTION).await.unwrap();
    assert_eq!(s.link_events(id).await.unwrap().len(), 1, "pruned past each event's keep_until");
}

async fn run_all(s: &Store) {
    a_consume_that_counts_keeps_its_event_and_one_that_does_not_keeps_none(s).await;
    a_ref_that_looks_like_the_counts_is_kept_as_it_is(s).await;
    a_revoke_keeps_a_revoked_event_once(s).await;
    a_webhook_target_starts_at_the_newest_event_and_retries_what_failed(s).await;
    events_are_kept_until_their_retention_and_at_most_a_thousand_per_link(s).await;
}

#[test]
fn the_sqlite_file_keeps_events_as_the_contract_says() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("sqlite:{}", dir.path().join("s.db").display());
    runtime().block_on(async { run_all(&open(&spec, None).await).await });
}

#[test]
fn postgres_keeps_events_as_the_contract_says() {
    let pg = Postgres::start();
    runtime().block_on(async { run_all(&open(&pg.url(), None).await).await });
}

/// A second connection that inserts an event in a transaction it keeps open.
async fn open_transaction_with_an_event(pg: &Postgres) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&pg.url().replace("postgres://", "postgresql://"), tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(connection);
    client.batch_execute("BEGIN").await.unwrap();
    let body = draft(1, 2000).event.to_json();
    client.execute("SELECT oncelink_record_event($1, 2000, 99999999, $2, 1000)", &[&ID, &body]).await.unwrap();
    client
}

#[test]
fn on_postgres_an_event_that_commits_after_a_later_one_is_still_delivered() {
    let pg = Postgres::start();
    runtime().block_on(async {
        let s = open(&pg.url(), None).await;
        let t = "http://late";
        s.webhook_next(t, 0).await.unwrap();
        // The early event takes its seq now and commits last.
        let early = open_transaction_with_an_event(&pg).await;
        s.record(draft(1, 2001)).await.unwrap();
        let first = s.webhook_next(t, 10).await.unwrap();
        assert!(
            first.is_empty(),
            "nothing is handed out while an older transaction may still commit an event: {first:?}"
        );
        early.batch_execute("COMMIT").await.unwrap();
        let next = s.webhook_next(t, 10).await.unwrap();
        assert_eq!(next.iter().map(|e| e.at).collect::<Vec<_>>(), [2000, 2001], "both, the late commit included");
        s.webhook_advance(t, next[1].seq, vec![]).await.unwrap();
        assert_eq!(s.webhook_next(t, 10).await.unwrap(), vec![]);
    });
}

#[test]
fn on_postgres_two_processes_never_get_the_same_batch_or_retry_while_the_claim_holds() {
    let pg = Postgres::start();
    runtime().block_on(async {
        let hour = Some(Duration::from_secs(3600));
        let (a, b) = (open(&pg.url(), hour).await, open(&pg.url(), hour).await);
        let t = "http://shared";
        a.webhook_next(t, 0).await.unwrap();
        for at in [3000, 3001, 3002] {
            a.record(draft(1, at)).await.unwrap();
        }
        let got = a.webhook_next(t, 10).await.unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(b.webhook_next(t, 10).await.unwrap(), vec![], "b waits while a holds the batch");
        a.webhook_advance(t, got[2].seq, vec![(got[0].seq, 10), (got[1].seq, 10)]).await.unwrap();
        let retry_a = a.webhook_due(t, 20, 10).await.unwrap();
        assert_eq!(retry_a.len(), 2);
        assert_eq!(b.webhook_due(t, 20, 10).await.unwrap(), vec![], "a retry is claimed by one process");
        // a is caught up: it lets go, and b takes the next batch.
        assert_eq!(a.webhook_next(t, 10).await.unwrap(), vec![]);
        a.record(draft(1, 3003)).await.unwrap();
        let to_b = b.webhook_next(t, 10).await.unwrap();
        assert_eq!(to_b.iter().map(|e| e.at).collect::<Vec<_>>(), [3003]);
        assert_eq!(a.webhook_next(t, 10).await.unwrap(), vec![]);
    });
}

#[test]
fn on_postgres_a_batch_claimed_by_a_process_that_died_goes_to_another_when_the_lease_runs_out() {
    let pg = Postgres::start();
    runtime().block_on(async {
        let short = Some(Duration::from_millis(300));
        let (dead, alive) = (open(&pg.url(), short).await, open(&pg.url(), short).await);
        let t = "http://lease";
        dead.webhook_next(t, 0).await.unwrap();
        dead.record(draft(1, 4000)).await.unwrap();
        let claimed = dead.webhook_next(t, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        // `dead` never advances. Not a timing assertion: poll until the
        // lease has run out, however long the machine takes.
        let deadline = Instant::now() + Duration::from_secs(60);
        let taken = loop {
            let got = alive.webhook_next(t, 10).await.unwrap();
            if !got.is_empty() || Instant::now() > deadline {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(taken, claimed, "the same event (so the same webhook-id) goes to the live process");
        alive.webhook_advance(t, taken[0].seq, vec![]).await.unwrap();
        assert_eq!(alive.webhook_next(t, 10).await.unwrap(), vec![]);
    });
}
