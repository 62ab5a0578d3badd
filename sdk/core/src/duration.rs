//! Durations: `90s`, `15m`, `1h`, `7d`, `2w`, or bare seconds.

/// Longest duration accepted: 10 years.
pub const MAX_SECONDS: i64 = 10 * 366 * 86_400;

/// Parses a duration into seconds; the error says what is wrong.
pub fn parse(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let Ok(value) = digits.parse::<i64>() else {
        return Err(format!("duration {text:?} must be a number with an optional unit s, m, h, d or w (e.g. 1h)"));
    };
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("duration {text:?} has unknown unit {unit:?}; use s, m, h, d or w")),
    };
    match value.checked_mul(scale) {
        Some(secs) if secs > 0 && secs <= MAX_SECONDS => Ok(secs),
        _ => Err(format!("duration {text:?} must be more than 0 and at most 10 years")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_units_and_refuses_the_rest() {
        assert_eq!(super::parse("90").unwrap(), 90);
        assert_eq!(super::parse("15m").unwrap(), 900);
        assert_eq!(super::parse("7d").unwrap(), 604_800);
        for bad in ["", "h", "1y", "-1h", "0s", "1.5h", "99999999999w"] {
            assert!(super::parse(bad).is_err(), "{bad}");
        }
    }
}
