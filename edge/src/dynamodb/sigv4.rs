//! AWS Signature Version 4 (header signing), as the published test suite
//! specifies it, with nothing but `sha2` and `hmac`.
//!
//! The signer is pure: the time is a parameter and the output is the
//! canonical request, the string to sign, the signature and the headers to
//! add. It knows nothing about DynamoDB; [`super`] feeds it one request.

use crate::b64::hex;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Signing credentials. `Debug` never prints the secret or the token.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Access key id (`AKIA...`/`ASIA...`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials, sent as `x-amz-security-token`.
    #[serde(default)]
    pub session_token: Option<String>,
}

impl Credentials {
    /// Reads credentials as serde_json reads them into [`Credentials`]
    /// (`session_token` may be absent or `null`; unknown and repeated
    /// members refused), without serde's generic deserializer
    /// (`crate::json`). The error is a code: it never quotes a secret.
    pub fn from_json(bytes: &[u8]) -> Result<Credentials, crate::json::JsonError> {
        use crate::json::{set, JsonError, Reader};
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut access_key_id, mut secret_access_key, mut session_token) = (None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "access_key_id" => set(&mut access_key_id, r.string()?)?,
                "secret_access_key" => set(&mut secret_access_key, r.string()?)?,
                "session_token" => set(&mut session_token, r.nullable(Reader::string)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        match (access_key_id, secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => {
                Ok(Credentials { access_key_id, secret_access_key, session_token: session_token.flatten() })
            }
            _ => Err(JsonError::MissingField),
        }
    }
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What to sign: one HTTP request as it will be sent.
#[derive(Clone, Debug)]
pub struct SignableRequest<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path as sent on the wire (not yet URI-encoded for signing).
    pub path: &'a str,
    /// The raw query string without `?` (may be empty).
    pub query: &'a str,
    /// Headers to sign, `Host` included, in any case and order.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// Choices the test suite varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// Remove `.`/`..` segments and empty segments from the path (every
    /// service but S3).
    pub normalize_path: bool,
    /// Add and sign `x-amz-content-sha256`.
    pub sign_body: bool,
    /// Send the session token but leave it out of the signature (some STS
    /// style services want this; DynamoDB does not).
    pub omit_session_token: bool,
}

impl Default for SignOptions {
    fn default() -> SignOptions {
        SignOptions { normalize_path: true, sign_body: false, omit_session_token: false }
    }
}

/// The result of signing: everything a test can compare and everything a
/// sender needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The canonical request (step 1).
    pub canonical_request: String,
    /// The string to sign (step 2).
    pub string_to_sign: String,
    /// Hex signature.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// Headers the sender must add, lowercase names: `x-amz-date`, maybe
    /// `x-amz-content-sha256` and `x-amz-security-token`, and `authorization`.
    pub added_headers: Vec<(String, String)>,
}

/// Signs `request` for `region`/`service` at `now` (Unix seconds, UTC).
pub fn sign(
    request: &SignableRequest<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    now: i64,
    options: SignOptions,
) -> Signed {
    let amz_date = amz_date(now);
    let date = &amz_date[..8];
    let body_hash = hex(&Sha256::digest(request.body));

    let mut added: Vec<(String, String)> = vec![("x-amz-date".into(), amz_date.clone())];
    if options.sign_body {
        added.push(("x-amz-content-sha256".into(), body_hash.clone()));
    }
    let token = credentials.session_token.as_deref().filter(|t| !t.is_empty());
    if let (Some(token), false) = (token, options.omit_session_token) {
        added.push(("x-amz-security-token".into(), token.to_owned()));
    }

    let (canonical_headers, signed_headers) = canonical_headers(request.headers.iter().chain(added.iter()));
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        canonical_uri(request.path, options.normalize_path),
        canonical_query(request.query),
        canonical_headers,
        signed_headers,
        body_hash
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical_request.as_bytes())));

    let mut key = hmac(format!("AWS4{}", credentials.secret_access_key).as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    );
    if let (Some(token), true) = (token, options.omit_session_token) {
        added.push(("x-amz-security-token".into(), token.to_owned()));
    }
    added.push(("authorization".into(), authorization.clone()));
    Signed { canonical_request, string_to_sign, signature, authorization, added_headers: added }
}

/// `YYYYMMDD'T'HHMMSS'Z'` for Unix seconds (UTC, proleptic Gregorian).
/// Times before 1970 are clamped to the epoch.
pub fn amz_date(now: i64) -> String {
    let now = now.max(0);
    let (y, m, d, hh, mm, ss) = crate::time::civil(now);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercased names, sorted (stable for duplicates), values trimmed with
/// inner runs of whitespace collapsed to one space, duplicates joined with
/// `,` in order. Returns the header block (each line ending in `\n`) and the
/// `;`-joined names.
fn canonical_headers<'a>(headers: impl Iterator<Item = &'a (String, String)>) -> (String, String) {
    let mut list: Vec<(String, String)> =
        headers.map(|(name, value)| (name.trim().to_ascii_lowercase(), collapse_spaces(value))).collect();
    insertion_sort(&mut list, |a, b| a.0 < b.0);
    let mut block = String::new();
    let mut names = String::new();
    let mut previous: Option<&str> = None;
    for (name, value) in &list {
        if previous == Some(name.as_str()) {
            block.pop(); // the newline: this value joins the previous line
            block.push(',');
        } else {
            if previous.is_some() {
                names.push(';');
            }
            names.push_str(name);
            block.push_str(name);
            block.push(':');
        }
        block.push_str(value);
        block.push('\n');
        previous = Some(name);
    }
    (block, names)
}

/// Stable sort for the handful of headers and parameters a request has;
/// far smaller in wasm than the standard library's sorts.
fn insertion_sort<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn collapse_spaces(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3986 unreserved characters stay; every other byte is `%XX` (upper
/// hex). `/` is kept when `keep_slash`.
fn uri_encode(input: &[u8], keep_slash: bool, out: &mut String) {
    for &b in input {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut out = String::new();
    if normalize {
        let mut segments: Vec<&str> = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
        let mut normalized = String::from("/");
        normalized.push_str(&segments.join("/"));
        if !segments.is_empty() && (path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..")) {
            normalized.push('/');
        }
        uri_encode(normalized.as_bytes(), true, &mut out);
    } else {
        uri_encode(path.as_bytes(), true, &mut out);
    }
    out
}

/// Parameters percent-decoded then re-encoded, sorted by key then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (mut ek, mut ev) = (String::new(), String::new());
            uri_encode(&percent_decode(k), false, &mut ek);
            uri_encode(&percent_decode(v), false, &mut ev);
            (ek, ev)
        })
        .collect();
    insertion_sort(&mut pairs, |a, b| a < b);
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// `%XX` becomes the byte; anything else (a stray `%` included) stays.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_amz_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
        assert_eq!(amz_date(-5), "19700101T000000Z");
    }

    #[test]
    fn sorts_stably() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd'), (1, 'e')];
        insertion_sort(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, vec![(0, 'd'), (1, 'b'), (1, 'e'), (2, 'a'), (2, 'c')]);
    }

    #[test]
    fn decodes_percent_leniently() {
        assert_eq!(percent_decode("a%20b%zz%4"), b"a b%zz%4".to_vec());
    }
}
