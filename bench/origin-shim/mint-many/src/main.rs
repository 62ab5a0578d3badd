//! `oncelink-mint-many --keys FILE --path P --count N [--uses N] [--ttl-secs S]`:
//! prints N request targets (`<path>?t=<token>`), one a line, each with a
//! token of its own, signed by the core exactly as `oncelink mint` signs.
//! The bench's load generator reads them so that every request spends a
//! fresh link. Ids come from the clock, the pid and a counter: unique per
//! run, which is all a bench needs (real links use `oncelink mint`).

use oncelink_edge::{mint, new_id, Claims, KeySet};
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

struct Args {
    keys: String,
    path: String,
    count: u64,
    uses: Option<u32>,
    ttl: i64,
}

fn parse() -> Result<Args, String> {
    let mut args = Args { keys: String::new(), path: String::new(), count: 0, uses: None, ttl: 3600 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--keys" => args.keys = value()?,
            "--path" => args.path = value()?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--uses" => args.uses = Some(value()?.parse().map_err(|e| format!("--uses: {e}"))?),
            "--ttl-secs" => args.ttl = value()?.parse().map_err(|e| format!("--ttl-secs: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.keys.is_empty() || args.path.is_empty() || args.count == 0 {
        return Err("usage: oncelink-mint-many --keys FILE --path P --count N [--uses N] [--ttl-secs S]".into());
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse()?;
    let text = std::fs::read_to_string(&args.keys).map_err(|e| format!("cannot read {}: {e}", args.keys))?;
    let keys = KeySet::from_json(&text).map_err(|e| format!("{}: {e}", args.keys))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
    let mut seed = [0u8; 16];
    seed[..8].copy_from_slice(&(now.as_nanos() as u64).to_le_bytes());
    seed[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    for i in 0..args.count {
        let mut bytes = seed;
        bytes[12..].copy_from_slice(&(i as u32).to_le_bytes());
        let claims =
            Claims { n: args.uses, ..Claims::new(new_id(bytes), args.path.clone(), now.as_secs() as i64 + args.ttl) };
        let token = mint(keys.active(), claims).map_err(|e| e.to_string())?;
        writeln!(out, "{}?t={token}", args.path).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oncelink-mint-many: {e}");
            ExitCode::from(2)
        }
    }
}
