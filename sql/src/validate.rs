//! Rules for values that come from outside: each check names the field and the rule.

use crate::StoreError;

/// A name for users, nodes, VMs, pools: 1–64 characters of letters, digits, `.`, `_`, `-`,
/// starting with a letter or digit.
pub(crate) fn name(field: &str, value: &str) -> Result<(), StoreError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got {:?}",
                shown(value)
            ),
        ))
    }
}

/// Free text with a length bound and no control characters other than newline and tab.
/// A UUID in its 8-4-4-4-12 hex form.
pub(crate) fn uuid(field: &str, value: &str) -> Result<(), StoreError> {
    let groups: Vec<&str> = value.split('-').collect();
    let ok = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.chars().all(|c| c.is_ascii_hexdigit())
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("must be a UUID; got {:?}", shown(value)),
        ))
    }
}

pub(crate) fn text(field: &str, value: &str, max_len: usize) -> Result<(), StoreError> {
    if value.len() > max_len {
        return Err(StoreError::invalid(
            field,
            format!("must be at most {max_len} bytes long"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(StoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A one-line value (host name, URI, path): 1–`max_len` bytes, no whitespace.
pub(crate) fn token(field: &str, value: &str, max_len: usize) -> Result<(), StoreError> {
    if value.is_empty()
        || value.len() > max_len
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(StoreError::invalid(
            field,
            format!("must be 1-{max_len} bytes without spaces or control characters"),
        ));
    }
    Ok(())
}

/// An e-mail address, or empty for none.
pub(crate) fn email(field: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Ok(());
    }
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(value.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "must be an address like name@example.org, or empty; got {:?}",
                shown(value)
            ),
        ))
    }
}

/// A language tag in its one stored form, `ll` or `ll-CC` (`en`, `pt-BR`). Accepted as
/// BCP 47 (`pt-BR`, `en-us`) or POSIX (`pt_BR`, `en_US.UTF-8`, `de_DE@euro`: the
/// encoding and modifier are dropped), in any case.
pub(crate) fn language(field: &str, value: &str) -> Result<String, StoreError> {
    let posix_core = value.split(['.', '@']).next().unwrap_or_default();
    let (lang, country) = match posix_core.split_once(['-', '_']) {
        Some((lang, country)) => (lang, Some(country)),
        None => (posix_core, None),
    };
    let letters = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_alphabetic());
    if letters(lang) && country.is_none_or(letters) {
        let lang = lang.to_ascii_lowercase();
        Ok(match country {
            Some(country) => format!("{lang}-{}", country.to_ascii_uppercase()),
            None => lang,
        })
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "must be a language tag like 'en', 'pt-BR' or 'pt_BR'; got {:?}",
                shown(value)
            ),
        ))
    }
}

/// A password: 8–1024 bytes.
pub(crate) fn password(field: &str, value: &str) -> Result<(), StoreError> {
    if value.len() < 8 {
        return Err(StoreError::invalid(
            field,
            "must be at least 8 characters long",
        ));
    }
    if value.len() > 1024 {
        return Err(StoreError::invalid(
            field,
            "must be at most 1024 bytes long",
        ));
    }
    Ok(())
}

/// An integer within `min..=max`.
pub(crate) fn range<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), StoreError> {
    if value < min || value > max {
        return Err(StoreError::invalid(
            field,
            format!("must be between {min} and {max}; got {value}"),
        ));
    }
    Ok(())
}

/// A Unix time as `2026-12-01T10:00:00Z`, for messages and the audit log.
pub(crate) fn utc(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// How much of a caller's value a message quotes.
const SHOWN_CHARS: usize = 100;

/// A caller's value as messages quote it: `Debug` prints it quoted and cut to 100
/// characters, so a fault never echoes a huge value back.
pub(crate) struct Shown<'a>(&'a str);

/// Quote `value` in a message (see [`Shown`]).
pub(crate) fn shown(value: &str) -> Shown<'_> {
    Shown(value)
}

impl std::fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) => write!(
                f,
                "{:?}… ({} characters)",
                &self.0[..cut],
                self.0.chars().count()
            ),
            None => write!(f, "{:?}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_take_one_form() {
        for (given, stored) in [
            ("en", "en"),
            ("EN", "en"),
            ("en_US", "en-US"),
            ("en-us", "en-US"),
            ("pt_BR.UTF-8", "pt-BR"),
            ("de_DE@euro", "de-DE"),
        ] {
            assert_eq!(language("language", given).unwrap(), stored, "{given}");
        }
        for bad in ["", "e", "eng", "en-", "en_USA", "en-U1", "12", "en US"] {
            assert!(language("language", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        assert!(name("n", "web-01.example").is_ok());
        assert!(name("n", "").is_err());
        assert!(name("n", "-x").is_err());
        assert!(name("n", "a b").is_err());
        assert!(name("n", &"a".repeat(65)).is_err());
    }

    #[test]
    fn emails_and_languages() {
        assert!(email("e", "").is_ok());
        assert!(email("e", "ops@example.org").is_ok());
        assert!(email("e", "ops@localhost").is_err());
        assert!(email("e", "a b@example.org").is_err());
        assert!(language("l", "pt-BR").is_ok());
        assert!(language("l", "english").is_err());
    }
}
