//! The download page's form body (`application/x-www-form-urlencoded`).

use crate::error::Reason;
use crate::request::MAX_FORM_BYTES;

/// Longest password accepted, bytes of UTF-8.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// The `password` field of a form body: `Ok(None)` when absent or empty,
/// `bad_form` when the body is too long, a field is badly escaped, not
/// UTF-8, or the password is longer than [`MAX_PASSWORD_BYTES`].
pub fn password(body: Option<&str>) -> Result<Option<String>, Reason> {
    let body = body.unwrap_or("");
    if body.len() > MAX_FORM_BYTES {
        return Err(Reason::BadForm);
    }
    match field(body, "password")? {
        Some(p) if p.len() > MAX_PASSWORD_BYTES => Err(Reason::BadForm),
        Some(p) if !p.is_empty() => Ok(Some(p)),
        _ => Ok(None),
    }
}

/// Field `name` of a form body, decoded: `Ok(None)` when absent; `bad_form`
/// when any field's name or this field's value is badly escaped or not UTF-8,
/// or the field is given twice. The caller bounds the body's length.
pub fn field(body: &str, name: &str) -> Result<Option<String>, Reason> {
    let mut found = None;
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(key)? == name {
            if found.is_some() {
                return Err(Reason::BadForm);
            }
            found = Some(decode(value)?);
        }
    }
    Ok(found)
}

/// Form decoding: `+` is a space, `%XX` a byte; the result must be UTF-8.
fn decode(text: &str) -> Result<String, Reason> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(Reason::BadForm);
                };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Reason::BadForm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_password_field() {
        assert_eq!(password(Some("password=s%C3%A9same+ouvre")), Ok(Some("sésame ouvre".into())));
        assert_eq!(password(Some("a=1&password=x&b")), Ok(Some("x".into())));
        assert_eq!(password(Some("password=")), Ok(None));
        assert_eq!(password(Some("")), Ok(None));
        assert_eq!(password(None), Ok(None));
        assert_eq!(password(Some("password=%zz")), Err(Reason::BadForm));
        assert_eq!(password(Some("password=%C3")), Err(Reason::BadForm));
        assert_eq!(password(Some("password=a&password=b")), Err(Reason::BadForm));
        let long = format!("password={}", "a".repeat(MAX_PASSWORD_BYTES + 1));
        assert_eq!(password(Some(&long)), Err(Reason::BadForm));
        let huge = "x".repeat(MAX_FORM_BYTES + 1);
        assert_eq!(password(Some(&huge)), Err(Reason::BadForm));
    }

    #[test]
    fn reads_any_field_by_name() {
        assert_eq!(field("a=1&key=olk_%41b+c", "key"), Ok(Some("olk_Ab c".into())));
        assert_eq!(field("key=", "key"), Ok(Some(String::new())));
        assert_eq!(field("other=1", "key"), Ok(None));
        assert_eq!(field("key=%4", "key"), Err(Reason::BadForm));
        assert_eq!(field("key=a&key=b", "key"), Err(Reason::BadForm));
    }
}
