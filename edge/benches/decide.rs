//! `cargo bench -p oncelink-edge`: the native cost of one `decide`, reported
//! as a ratio against a baseline measured in the same run (one HMAC-SHA256
//! over a token's signed part: the one cost no verifier can skip).

use hmac::{Hmac, Mac};
use oncelink_edge::{decide, mint, secret, Body, Claims, Config, KeySet, Mode, Request, Step};
use sha2::Sha256;
use std::hint::black_box;
use std::time::{Duration, Instant};

const KEYS: &str = r#"{"active":"k1","keys":[{"kid":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#;

fn time_per_op(mut f: impl FnMut()) -> Duration {
    for _ in 0..2_000 {
        f();
    }
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let iterations = 20_000u32;
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        best = best.min(start.elapsed() / iterations);
    }
    best
}

fn main() {
    let keys = KeySet::from_json(KEYS).unwrap();
    let claims = |n| Claims {
        n,
        filename: Some("report.pdf".into()),
        ..Claims::new("AAAAAAAAAAAAAAAAAAAAAA", "/files/report.pdf", 2_000_000_000)
    };
    let unlimited = mint(keys.active(), claims(None)).unwrap();
    let counted = mint(keys.active(), claims(Some(1))).unwrap();
    let forged = format!("{}A", &unlimited[..unlimited.len() - 1]);
    let page = mint(keys.active(), Claims { m: Some(Mode::Page), ..claims(Some(1)) }).unwrap();
    let pw = secret::password_hash(keys.active(), "AAAAAAAAAAAAAAAAAAAAAA", "correct horse");
    let protected = mint(keys.active(), Claims { pw: Some(pw), ..claims(Some(1)) }).unwrap();
    let config = Config::new(KeySet::from_json(KEYS).unwrap(), "us-east-1").unwrap();
    let request = |token: &str| Request {
        method: "GET".into(),
        path: "/files/report.pdf".into(),
        query: format!("t={token}"),
        headers: [("user-agent".to_owned(), "Mozilla/5.0".to_owned())].into_iter().collect(),
        ip: "203.0.113.7".into(),
    };
    let signed = unlimited.rsplit_once('.').unwrap().0.to_owned();
    let secret: Vec<u8> = (0..32).collect();
    let baseline = time_per_op(|| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
        mac.update(black_box(signed.as_bytes()));
        black_box(mac.finalize());
    });
    println!("| case | ns per decide | ratio to one HMAC-SHA256 |");
    println!("|---|---:|---:|");
    println!("| baseline: HMAC-SHA256 of the signed part | {} | 1.00 |", baseline.as_nanos());
    let post = |token: &str, body: &str| (Request { method: "POST".into(), ..request(token) }, Some(body.to_owned()));
    let get = |req: Request| (req, None::<String>);
    for (name, req) in [
        ("valid, time-limited (forward)", get(request(&unlimited))),
        ("valid, n=1 (need_store)", get(request(&counted))),
        ("forged (bad_signature)", get(request(&forged))),
        ("page mode GET (need_store read)", get(request(&page))),
        ("page mode POST (303 with a pass)", post(&page, "")),
        ("password POST, right (need_store attempt, miss 0)", post(&protected, "password=correct+horse")),
        ("password POST, wrong (need_store attempt, miss 1)", post(&protected, "password=wrong")),
    ] {
        // A POST's decision is the ask for its body and the answer given it.
        let (req, body) = req;
        let t = time_per_op(|| {
            let step = decide(&config, black_box(&req), 1_900_000_000);
            let _ = black_box(match (step, &body) {
                (Step::NeedBody { pending }, Some(body)) => pending.give_body(&config, Body::Read(body.clone())),
                (step, _) => step,
            });
        });
        println!("| {name} | {} | {:.2} |", t.as_nanos(), t.as_secs_f64() / baseline.as_secs_f64());
    }
}
