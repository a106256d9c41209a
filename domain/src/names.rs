//! Names people read — of people, units, heads of household, devices: one line of text. Control
//! characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides are
//! refused: they break CSV and spreadsheet exports, terminals and logs, and can make a name
//! display as something other than what it is. PostgreSQL cannot store NUL at all.

/// Whether `c` may appear inside a name.
pub fn name_char(c: char) -> bool {
    !(c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c))
}

/// The name trimmed, when it is 1 to `max` characters that may appear in a name.
pub fn plain_name(raw: &str, max: usize) -> Option<String> {
    let trimmed = raw.trim();
    let count = trimmed.chars().count();
    ((1..=max).contains(&count) && trimmed.chars().all(name_char)).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_line_of_visible_text() {
        assert_eq!(plain_name("  王 伟 ", 10).as_deref(), Some("王 伟"));
        for bad in [
            "王\0伟",
            "王\u{7}伟",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{2028}b",
            "\u{202E}abc",
            "",
        ] {
            assert_eq!(plain_name(bad, 10), None, "{bad:?}");
        }
        assert_eq!(plain_name(&"长".repeat(11), 10), None);
    }
}
