//! The emulator's clock: wall time plus an offset that tests (and the inspection API) can
//! advance, so container expiry and the `queueDelay` of delete-older-than can be observed
//! without waiting for minutes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as the Push API counts orderingIds.
pub type Millis = i64;

/// A cloneable clock; clones share the same offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

#[derive(Debug, Default)]
struct ClockInner {
    /// `Some(ms)` for a frozen clock that starts at `ms` and moves only when advanced.
    frozen_at: Option<Millis>,
    offset_ms: AtomicI64,
}

impl Clock {
    /// The system clock (plus whatever [`Clock::advance`] adds).
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock frozen at `start_ms` that only moves through [`Clock::advance`].
    pub fn frozen(start_ms: Millis) -> Self {
        Self {
            inner: Arc::new(ClockInner {
                frozen_at: Some(start_ms),
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> Millis {
        let base = match self.inner.frozen_at {
            Some(ms) => ms,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as Millis)
                .unwrap_or(0),
        };
        base + self.inner.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward (container expiry, scheduled delete-older-than).
    pub fn advance(&self, by: Duration) {
        self.inner
            .offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

/// Formats epoch milliseconds as an RFC 3339 / W3C date-time (`2018-05-22T23:35:59.825Z`).
pub fn format_ms(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            t.format(&fmt).unwrap_or_else(|_| ms.to_string())
        }
        Err(_) => ms.to_string(),
    }
}

/// Formats epoch milliseconds as an HTTP-date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`),
/// the form of the `Date` header.
pub fn format_http_date(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let fmt = time::macros::format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            );
            t.format(&fmt).unwrap_or_else(|_| ms.to_string())
        }
        Err(_) => ms.to_string(),
    }
}

/// Parses an RFC 3339 date-time into epoch milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<Millis> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as Millis)
}
