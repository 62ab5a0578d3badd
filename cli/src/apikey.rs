//! `oncelink apikey`: edits origin-shim's API key file (docs/sends.md). The
//! file holds SHA-256 hashes only; a new key is printed once, on stdout, and
//! nowhere else. origin-shim rereads the file on SIGHUP.

use anyhow::Result;
use clap::{Args, Subcommand};
use oncelink_sends::api_keys;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Add a key named NAME to FILE (created with mode 0600 if missing) and
    /// print the key once on stdout: only its hash is stored.
    New(KeyArgs),
    /// Remove the key named NAME from FILE: requests presenting it are refused.
    Revoke(KeyArgs),
    /// List the names in FILE and when each key was made (never a key).
    List {
        /// The API key file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct KeyArgs {
    /// The key's name (1 to 64 of A-Z a-z 0-9 . _ -), e.g. the app or person using it.
    #[arg(long)]
    name: String,
    /// The API key file (origin-shim --api-keys FILE).
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
}

pub fn run(command: ApiKeyCommand, now: u64) -> Result<ExitCode> {
    match command {
        ApiKeyCommand::New(args) => {
            let key = api_keys::create_key(&args.file, &args.name, now).map_err(fail)?;
            println!("{}", key.expose());
            eprintln!(
                "oncelink: added key {:?} to {}; it is shown only now (the file keeps its hash)",
                args.name,
                args.file.display()
            );
        }
        ApiKeyCommand::Revoke(args) => {
            api_keys::revoke_key(&args.file, &args.name).map_err(fail)?;
            eprintln!("oncelink: removed key {:?} from {}", args.name, args.file.display());
        }
        ApiKeyCommand::List { file } => {
            for key in api_keys::read(&file).map_err(fail)?.keys() {
                println!("{}\t{}", key.name, key.created);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The crate's error with its stable code in front, as every CLI error.
fn fail(e: oncelink_sends::Error) -> anyhow::Error {
    anyhow::anyhow!("{}: {e}", e.code())
}
