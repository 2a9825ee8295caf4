//! Fault injection, deterministic from a seed: the same seed and the same sequence of requests
//! give the same faults, so a reliability test that fails can be replayed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The faults to inject. Every share is a probability in `0.0..=1.0`; zero disables it.
/// Set through [`crate::EmulatorConfig::faults`], `POST /_emulator/v1/faults`, or the
/// `--fault-*` flags. Shares apply to Push API requests (`/push/v1/...`); `upload_failure_share`
/// applies to uploads into file containers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Seed of the random draws.
    pub seed: u64,
    /// Share of requests answered `429 TOO_MANY_REQUESTS` with `Retry-After`.
    pub throttle_share: f64,
    /// The `Retry-After` value, in seconds, of injected 429 answers.
    pub retry_after_seconds: u64,
    /// Chance that a request starts a burst of server errors.
    pub error_burst_share: f64,
    /// How many consecutive requests a burst answers with `error_status`.
    pub error_burst_length: u32,
    /// The status of burst answers (500, 502, 503 or 504; default 503).
    pub error_status: Option<u16>,
    /// Added latency before every Push API answer, in milliseconds.
    pub latency_ms: u64,
    /// Share of requests whose connection is dropped before any answer is written.
    pub drop_share: f64,
    /// Share of file container uploads answered `500 InternalError` (the content is not kept).
    pub upload_failure_share: f64,
    /// Items processed per UTC day, per organization; once reached, item writes answer
    /// `429 TOO_MANY_DOCUMENTS_DAILY` until midnight UTC.
    pub daily_item_quota: Option<u64>,
    /// Items a source may hold; once reached, item writes answer `412 DOCUMENT_LIMIT_EXCEEDED`.
    pub item_limit: Option<u64>,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultDecision {
    Pass,
    Throttle { retry_after: u64 },
    ServerError { status: u16 },
    Drop,
}

/// The faults plus the state of their random draws.
#[derive(Debug)]
pub struct FaultState {
    pub faults: Faults,
    rng: StdRng,
    burst_left: u32,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        let rng = StdRng::seed_from_u64(faults.seed);
        Self {
            faults,
            rng,
            burst_left: 0,
        }
    }

    /// Draws the fate of one Push API request. Each request consumes the same number of
    /// draws whatever the outcome, so the sequence depends only on the seed and the count.
    pub fn decide(&mut self) -> FaultDecision {
        let f = &self.faults;
        let (d_burst, d_throttle, d_drop): (f64, f64, f64) =
            (self.rng.gen(), self.rng.gen(), self.rng.gen());
        let status = f.error_status.unwrap_or(503);
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return FaultDecision::ServerError { status };
        }
        if f.error_burst_share > 0.0 && d_burst < f.error_burst_share && f.error_burst_length > 0 {
            self.burst_left = f.error_burst_length - 1;
            return FaultDecision::ServerError { status };
        }
        if f.throttle_share > 0.0 && d_throttle < f.throttle_share {
            return FaultDecision::Throttle {
                retry_after: f.retry_after_seconds,
            };
        }
        if f.drop_share > 0.0 && d_drop < f.drop_share {
            return FaultDecision::Drop;
        }
        FaultDecision::Pass
    }

    /// Whether this upload fails.
    pub fn upload_fails(&mut self) -> bool {
        let d: f64 = self.rng.gen();
        self.faults.upload_failure_share > 0.0 && d < self.faults.upload_failure_share
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let faults = Faults {
            seed: 7,
            throttle_share: 0.3,
            error_burst_share: 0.1,
            error_burst_length: 3,
            ..Faults::default()
        };
        let run = |f: &Faults| {
            let mut s = FaultState::new(f.clone());
            (0..200).map(|_| s.decide()).collect::<Vec<_>>()
        };
        let a = run(&faults);
        assert_eq!(a, run(&faults));
        assert!(a
            .iter()
            .any(|d| matches!(d, FaultDecision::Throttle { .. })));
        assert!(a
            .iter()
            .any(|d| matches!(d, FaultDecision::ServerError { .. })));
        assert!(run(&Faults::default())
            .iter()
            .all(|d| *d == FaultDecision::Pass));
    }
}
