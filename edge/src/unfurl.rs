//! Known link unfurlers, chat previews, mail scanners and crawlers, from the
//! data file `edge/data/unfurlers.txt` (one User-Agent substring per line).

/// The list, embedded at build time.
const LIST: &str = include_str!("../data/unfurlers.txt");

/// Bytes of a User-Agent examined; anything beyond is ignored.
const MAX_UA: usize = 1024;

/// The list's entries (comments and blank lines dropped). An entry that
/// starts with `^` matches only at the start of the User-Agent.
pub fn entries() -> impl Iterator<Item = &'static str> {
    LIST.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Whether `user_agent` names a known unfurler: an entry found in its first
/// [`MAX_UA`] bytes, ASCII case-insensitively.
pub fn is_unfurler(user_agent: &str) -> bool {
    let ua = &user_agent.as_bytes()[..user_agent.len().min(MAX_UA)];
    entries().any(|entry| match entry.strip_prefix('^') {
        Some(prefix) => ua.len() >= prefix.len() && ua[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes()),
        None => ua.windows(entry.len()).any(|w| w.eq_ignore_ascii_case(entry.as_bytes())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_common_fetchers_and_not_browsers() {
        for ua in [
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "WhatsApp/2.23.20.0 A",
            "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)",
            "TelegramBot (like TwitterBot)",
            "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        ] {
            assert!(is_unfurler(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "curl/8.5.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) WhatsApp/2.2447.1 Chrome/128.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Mastodon/4.3 Mobile Safari/537.36",
            "Wget/1.21.3",
            "",
        ] {
            assert!(!is_unfurler(ua), "{ua}");
        }
    }

    #[test]
    fn only_the_first_kilobyte_is_read_whatever_its_characters() {
        let late = format!("{}Slackbot", "a".repeat(MAX_UA));
        assert!(!is_unfurler(&late));
        let multibyte = format!("{}é{}Slackbot", "a".repeat(MAX_UA - 1), "b".repeat(100));
        assert!(!is_unfurler(&multibyte), "a cut inside a character must not widen the window");
        assert!(is_unfurler(&format!("{}Slackbot", "é".repeat(400))));
    }

    #[test]
    fn the_list_has_no_entry_a_browser_could_carry() {
        let n = entries().count();
        assert!(n >= 30, "only {n} entries");
        for entry in entries() {
            assert!(entry.trim_start_matches('^').len() >= 4, "entry {entry:?} is too short to be specific");
            let lower = entry.to_ascii_lowercase();
            for generic in ["mozilla", "chrome", "safari", "applewebkit", "gecko", "mobile"] {
                assert!(!generic.contains(&lower), "entry {entry:?} would match browsers");
            }
        }
    }
}
