//! Cross-origin reads (`cors_origins`, off by default; docs/token-v1.md,
//! "Cross-origin requests"): a web app on an allowed origin that fetches a
//! link with `fetch()` can read every answer, refusals included.
//!
//! With a non-empty allow-list, every answer the core generates carries
//! `Vary: Origin`, and for an allowed `Origin` also
//! `Access-Control-Allow-Origin: <that origin>` and
//! `Access-Control-Expose-Headers` naming the reason header and
//! `Content-Disposition`. A preflight (OPTIONS with `Origin` and
//! `Access-Control-Request-Method`) is answered here, before any token
//! check and without the store. Origins are compared exactly, as browsers
//! serialize them (`https://app.example.com`, a port only when not the
//! default); no wildcard, no credentials.

use crate::error::{Error, Reason};
use crate::request::Request;
use crate::response::Response;

/// Most origins one deployment may allow.
pub const MAX_ORIGINS: usize = 32;
/// Headers a cross-origin script may read besides the CORS-safelisted ones.
pub const EXPOSE_HEADERS: &str = "x-oncelink-reason, content-disposition";
/// Methods a preflight allows: the link's GET and HEAD, page mode's POST.
pub const ALLOW_METHODS: &str = "GET, HEAD, POST";
/// Request headers a preflight allows: a token in `Authorization`, a resume's `Range`.
pub const ALLOW_HEADERS: &str = "authorization, range";
/// Seconds a browser may cache a preflight's answer.
pub const PREFLIGHT_MAX_AGE: u32 = 600;

/// Checks one configured origin: `http(s)://host[:port]`, lowercase, no
/// path, query, fragment or user info.
pub fn check_origin(origin: &str) -> Result<(), Error> {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    let ok = rest.is_some_and(|host| {
        !host.is_empty()
            && origin.len() <= 253
            && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b))
            && !host.starts_with(':')
            && !host.ends_with(':')
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "cors_origins: {} is not an origin (scheme://host[:port], lowercase, nothing after)",
            crate::json::quoted(origin)
        )))
    }
}

/// The CORS headers every answer to a request with this `Origin` header
/// carries under `allowed` (empty when CORS is off). Hosts add them to
/// answers the core did not write (a forwarded file, a host's own refusal).
pub fn headers(allowed: &[String], origin: Option<&str>) -> Vec<(String, String)> {
    if allowed.is_empty() {
        return Vec::new();
    }
    let mut out = vec![("vary".to_owned(), "origin".to_owned())];
    if let Some(origin) = origin.filter(|o| allowed.iter().any(|a| a == o)) {
        out.push(("access-control-allow-origin".to_owned(), origin.to_owned()));
        out.push(("access-control-expose-headers".to_owned(), EXPOSE_HEADERS.to_owned()));
    }
    out
}

/// The answer to a CORS preflight when CORS is on, else `None` (an OPTIONS
/// is then `method_not_allowed` like any other method).
pub fn preflight(allowed: &[String], request: &Request) -> Option<Response> {
    let is_preflight = request.method == "OPTIONS"
        && request.header("origin").is_some()
        && request.header("access-control-request-method").is_some();
    if allowed.is_empty() || !is_preflight {
        return None;
    }
    let mut headers = vec![("cache-control".to_owned(), "no-store".to_owned())];
    if request.header("origin").is_some_and(|o| allowed.iter().any(|a| a == o)) {
        headers.push(("access-control-allow-methods".to_owned(), ALLOW_METHODS.to_owned()));
        headers.push(("access-control-allow-headers".to_owned(), ALLOW_HEADERS.to_owned()));
        headers.push(("access-control-max-age".to_owned(), PREFLIGHT_MAX_AGE.to_string()));
    }
    Some(Response { status: Reason::Preflight.status(), reason: Reason::Preflight, headers, body: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lowercase_origins_are_accepted() {
        for good in ["https://app.example.com", "http://localhost:5173", "https://[::1]:8443"] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in ["*", "app.example.com", "https://App.example.com", "https://a.example/", "https://", "https://a:"] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
