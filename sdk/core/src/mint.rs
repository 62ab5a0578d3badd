//! Minting from options named as the CLI's flags (`oncelink mint --help`).
//!
//! The claim rules live in the core (`Claims::check`); this module maps
//! names to claims, applies the CLI's own rules (ttl or exp, a password
//! needs uses and page mode) and says which option broke a core rule.

use crate::options::{host_seconds, Options};
use crate::Error;
use oncelink_edge::claims::{MAX_GRACE, MAX_TIME, MAX_USES};
use oncelink_edge::config::MAX_MAX_PASSWORD_FAILURES;
use oncelink_edge::{mint as sign, new_id, secret, Claims, KeySet, Mode};

/// Every option `mint` accepts.
pub const MINT_OPTIONS: [&str; 16] = [
    "path",
    "uses",
    "ttl",
    "exp",
    "nbf",
    "ip",
    "filename",
    "region",
    "grace",
    "mode",
    "password",
    "lock_after",
    "bind",
    "ref",
    "id",
    "now",
];

/// Lifetime of a link minted with neither `ttl` nor `exp`, as the CLI's.
pub const DEFAULT_TTL: i64 = 24 * 3600;

/// Mints a token from `options` (JSON) with the key set's active key.
/// `now` is the host's clock (the `now` option overrides it) and `random`
/// the 16 bytes a new token id is made of (unused when `id` is given).
pub fn mint(keys: &KeySet, options_json: &str, now: f64, random: [u8; 16]) -> Result<String, Error> {
    let o = Options::parse(options_json, &MINT_OPTIONS)?;
    let now = match o.seconds("now")? {
        Some(now) => now,
        None => host_seconds(now)?,
    };
    let Some(path) = o.string("path")? else {
        return Err(Error::BadOption("option path is required (the path granted, e.g. /reports/q3.pdf)".into()));
    };
    if o.has("ttl") && o.has("exp") {
        return Err(Error::BadOption("options ttl and exp cannot both be given".into()));
    }
    let exp = match (o.integer("exp", 0, MAX_TIME)?, ttl(&o)?) {
        (Some(exp), _) => exp,
        (None, Some(ttl)) => now.saturating_add(ttl),
        (None, None) => now.saturating_add(DEFAULT_TTL),
    };
    if exp <= now {
        return Err(Error::BadOption(format!(
            "option exp: the link would already be expired ({exp} is not after now {now})"
        )));
    }
    let mode = match o.string("mode")?.as_deref() {
        None => None,
        Some("page") => Some(Mode::Page),
        Some("direct") => Some(Mode::Direct),
        Some(_) => return Err(Error::BadOption("option mode must be \"page\" or \"direct\"".into())),
    };
    let uses = o.integer("uses", 1, i64::from(MAX_USES))?.map(|n| n as u32);
    let password = o.string("password")?;
    if password.is_some() && uses.is_none() {
        return Err(Error::BadOption(
            "option password needs uses: wrong passwords are counted in the store, which only use-limited links have"
                .into(),
        ));
    }
    if password.is_some() && mode == Some(Mode::Direct) {
        return Err(Error::BadOption(
            "option password: a password link always opens as a page, so mode cannot be direct".into(),
        ));
    }
    let lock_after = o.integer("lock_after", 1, i64::from(MAX_MAX_PASSWORD_FAILURES))?.map(|n| n as u32);
    if lock_after.is_some() && password.is_none() {
        return Err(Error::BadOption(
            "option lock_after needs password: it locks the link after that many wrong passwords".into(),
        ));
    }
    // `bind: false` is the same as leaving it out (the claim is only ever true).
    let bind = o.boolean("bind")?.filter(|b| *b);
    if bind.is_some() && uses.is_none() {
        return Err(Error::BadOption(
            "option bind needs uses: the first downloader is recorded in the store, which only use-limited links have"
                .into(),
        ));
    }
    let id = o.string("id")?.unwrap_or_else(|| new_id(random));
    let keys_active = keys.active();
    let pw = match password {
        Some(p) => Some(secret::password_claim(keys_active, &id, &p).map_err(|e| in_option(&e, Some("password")))?),
        None => None,
    };
    let claims = Claims {
        nbf: o.integer("nbf", 0, MAX_TIME)?,
        n: uses,
        r: o.string("region")?,
        ip: o.string("ip")?,
        filename: o.string("filename")?,
        g: o.integer("grace", 0, i64::from(MAX_GRACE))?.map(|g| g as u32),
        m: mode,
        pw,
        b: bind,
        reference: o.string("ref")?,
        lk: lock_after,
        ..Claims::new(id, path, exp)
    };
    sign(keys_active, claims).map_err(|e| in_option(&e, None))
}

fn ttl(o: &Options) -> Result<Option<i64>, Error> {
    if let Ok(Some(secs)) = o.integer("ttl", 1, crate::duration::MAX_SECONDS) {
        return Ok(Some(secs));
    }
    match o.string("ttl") {
        Ok(Some(text)) => {
            crate::duration::parse(&text).map(Some).map_err(|m| Error::BadOption(format!("option ttl: {m}")))
        }
        Ok(None) => Ok(None),
        Err(_) => Err(Error::BadOption(
            "option ttl must be seconds (1 to 10 years) or a duration such as \"15m\", \"1h\", \"7d\"".into(),
        )),
    }
}

/// The option a claim rule's message is about: the core names claims
/// (`n must be ...`), the caller named options (`uses`).
fn in_option(e: &oncelink_edge::Error, known: Option<&str>) -> Error {
    let message = match e {
        oncelink_edge::Error::Claims(m) => m.as_str(),
        other => return Error::BadOption(other.to_string()),
    };
    let claim = message.split(' ').next().unwrap_or("");
    let option = known.or(match claim {
        "id" => Some("id"),
        "p" => Some("path"),
        "exp" => Some("exp"),
        "nbf" => Some("nbf"),
        "n" => Some("uses"),
        "r" => Some("region"),
        "ip" => Some("ip"),
        "fn" => Some("filename"),
        "g" => Some("grace"),
        "pw" => Some("password"),
        "lk" => Some("lock_after"),
        "b" => Some("bind"),
        "ref" => Some("ref"),
        _ => None,
    });
    match option {
        Some(option) => Error::BadOption(format!("option {option}: {message}")),
        None => Error::BadOption(message.to_owned()),
    }
}
