//! Token claims: what a verified token grants.
//!
//! Unknown claims are refused, so a verifier of this version fails closed on a
//! token minted for a newer one. Every rule here is applied both when minting
//! and after verifying, so a minter cannot produce a token the edge rejects.

use crate::cidr::Cidr;
use crate::error::Error;
use crate::json::{set, JsonError, Reader};
use crate::keys::is_b64url_byte;
use crate::path::Grant;
use serde::{Deserialize, Deserializer, Serialize};

/// Fewest uses a use-limited token may have.
pub const MIN_USES: u32 = 1;
/// Most uses a use-limited token may have.
pub const MAX_USES: u32 = 1_000_000;
/// Longest resume grace window, in seconds.
pub const MAX_GRACE: u32 = 86_400;
/// Latest `exp` or `nbf`: 9999-12-31T23:59:59Z. Keeps every time exact in
/// a JavaScript number (a host's JSON round trip) and in any date library.
pub const MAX_TIME: i64 = 253_402_300_799;
/// Longest `fn` claim, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;
/// Longest `ref` claim, in characters.
pub const MAX_REF_CHARS: usize = 64;

/// The claims object, exactly as it is encoded in a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Token id: 16 to 64 of `[A-Za-z0-9_-]`; the store record's key.
    pub id: String,
    /// The path granted (decoded form); `/*` at the end grants a prefix.
    pub p: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Not before, Unix seconds.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Use limit; absent means a time-limited link with no store call.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// AWS region of the store record; absent means the deployment's home region.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub r: Option<String>,
    /// CIDR the client address must be inside.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Download file name (Content-Disposition: attachment).
    #[serde(default, rename = "fn", deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Resume grace window in seconds; default 600 when `n` is set.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub g: Option<u32>,
    /// Mode: `page` or `direct`; absent means the deployment's default
    /// (docs/page-mode.md).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub m: Option<Mode>,
    /// Password hash: base64url of HMAC-SHA256(key, "oncelink/v1/password"
    /// 0 id 0 password) (see `crate::secret`). Requires `n`; the link is in
    /// page mode.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub pw: Option<String>,
    /// Bound to the first downloader: `true`, or absent. The first counted
    /// use records the client's binding (`crate::fingerprint::binding`);
    /// every other client is refused (`bound_elsewhere`). Requires `n`.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub b: Option<bool>,
    /// The minter's own reference for the link (a recipient, a ticket):
    /// opaque text, 1 to 64 characters, no control character. The edge only
    /// carries it into the link's events (docs/events.md).
    #[serde(default, rename = "ref", deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A hard lock chosen at mint time: after this many wrong passwords the
    /// link is locked for good (`locked`, 410), as under a deployment's
    /// `max_password_failures` (the lower of the two applies). 1 to
    /// [`crate::config::MAX_MAX_PASSWORD_FAILURES`]; requires `pw`. Absent:
    /// wrong passwords are only throttled (docs/page-mode.md).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub lk: Option<u32>,
}

/// Reads an optional claim that is present. `null` is refused rather than
/// read as absent: a minter that wrote `"n":null` would otherwise have made
/// an unlimited link (an absent claim still defaults to `None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// How a link is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One GET downloads (unfurler user agents get a preview page).
    Direct,
    /// A GET shows a download page; its button POSTs for a short-lived pass.
    Page,
}

impl Claims {
    /// Claims for token `id` granting `p` until `exp`, every optional claim
    /// absent; set others with struct update syntax
    /// (`Claims { n: Some(1), ..Claims::new(id, p, exp) }`).
    pub fn new(id: impl Into<String>, p: impl Into<String>, exp: i64) -> Claims {
        Claims {
            id: id.into(),
            p: p.into(),
            exp,
            nbf: None,
            n: None,
            r: None,
            ip: None,
            filename: None,
            g: None,
            m: None,
            pw: None,
            b: None,
            reference: None,
            lk: None,
        }
    }
}

impl Claims {
    /// Reads the claims object of a token: what serde_json reads into
    /// [`Claims`] (unknown and repeated members refused, `null` refused for
    /// every claim), without serde's generic deserializer (`crate::json`).
    /// Only an object: serde would also read a struct from an array.
    pub fn from_json(bytes: &[u8]) -> Result<Claims, JsonError> {
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut id, mut p, mut exp) = (None, None, None);
        let mut c = Claims::new(String::new(), String::new(), 0);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "id" => set(&mut id, r.string()?)?,
                "p" => set(&mut p, r.string()?)?,
                "exp" => set(&mut exp, r.i64()?)?,
                "nbf" => set(&mut c.nbf, r.i64()?)?,
                "n" => set(&mut c.n, r.u32()?)?,
                "r" => set(&mut c.r, r.string()?)?,
                "ip" => set(&mut c.ip, r.string()?)?,
                "fn" => set(&mut c.filename, r.string()?)?,
                "g" => set(&mut c.g, r.u32()?)?,
                "m" => set(&mut c.m, Mode::from_json(&mut r)?)?,
                "pw" => set(&mut c.pw, r.string()?)?,
                "b" => set(&mut c.b, r.boolean()?)?,
                "ref" => set(&mut c.reference, r.string()?)?,
                "lk" => set(&mut c.lk, r.u32()?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        match (id, p, exp) {
            (Some(id), Some(p), Some(exp)) => Ok(Claims { id, p, exp, ..c }),
            _ => Err(JsonError::MissingField),
        }
    }
}

impl Mode {
    /// Reads a mode as serde_json reads a unit enum variant.
    pub(crate) fn from_json(r: &mut Reader) -> Result<Mode, JsonError> {
        match &*r.unit_variant()? {
            "direct" => Ok(Mode::Direct),
            "page" => Ok(Mode::Page),
            _ => Err(JsonError::WrongType),
        }
    }
}

impl CheckedClaims {
    /// The link's mode: `m`, else page for a password link, else `default`.
    pub fn mode(&self, default: Mode) -> Mode {
        match (self.raw.m, &self.raw.pw) {
            (Some(m), _) => m,
            (None, Some(_)) => Mode::Page,
            (None, None) => default,
        }
    }
}

/// Claims that passed every rule, with their parsed forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedClaims {
    /// The claims as signed.
    pub raw: Claims,
    /// The parsed `p`.
    pub grant: Grant,
    /// The parsed `ip`.
    pub cidr: Option<Cidr>,
}

/// Whether `id` is a valid token id.
pub fn is_valid_id(id: &str) -> bool {
    (16..=64).contains(&id.len()) && id.bytes().all(is_b64url_byte)
}

/// Whether `r` is a plausible region name (`[a-z0-9-]`, 1 to 32).
pub fn is_valid_region(r: &str) -> bool {
    (1..=32).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Claims {
    /// Applies every rule of the format; the error says which one broke.
    pub fn check(self) -> Result<CheckedClaims, Error> {
        let fail = |m: &str| Err(Error::Claims(m.to_owned()));
        if !is_valid_id(&self.id) {
            return fail("id must be 16 to 64 of [A-Za-z0-9_-]");
        }
        let Some(grant) = Grant::parse(&self.p) else {
            return fail(
                "p must be an absolute path with no empty, '.' or '..' segment (also before a ';'), no backslash and no control character",
            );
        };
        if self.exp < 0 || self.nbf.is_some_and(|nbf| nbf < 0) {
            return fail("exp and nbf are Unix seconds and cannot be negative");
        }
        if self.exp > MAX_TIME || self.nbf.is_some_and(|nbf| nbf > MAX_TIME) {
            return fail("exp and nbf must be at most 253402300799 (9999-12-31T23:59:59Z)");
        }
        if self.nbf.is_some_and(|nbf| nbf >= self.exp) {
            return fail("nbf must be before exp");
        }
        if self.n.is_some_and(|n| !(MIN_USES..=MAX_USES).contains(&n)) {
            return fail("n must be 1 to 1000000");
        }
        if self.r.as_deref().is_some_and(|r| !is_valid_region(r)) {
            return fail("r must be a region name such as us-east-1");
        }
        let cidr = match &self.ip {
            Some(ip) => match Cidr::parse(ip) {
                Some(c) => Some(c),
                None => return fail("ip must be an IPv4 or IPv6 address or CIDR with zero host bits"),
            },
            None => None,
        };
        if let Some(name) = &self.filename {
            let bad = |c: char| c.is_control() || c == '/' || c == '\\';
            if name.is_empty() || name.chars().count() > MAX_FILENAME_CHARS || name.chars().any(bad) {
                return fail("fn must be 1 to 255 characters with no control character, '/' or '\\'");
            }
        }
        if self.g.is_some_and(|g| g > MAX_GRACE) {
            return fail("g must be 0 to 86400 seconds");
        }
        if self.g.is_some() && self.n.is_none() {
            return fail("g only applies to a token with n");
        }
        if let Some(pw) = &self.pw {
            if crate::b64::decode(pw).is_none_or(|h| h.len() != 32) {
                return fail("pw must be 43 characters of base64url (an HMAC-SHA256)");
            }
            if self.n.is_none() {
                return fail("pw only applies to a token with n (wrong passwords are counted in the store)");
            }
            if self.m == Some(Mode::Direct) {
                return fail("pw needs page mode: m cannot be direct");
            }
        }
        if self.b == Some(false) {
            return fail("b must be true (leave it out for a link bound to no one)");
        }
        if self.b.is_some() && self.n.is_none() {
            return fail("b only applies to a token with n (the binding is kept in the store)");
        }
        if let Some(reference) = &self.reference {
            if reference.is_empty()
                || reference.chars().count() > MAX_REF_CHARS
                || reference.chars().any(char::is_control)
            {
                return fail("ref must be 1 to 64 characters with no control character");
            }
        }
        if let Some(lk) = self.lk {
            if !(1..=crate::config::MAX_MAX_PASSWORD_FAILURES).contains(&lk) {
                return fail("lk must be 1 to 100 (wrong passwords before the link locks)");
            }
            if self.pw.is_none() {
                return fail("lk only applies to a token with pw (it locks after wrong passwords)");
            }
        }
        Ok(CheckedClaims { raw: self, grant, cidr })
    }
}
