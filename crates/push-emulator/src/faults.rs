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
    /// Items that processing rejects although the write was accepted (see [`RejectRule`]).
    pub reject_items: Vec<RejectRule>,
}

/// Makes processing reject matching items, as the real pipeline does for content it cannot
/// index: the write is accepted (202) as usual, then the item is not stored and the Source
/// Logs record it `REJECTED` at the `PROCESSING` task with `reason` as its error. Lets a client
/// test that it learns a rejection from the Source Logs (a client's own checks usually keep
/// the other rejection cases from ever being sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RejectRule {
    /// A documentId matches when it contains this text (an extension such as `.bin`, a
    /// folder, a whole id); an empty text matches every item.
    pub document_id_contains: String,
    /// The error the Source Logs give.
    pub reason: String,
}

impl Faults {
    /// Why processing rejects `document_id`: the reason of the first [`RejectRule`] that
    /// matches it, if any.
    pub fn rejection(&self, document_id: &str) -> Option<&str> {
        self.reject_items
            .iter()
            .find(|r| document_id.contains(r.document_id_contains.as_str()))
            .map(|r| r.reason.as_str())
    }
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

    #[test]
    fn reject_rules_match_by_documentid_text_first_rule_first() {
        let faults: Faults = serde_json::from_value(serde_json::json!({
            "rejectItems": [
                {"documentIdContains": ".bin", "reason": "binary content is not indexed"},
                {"documentIdContains": "/drafts/", "reason": "drafts are refused"}
            ]
        }))
        .unwrap();
        assert_eq!(
            faults.rejection("file:///r/drafts/a.bin"),
            Some("binary content is not indexed")
        );
        assert_eq!(
            faults.rejection("file:///r/drafts/a.txt"),
            Some("drafts are refused")
        );
        assert_eq!(faults.rejection("file:///r/a.txt"), None);
        assert_eq!(Faults::default().rejection("file:///r/a.bin"), None);
    }
}
