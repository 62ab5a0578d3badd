//! What every fuzz target shares: the fixed keys (those of
//! edge/vectors/decide.json, so the vectors' tokens verify and the seeds
//! reach deep states), a few deployment configs, requests built from fuzz
//! bytes with valid tokens mixed in, and the invariants a decision must keep.
//!
//! The invariants are checked independently of `decide`: the token is taken
//! from the request and verified again with the token API, the path decoded
//! again and matched against the verified grant.
#![forbid(unsafe_code)]

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use oncelink_edge::decide::OWN_HEADER_PREFIX;
use oncelink_edge::path::DecodedPath;
use oncelink_edge::{
    decide, mint, secret, Allow, Body, Claims, Config, Forward, Key, Mode, Reason, Request, Response, Step,
    StoreOpKind, StoreReply, Unreadable, UntrustedToken, VerifiedToken,
};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The decision vectors' key file (k1, k2; k2 active).
pub const KEYS: &str = r#"{"active":"k2","keys":[{"kid":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"},{"kid":"k2","secret":"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"}]}"#;
/// The vectors' `now`.
pub const NOW: i64 = 1_767_225_600;

/// A key the deployment does not trust, under a kid it does (`k2`), and one
/// under a kid it does not know (`k9`): tokens that parse but must not verify.
fn foreign_keys() -> &'static [Key; 2] {
    static KEYS: OnceLock<[Key; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [Key::new("k2", vec![0x5a; 32]).expect("valid key"), Key::new("k9", vec![0xa5; 32]).expect("valid key")]
    })
}

/// Five deployments: the vectors' (S3, direct), a guarded header origin in
/// page mode, renamed parameters with no skew or grace and a one-failure lock,
/// the widest skew and grace, and a host that serves files (`ask_file_size`).
pub fn configs() -> &'static [Config] {
    static CONFIGS: OnceLock<Vec<Config>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        [
            r#""home_region":"us-east-1""#,
            r#""home_region":"eu-west-1","origin":"header","default_mode":"page","grant_keys":{"active":"g1","keys":[{"kid":"g1","secret":"Z3JhbnQga2V5IGZvciB0aGUgZnV6emVyIDAxMjM0NTY"}]}"#,
            r#""home_region":"us-east-1","token_param":"link","pass_param":"ok","skew":0,"grace":0,"max_password_failures":1"#,
            r#""home_region":"us-east-1","default_mode":"page","skew":3600,"grace":86400,"origin":"header""#,
            r#""home_region":"us-east-1","origin":"header","ask_file_size":true"#,
        ]
        .iter()
        .map(|rest| Config::from_json(&format!(r#"{{"keys":{KEYS},{rest}}}"#)).expect("fuzz config"))
        .collect()
    })
}

/// Picks from a fixed list, or (one time in `len + 1`) an arbitrary string.
fn pick_or_any(u: &mut Unstructured, list: &[&str]) -> arbitrary::Result<String> {
    let i = u.choose_index(list.len() + 1)?;
    match list.get(i) {
        Some(s) => Ok((*s).to_owned()),
        None => String::arbitrary(u),
    }
}

const IDS: &[&str] = &["AAAAAAAAAAAAAAAAAAAAAA", "q1w2e3r4t5y6u7i8o9p0aZ", "short", "Zm9vYmFyYmF6cXV4LTEyMzQ1Njc4"];
const GRANTS: &[&str] =
    &["/files/report.pdf", "/dir/*", "/*", "/dir/sub/", "/a b", "/caf\u{e9}", "/up/*", "/dir", "/a/../b", "/%2e"];
const SEGMENTS: &[&str] = &[
    "files",
    "report.pdf",
    "dir",
    "sub",
    "b.txt",
    "up",
    "a b",
    "a%20b",
    "caf%C3%A9",
    "..",
    ".",
    "..;",
    "%2e%2e",
    "%2E%2e;",
    "..%3b",
    "%2F",
    "%2f..",
    "",
    "%00",
    "%",
    "%zz",
    "%C3",
    "\\",
    "%5c",
    "x;y",
    "*",
    "%25",
];
const UAS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64) Example/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23",
    "curl/8.5.0",
    "",
];
const RANGES: &[&str] = &[
    "bytes=0-",
    "bytes=5-",
    "bytes=-500",
    "bytes=000-1",
    "BYTES=7-9",
    "items=5-9",
    "bytes=x-9",
    "bytes= 0-0, 5-",
    "bytes",
];
const IPS: &[&str] =
    &["203.0.113.7", "203.0.113.200", "198.51.100.1", "::ffff:203.0.113.7", "2001:db8::1", "garbage", ""];
const CIDRS: &[&str] = &["203.0.113.0/24", "198.51.100.1", "2001:db8::/32", "0.0.0.0/0", "203.0.113.1/24", "::/0"];
const PASSWORDS: &[&str] = &["s\u{e9}same", "hunter2", "a b&c=d"];

/// Claims built from fuzz bytes: mostly valid, sometimes not (then minting fails).
pub fn claims(u: &mut Unstructured, now: i64) -> arbitrary::Result<Claims> {
    let id = pick_or_any(u, IDS)?;
    let p = pick_or_any(u, GRANTS)?;
    let exp = now + i64::from(u.int_in_range(-120i32..=7200)?);
    let mut c = Claims::new(id, p, exp);
    if u.ratio(1, 4)? {
        c.nbf = Some(now + i64::from(u.int_in_range(-120i32..=120)?));
    }
    if u.ratio(2, 3)? {
        c.n = Some(*u.choose(&[1, 2, 3, 1_000_000, 0])?);
        if u.ratio(1, 3)? {
            c.g = Some(*u.choose(&[0, 1, 600, 86_400, 86_401])?);
        }
    }
    if u.ratio(1, 8)? {
        c.r = Some(pick_or_any(u, &["eu-west-1", "us-east-1", "BAD"])?);
    }
    if u.ratio(1, 5)? {
        c.ip = Some(pick_or_any(u, CIDRS)?);
    }
    if u.ratio(1, 5)? {
        c.filename = Some(pick_or_any(u, &["report.pdf", "r\u{e9}sum\u{e9} \"1\".pdf", "a;b\r\n.txt"])?);
    }
    c.m = *u.choose(&[None, None, Some(Mode::Direct), Some(Mode::Page)])?;
    Ok(c)
}

/// The token a fuzzed request carries.
enum TokenChoice {
    /// A token the deployment's keys sign (k1 or k2).
    Valid(String),
    /// A well-formed token the deployment must refuse (foreign key, or a valid one altered).
    Bad(String),
    /// Any string.
    Raw(String),
}

/// One request and the time to decide it at, built from fuzz bytes.
#[derive(Debug)]
pub struct Case {
    /// The config (index into [`configs`]).
    pub config: usize,
    /// The request.
    pub request: Request,
    /// The body given if the core asks for it.
    pub body: Body,
    /// The file size given if the core asks for it (`None`: no such file).
    pub file_size: Option<u64>,
    /// Unix seconds.
    pub now: i64,
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Case> {
        let config_index = u.choose_index(configs().len())?;
        let config = &configs()[config_index];
        let now = NOW + i64::from(u.int_in_range(-60i32..=60)?);
        let mut claims = claims(u, now)?;
        let password = pick_or_any(u, PASSWORDS)?;
        let signer_index = u.int_in_range(0u8..=5)?;
        let trusted = signer_index <= 3;
        let signer: &Key = match signer_index {
            0..=1 => config.keys.get("k1").expect("k1"),
            2..=3 => config.keys.active(),
            4 => &foreign_keys()[0],
            _ => &foreign_keys()[1],
        };
        if claims.n.is_some() && u.ratio(1, 3)? {
            claims.pw = secret::password_claim(signer, &claims.id, &password).ok();
        }
        if claims.n.is_some() && u.ratio(1, 4)? {
            claims.b = Some(true);
        }
        let choice = match mint(signer, claims) {
            Ok(token) if !trusted => TokenChoice::Bad(token),
            Ok(token) if u.ratio(1, 6)? => {
                // Flip one byte: the MAC must catch it.
                let mut bytes = token.into_bytes();
                let at = u.choose_index(bytes.len())?;
                bytes[at] ^= u.int_in_range(1u8..=255)?;
                TokenChoice::Bad(String::from_utf8_lossy(&bytes).into_owned())
            }
            Ok(token) => TokenChoice::Valid(token),
            Err(_) => TokenChoice::Raw(String::arbitrary(u)?),
        };
        let token = match &choice {
            TokenChoice::Valid(t) | TokenChoice::Bad(t) | TokenChoice::Raw(t) => t.clone(),
        };

        let method = pick_or_any(u, &["GET", "GET", "HEAD", "POST", "POST", "OPTIONS", "get"])?;
        let path = if u.ratio(1, 8)? {
            String::arbitrary(u)?
        } else {
            let mut path = String::new();
            for _ in 0..u.int_in_range(1u8..=4)? {
                path.push('/');
                path.push_str(&pick_or_any(u, SEGMENTS)?);
            }
            path
        };

        let tp = config.token_param.as_str();
        let pp = config.pass_param.as_str();
        let mut query = Vec::new();
        let mut headers = BTreeMap::new();
        let ua = pick_or_any(u, UAS)?;
        headers.insert("user-agent".to_owned(), ua);
        let in_header = u.ratio(1, 5)?;
        if in_header {
            headers.insert(pick_or_any(u, &["authorization", "Authorization"])?, format!("Oncelink {token}"));
        } else {
            query.push(format!("{tp}={token}"));
        }
        for _ in 0..u.int_in_range(0u8..=3)? {
            query.push(match u.int_in_range(0u8..=6)? {
                0 => format!("{tp}={}", String::arbitrary(u)?),
                1 => format!("{pp}={}", String::arbitrary(u)?),
                2 => "response-content-type=text/html".to_owned(),
                3 => "%72esponse-content-disposition=inline".to_owned(),
                4 => "a=1".to_owned(),
                _ => String::arbitrary(u)?,
            });
        }
        if u.ratio(1, 3)? {
            headers.insert("range".to_owned(), pick_or_any(u, RANGES)?);
        }
        for _ in 0..u.int_in_range(0u8..=3)? {
            let (k, v) = match u.int_in_range(0u8..=6)? {
                0 => ("accept", "text/html,application/xhtml+xml"),
                1 => ("sec-purpose", "prefetch;prerender"),
                2 => ("sec-fetch-site", "cross-site"),
                3 => ("x-oncelink-grant", "forged"),
                4 => ("X-Oncelink-Disposition", "inline"),
                5 => ("x-moz", "prefetch"),
                _ => {
                    headers.insert(String::arbitrary(u)?, String::arbitrary(u)?);
                    continue;
                }
            };
            headers.insert(k.to_owned(), v.to_owned());
        }
        let ip = pick_or_any(u, IPS)?;
        let body = match u.int_in_range(0u8..=5)? {
            0 => Body::Unreadable(*u.choose(&[
                Unreadable::TooLarge,
                Unreadable::Truncated,
                Unreadable::NotUtf8,
                Unreadable::BadEncoding,
            ])?),
            1 => Body::Read(String::new()),
            2 => Body::Read(format!("password={}", form_escape(&password))),
            3 => Body::Read(format!("password={}", form_escape(&String::arbitrary(u)?))),
            _ => Body::Read(String::arbitrary(u)?),
        };
        let file_size = Option::<u64>::arbitrary(u)?;
        let mut request = Request { method, path, query: query.join("&"), headers, ip };

        // A pass: one the core issued to this client (from a POST's 303),
        // a forged one, or none.
        if !in_header && request.method == "GET" && u.ratio(1, 2)? {
            let pass = match u.int_in_range(0u8..=2)? {
                0 => issued_pass(config, &request, &body, now - i64::from(u.int_in_range(0i32..=120)?)),
                1 => Some(format!("{}.{}", now + 60, "AAAAAAAAAAAAAAAAAAAAAA")),
                _ => Some(String::arbitrary(u)?),
            };
            if let Some(pass) = pass {
                request.query.push_str(&format!("&{pp}={pass}"));
            }
        }
        Ok(Case { config: config_index, request, body, file_size, now })
    }
}

/// Form-encodes a value (`application/x-www-form-urlencoded`).
pub fn form_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The pass the core hands this client: decide a POST of the page form (with
/// the case's body, the file found), answer a read with a fresh record, and
/// take the pass from the 303's location.
fn issued_pass(config: &Config, request: &Request, body: &Body, at: i64) -> Option<String> {
    let post = Request { method: "POST".into(), ..request.clone() };
    let mut step = decide(config, &post, at);
    for _ in 0..oncelink_edge::MAX_STEPS {
        step = match step {
            Step::NeedBody { pending } => pending.give_body(config, body.clone()),
            Step::NeedFileSize { pending, .. } => pending.give_file_size(config, Some(1)),
            Step::NeedStore { pending } => {
                pending.resume(&StoreReply::NotCounted { used: 0, revoked: false, last_use: None, failures: 0, bound: None })
            }
            done => done,
        };
    }
    let Step::Respond(r) = step else { return None };
    let location = r.header("location")?;
    let query = location.split_once('?')?.1;
    let prefix = format!("{}=", config.pass_param);
    query.split('&').find_map(|p| p.strip_prefix(&prefix)).map(str::to_owned)
}

/// Store replies built from fuzz bytes, with `last_use` near the times
/// the op names so resumes inside and outside grace both occur.
pub fn reply(u: &mut Unstructured, now: i64, resume_after: i64) -> arbitrary::Result<StoreReply> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => StoreReply::Unavailable,
        1 => StoreReply::Counted { used: small(u)? },
        // A guard's answer: a throttle state that is fresh, arbitrary text, or
        // the core's own encoding with a network waiting.
        2 => StoreReply::Guarded {
            used: small(u)?,
            revoked: u.ratio(1, 5)?,
            failures: small(u)?,
            version: u64::from(small(u)?),
            throttle: match u.int_in_range(0u8..=2)? {
                0 => String::new(),
                1 => String::arbitrary(u)?,
                _ => format!("{:011}.{:05}/AAAAAAAA.00005.{:011}.{:011}", now - 10, small(u)? % 100, now - 1, now + 60),
            },
        },
        _ => StoreReply::NotCounted {
            used: small(u)?,
            revoked: u.ratio(1, 5)?,
            last_use: match u.int_in_range(0u8..=4)? {
                0 => None,
                1 => Some(resume_after - 1),
                2 => Some(resume_after),
                3 => Some(now),
                _ => Some(i64::arbitrary(u)?),
            },
            failures: small(u)?,
            // A bound link's record: bound to no one, to some other client,
            // or to text of any kind (the request's own binding is the
            // decide target's to find).
            bound: match u.int_in_range(0u8..=2)? {
                0 => None,
                1 => Some("AAAAAAAAAAAAAAAAAAAAAA".into()),
                _ => Some(String::arbitrary(u)?),
            },
        },
    })
}

fn small(u: &mut Unstructured) -> arbitrary::Result<u32> {
    Ok(match u.int_in_range(0u8..=7)? {
        0..=5 => u32::from(u.int_in_range(0u8..=5)?),
        6 => 1_000_000,
        _ => u32::arbitrary(u)?,
    })
}

/// The secret of `kid` in a key file, read with the base64 crate.
fn secret(file: &str, kid: &str) -> Option<Vec<u8>> {
    let file: serde_json::Value = serde_json::from_str(file).ok()?;
    let entry = file["keys"].as_array()?.iter().find(|k| k["kid"] == kid)?;
    URL_SAFE_NO_PAD.decode(entry["secret"].as_str()?).ok()
}

/// Whether the last dot-separated part of `token` is the HMAC-SHA256 of
/// everything before it under its kid's secret in key file `file`: the MAC
/// check written again with the hmac crate, not the core's code.
pub fn mac_matches(file: &str, token: &str) -> bool {
    let Some((signed, sig)) = token.rsplit_once('.') else { return false };
    let Some(kid) = signed.split('.').nth(1) else { return false };
    let (Some(key), Ok(sig)) = (secret(file, kid), URL_SAFE_NO_PAD.decode(sig)) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(signed.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// The token the request carries, verified again with the token API, and
/// its MAC checked by [`mac_matches`] against `keys`, the config's key file.
fn verified(config: &Config, keys: &str, request: &Request) -> Option<VerifiedToken> {
    let (raw, _) = request.token(&config.token_param).ok()?;
    let token = UntrustedToken::parse(raw).ok()?.verify(&config.keys).ok()?;
    assert!(mac_matches(keys, raw), "a token verified whose MAC does not match: {raw}");
    Some(token)
}

/// Every response the edge makes itself carries a known reason whose code
/// round-trips and whose status it has, and a content type unless it is a
/// CORS preflight's empty 204.
pub fn check_response(r: &Response) {
    let code = r.reason.code();
    assert_eq!(Reason::from_code(code), Some(r.reason), "unstable reason code {code}");
    assert!(Reason::ALL.contains(&r.reason));
    assert_eq!(r.status, r.reason.status(), "{code}: status");
    if r.status == 204 {
        // A CORS preflight's answer: no body, so no content type.
        assert!(r.reason == Reason::Preflight && r.body.is_empty(), "{code}: a 204 with a body");
    } else {
        assert!(r.header("content-type").is_some(), "{code}: no content type");
    }
    assert_eq!(r.header("cache-control"), Some("no-store"), "{code}");
}

/// A forward or a store operation only for a token that verifies under the
/// config's keys, is in its time window and address block, and whose grant
/// covers the decoded path; a forward never carries the token or a pass on,
/// nor a viewer's `x-oncelink-*` header.
fn check_allowed(config: &Config, keys: &str, request: &Request, now: i64, what: &str) -> VerifiedToken {
    let Some(token) = verified(config, keys, request) else {
        panic!("{what} for a token that does not verify: {request:?}");
    };
    let claims = &token.claims;
    let skew = i64::from(config.skew);
    assert!(now < claims.raw.exp.saturating_add(skew), "{what} after exp");
    assert!(claims.raw.nbf.is_none_or(|nbf| now >= nbf.saturating_sub(skew)), "{what} before nbf");
    let path = DecodedPath::parse(&request.path).unwrap_or_else(|| panic!("{what} for a bad path {:?}", request.path));
    assert!(claims.grant.covers(&path), "{what} of {:?} outside the grant {:?}", path.as_str(), claims.raw.p);
    if let Some(cidr) = &claims.cidr {
        assert!(request.ip.parse().is_ok_and(|ip| cidr.contains(ip)), "{what} from outside the ip claim");
    }
    assert!(matches!(request.method.as_str(), "GET" | "HEAD" | "POST"), "{what} for method {}", request.method);
    token
}

fn check_forward(config: &Config, request: &Request, token: &VerifiedToken, f: &Forward) {
    assert_eq!(f.path, request.path, "a forward changes the path");
    for pair in f.query.split('&') {
        let name = pair.split('=').next().unwrap_or("");
        assert!(name != config.token_param && name != config.pass_param, "a forward carries {name}: {:?}", f.query);
    }
    for name in request.headers.keys().map(|k| k.to_ascii_lowercase()) {
        if name.starts_with(OWN_HEADER_PREFIX) {
            assert!(f.remove_headers.contains(&name), "a viewer's {name} reaches the origin");
        }
    }
    match f.allow {
        Allow::Unlimited => assert!(token.claims.raw.n.is_none(), "unlimited forward of a use-limited token"),
        Allow::Head => assert_eq!(request.method, "HEAD"),
        Allow::Counted | Allow::Resumed => {
            assert!(token.claims.raw.n.is_some());
            assert_ne!(request.method, "POST", "a POST downloads");
        }
    }
}

/// Checks a step and, for a store call, finishes it with each reply, checking
/// again. Also round-trips the pending state through JSON, as the wasm host
/// does. `seen` is told each outcome (`respond <code>`, `forward <allow>`,
/// `store <kind>`), for `examples/reach.rs`. `keys` is the config's key file.
pub fn check_step(
    config: &Config,
    keys: &str,
    request: &Request,
    now: i64,
    step: Step,
    replies: &[StoreReply],
    seen: &mut dyn FnMut(std::fmt::Arguments),
) {
    match step {
        Step::Respond(r) => {
            check_response(&r);
            seen(format_args!("respond {}", r.reason.code()));
        }
        Step::Forward(f) => {
            seen(format_args!("forward {:?}", f.allow));
            let token = check_allowed(config, keys, request, now, "forward");
            assert!(matches!(f.allow, Allow::Unlimited | Allow::Head), "{:?} without a store call", f.allow);
            check_forward(config, request, &token, &f);
        }
        Step::NeedBody { .. } | Step::NeedFileSize { .. } => {
            panic!("check_step is given a step after the inputs: {step:?}")
        }
        Step::NeedStore { pending } => {
            let op = pending.op().clone();
            seen(format_args!("store {:?}", op.kind));
            let token = check_allowed(config, keys, request, now, "store call");
            let claims = &token.claims.raw;
            assert_eq!(op.id, claims.id, "store call for another id");
            assert_eq!(Some(op.n), claims.n, "store call with another n");
            let json = serde_json::to_string(&pending).expect("pending serializes");
            let back: oncelink_edge::Pending = serde_json::from_str(&json).expect("pending deserializes");
            assert_eq!(back, pending, "pending JSON round trip");
            for reply in replies {
                let step = pending.clone().resume(reply);
                match &step {
                    Step::Respond(r) => seen(format_args!("  then respond {}", r.reason.code())),
                    Step::Forward(f) => seen(format_args!("  then forward {:?}", f.allow)),
                    Step::NeedStore { .. } => seen(format_args!("  then store")),
                    Step::NeedBody { .. } | Step::NeedFileSize { .. } => {
                        panic!("a store reply led to an input ask: {step:?}")
                    }
                }
                match step {
                    Step::Respond(r) => check_response(&r),
                    // Only a guess asks again: its guard read, then its attempt.
                    Step::NeedBody { .. } | Step::NeedFileSize { .. } => unreachable!("checked above"),
                    Step::NeedStore { pending: next } => {
                        let next = next.op();
                        assert_eq!(op.kind, StoreOpKind::Guard, "resume asked the store again after {:?}", op.kind);
                        assert!(matches!(reply, StoreReply::Guarded { revoked: false, .. }));
                        assert_eq!((next.kind, next.id.as_str()), (StoreOpKind::Attempt, op.id.as_str()));
                        assert!(matches!(next.miss, Some(0 | 1)) && next.version.is_some() && next.throttle.is_some());
                    }
                    Step::Forward(f) => {
                        check_forward(config, request, &token, &f);
                        match f.allow {
                            Allow::Counted => {
                                let StoreReply::Counted { used } = reply else {
                                    panic!("counted forward without a counted reply: {reply:?}")
                                };
                                assert_eq!(op.kind, StoreOpKind::Consume);
                                assert!(*used >= 1 && *used <= op.n && f.used == Some(*used));
                            }
                            Allow::Resumed => {
                                let StoreReply::NotCounted { revoked: false, last_use: Some(t), .. } = reply else {
                                    panic!("resumed forward without a recent use: {reply:?}")
                                };
                                assert!(*t >= op.resume_after, "resume outside grace");
                                if let (Some(bind), StoreReply::NotCounted { bound: Some(bound), .. }) = (&op.bind, reply) {
                                    assert_eq!(bound, bind, "a resume by a client the link is not bound to");
                                }
                                assert!(matches!(op.kind, StoreOpKind::Consume | StoreOpKind::Resume));
                            }
                            other => panic!("{other:?} forward after a store call"),
                        }
                    }
                }
            }
        }
    }
}

/// A consume op as `decide` makes it for an n=1 token (the fields are then
/// varied by the DynamoDB target; built by the core so the target does not
/// depend on the op's full shape).
pub fn store_op() -> oncelink_edge::StoreOp {
    let config = &configs()[0];
    let claims = Claims { n: Some(1), ..Claims::new("AAAAAAAAAAAAAAAAAAAAAA", "/f", NOW + 3600) };
    let token = mint(config.keys.active(), claims).expect("valid claims");
    let request = Request {
        method: "GET".into(),
        path: "/f".into(),
        query: format!("t={token}"),
        ip: "203.0.113.7".into(),
        ..Request::default()
    };
    match decide(config, &request, NOW) {
        Step::NeedStore { pending } => pending.op().clone(),
        other => panic!("expected a store call, got {other:?}"),
    }
}

/// A JSON case in the vectors' shape (the decide target's seeds): the
/// body and file size given if the core asks, the replies to its first
/// store step.
#[derive(serde::Deserialize)]
struct JsonCase {
    #[serde(default)]
    config: serde_json::Map<String, serde_json::Value>,
    now: i64,
    request: Request,
    #[serde(default)]
    body: Option<Body>,
    #[serde(default)]
    file_size: Option<u64>,
    #[serde(default)]
    replies: Vec<StoreReply>,
}

/// Answers the core's asks for the body and the file's size (each at most
/// once, and only as the contract allows), checking each ask; the step
/// after them.
fn give_inputs(config: &Config, keys: &str, request: &Request, now: i64, body: &Body, file_size: Option<u64>) -> Step {
    let mut step = decide(config, request, now);
    let (mut asked_body, mut asked_size) = (false, false);
    loop {
        step = match step {
            Step::NeedBody { pending } => {
                assert!(!asked_body && !asked_size, "the body is asked first, and once");
                assert_eq!(request.method, "POST", "a body asked for a {}", request.method);
                check_allowed(config, keys, request, now, "body ask");
                asked_body = true;
                pending.give_body(config, body.clone())
            }
            Step::NeedFileSize { path, pending } => {
                assert!(!asked_size, "the file size is asked once");
                assert!(config.ask_file_size, "a file size asked of a host that serves none");
                assert_eq!(path, request.path, "the size of another path");
                check_allowed(config, keys, request, now, "file size ask");
                asked_size = true;
                let next = pending.give_file_size(config, file_size);
                if file_size.is_none() {
                    match &next {
                        Step::NeedStore { pending } => assert!(
                            matches!(pending.op().kind, StoreOpKind::Read | StoreOpKind::Guard),
                            "a missing file must only read: {:?}",
                            pending.op().kind
                        ),
                        Step::Respond(r) => assert_eq!(r.reason, Reason::NotFound, "a missing file answered {r:?}"),
                        other => panic!("a missing file led to {other:?}"),
                    }
                }
                next
            }
            done => return done,
        };
    }
}

/// The decide target's whole body: byte 0 first means a JSON case (what
/// the seeds from edge/vectors/decide.json are), anything else a [`Case`]
/// and up to four replies from `arbitrary`. `seen` is told each outcome.
pub fn decide_input(data: &[u8], seen: &mut dyn FnMut(std::fmt::Arguments)) {
    if let Some((0, json)) = data.split_first() {
        let Ok(case) = serde_json::from_slice::<JsonCase>(json) else { return };
        let mut file = serde_json::json!({ "keys": serde_json::from_str::<serde_json::Value>(KEYS).expect("KEYS is JSON"), "home_region": "us-east-1" });
        for (k, v) in case.config {
            file[k] = v;
        }
        let Ok(config) = Config::from_json(&file.to_string()) else { return };
        let body = case.body.unwrap_or(Body::Read(String::new()));
        let keys = file["keys"].to_string();
        let step = give_inputs(&config, &keys, &case.request, case.now, &body, case.file_size);
        return check_step(&config, &keys, &case.request, case.now, step, &case.replies, seen);
    }
    let mut u = Unstructured::new(data);
    let Ok(case) = Case::arbitrary(&mut u) else { return };
    let config = &configs()[case.config];
    let step = give_inputs(config, KEYS, &case.request, case.now, &case.body, case.file_size);
    let mut replies = Vec::new();
    if let Step::NeedStore { pending } = &step {
        let op = pending.op();
        while let (Ok(r), true) = (reply(&mut u, op.now, op.resume_after), replies.len() < 4) {
            replies.push(r);
        }
    }
    check_step(config, KEYS, &case.request, case.now, step, &replies, seen);
}
