//! Retry policy: which failures are retried, how long to wait, and the two seams (clock and
//! jitter) that make the waits exact in tests.
//!
//! Retried: 429 (waiting what `Retry-After` says when present), 5xx, 408, timeouts and dropped
//! or refused connections. Waits between attempts use exponential backoff with full jitter
//! (a uniform draw in `[0, min(max_backoff, initial * 2^n)]`), so many clients throttled at
//! once do not come back in lockstep. Attempts and total elapsed time are both bounded.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// First backoff bound. One second: long enough for a transient 503 to clear, short enough
/// that a single blip costs little.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Largest single backoff bound (without Retry-After). A minute keeps a long outage from
/// turning into hour-long silent waits.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Attempts per request, the first included. Eight attempts with the bounds above span about
/// two minutes of backoff on average: enough to ride out a deploy or a throttling burst.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Total time budget per request, waits included. A `Retry-After` longer than what remains is
/// not waited for: the request fails with `Throttled { retry_after }` so the caller can decide.
pub const DEFAULT_MAX_ELAPSED: Duration = Duration::from_secs(15 * 60);

/// The passage of time, as the retry loop sees it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall-clock now (used to read `Retry-After` HTTP dates).
    fn now(&self) -> SystemTime;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock: `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: `sleep` returns at once, advances the clock and records the wait.
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: SystemTime,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        Self {
            state: Arc::new(Mutex::new(ManualState {
                now: start,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Every wait requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state
            .lock()
            .map(|s| s.sleeps.clone())
            .unwrap_or_default()
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.state
            .lock()
            .map(|s| s.now)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        if let Ok(mut s) = self.state.lock() {
            s.now += duration;
            s.sleeps.push(duration);
        }
        Box::pin(std::future::ready(()))
    }
}

/// The random part of backoff: a fraction in `[0, 1]` of the current bound.
pub trait Jitter: Send + Sync + fmt::Debug {
    fn fraction(&self) -> f64;
}

/// Uniform random jitter (thread-local RNG).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn fraction(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// The same fraction every time (tests; `FixedJitter(1.0)` = plain exponential backoff).
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn fraction(&self) -> f64 {
        self.0.clamp(0.0, 1.0)
    }
}

/// How failed requests are retried. Cheap to clone (the seams are shared).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_elapsed: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub clock: Arc<dyn Clock>,
    pub jitter: Arc<dyn Jitter>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_elapsed: DEFAULT_MAX_ELAPSED,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            clock: Arc::new(SystemClock),
            jitter: Arc::new(RandomJitter),
        }
    }
}

impl RetryPolicy {
    /// No retry at all: every failure is returned at once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// The wait before retry number `retry` (0 = the wait after the first failure), without
    /// Retry-After: full jitter over an exponentially growing, capped bound.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        let bound = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        bound.mul_f64(self.jitter.fraction())
    }
}

/// Reads a `Retry-After` header: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let at = SystemTime::from(date);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default().with_jitter(Arc::new(FixedJitter(1.0)));
        let waits: Vec<u64> = (0..9).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        let half = RetryPolicy::default().with_jitter(Arc::new(FixedJitter(0.5)));
        assert_eq!(half.backoff(2), Duration::from_secs(2));
        assert_eq!(half.backoff(100), Duration::from_secs(30));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[tokio::test]
    async fn manual_clock_records_sleeps() {
        let c = ManualClock::new(SystemTime::UNIX_EPOCH);
        c.sleep(Duration::from_secs(3)).await;
        c.sleep(Duration::from_millis(5)).await;
        assert_eq!(
            c.sleeps(),
            vec![Duration::from_secs(3), Duration::from_millis(5)]
        );
        assert_eq!(
            c.now(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(3005)
        );
    }
}
