//! `Content-Disposition: attachment` from the `fn` claim (RFC 6266 with the
//! RFC 5987 `filename*` form), and the query encoding S3 needs for
//! `response-content-disposition`.

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<encoded>`.
pub fn attachment(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' { c } else { '_' })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{}", encode(name, is_attr_char))
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved).
pub fn query_value(value: &str) -> String {
    encode(value, |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

fn encode(text: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_forms() {
        assert_eq!(
            attachment("Q3 report.pdf"),
            "attachment; filename=\"Q3 report.pdf\"; filename*=UTF-8''Q3%20report.pdf"
        );
        assert_eq!(
            attachment("naïve \"x\".txt"),
            "attachment; filename=\"na_ve _x_.txt\"; filename*=UTF-8''na%C3%AFve%20%22x%22.txt"
        );
        assert_eq!(query_value("a b;c=d"), "a%20b%3Bc%3Dd");
    }
}
