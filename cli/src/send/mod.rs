//! `oncelink send FILE`: upload a file, get a counted link to it, to one of
//! two places:
//! - `--to URL` ([`shim`]): a self-hosted origin-shim's `POST /api/v1/sends`,
//!   which strips the file's metadata, mints the link and deletes the file
//!   after its last use (docs/sends.md);
//! - `--bucket B` ([`bucket`]): straight into an AWS deployment's private
//!   bucket (S3 multipart, resumable, [`crate::s3`]); the link is minted here
//!   with the key file, and a lifecycle rule deletes the object after the
//!   link's expiry.

mod bucket;
mod shim;

use crate::ModeArg;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
#[command(group = clap::ArgGroup::new("destination").required(true).args(["to", "bucket"]))]
pub struct SendArgs {
    /// The file to send.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Self-hosted: the origin-shim serving sends, https://host[:port]
    /// (http:// for loopback and tests).
    #[arg(long, value_name = "URL", requires = "api_key_file", help_heading = "Self-hosted (origin-shim)")]
    to: Option<String>,
    /// File whose first line is the API key (`oncelink apikey new`); never on
    /// the command line, where `ps` shows it.
    #[arg(long, value_name = "FILE", requires = "to", help_heading = "Self-hosted (origin-shim)")]
    api_key_file: Option<PathBuf>,
    /// Send the file as it is, metadata included (default: stripped).
    #[arg(long, requires = "to", help_heading = "Self-hosted (origin-shim)")]
    keep_metadata: bool,

    /// AWS: the deployment's private bucket (the CloudFront origin).
    #[arg(long, value_name = "BUCKET", requires_all = ["keys", "base_url"], help_heading = "AWS (S3)")]
    bucket: Option<String>,
    /// The bucket's region [default: $AWS_REGION, then $AWS_DEFAULT_REGION].
    #[arg(long, value_name = "REGION", requires = "bucket", help_heading = "AWS (S3)")]
    region: Option<String>,
    /// An S3-compatible endpoint instead of AWS (path-style requests).
    #[arg(long, value_name = "URL", requires = "bucket", help_heading = "AWS (S3)")]
    endpoint: Option<String>,
    /// Key file (JSON); its active key signs the link.
    #[arg(long, value_name = "FILE", requires = "bucket", help_heading = "AWS (S3)")]
    keys: Option<PathBuf>,
    /// The deployment's URL, e.g. https://d111.cloudfront.net.
    #[arg(long, value_name = "URL", requires = "bucket", help_heading = "AWS (S3)")]
    base_url: Option<String>,
    /// Bind the link to its first downloader (see `oncelink mint --help`).
    #[arg(long, requires = "bucket", help_heading = "AWS (S3)")]
    bind: bool,
    /// Region of the link's store record [default: the deployment's home region].
    #[arg(long, value_name = "REGION", requires = "bucket", help_heading = "AWS (S3)")]
    link_region: Option<String>,
    /// Key prefix of sent objects in the bucket.
    #[arg(long, value_name = "PREFIX", default_value = "sends/", help_heading = "AWS (S3)")]
    prefix: String,
    /// Parts uploaded at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "AWS (S3)")]
    parallel: u16,
    /// Bytes per part, in MiB (at least 5, S3's minimum; raised for files
    /// over 10,000 parts).
    #[arg(long, value_name = "MIB", default_value_t = 8, value_parser = clap::value_parser!(u64).range(5..=5120), help_heading = "AWS (S3)")]
    part_size: u64,
    /// Upload at most this many bytes per second, e.g. 500K, 20M.
    #[arg(long, value_name = "RATE", value_parser = parse_rate, requires = "bucket", help_heading = "AWS (S3)")]
    limit_rate: Option<u64>,
    /// Where a run keeps what the next needs to resume [default:
    /// $XDG_STATE_HOME/oncelink/sends, then ~/.local/state/oncelink/sends].
    #[arg(long, value_name = "DIR", requires = "bucket", help_heading = "AWS (S3)")]
    state_dir: Option<PathBuf>,

    /// Downloads the link allows (1 to 1000000).
    #[arg(long, value_name = "N", default_value_t = 1)]
    uses: u32,
    /// Lifetime from now, e.g. 90s, 15m, 1h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    ttl: String,
    /// Download file name [default: FILE's name].
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// How the link opens (page or direct) [default: the deployment's].
    #[arg(long, value_enum, value_name = "MODE")]
    mode: Option<ModeArg>,
    /// Seconds a resume stays possible after the last use (0 to 86400); on
    /// origin-shim also how long the file stays after its last download.
    #[arg(long, value_name = "SECONDS")]
    grace: Option<u32>,
    /// Your own reference for the link (1 to 64 characters; signed, not secret).
    #[arg(long = "ref", value_name = "TEXT")]
    reference: Option<String>,
    /// Protect the link with a password read from stdin's first line.
    #[arg(long, conflicts_with = "password_env")]
    password_stdin: bool,
    /// Protect the link with the password in this environment variable.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Print JSON instead of the link.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: SendArgs) -> anyhow::Result<ExitCode> {
    if args.bucket.is_some() {
        bucket::run(args)
    } else {
        shim::run(args)
    }
}

/// `500K`, `20M`, `1G` or plain bytes, per second.
fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let value: u64 = digits.parse().map_err(|_| format!("{text:?}: a number of bytes per second, e.g. 500K or 20M"))?;
    let scale = match unit {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return Err(format!("{text:?}: the unit is K, M or G")),
    };
    value.checked_mul(scale).filter(|v| *v > 0).ok_or_else(|| format!("{text:?}: out of range"))
}
