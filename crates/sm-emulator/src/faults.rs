//! The runtime side of `Behaviour`: the token bucket and the per-rule counters that decide, call by
//! call, whether a fault fires.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::config::{Behaviour, FaultRule, Throttle};
use super::protocol::ApiError;
use super::securityhub::{BATCH_UPDATE_FINDINGS_OPERATION, GET_FINDINGS_OPERATION};

/// The operation name STS calls carry; `*` rules leave it alone so a fault plan aimed at
/// SageMaker does not break the caller-identity check every run starts with.
pub(crate) const STS_OPERATION: &str = "GetCallerIdentity";

/// STS's `AssumeRole`, left alone by `*` rules like `GetCallerIdentity`.
pub(crate) const ASSUME_ROLE_OPERATION: &str = "AssumeRole";

/// Organizations' `ListAccounts`, left alone by `*` rules like the STS operations.
pub(crate) const LIST_ACCOUNTS_OPERATION: &str = "ListAccounts";

/// The operations of other services than SageMaker: a `*` rule matches none of them.
const OTHER_SERVICES_OPERATIONS: [&str; 5] = [
    STS_OPERATION,
    ASSUME_ROLE_OPERATION,
    LIST_ACCOUNTS_OPERATION,
    GET_FINDINGS_OPERATION,
    BATCH_UPDATE_FINDINGS_OPERATION,
];

/// What the fault rules decided for one call.
#[derive(Debug, Default)]
pub(crate) struct FaultDecision {
    /// The sum of the `delay_ms` of every rule that fired.
    pub delay: Duration,
    pub outcome: Option<FaultOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultOutcome {
    Error { error: ApiError, after: bool },
    DropConnection { after: bool },
}

impl FaultOutcome {
    /// Whether the operation runs before the fault is delivered.
    pub(crate) fn after(&self) -> bool {
        match self {
            FaultOutcome::Error { after, .. } | FaultOutcome::DropConnection { after } => *after,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct RuleCounter {
    matched: u32,
    fired: u32,
}

#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    refilled_at: Instant,
}

/// `Behaviour` plus the state its rules accumulate. Replacing the behaviour resets the state.
#[derive(Debug)]
pub(crate) struct BehaviourState {
    behaviour: Behaviour,
    counters: Vec<RuleCounter>,
    /// One bucket per account and region, filled on its first call.
    buckets: HashMap<(String, String), TokenBucket>,
    draws: StdRng,
}

impl BehaviourState {
    pub(crate) fn new(behaviour: Behaviour) -> BehaviourState {
        let counters = vec![RuleCounter::default(); behaviour.faults.len()];
        let draws = match behaviour.fault_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        BehaviourState {
            behaviour,
            counters,
            buckets: HashMap::new(),
            draws,
        }
    }

    pub(crate) fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// The throttle of `account`'s regions: its `account_throttles` entry, else `throttle`.
    fn throttle_of(&self, account: &str) -> Option<Throttle> {
        self.behaviour
            .account_throttles
            .iter()
            .find(|entry| entry.account_id == account)
            .map(|entry| entry.throttle())
            .or_else(|| self.behaviour.throttle.clone())
    }

    /// Takes a token from the account-region's bucket; `false` means the call is throttled.
    pub(crate) fn admit(&mut self, account: &str, region: &str, now: Instant) -> bool {
        let Some(throttle) = self.throttle_of(account) else {
            return true;
        };
        // A bucket starts full at its first call, as one created with the behaviour would be
        // by then (a full bucket does not fill further).
        let bucket = self
            .buckets
            .entry((account.to_owned(), region.to_owned()))
            .or_insert_with(|| TokenBucket {
                tokens: f64::from(throttle.burst),
                refilled_at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.refilled_at);
        bucket.tokens = (bucket.tokens + elapsed.as_secs_f64() * throttle.rate_per_second)
            .min(f64::from(throttle.burst));
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts the call against every matching rule and decides its fate: delays accumulate from
    /// each rule that fires, up to and including the first one with an error or a drop.
    pub(crate) fn decide(
        &mut self,
        operation: &str,
        name: Option<&str>,
        account: &str,
    ) -> FaultDecision {
        let mut decision = FaultDecision::default();
        for (rule, counter) in self.behaviour.faults.iter().zip(&mut self.counters) {
            if !rule_matches(rule, operation, name, account) {
                continue;
            }
            counter.matched = counter.matched.saturating_add(1);
            if decision.outcome.is_some() || !should_fire(rule, counter, &mut self.draws) {
                continue;
            }
            counter.fired = counter.fired.saturating_add(1);
            decision.delay += Duration::from_millis(rule.delay_ms.unwrap_or(0));
            decision.outcome = if rule.drop_connection {
                Some(FaultOutcome::DropConnection { after: rule.after })
            } else {
                rule.error.as_ref().map(|error| FaultOutcome::Error {
                    error: ApiError {
                        status: error.status,
                        code: error.code.clone(),
                        message: error.message.clone(),
                    },
                    after: rule.after,
                })
            };
        }
        decision
    }
}

fn rule_matches(rule: &FaultRule, operation: &str, name: Option<&str>, account: &str) -> bool {
    let operation_matches = if rule.operation == "*" {
        !OTHER_SERVICES_OPERATIONS.contains(&operation)
    } else {
        rule.operation == operation
    };
    let name_matches = match (&rule.name, name) {
        (None, _) => true,
        (Some(pattern), Some(name)) => sm_kinds::glob_match(pattern, name),
        (Some(_), None) => false,
    };
    let account_matches = rule.account_id.as_deref().is_none_or(|id| id == account);
    operation_matches && name_matches && account_matches
}

fn should_fire(rule: &FaultRule, counter: &RuleCounter, draws: &mut StdRng) -> bool {
    let nth_allows = rule.nth.is_none_or(|nth| counter.matched == nth);
    let times_allows = rule.times.is_none_or(|times| counter.fired < times);
    // Draw only when everything else allows, so probability 0/1 never consumes randomness
    // that would change which later calls fire.
    nth_allows
        && times_allows
        && rule
            .probability
            .is_none_or(|probability| draws.random::<f64>() < probability)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AccountThrottle, FaultError, Throttle};

    const A: &str = "111111111111";
    const B: &str = "222222222222";

    fn state(faults: Vec<FaultRule>) -> BehaviourState {
        BehaviourState::new(Behaviour {
            faults,
            ..Behaviour::default()
        })
    }

    fn error_rule(operation: &str) -> FaultRule {
        FaultRule {
            operation: operation.to_owned(),
            error: Some(FaultError::new("InternalFailure")),
            ..FaultRule::default()
        }
    }

    #[test]
    fn nth_fires_on_exactly_that_matching_call() {
        let mut state = state(vec![FaultRule {
            nth: Some(2),
            name: Some("x*".to_owned()),
            ..error_rule("DeleteModelBiasJobDefinition")
        }]);
        let op = "DeleteModelBiasJobDefinition";
        assert!(state.decide(op, Some("y"), A).outcome.is_none());
        assert!(state.decide(op, Some("x1"), A).outcome.is_none());
        assert!(state.decide("ListTags", Some("x1"), A).outcome.is_none());
        assert!(state.decide(op, Some("x2"), A).outcome.is_some());
        assert!(state.decide(op, Some("x3"), A).outcome.is_none());
    }

    #[test]
    fn times_caps_fires_and_the_first_terminal_rule_wins() {
        let delay_only = FaultRule {
            operation: "*".to_owned(),
            delay_ms: Some(7),
            ..FaultRule::default()
        };
        let mut state = state(vec![
            delay_only,
            FaultRule {
                times: Some(1),
                ..error_rule("*")
            },
            FaultRule {
                drop_connection: true,
                ..FaultRule::default()
            },
        ]);
        state.behaviour.faults[2].operation = "*".to_owned();
        let first = state.decide("ListTags", None, A);
        assert_eq!(first.delay, Duration::from_millis(7));
        assert!(matches!(first.outcome, Some(FaultOutcome::Error { .. })));
        let second = state.decide("ListTags", None, A);
        assert_eq!(
            second.outcome,
            Some(FaultOutcome::DropConnection { after: false })
        );
        assert!(state.decide(STS_OPERATION, None, A).outcome.is_none());
    }

    #[test]
    fn probability_zero_never_fires_and_one_always_does() {
        let mut never = state(vec![FaultRule {
            probability: Some(0.0),
            ..error_rule("*")
        }]);
        let mut always = state(vec![FaultRule {
            probability: Some(1.0),
            ..error_rule("*")
        }]);
        for _ in 0..50 {
            assert!(never.decide("ListTags", None, A).outcome.is_none());
            assert!(always.decide("ListTags", None, A).outcome.is_some());
        }
    }

    #[test]
    fn the_bucket_admits_a_burst_then_refills() {
        let mut state = BehaviourState::new(Behaviour {
            throttle: Some(Throttle {
                rate_per_second: 10.0,
                burst: 3,
            }),
            ..Behaviour::default()
        });
        let start = Instant::now();
        assert!((0..3).all(|_| state.admit(A, "us-east-1", start)));
        assert!(!state.admit(A, "us-east-1", start));
        assert!(state.admit(A, "us-east-1", start + Duration::from_millis(150)));
    }

    #[test]
    fn each_account_region_has_its_own_bucket_and_an_account_may_have_its_own_rate() {
        let mut state = BehaviourState::new(Behaviour {
            throttle: Some(Throttle {
                rate_per_second: 10.0,
                burst: 2,
            }),
            account_throttles: vec![AccountThrottle {
                account_id: B.to_owned(),
                rate_per_second: 0.001,
                burst: 1,
            }],
            ..Behaviour::default()
        });
        let now = Instant::now();
        assert!((0..2).all(|_| state.admit(A, "us-east-1", now)));
        assert!(!state.admit(A, "us-east-1", now));
        assert!((0..2).all(|_| state.admit(A, "us-west-2", now)));
        assert!(state.admit(B, "us-east-1", now));
        assert!(!state.admit(B, "us-east-1", now + Duration::from_millis(150)));
        assert!(state.admit(B, "us-west-2", now));
    }

    #[test]
    fn an_account_matcher_limits_a_rule_to_that_account_and_star_spares_other_services() {
        let mut state = state(vec![FaultRule {
            account_id: Some(B.to_owned()),
            ..error_rule("*")
        }]);
        assert!(state.decide("ListTags", None, A).outcome.is_none());
        assert!(state.decide("ListTags", None, B).outcome.is_some());
        for operation in [
            STS_OPERATION,
            ASSUME_ROLE_OPERATION,
            LIST_ACCOUNTS_OPERATION,
            GET_FINDINGS_OPERATION,
            BATCH_UPDATE_FINDINGS_OPERATION,
        ] {
            assert!(state.decide(operation, None, B).outcome.is_none());
        }
    }
}
