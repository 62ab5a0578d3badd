//! The pages the edge writes itself: the download page of page mode, the
//! preview for link unfurlers, and the frame every refusal page shares.
//! Plain HTML, no script, no external asset, a few kilobytes at most.

use crate::error::Reason;
use crate::json::{set, JsonError, ObjectWriter, Reader};

/// Content-Security-Policy of pages that carry the download form.
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the download page shows. Every field is optional knowledge: the
/// page leaves out what the host and store did not know.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageView {
    /// File name shown (the `fn` claim, else the path's last segment).
    pub name: String,
    /// File size in bytes, when the host knew it.
    pub size: Option<u64>,
    /// Link expiry, Unix seconds.
    pub exp: i64,
    /// Downloads left, when the store was read.
    pub uses_left: Option<u32>,
    /// Whether the form asks for a password.
    pub password: bool,
    /// Password attempts left before the link locks, when some failed.
    pub attempts_left: Option<u32>,
}

impl PageView {
    /// The view as serde_json writes it (`crate::json::ObjectWriter`).
    pub(crate) fn to_json(&self) -> String {
        ObjectWriter::new()
            .str("name", &self.name)
            .uint_or_null("size", self.size)
            .int("exp", self.exp)
            .uint_or_null("uses_left", self.uses_left.map(u64::from))
            .bool("password", self.password)
            .uint_or_null("attempts_left", self.attempts_left.map(u64::from))
            .finish()
    }

    /// Reads a view as serde_json reads it into [`PageView`], without
    /// serde's generic deserializer (`crate::json`).
    pub(crate) fn read(r: &mut Reader) -> Result<PageView, JsonError> {
        r.begin_object()?;
        let (mut name, mut size, mut exp, mut uses_left, mut password, mut attempts_left) =
            (None, None, None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "name" => set(&mut name, r.string()?)?,
                "size" => set(&mut size, r.nullable(Reader::u64)?)?,
                "exp" => set(&mut exp, r.i64()?)?,
                "uses_left" => set(&mut uses_left, r.nullable(Reader::u32)?)?,
                "password" => set(&mut password, r.boolean()?)?,
                "attempts_left" => set(&mut attempts_left, r.nullable(Reader::u32)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        let (Some(name), Some(exp), Some(password)) = (name, exp, password) else {
            return Err(JsonError::MissingField);
        };
        Ok(PageView {
            name,
            size: size.flatten(),
            exp,
            uses_left: uses_left.flatten(),
            password,
            attempts_left: attempts_left.flatten(),
        })
    }
}

/// Style of every page; refusal pages use only this (and are byte-for-byte
/// what the CloudFront Function writes too).
const BASE_STYLE: &str =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}code{color:#555}";
/// What the download page adds.
const PAGE_STYLE: &str = "dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#555}dd{margin:0}\
.file{font-size:1.25rem;font-weight:600;overflow-wrap:anywhere}.note{color:#555}.error{color:#a00}\
label{display:block;margin:.5rem 0 .25rem}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}\
button{font:inherit;margin-top:1rem;padding:.6rem 1.6rem;border:0;border-radius:.3rem;background:#1a5fb4;color:#fff;cursor:pointer}";

/// A complete HTML document around `inner`.
fn document(title: &str, extra_style: &str, inner: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
<style>{BASE_STYLE}{extra_style}</style></head><body>{inner}</body></html>",
        escape(title)
    )
}

/// The download page, with `reason`'s message (`page`, or a page shown
/// again after `password_required`, `wrong_password`, `pass_expired`,
/// `pass_invalid`).
pub fn download_html(reason: Reason, view: &PageView) -> String {
    let mut inner = format!("<h1>Download</h1><p class=\"file\">{}</p><dl>", escape(&view.name));
    if let Some(size) = view.size {
        inner.push_str(&format!("<dt>Size</dt><dd>{}</dd>", human_size(size)));
    }
    inner.push_str(&format!("<dt>Expires</dt><dd>{}</dd>", utc(view.exp)));
    if let Some(left) = view.uses_left {
        let s = if left == 1 { "" } else { "s" };
        inner.push_str(&format!("<dt>Downloads left</dt><dd>{left} download{s}</dd>"));
    }
    inner.push_str("</dl>");
    let class = if reason == Reason::Page { "note" } else { "error" };
    inner.push_str(&format!("<p class=\"{class}\" role=\"status\">{}", reason.message()));
    if let Some(left) = view.attempts_left {
        let s = if left == 1 { "" } else { "s" };
        inner.push_str(&format!(" {left} attempt{s} left before the link locks."));
    }
    inner.push_str("</p><form method=\"post\">");
    if view.password {
        inner.push_str(
            "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" \
type=\"password\" required autocomplete=\"off\" autofocus>",
        );
    }
    inner.push_str("<button type=\"submit\">Download</button></form>");
    document(&format!("Download {}", view.name), PAGE_STYLE, &inner)
}

/// The page link unfurlers get: says nothing about the file.
pub fn preview_html() -> String {
    document(
        "Private download link",
        "",
        &format!("<h1>Private download link</h1><p>{}</p>", Reason::Preview.message()),
    )
}

/// A refusal page.
pub fn refusal_html(reason: Reason) -> String {
    refusal_html_saying(reason, reason.message())
}

/// A refusal page with its own message (`too_many_attempts` says when).
pub fn refusal_html_saying(reason: Reason, message: &str) -> String {
    let (status, code) = (reason.status(), reason.code());
    let title = match status {
        400 => "Request not understood",
        404 => "File not found",
        410 => "Link no longer available",
        429 => "Too many requests",
        502 | 503 => "Try again shortly",
        _ => "Link not valid",
    };
    document(title, "", &format!("<h1>{title}</h1><p>{message}</p><p><code>{status} · {code}</code></p>"))
}

/// Longest file name a page shows, in characters.
pub const MAX_SHOWN_NAME: usize = 255;

/// A file name as a page shows it: bidirectional-override and isolate
/// controls removed (they can make `exe.pdf` read as `fdp.exe`), and at most
/// [`MAX_SHOWN_NAME`] characters (a path segment under a prefix grant can be
/// far longer), cut with an ellipsis.
pub fn display_name(name: &str) -> String {
    let bidi = |c: &char| matches!(*c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let clean: Vec<char> = name.chars().filter(|c| !bidi(c)).collect();
    if clean.len() <= MAX_SHOWN_NAME {
        return clean.into_iter().collect();
    }
    let mut cut: String = clean[..MAX_SHOWN_NAME - 1].iter().collect();
    cut.push('…');
    cut
}

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1536` -> `1.5 KB (1,536 bytes)`, in integer arithmetic.
pub fn human_size(bytes: u64) -> String {
    let grouped = group_digits(bytes);
    let units = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        let s = if bytes == 1 { "" } else { "s" };
        return format!("{grouped} byte{s}");
    }
    let (mut unit, mut scale) = (0, 1000u64);
    while unit + 1 < units.len() && bytes / scale >= 1000 {
        unit += 1;
        scale *= 1000;
    }
    let step = scale / 10;
    let tenths = bytes / step + u64::from(bytes % step >= step / 2);
    format!("{}.{} {} ({grouped} bytes)", tenths / 10, tenths % 10, units[unit])
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Unix seconds as `2026-01-01 00:00 UTC` (proleptic Gregorian).
pub fn utc(secs: i64) -> String {
    let (year, month, day, hour, minute, _) = crate::time::civil(secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_sizes_and_escapes() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_767_225_600), "2026-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3661), "2000-02-29 01:01 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59 UTC");
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1536), "1.5 KB (1,536 bytes)");
        assert_eq!(human_size(3_221_225_472), "3.2 GB (3,221,225,472 bytes)");
        assert_eq!(human_size(999_960), "1000.0 KB (999,960 bytes)");
        assert_eq!(human_size(1_049), "1.0 KB (1,049 bytes)");
        assert_eq!(human_size(1_050), "1.1 KB (1,050 bytes)");
        assert_eq!(human_size(u64::MAX), "18446.7 PB (18,446,744,073,709,551,615 bytes)");
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(display_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(display_name(&"é".repeat(300)).chars().count(), MAX_SHOWN_NAME);
        assert!(display_name(&"x".repeat(300)).ends_with('…'));
        let worst = PageView { name: display_name(&"'".repeat(7000)), ..PageView::default() };
        assert!(download_html(Reason::Page, &worst).len() < 8192, "a long name cannot blow the 40 KB limit");
    }

    #[test]
    fn the_download_page_shows_what_it_knows_and_escapes_the_name() {
        let view = PageView {
            name: "Q3 <report>.pdf".into(),
            size: Some(2048),
            exp: 1_767_225_600,
            uses_left: Some(1),
            password: true,
            attempts_left: Some(2),
        };
        let html = download_html(Reason::WrongPassword, &view);
        assert!(html.contains("Q3 &lt;report&gt;.pdf"), "{html}");
        assert!(!html.contains("<report>"));
        assert!(html.contains("2.0 KB (2,048 bytes)"));
        assert!(html.contains("2026-01-01 00:00 UTC"));
        assert!(html.contains("1 download<"));
        assert!(html.contains("name=\"password\""));
        assert!(html.contains("2 attempts left"));
        assert!(html.contains("method=\"post\""));
        assert!(!html.contains("<script"));
        let plain = download_html(Reason::Page, &PageView { name: "a.txt".into(), exp: 0, ..PageView::default() });
        assert!(!plain.contains("password") && !plain.contains("Size") && !plain.contains("Downloads left"));
        assert!(plain.len() < 4096, "{} bytes", plain.len());
        assert!(!preview_html().contains("a.txt"));
    }
}
