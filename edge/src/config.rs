//! The deployment's configuration of the validator.

use crate::claims::{is_valid_region, Mode, MAX_GRACE};
use crate::error::Error;
use crate::json::{set, JsonError, Reader};
use crate::key_file::KeyFile;
use crate::keys::KeySet;
use crate::throttle::Limits;
use serde::{Deserialize, Serialize};

/// Default clock-skew allowance, seconds, for `exp` and `nbf`.
pub const DEFAULT_SKEW: u32 = 30;
/// Default resume grace window, seconds, for tokens with `n` and no `g`.
pub const DEFAULT_GRACE: u32 = 600;
/// Default query parameter that carries the token.
pub const DEFAULT_TOKEN_PARAM: &str = "t";
/// Largest skew a deployment may configure.
pub const MAX_SKEW: u32 = 3600;
/// Largest `max_password_failures` a deployment may configure.
pub const MAX_MAX_PASSWORD_FAILURES: u32 = 100;
/// Default query parameter that carries a page-mode pass.
pub const DEFAULT_PASS_PARAM: &str = "pass";

/// How the origin learns the download file name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    /// S3 (with Origin Access Control): `response-content-disposition` query parameter.
    #[default]
    S3,
    /// origin-shim or another HTTP origin: the `x-oncelink-disposition` header.
    Header,
}

/// A checked configuration.
#[derive(Debug)]
pub struct Config {
    /// Accepted keys and the active one.
    pub keys: KeySet,
    /// Clock-skew allowance, seconds.
    pub skew: u32,
    /// Default resume grace, seconds.
    pub grace: u32,
    /// Query parameter that carries the token.
    pub token_param: String,
    /// Region whose store holds records of tokens without `r`.
    pub home_region: String,
    /// How the origin receives the file name.
    pub origin: OriginKind,
    /// Origin grant keys: when set, every forward carries an
    /// `x-oncelink-grant` header for a guarded origin (`crate::grant`).
    /// Off by default (S3/OAC origins need none).
    pub grant_keys: Option<KeySet>,
    /// Mode of links without an `m` claim (docs/page-mode.md).
    pub default_mode: Mode,
    /// Wrong passwords after which a password link locks for good; `None`
    /// (the default): links are throttled, never locked (docs/page-mode.md).
    pub max_password_failures: Option<u32>,
    /// Password throttling (docs/page-mode.md).
    pub password_throttle: Limits,
    /// Query parameter that carries a page-mode pass (never forwarded).
    pub pass_param: String,
    /// Origins whose scripts may read the answers (`crate::cors`); empty: CORS off.
    pub cors_origins: Vec<String>,
    /// The host serves files itself and can tell their size: the core asks
    /// for it ([`crate::Step::NeedFileSize`]) before any answer that depends
    /// on the file, and a file the host cannot find is `not_found`.
    pub ask_file_size: bool,
}

/// The configuration as JSON (the bundle's baked config, origin-shim's flags).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The key file.
    pub keys: KeyFile,
    /// Clock-skew allowance, seconds (default 30).
    #[serde(default)]
    pub skew: Option<u32>,
    /// Default grace, seconds (default 600).
    #[serde(default)]
    pub grace: Option<u32>,
    /// Token query parameter (default `t`).
    #[serde(default)]
    pub token_param: Option<String>,
    /// Home region (e.g. `us-east-1`).
    pub home_region: String,
    /// `s3` (default) or `header`.
    #[serde(default)]
    pub origin: Option<OriginKind>,
    /// Origin grant keys (key file format); absent means no grant header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_keys: Option<KeyFile>,
    /// Mode of links without `m`: `direct` (default) or `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<Mode>,
    /// Wrong passwords after which a password link locks for good (1 to
    /// 100); absent (the default): throttled, never locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_password_failures: Option<u32>,
    /// Password throttling; fields left out take their defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_throttle: Option<Limits>,
    /// Pass query parameter (default `pass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_param: Option<String>,
    /// Origins allowed to read answers cross-origin (default none: CORS off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_origins: Option<Vec<String>>,
    /// The host serves files and answers `need_file_size` (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_file_size: Option<bool>,
}

impl ConfigFile {
    /// Reads a configuration as serde_json reads it into [`ConfigFile`]
    /// (unknown and repeated members refused, `null` for an optional
    /// member is its absence), without serde's generic deserializer
    /// (`crate::json`; the wasm reads its baked config with it). The error
    /// names the member and where it is, never a value (a config holds
    /// keys).
    pub fn from_json(json: &str) -> Result<ConfigFile, String> {
        let mut r = Reader::new(json.as_bytes());
        let file = ConfigFile::read(&mut r)?;
        if !r.at_end() {
            return Err(r.located("not JSON"));
        }
        Ok(file)
    }

    fn read(r: &mut Reader) -> Result<ConfigFile, String> {
        r.begin_object().map_err(|e| member(r, "the config", e))?;
        let (mut keys, mut skew, mut grace, mut token_param, mut home_region, mut origin) =
            (None, None, None, None, None, None);
        let (mut grant_keys, mut default_mode, mut max_password_failures, mut password_throttle) =
            (None, None, None, None);
        let (mut pass_param, mut cors_origins, mut ask_file_size) = (None, None, None);
        let mut first = true;
        while let Some(name) = r.next_key(first).map_err(|e| member(r, "the config", e))? {
            first = false;
            let name = &*name;
            let json = |r: &mut Reader, e: JsonError| member(r, name, e);
            match name {
                "keys" => {
                    let file = KeyFile::read(r)?;
                    set(&mut keys, file).map_err(|e| json(r, e))?
                }
                "grant_keys" => {
                    let file = if r.null().map_err(|e| json(r, e))? { None } else { Some(KeyFile::read(r)?) };
                    set(&mut grant_keys, file).map_err(|e| json(r, e))?
                }
                _ => {
                    let read = match name {
                        "skew" => r.nullable(Reader::u32).and_then(|v| set(&mut skew, v)),
                        "grace" => r.nullable(Reader::u32).and_then(|v| set(&mut grace, v)),
                        "token_param" => r.nullable(Reader::string).and_then(|v| set(&mut token_param, v)),
                        "home_region" => r.string().and_then(|v| set(&mut home_region, v)),
                        "origin" => r.nullable(OriginKind::read).and_then(|v| set(&mut origin, v)),
                        "default_mode" => r.nullable(Mode::from_json).and_then(|v| set(&mut default_mode, v)),
                        "max_password_failures" => {
                            r.nullable(Reader::u32).and_then(|v| set(&mut max_password_failures, v))
                        }
                        "password_throttle" => r.nullable(Limits::read).and_then(|v| set(&mut password_throttle, v)),
                        "pass_param" => r.nullable(Reader::string).and_then(|v| set(&mut pass_param, v)),
                        "cors_origins" => r.nullable(Reader::strings).and_then(|v| set(&mut cors_origins, v)),
                        "ask_file_size" => r.nullable(Reader::boolean).and_then(|v| set(&mut ask_file_size, v)),
                        _ => Err(JsonError::UnknownField),
                    };
                    read.map_err(|e| json(r, e))?
                }
            }
        }
        let keys = keys.ok_or_else(|| member(r, "keys", JsonError::MissingField))?;
        let home_region = home_region.ok_or_else(|| member(r, "home_region", JsonError::MissingField))?;
        Ok(ConfigFile {
            keys,
            skew: skew.flatten(),
            grace: grace.flatten(),
            token_param: token_param.flatten(),
            home_region,
            origin: origin.flatten(),
            grant_keys: grant_keys.flatten(),
            default_mode: default_mode.flatten(),
            max_password_failures: max_password_failures.flatten(),
            password_throttle: password_throttle.flatten(),
            pass_param: pass_param.flatten(),
            cors_origins: cors_origins.flatten(),
            ask_file_size: ask_file_size.flatten(),
        })
    }
}

/// What is wrong with member `name`, and where: the error's code, never a value.
fn member(r: &Reader, name: &str, e: JsonError) -> String {
    let what = match e {
        JsonError::Syntax => "not JSON".to_owned(),
        JsonError::WrongType => format!("{name} has the wrong type"),
        JsonError::OutOfRange => format!("{name} is out of range"),
        // Not quoted: a key pasted in the wrong place must not be printed.
        JsonError::UnknownField => "a member that is not a config setting".to_owned(),
        JsonError::DuplicateField => format!("{name} is given twice"),
        JsonError::MissingField => format!("{name} is missing"),
    };
    r.located(what)
}

impl OriginKind {
    /// Reads a kind as serde_json reads a unit variant.
    fn read(r: &mut Reader) -> Result<OriginKind, JsonError> {
        match &*r.unit_variant()? {
            "s3" => Ok(OriginKind::S3),
            "header" => Ok(OriginKind::Header),
            _ => Err(JsonError::WrongType),
        }
    }
}

impl Config {
    /// Parses and checks a JSON configuration.
    pub fn from_json(json: &str) -> Result<Config, Error> {
        let file = ConfigFile::from_json(json).map_err(|e| Error::Config(format!("not a valid config: {e}")))?;
        Config::from_file(file)
    }

    /// Checks a parsed configuration.
    pub fn from_file(file: ConfigFile) -> Result<Config, Error> {
        let keys = KeySet::from_file(&file.keys)?;
        let mut config =
            Config::new(keys, &file.home_region)?.with_options(file.skew, file.grace, file.token_param, file.origin)?;
        if let Some(grant) = &file.grant_keys {
            config.grant_keys = Some(KeySet::from_file(grant)?);
        }
        config.default_mode = file.default_mode.unwrap_or(Mode::Direct);
        if let Some(max) = file.max_password_failures {
            if !(1..=MAX_MAX_PASSWORD_FAILURES).contains(&max) {
                return Err(Error::Config(format!("max_password_failures must be 1 to {MAX_MAX_PASSWORD_FAILURES}")));
            }
            config.max_password_failures = Some(max);
        }
        if let Some(limits) = file.password_throttle {
            limits.check().map_err(Error::Config)?;
            config.password_throttle = limits;
        }
        if let Some(param) = file.pass_param {
            if !is_param_name(&param) {
                return Err(Error::Config("pass_param must be 1 to 64 of [A-Za-z0-9_-]".into()));
            }
            config.pass_param = param;
        }
        if let Some(origins) = file.cors_origins {
            if origins.len() > crate::cors::MAX_ORIGINS {
                return Err(Error::Config(format!("cors_origins: at most {} origins", crate::cors::MAX_ORIGINS)));
            }
            for origin in &origins {
                crate::cors::check_origin(origin)?;
            }
            config.cors_origins = origins;
        }
        config.ask_file_size = file.ask_file_size.unwrap_or(false);
        if config.pass_param == config.token_param {
            return Err(Error::Config("pass_param and token_param must differ".into()));
        }
        Ok(config)
    }

    /// A configuration with every default.
    pub fn new(keys: KeySet, home_region: &str) -> Result<Config, Error> {
        if !is_valid_region(home_region) {
            return Err(Error::Config(format!(
                "home_region {} is not a region name",
                crate::json::quoted(home_region)
            )));
        }
        Ok(Config {
            keys,
            skew: DEFAULT_SKEW,
            grace: DEFAULT_GRACE,
            token_param: DEFAULT_TOKEN_PARAM.to_owned(),
            home_region: home_region.to_owned(),
            origin: OriginKind::S3,
            grant_keys: None,
            default_mode: Mode::Direct,
            max_password_failures: None,
            password_throttle: Limits::default(),
            pass_param: DEFAULT_PASS_PARAM.to_owned(),
            cors_origins: Vec::new(),
            ask_file_size: false,
        })
    }

    fn with_options(
        mut self,
        skew: Option<u32>,
        grace: Option<u32>,
        token_param: Option<String>,
        origin: Option<OriginKind>,
    ) -> Result<Config, Error> {
        if let Some(skew) = skew {
            if skew > MAX_SKEW {
                return Err(Error::Config(format!("skew must be at most {MAX_SKEW} seconds")));
            }
            self.skew = skew;
        }
        if let Some(grace) = grace {
            if grace > MAX_GRACE {
                return Err(Error::Config(format!("grace must be at most {MAX_GRACE} seconds")));
            }
            self.grace = grace;
        }
        if let Some(param) = token_param {
            if !is_param_name(&param) {
                return Err(Error::Config("token_param must be 1 to 64 of [A-Za-z0-9_-]".into()));
            }
            self.token_param = param;
        }
        self.origin = origin.unwrap_or_default();
        Ok(self)
    }
}

fn is_param_name(param: &str) -> bool {
    !param.is_empty() && param.len() <= 64 && param.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
