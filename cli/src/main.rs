//! `oncelink`: make keys, mint links, inspect and verify tokens.
//!
//! Minting is offline: it signs claims with the key file's active key and
//! writes nothing anywhere. Errors are one line on stderr with a non-zero
//! exit code, never a backtrace.

mod apikey;
mod s3;
mod send;
mod store;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use oncelink_edge::{base64url, mint, new_id, secret, webhook, Claims, KeyFile, KeyFileEntry, KeySet, Mode};
use oncelink_keyfile::{write_private, Replace};
use oncelink_sdk::{duration, link, verify::Check};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Parser)]
#[command(name = "oncelink", version, about = "Single-use and N-use download links enforced at the CDN edge")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new key file (--out FILE, mode 0600; else printed), or add a new
    /// active key to an existing one (--add FILE).
    Keygen(KeygenArgs),
    /// Sign a link (offline: nothing is written anywhere).
    Mint(MintArgs),
    /// Show a token's kid and claims WITHOUT checking its signature.
    Inspect {
        /// A token, or a URL carrying one in its query.
        token: String,
    },
    /// Check a token as the edge would (signature, claims, time, path, ip);
    /// exit 0 and print its claims when valid, else exit 1 and print the reason code.
    Verify(VerifyArgs),
    /// Revoke a link in the store: no further use is counted, a resume is refused.
    Revoke(StoreArgs),
    /// Show a link's record in the store (uses counted, revoked, wrong passwords, last use, TTL) as JSON.
    Status(StoreArgs),
    /// Manage origin-shim's API keys (--api-keys FILE): new, revoke, list.
    #[command(subcommand)]
    Apikey(apikey::ApiKeyCommand),
    /// Send a file and print a counted link to it: to a self-hosted
    /// origin-shim (--to), which deletes it after the last download, or
    /// straight into an AWS deployment's private bucket (--bucket; S3
    /// multipart, resumable).
    Send(send::SendArgs),
    /// Show a link's audit trail: every event the store keeps for it
    /// (docs/events.md), oldest first, as a table (or --json).
    Audit(AuditArgs),
    /// Standard Webhooks helpers for receivers of link events.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Print JSON: {"id", "events": [{"seq", "webhook_id", "event"}]}.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Check a delivery's signature as a receiver must: exit 0 and print
    /// `valid`, else exit 1 and say why.
    Verify(WebhookVerifyArgs),
    /// Make a new signing secret (`whsec_` and 32 random bytes) for
    /// origin-shim's --webhook-secret-file.
    Secret,
}

#[derive(Args)]
struct WebhookVerifyArgs {
    /// File whose first line is the secret (`whsec_...`).
    #[arg(long, value_name = "FILE")]
    secret_file: PathBuf,
    /// The `webhook-id` header.
    #[arg(long, value_name = "ID")]
    id: String,
    /// The `webhook-timestamp` header (Unix seconds).
    #[arg(long, value_name = "UNIX")]
    timestamp: i64,
    /// The `webhook-signature` header (`v1,<base64>`, space-separated if several).
    #[arg(long, value_name = "SIG")]
    signature: String,
    /// The raw body, from this file (default: stdin).
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// Check the timestamp against this time instead of now (Unix seconds).
    #[arg(long, value_name = "UNIX")]
    now: Option<i64>,
}

#[derive(Args)]
struct StoreArgs {
    /// The store: sqlite:PATH, postgres://USER[:PASS]@HOST[:PORT]/DB or dynamodb:REGION[@ENDPOINT]
    /// (DynamoDB credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
    /// a PostgreSQL password from the URL, --store-password-file or PGPASSWORD).
    #[arg(long, value_name = "SPEC")]
    store: String,
    /// DynamoDB table name (required with dynamodb:).
    #[arg(long, value_name = "NAME")]
    table: Option<String>,
    /// PostgreSQL: read the password from this file (first line).
    #[arg(long, value_name = "FILE")]
    store_password_file: Option<PathBuf>,
    /// The token id (the `id` claim; `oncelink inspect` shows it). An id
    /// may start with `-` (base64url): it is taken as the id, not a flag.
    #[arg(allow_hyphen_values = true)]
    id: String,
}

impl StoreArgs {
    fn target(&self) -> store::Target<'_> {
        store::Target {
            spec: &self.store,
            table: self.table.as_deref(),
            password_file: self.store_password_file.clone(),
        }
    }
}

#[derive(Args)]
struct KeygenArgs {
    /// Key id of the new key (default: k1, or the next free kN with --add).
    #[arg(long)]
    kid: Option<String>,
    /// Add the new key to this key file, make it active, and rewrite the file
    /// (mode 0600).
    #[arg(long, value_name = "FILE", conflicts_with = "out")]
    add: Option<PathBuf>,
    /// Write the new key file here with mode 0600 (refused if FILE exists,
    /// unless --force). Without --out or --add the key file is printed.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// With --out: replace FILE if it exists.
    #[arg(long, requires = "out")]
    force: bool,
}

#[derive(Args)]
struct MintArgs {
    /// Key file (JSON); the active key signs.
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// Path granted, decoded form, e.g. /reports/q3.pdf; end with /* for a prefix.
    #[arg(long, value_name = "P")]
    path: String,
    /// Use limit (1 to 1000000). Without it the link is time-limited only.
    #[arg(long, value_name = "N")]
    uses: Option<u32>,
    /// Lifetime from now, e.g. 90s, 15m, 1h, 7d [default: 24h].
    #[arg(long, value_name = "DURATION", conflicts_with = "exp")]
    ttl: Option<String>,
    /// Absolute expiry, Unix seconds.
    #[arg(long, value_name = "UNIX")]
    exp: Option<i64>,
    /// Not valid before, Unix seconds.
    #[arg(long, value_name = "UNIX")]
    nbf: Option<i64>,
    /// Only clients inside this CIDR (IPv4 or IPv6) may use the link.
    #[arg(long, value_name = "CIDR")]
    ip: Option<String>,
    /// Download file name (sent as Content-Disposition: attachment).
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// Region of the store record (default: the deployment's home region).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Resume grace window in seconds (0 to 86400; default 600 with --uses).
    #[arg(long, value_name = "SECONDS")]
    grace: Option<u32>,
    /// How the link opens: `page` shows a download page and only its button
    /// uses the link (survives chat unfurlers and mail scanners); `direct`
    /// downloads on GET. Default: the deployment's default_mode.
    #[arg(long, value_enum, value_name = "MODE")]
    mode: Option<ModeArg>,
    /// Bind the link to its first downloader (needs --uses): the first
    /// counted use records the client's network (/24 or /48) and
    /// User-Agent; every other client gets 403 bound_elsewhere, also for
    /// the uses left. A client that changes network (a phone leaving Wi-Fi)
    /// or browser is refused too.
    #[arg(long)]
    bind: bool,
    /// Protect the link with a password read from the first line of stdin
    /// (needs --uses; the link opens as a page that asks for it). Wrong
    /// passwords are throttled per client network and per link (and lock
    /// the link only on a deployment that sets max_password_failures).
    #[arg(long, conflicts_with = "password_env")]
    password_stdin: bool,
    /// Lock the link for good after this many wrong passwords (1 to 100;
    /// needs a password): the old hard lock, chosen per link. Anyone holding
    /// the link can then use it up by guessing: prefer the default throttling
    /// unless the file matters more than the recipient's access to it.
    #[arg(long, value_name = "N")]
    lock_after: Option<u32>,
    /// Protect the link with the password in this environment variable.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Your own reference for the link (a recipient, a ticket: 1 to 64
    /// characters), signed into it and carried into its events
    /// (docs/events.md). Readable by anyone holding the link: no secrets.
    #[arg(long = "ref", value_name = "TEXT")]
    reference: Option<String>,
    /// Print a full link on this base, e.g. https://d111.cloudfront.net.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Query parameter that carries the token.
    #[arg(long, value_name = "NAME", default_value = "t")]
    param: String,
    /// Print JSON: token, url, claims.
    #[arg(long)]
    json: bool,
    /// Pretend the time is this (Unix seconds), for scripts and tests.
    #[arg(long, value_name = "UNIX", hide = true)]
    now: Option<i64>,
}

/// `--mode` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    /// A download page; its button uses the link.
    Page,
    /// One GET downloads.
    Direct,
}

impl ModeArg {
    /// The claim's and the API's spelling.
    fn name(self) -> &'static str {
        match self {
            ModeArg::Page => "page",
            ModeArg::Direct => "direct",
        }
    }
}

#[derive(Args)]
struct VerifyArgs {
    /// Key file (JSON).
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// Request path to check the grant against (raw, as in a URL). Default:
    /// the URL's path, else the token's own path.
    #[arg(long, value_name = "P")]
    path: Option<String>,
    /// Client address to check an ip claim against.
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// Time to check at (Unix seconds). Default: now.
    #[arg(long, value_name = "UNIX")]
    now: Option<i64>,
    /// Clock-skew allowance in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = oncelink_edge::config::DEFAULT_SKEW)]
    skew: u32,
    /// A token, or a URL carrying one.
    token: String,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("oncelink: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Keygen(args) => keygen(args),
        Command::Mint(args) => mint_link(args),
        Command::Send(args) => send::run(args),
        Command::Inspect { token } => inspect(&token),
        Command::Verify(args) => verify(args),
        Command::Revoke(args) => {
            let outcome = store::revoke(&args.target(), &args.id)?;
            println!("{}", serde_json::to_string_pretty(&outcome)?);
            if !outcome.exists {
                // Not an error (revoking an unused link is how to stop it before
                // its first use), but a revoke in the wrong store looks the same.
                eprintln!(
                    "oncelink: note: {} had no record in this store; if the link was never used that is expected, \
                     otherwise check the store (a token with claim r keeps its record in region r)",
                    args.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            let status = store::status(&args.target(), &args.id)?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Apikey(command) => apikey::run(command, now_unix().max(0) as u64),
        Command::Audit(args) => {
            let trail = store::audit(&args.store.target(), &args.store.id)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&trail)?);
            } else {
                print!("{}", store::audit_table(&trail));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Webhook(WebhookCommand::Secret) => {
            println!("{}", webhook::Secret::from_bytes(&random::<32>()?).map_err(anyhow::Error::msg)?.expose());
            Ok(ExitCode::SUCCESS)
        }
        Command::Webhook(WebhookCommand::Verify(args)) => webhook_verify(args),
    }
}

/// `oncelink webhook verify`: the receiver's check, with the core's code.
fn webhook_verify(args: WebhookVerifyArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.secret_file)
        .with_context(|| format!("--secret-file {}", args.secret_file.display()))?;
    let secret = webhook::Secret::parse(text.lines().next().unwrap_or(""))
        .map_err(|e| anyhow::anyhow!("--secret-file {}: {e}", args.secret_file.display()))?;
    let body = match &args.body_file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("--body-file {}", path.display()))?,
        None => std::io::read_to_string(std::io::stdin()).context("cannot read the body from stdin")?,
    };
    let now = args.now.unwrap_or_else(now_unix);
    match secret.verify(&args.id, args.timestamp, &body, &args.signature, now) {
        Ok(()) => {
            println!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            println!("invalid: {why}");
            Ok(ExitCode::from(1))
        }
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(bytes)
}

/// Reads and checks a key file, warning on stderr when others may read it.
fn read_keys(path: &Path) -> Result<KeySet> {
    let file = oncelink_keyfile::read(path, |exposed| eprintln!("oncelink: warning: {exposed}"))?;
    Ok(KeySet::from_file(&file)?)
}

fn keygen(args: KeygenArgs) -> Result<ExitCode> {
    let secret = base64url::encode(&random::<32>()?);
    let Some(path) = args.add else {
        let kid = args.kid.unwrap_or_else(|| "k1".to_owned());
        let file = KeyFile { active: kid.clone(), keys: vec![KeyFileEntry { kid, secret }] };
        KeySet::from_file(&file)?;
        let text = serde_json::to_string_pretty(&file)?;
        if let Some(out) = args.out {
            write_private(&out, &text, if args.force { Replace::Always } else { Replace::Never })?;
            eprintln!("oncelink: wrote a new key file {} (mode 0600)", out.display());
        } else {
            println!("{text}");
            std::io::stdout().flush()?;
            if let Some(mode) = stdout_loose_mode() {
                eprintln!(
                    "oncelink: warning: stdout is a file group or others can read (mode {mode:04o}), and it now holds a \
                     signing key: run chmod 600 on it, or write key files with `oncelink keygen --out FILE` (mode 0600)"
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    // Told after the rewrite, which makes it private.
    let mut exposed = None;
    let mut file = oncelink_keyfile::read(&path, |e| exposed = Some(e.mode))?;
    let kid = match args.kid {
        Some(kid) => kid,
        None => (1..).map(|i| format!("k{i}")).find(|k| file.keys.iter().all(|e| &e.kid != k)).expect("unbounded"),
    };
    file.keys.push(KeyFileEntry { kid: kid.clone(), secret });
    file.active = kid.clone();
    KeySet::from_file(&file)?;
    write_private(&path, &serde_json::to_string_pretty(&file)?, Replace::Always)?;
    eprintln!("oncelink: added key {kid} to {} and made it active ({} keys)", path.display(), file.keys.len());
    if let Some(mode) = exposed {
        eprintln!(
            "oncelink: warning: key file {} was open to group or others (mode {mode:04o}); it is 0600 now, \
             but the keys it held before may have been read: retire them once the new key is deployed",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The mode of stdout when it is a regular file group or others may read
/// (`oncelink keygen > keys.json` under the usual umask).
fn stdout_loose_mode() -> Option<u32> {
    use std::os::fd::AsFd;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    oncelink_keyfile::loose_mode(&std::fs::File::from(fd).metadata().ok()?)
}

fn mint_link(args: MintArgs) -> Result<ExitCode> {
    let json = args.json;
    let password = read_password(args.password_stdin, args.password_env.as_deref())?;
    let minted = minted(args, password)?;
    if json {
        let out =
            serde_json::json!({ "token": minted.token, "url": minted.url, "kid": minted.kid, "claims": minted.claims });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", minted.url.unwrap_or(minted.token));
    }
    Ok(ExitCode::SUCCESS)
}

/// A signed link.
struct Minted {
    token: String,
    url: Option<String>,
    kid: String,
    claims: Claims,
}

/// Checks `args` and signs the link (offline).
/// `password` is read by the caller (stdin can be read once).
fn minted(args: MintArgs, password: Option<String>) -> Result<Minted> {
    let keys = read_keys(&args.keys)?;
    let now = args.now.unwrap_or_else(now_unix);
    let exp = match (args.exp, &args.ttl) {
        (Some(exp), _) => exp,
        (None, Some(ttl)) => now + duration::parse(ttl).map_err(anyhow::Error::msg)?,
        (None, None) => now + 24 * 3600,
    };
    if exp <= now {
        bail!("the link would already be expired (exp {exp} is not after now {now})");
    }
    if password.is_some() && args.uses.is_none() {
        bail!("a password needs --uses: wrong passwords are counted in the store, which only use-limited links have");
    }
    if args.bind && args.uses.is_none() {
        bail!("--bind needs --uses: the first downloader is recorded in the store, which only use-limited links have");
    }
    if args.lock_after.is_some() && password.is_none() {
        bail!("--lock-after needs a password (--password-stdin or --password-env): it counts wrong passwords");
    }
    if password.is_some() && matches!(args.mode, Some(ModeArg::Direct)) {
        bail!("a password link always opens as a page: drop --mode direct");
    }
    let id = new_id(random::<16>()?);
    let pw = password.map(|p| secret::password_claim(keys.active(), &id, &p)).transpose()?;
    let claims = Claims {
        id,
        p: args.path,
        exp,
        nbf: args.nbf,
        n: args.uses,
        r: args.region,
        ip: args.ip,
        filename: args.filename,
        g: args.grace,
        m: args.mode.map(|m| match m {
            ModeArg::Page => Mode::Page,
            ModeArg::Direct => Mode::Direct,
        }),
        pw,
        b: args.bind.then_some(true),
        reference: args.reference,
        lk: args.lock_after,
    };
    let token = mint(keys.active(), claims.clone())?;
    let url = args.base_url.as_deref().map(|base| link::url(base, &claims.p, &args.param, &token)).transpose()?;
    Ok(Minted { token, url, kid: keys.active().kid().to_owned(), claims })
}

/// The password for `mint`, from stdin's first line or an environment
/// variable; `None` when neither was asked for.
pub(crate) fn read_password(stdin: bool, env: Option<&str>) -> Result<Option<String>> {
    let password = if stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if let Some(var) = env {
        std::env::var(var).with_context(|| format!("environment variable {var} is not set (or not UTF-8)"))?
    } else {
        return Ok(None);
    };
    Ok(Some(password))
}

fn inspect(input: &str) -> Result<ExitCode> {
    let (kid, claims) = oncelink_sdk::verify::inspect(input, "")?;
    let out = serde_json::json!({ "verified": false, "kid": kid, "claims": claims });
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!("oncelink: UNVERIFIED: the signature was not checked; use `oncelink verify --keys FILE` to check it");
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let keys = read_keys(&args.keys)?;
    let now = args.now.unwrap_or_else(now_unix);
    let check = Check { path: args.path, ip: args.ip, skew: Some(args.skew), param: None };
    match oncelink_sdk::verify::verify(keys, &args.token, check, now) {
        Ok(v) => {
            let out = serde_json::json!({ "valid": true, "kid": v.kid, "claims": v.claims });
            println!("{}", serde_json::to_string_pretty(&out)?);
            if v.claims.n.is_some() {
                eprintln!("oncelink: valid; uses are counted by the store and were not checked here");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(oncelink_sdk::Error::Refused(reason)) => {
            println!("{reason}");
            eprintln!("oncelink: invalid: {}", reason.message());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
