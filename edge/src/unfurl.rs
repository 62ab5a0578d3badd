//! Known link unfurlers, chat previews, mail scanners and crawlers, from the
//! data file `edge/data/unfurlers.txt` (one User-Agent substring per line).

use std::sync::OnceLock;

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
    let index = INDEX.get_or_init(Index::new);
    let at = |i: usize, entry: &str| {
        ua.len() - i >= entry.len() && ua[i..i + entry.len()].eq_ignore_ascii_case(entry.as_bytes())
    };
    index.anchored.iter().any(|prefix| at(0, prefix))
        || ua
            .iter()
            .enumerate()
            .any(|(i, b)| index.by_first[usize::from(b.to_ascii_lowercase())].iter().any(|e| at(i, e)))
}

/// The entries arranged for one pass over a User-Agent: the anchored ones
/// (without their `^`), and the others by their first byte, lowercased. Each
/// request used to read the list's text again and try every entry at every
/// offset (docs/performance.md, "Issue 18: decide's time and the cold start").
struct Index {
    anchored: Vec<&'static str>,
    by_first: [Vec<&'static str>; 256],
}

static INDEX: OnceLock<Index> = OnceLock::new();

impl Index {
    fn new() -> Index {
        let mut index = Index { anchored: Vec::new(), by_first: std::array::from_fn(|_| Vec::new()) };
        for entry in entries() {
            match entry.strip_prefix('^') {
                Some(prefix) => index.anchored.push(prefix),
                // Not empty: entries() drops blank lines.
                None => index.by_first[usize::from(entry.as_bytes()[0].to_ascii_lowercase())].push(entry),
            }
        }
        index
    }
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

    /// The definition, read straight from the list: what the index must
    /// answer for every User-Agent.
    fn by_definition(user_agent: &str) -> bool {
        let ua = &user_agent.as_bytes()[..user_agent.len().min(MAX_UA)];
        entries().any(|entry| match entry.strip_prefix('^') {
            Some(prefix) => ua.len() >= prefix.len() && ua[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes()),
            None => ua.windows(entry.len()).any(|w| w.eq_ignore_ascii_case(entry.as_bytes())),
        })
    }

    #[test]
    fn the_index_answers_as_the_list_reads_for_every_entry_anywhere_in_any_case() {
        let mut agents = vec![String::new(), "a".into(), "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0".into()];
        for entry in entries() {
            let bare = entry.trim_start_matches('^');
            for e in [bare.to_owned(), bare.to_ascii_lowercase(), bare.to_ascii_uppercase()] {
                let short = &e[..e.len() - 1];
                for ua in [e.clone(), format!("{e} x"), format!("Mozilla/5.0 ({e})"), format!("x{e}"), short.to_owned()]
                {
                    agents.push(ua);
                }
                agents.push(format!("{}{e}", "a".repeat(MAX_UA - e.len())));
                agents.push(format!("{}{e}", "a".repeat(MAX_UA - e.len() + 1)));
            }
        }
        let mut found = 0;
        for ua in &agents {
            assert_eq!(is_unfurler(ua), by_definition(ua), "{ua:?}");
            found += usize::from(is_unfurler(ua));
        }
        // Both answers occur, many times each.
        assert!(found > 100 && agents.len() - found > 100, "{found} of {}", agents.len());
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
