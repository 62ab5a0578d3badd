//! The page-mode POST body: never a panic, only `bad_form` as an error, a
//! password of 1 to 256 bytes, and a form-encoded password reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_edge::form::{password, MAX_PASSWORD_BYTES};
use oncelink_edge::request::MAX_FORM_BYTES;
use oncelink_edge::Reason;
use oncelink_fuzz::form_escape;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(pw) = text.strip_prefix('\u{1}') {
        // Round trip: what a browser sends for this password.
        let body = format!("a=1&password={}&b=2", form_escape(pw));
        let got = password(Some(&body));
        match (pw.len(), body.len()) {
            (_, b) if b > MAX_FORM_BYTES => assert_eq!(got, Err(Reason::BadForm)),
            (0, _) => assert_eq!(got, Ok(None)),
            (n, _) if n > MAX_PASSWORD_BYTES => assert_eq!(got, Err(Reason::BadForm)),
            _ => assert_eq!(got.as_ref().map(|p| p.as_deref()), Ok(Some(pw)), "{body:?}"),
        }
        return;
    }
    match password(Some(&text)) {
        Ok(Some(p)) => assert!(!p.is_empty() && p.len() <= MAX_PASSWORD_BYTES && text.len() <= MAX_FORM_BYTES),
        Ok(None) => assert!(text.len() <= MAX_FORM_BYTES),
        Err(e) => assert_eq!(e, Reason::BadForm),
    }
});
