//! The command line: `origin-shim serve ...` and `origin-shim origin ...`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// oncelink's self-hosted edge and guarded origin.
#[derive(Parser, Debug)]
#[command(name = "origin-shim", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The two modes.
// Parsed once at start and matched at once: boxing `serve`'s many flags
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate links with the oncelink core, count uses in a store, and serve
    /// files from --root (or proxy to --upstream).
    Serve(ServeArgs),
    /// A guarded origin: serve files from --root only to requests that carry
    /// a valid, unexpired x-oncelink-grant header from the edge.
    Origin(OriginArgs),
    /// Health probe for containers: GET an admin URL (e.g.
    /// http://127.0.0.1:9090/readyz); exit 0 on 200, 1 otherwise. For
    /// images without curl (the Dockerfile's HEALTHCHECK).
    Probe(ProbeArgs),
}

/// `origin-shim probe`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// http://HOST:PORT/PATH of the admin listener (plain HTTP only).
    #[arg(value_name = "URL")]
    pub url: String,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// How links without an `m` claim open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LinkMode {
    /// One GET downloads.
    Direct,
    /// A GET shows a download page; its button downloads.
    Page,
}

impl From<LinkMode> for oncelink_edge::Mode {
    fn from(mode: LinkMode) -> oncelink_edge::Mode {
        match mode {
            LinkMode::Direct => oncelink_edge::Mode::Direct,
            LinkMode::Page => oncelink_edge::Mode::Page,
        }
    }
}

/// Listener and protection settings both modes share.
#[derive(Args, Debug, Clone)]
pub struct ListenArgs {
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Close a connection whose request head has not fully arrived in this
    /// many milliseconds (slow-client protection).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Answer 408 when a response has not started within this many milliseconds.
    #[arg(long, value_name = "N", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Largest request head accepted (request line plus headers), in bytes;
    /// larger ones get 431. At least 8192.
    #[arg(long, value_name = "N", default_value_t = 16_384)]
    pub max_header_bytes: usize,
    /// Serve HTTPS: the certificate chain (PEM, leaf first). HTTP/2 and
    /// HTTP/1.1 are offered by ALPN. Both files are read again on SIGHUP
    /// (open connections keep going). Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Peers (load balancers, reverse proxies) whose word on the client's
    /// address is taken: CIDR[,CIDR...] (a bare address is a /32 or /128).
    /// For a connection from one of them the client address is the
    /// rightmost X-Forwarded-For entry not itself in the set (or the PROXY
    /// header's, with --proxy-protocol); from any other peer those headers
    /// are ignored.
    #[arg(long, value_name = "CIDR[,CIDR...]", value_parser = crate::client_addr::TrustedProxies::parse)]
    pub trusted_proxies: Option<crate::client_addr::TrustedProxies>,
    /// Connections from --trusted-proxies must start with a PROXY protocol
    /// v2 header (AWS NLB, HAProxy `send-proxy-v2`); one that does not is
    /// closed. Connections from other peers are plain HTTP(S).
    #[arg(long, requires = "trusted_proxies")]
    pub proxy_protocol: bool,
    /// Serve GET /healthz, /readyz and Prometheus /metrics on this address
    /// (plain HTTP; keep it private). Port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
}

/// `origin-shim serve`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("origin").required(true).args(["root", "upstream"]))]
pub struct ServeArgs {
    /// Signing key file (`oncelink keygen` makes one).
    #[arg(long, value_name = "FILE")]
    pub keys: PathBuf,
    /// Serve files from this directory.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Proxy allowed requests to this HTTP origin (http://host[:port][/base]).
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Use store: sqlite:PATH (one machine), postgres://USER[:PASS]@HOST[:PORT]/DB
    /// (several instances; also postgresql://), or dynamodb:REGION[@ENDPOINT] with --table.
    /// Required: no default (a relative default would be a different store,
    /// with every count at zero, in each directory the shim is started from).
    /// A relative sqlite PATH is resolved once, at start, and logged (docs/stores.md).
    #[arg(long, value_name = "SPEC")]
    pub store: String,
    /// Create the SQLite store file if it does not exist. Without this flag
    /// a missing file is refused (exit 2): a store that went away must not
    /// come back empty, resetting every use count. sqlite: only (PostgreSQL
    /// makes its schema by migration; a DynamoDB table by its deployment).
    #[arg(long)]
    pub create_store: bool,
    /// SQLite only: the WAL (the `-wal` file beside the store) starts over
    /// after this many MiB, 1 to 1024 [default: 64]. Under sustained load
    /// the file grows to about 1.1 times this and keeps that size while the
    /// server runs; at twice this the writer copies it inside a commit.
    /// Lower it on a small disk, at some cost in single-use throughput
    /// (docs/performance.md).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub sqlite_wal_mib: Option<u32>,
    /// DynamoDB table name (with --store dynamodb:...).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// PostgreSQL: read the password from this file (first line) instead of
    /// the URL or PGPASSWORD.
    #[arg(long, value_name = "FILE")]
    pub store_password_file: Option<PathBuf>,
    /// Region whose store holds records of tokens without `r`
    /// (default: the dynamodb:REGION of --store, else us-east-1).
    #[arg(long, value_name = "R")]
    pub home_region: Option<String>,
    /// Grant key file: with --upstream, add an x-oncelink-grant header to
    /// proxied requests (for an `origin-shim origin` behind this one).
    #[arg(long, value_name = "FILE")]
    pub grant_keys: Option<PathBuf>,
    /// Clock-skew allowance for exp/nbf, seconds (core default 30).
    #[arg(long, value_name = "S")]
    pub skew: Option<u32>,
    /// Resume grace for tokens without `g`, seconds (core default 600).
    #[arg(long, value_name = "S")]
    pub grace: Option<u32>,
    /// Query parameter that carries the token (default t).
    #[arg(long, value_name = "NAME")]
    pub token_param: Option<String>,
    /// Mode of links without an `m` claim (docs/page-mode.md): `direct`
    /// (one GET downloads) or `page` (a GET shows a download page).
    #[arg(long, value_enum, value_name = "MODE")]
    pub default_mode: Option<LinkMode>,
    /// Wrong passwords after which every password link locks for good (1
    /// to 100); default: never locked, throttled (docs/page-mode.md).
    #[arg(long, value_name = "N")]
    pub max_password_failures: Option<u32>,
    /// Password throttling: wrong guesses a client network makes before it
    /// waits (core default 5).
    #[arg(long, value_name = "N")]
    pub password_free_guesses: Option<u32>,
    /// Password throttling: first wait, seconds; it doubles with each
    /// further wrong guess (core default 60).
    #[arg(long, value_name = "S")]
    pub password_backoff: Option<u32>,
    /// Password throttling: longest wait, seconds (core default 3600).
    #[arg(long, value_name = "S")]
    pub password_backoff_cap: Option<u32>,
    /// Password throttling: wrong guesses per link per window from all
    /// networks, after which everyone waits for the window's end (core
    /// default 20).
    #[arg(long, value_name = "N")]
    pub password_link_ceiling: Option<u32>,
    /// Password throttling: the link's window, seconds (core default 3600).
    #[arg(long, value_name = "S")]
    pub password_window: Option<u32>,
    /// Query parameter that carries a page-mode pass (default pass).
    #[arg(long, value_name = "NAME")]
    pub pass_param: Option<String>,
    /// Answer 408 when a POST body (the download page's form, at most 4 KiB
    /// read) has not fully arrived in this many milliseconds.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub body_timeout_ms: u64,
    /// Let scripts on this origin read every answer cross-origin (CORS):
    /// `https://app.example.com`, exactly as browsers send it; repeat for
    /// more. Preflights are answered without a token check. Off by default.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Refusals for client mistakes (bad signature, wrong path or password,
    /// spent link...) a client network (IPv4 /24, IPv6 /48) may get per
    /// minute once its burst is spent; past it the network is answered 429
    /// `rate_limited` before its token is read. 0 disables the limit.
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 60)]
    pub refusal_rate: u32,
    /// Refusals a client network may get at once before --refusal-rate
    /// applies. 0 disables the limit.
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub refusal_burst: u32,
    /// POST every link event (docs/events.md) to this URL as a Standard
    /// Webhook (signed with --webhook-secret-file); repeat for more. Needs a
    /// store that keeps events (sqlite: or postgres:).
    #[arg(long = "webhook", value_name = "URL", requires = "webhook_secret_file")]
    pub webhooks: Vec<String>,
    /// The webhook signing secret: a file whose first line is
    /// `whsec_<base64 of 24 to 64 bytes>`.
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Give up one webhook POST after this many milliseconds (it is retried).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// First wait before a failed webhook is sent again, milliseconds; it
    /// doubles with each failure up to --webhook-retry-max-ms.
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    pub webhook_retry_first_ms: u64,
    /// Longest wait between two tries of one webhook, milliseconds.
    #[arg(long, value_name = "N", default_value_t = 3_600_000)]
    pub webhook_retry_max_ms: u64,
    /// Stop retrying an event this many seconds after it happened.
    #[arg(long, value_name = "S", default_value_t = 86_400)]
    pub webhook_give_up_after: i64,
    /// Keep each link's events (the audit trail) this many days past the
    /// link's expiry. 0 keeps them only until the next prune.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub event_retention_days: i64,
    /// Serve GET /links/ID/events (a link's audit trail, JSON) on the
    /// --admin-listen address to requests with `Authorization: Bearer
    /// <token>`, the token being this file's first line (at least 32
    /// characters). Without it the endpoint is off.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Turn on sends (docs/sends.md): POST /api/v1/sends stores uploads in
    /// this directory, which must be inside --root, and mints their links;
    /// each file is deleted after its link's last use plus grace, or at
    /// expiry. Needs --api-keys and a sqlite: store.
    #[arg(long, value_name = "DIR", requires = "api_keys")]
    pub sends_dir: Option<PathBuf>,
    /// The API key file (`oncelink apikey new`) whose keys may call
    /// /api/v1/*; read again on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "sends_dir")]
    pub api_keys: Option<PathBuf>,
    /// Largest upload: bytes, or with a K, M, G or T suffix (powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_size)]
    pub max_upload: u64,
    /// Uploads received at once (1 to 1024); one more is refused with 503
    /// `busy` and Retry-After before its body is read.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_uploads: u32,
    /// How often due sent files are looked for and deleted, seconds (1 to 60).
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub sweep_every: u64,
    /// The base URL of the links the API mints (https://files.example.com);
    /// default: the scheme and the Host header of the API request.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Listener and protection settings.
    #[command(flatten)]
    pub listen: ListenArgs,
}

/// `2G`, `512M`, `100K`, `1T` (powers of 1024) or plain bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{text:?}: the suffix must be K, M, G or T")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size (e.g. 2G, 512M, 1048576)"))?;
    n.checked_shl(shift).filter(|v| v >> shift == n && *v > 0).ok_or_else(|| format!("{text:?} is out of range"))
}

/// `origin-shim origin`.
#[derive(Args, Debug)]
pub struct OriginArgs {
    /// Serve files from this directory.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Grant key file (the edge's --grant-keys).
    #[arg(long, value_name = "FILE")]
    pub grant_keys: PathBuf,
    /// Listener and protection settings.
    #[command(flatten)]
    pub listen: ListenArgs,
}
