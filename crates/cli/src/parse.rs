//! Small parsers for command-line values: dates, identities, `KEY=VALUE` metadata.

use permissions::{IdentityType, PermissionIdentity};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::exit::CliError;

/// An instant as epoch milliseconds, from `2024-01-31` (midnight UTC), an RFC 3339 date-time
/// (`2024-01-31T12:00:00Z`), or epoch milliseconds (`1706659200000`) — what Coveo's CLI takes.
pub fn epoch_ms(text: &str) -> Result<u64, CliError> {
    let text = text.trim();
    let bad = || {
        CliError::usage(
            "invalid_date",
            format!("{text:?} is not a date; write 2024-01-31, 2024-01-31T12:00:00Z, or epoch milliseconds like 1706659200000"),
        )
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().map_err(|_| bad());
    }
    let instant = if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        date.midnight().assume_utc()
    } else {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?
    };
    let ms = instant.unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms).map_err(|_| bad())
}

/// An RFC 3339 date-time, a plain date, or epoch milliseconds, as a date-time.
pub fn date_time(text: &str) -> Option<OffsetDateTime> {
    let ms = epoch_ms(text).ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// `user:NAME`, `group:NAME`, `virtual-group:NAME` (any spelling Coveo accepts before the
/// colon), or a plain `NAME` for a user.
pub fn identity(text: &str) -> Result<(String, IdentityType), CliError> {
    let text = text.trim();
    if let Some((kind, name)) = text.split_once(':') {
        if let Some(ty) = IdentityType::parse(kind) {
            let name = name.trim();
            if name.is_empty() {
                return Err(CliError::usage(
                    "invalid_identity",
                    format!("{text:?} names no identity; write {kind}:NAME"),
                ));
            }
            return Ok((name.to_string(), ty));
        }
    }
    if text.is_empty() {
        return Err(CliError::usage(
            "invalid_identity",
            "an identity is empty; write user:NAME or group:NAME",
        ));
    }
    Ok((text.to_string(), IdentityType::User))
}

pub fn permission_identity(text: &str) -> Result<PermissionIdentity, CliError> {
    let (name, ty) = identity(text)?;
    Ok(PermissionIdentity::new(name, ty))
}

/// `KEY=VALUE` with a valid Coveo field name as KEY.
pub fn metadata(text: &str) -> Result<(String, String), CliError> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(CliError::usage(
            "invalid_metadata",
            format!("--meta {text:?} has no `=`; write --meta KEY=VALUE"),
        ));
    };
    let key = key.trim().to_ascii_lowercase();
    if !coveo_push::is_valid_field_name(&key) {
        return Err(CliError::usage(
            "invalid_metadata",
            format!("--meta {text:?}: {key:?} is not a valid field name; use a lowercase letter then letters, digits or _"),
        ));
    }
    Ok((key, value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_three_spellings() {
        assert_eq!(epoch_ms("1706659200000").unwrap(), 1_706_659_200_000);
        assert_eq!(epoch_ms("2024-01-31").unwrap(), 1_706_659_200_000);
        assert_eq!(epoch_ms("2024-01-31T00:00:00Z").unwrap(), 1_706_659_200_000);
        assert_eq!(
            epoch_ms("2024-01-31T01:00:00+01:00").unwrap(),
            1_706_659_200_000
        );
        assert!(epoch_ms("yesterday").is_err());
        assert!(epoch_ms("").is_err());
        assert!(epoch_ms("1969-01-01").is_err());
    }

    #[test]
    fn identities_with_and_without_kind() {
        assert_eq!(
            identity("group:HR").unwrap(),
            ("HR".into(), IdentityType::Group)
        );
        assert_eq!(
            identity("VIRTUAL_GROUP:x").unwrap(),
            ("x".into(), IdentityType::VirtualGroup)
        );
        assert_eq!(
            identity("ann@example.com").unwrap(),
            ("ann@example.com".into(), IdentityType::User)
        );
        assert_eq!(
            identity("weird:name").unwrap(),
            ("weird:name".into(), IdentityType::User)
        );
        assert!(identity("group:").is_err());
    }

    #[test]
    fn metadata_pairs() {
        assert_eq!(metadata("Dept=HR").unwrap(), ("dept".into(), "HR".into()));
        assert!(metadata("nokey").is_err());
        assert!(metadata("1x=a").is_err());
    }
}
