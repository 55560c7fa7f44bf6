//! The client-side rate limit of one SageMaker client, so of one account-region (SageMaker
//! throttles each apart): every call of that client, read or change, waits for its turn here and
//! reports whether the service throttled it. The state lives in the client, never in a static.
//!
//! The limit starts off (no wait at all) and comes on at the first throttle. A throttle cuts the
//! rate by `CUT` (at most once per round of calls: a throttle of a call sent before the last cut
//! is the same congestion, already answered); between throttles the rate grows with the time
//! since the last cut, not with the calls made, like TCP CUBIC: back to the rate it was cut from
//! after `RECOVER`, level around it for a while, then faster and faster. The rate it recovers to
//! is a little under the one that was throttled (CUBIC's fast convergence, always): the level
//! then sits below the service's rate and only the probing beyond it is throttled. Recovering to
//! the throttled rate itself levels off just above the service's rate, where a loop of a look
//! and a change (a delete after its re-check, an update after its poll) is phase-locked so that
//! the change is the throttled call every time: seen as a livelock on an account throttled at 4
//! calls a second (`tests/organization.rs`). Growing by the clock
//! keeps a busy client (a bulk scan) from overshooting by the many calls it makes, and lets a
//! quiet one (a few definitions) recover as fast.
//!
//! Why not the SDK's `adaptive` mode: its limiter charges a retry several tokens from a bucket
//! capped at the rate it measured, so a client making a few calls a second waits seconds per
//! throttled retry and recovers slowly (`examples/bench_throttle.rs`). Why not `standard` mode
//! alone: nothing paces a bulk run, whose calls then run out of attempts and retry quota.
//!
//! A look and the change decided on it are not parted by the queue. The executor looks, then
//! changes on what it saw (a re-check before a delete, a look before a schedule's update), and
//! SageMaker has no conditional change: whatever lands between the two is not seen
//! (`docs/protocol.md`, I3, I5). Queued behind the looks of up to `--concurrency-per-region`
//! other jobs, or behind their changes, the change would widen that window to many slots. So the
//! executor takes the slots of the looks and of the change at once (`Limiter::reserve`, through
//! `SageMaker::together`), in the place of one look in the queue: the window stays a round trip,
//! or one slot when the rate is slower than that. Changes not taken that way still go before the
//! looks waiting (`Call::Change`).
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a throttle leaves of the rate at once.
const CUT: f64 = 0.7;
/// What of the throttled rate it recovers to, after `RECOVER`.
const RECOVER_TO: f64 = (1.0 + CUT) / 2.0;
const RECOVER: Duration = Duration::from_millis(500);
/// The slowest the limit goes: a call every two seconds.
const MIN_RATE: f64 = 0.5;
/// Beyond this the limit no longer matters (and the arithmetic stays finite).
const MAX_RATE: f64 = 10_000.0;
/// The first throttle sets the rate from the calls sent over this long before it (sent, not
/// admitted: the answers of a round sent at once arrive in any order, so the first may be a
/// throttle; too high is harmless, the next rounds' throttles cut it quickly, while too low would
/// take seconds to grow out of)...
const WINDOW: Duration = Duration::from_secs(1);
/// ... measured over at least this long, so a round sent at once does not read as thousands.
const SHORTEST_SPAN: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub struct Limiter {
    /// Looks wait here, one at a time and in order (tokio's mutex is fair), before they wait for
    /// the slot; changes do not, so at most one look is ever ahead of a change.
    looks: tokio::sync::Mutex<()>,
    /// The slot, taken one call at a time and in order; it holds when the last call was sent.
    slot: tokio::sync::Mutex<Option<Instant>>,
    state: Mutex<State>,
}

/// What a call does, for its place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Look,
    Change,
}

#[derive(Debug, Default)]
struct State {
    /// `None` until the first throttle: no limit.
    limit: Option<Limit>,
    /// When recent calls were sent (within `WINDOW`), for the first throttle's estimate; kept
    /// only until then.
    sent: VecDeque<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Limit {
    /// The rate recovered to after `RECOVER`: a little under the one last throttled.
    peak: f64,
    cut_at: Instant,
}

impl Limit {
    /// Calls a second allowed at `now`: `CUT` of the throttled rate right after the cut, `peak`
    /// after `RECOVER`, then growing as the cube of the time since.
    fn rate(&self, now: Instant) -> f64 {
        let k = RECOVER.as_secs_f64();
        let c = (1.0 - CUT / RECOVER_TO) / k.powi(3);
        let t = now.saturating_duration_since(self.cut_at).as_secs_f64();
        (self.peak * (1.0 + c * (t - k).powi(3))).clamp(MIN_RATE, MAX_RATE)
    }
}

impl Limiter {
    /// Waits for this call's turn (at once while there is no limit) and returns when it goes. A
    /// change waits only for the calls already waiting for the slot, not for the queued looks.
    pub async fn turn(&self, call: Call) -> Instant {
        let _queued = match call {
            Call::Look => Some(self.looks.lock().await),
            Call::Change => None,
        };
        let mut last = self.slot.lock().await;
        loop {
            let now = Instant::now();
            let (Some(previous), Some(rate)) = (*last, self.rate(now)) else {
                break;
            };
            let slot = previous + Duration::from_secs_f64(1.0 / rate);
            if slot <= now {
                break;
            }
            // Looked at again after the sleep: a throttle meanwhile may have cut the rate.
            tokio::time::sleep_until(slot.into()).await;
        }
        let now = Instant::now();
        *last = Some(now);
        let mut state = self.state.lock().expect("limiter lock");
        if state.limit.is_none() {
            while state
                .sent
                .front()
                .is_some_and(|t| now.duration_since(*t) > WINDOW)
            {
                state.sent.pop_front();
            }
            state.sent.push_back(now);
        }
        now
    }

    /// Takes the next `calls` slots at once, in the place of a look in the queue, and returns
    /// when each may go (all now while there is no limit). Calls taking their turn afterwards
    /// come after the last of them.
    pub async fn reserve(&self, calls: usize) -> VecDeque<Instant> {
        let _queued = self.looks.lock().await;
        let mut last = self.slot.lock().await;
        let now = Instant::now();
        let mut slots = VecDeque::with_capacity(calls);
        match self.rate(now) {
            None => slots.extend(std::iter::repeat_n(now, calls)),
            Some(rate) => {
                let gap = Duration::from_secs_f64(1.0 / rate);
                let first = last.map_or(now, |previous| (previous + gap).max(now));
                slots.extend((0..calls).map(|n| first + gap * n as u32));
            }
        }
        if let Some(latest) = slots.back() {
            *last = Some(*latest);
        }
        let mut state = self.state.lock().expect("limiter lock");
        if state.limit.is_none() {
            state.sent.extend(slots.iter().copied());
        }
        slots
    }

    /// Whether a throttle has put a limit on.
    pub fn is_on(&self) -> bool {
        self.state.lock().expect("limiter lock").limit.is_some()
    }

    /// Learns from the answer to a call sent at `sent` (as `turn` returned it).
    pub fn answered(&self, sent: Instant, throttled: bool) {
        if !throttled {
            return;
        }
        let mut state = self.state.lock().expect("limiter lock");
        let now = Instant::now();
        let throttled_at = match state.limit {
            // Sent before the last cut: that cut answered it already.
            Some(limit) if sent < limit.cut_at => return,
            Some(limit) => limit.rate(now),
            None => {
                let span = state
                    .sent
                    .front()
                    .map_or(WINDOW, |first| now.duration_since(*first))
                    .clamp(SHORTEST_SPAN, WINDOW);
                let rate = state.sent.len() as f64 / span.as_secs_f64();
                state.sent = VecDeque::new();
                rate
            }
        };
        let throttled_at = throttled_at.max(MIN_RATE / CUT);
        tracing::debug!(
            from = throttled_at,
            to = throttled_at * CUT,
            recovers_to = throttled_at * RECOVER_TO,
            "throttled: the client slows down"
        );
        state.limit = Some(Limit {
            peak: throttled_at * RECOVER_TO,
            cut_at: now,
        });
    }

    #[cfg(test)]
    fn limit(&self) -> Option<Limit> {
        self.state.lock().expect("limiter lock").limit
    }

    /// Calls a second allowed now; `None` when there is no limit.
    fn rate(&self, now: Instant) -> Option<f64> {
        let state = self.state.lock().expect("limiter lock");
        state.limit.map(|limit| limit.rate(now))
    }
}

/// Which of the slots reserved together a call goes in: a look takes the first left but never
/// the last, which is kept for the change the looks decide; the change takes the first left (the
/// looks before it are answered, and a slot they did not need is not waited for).
pub fn take_reserved(slots: &mut VecDeque<Instant>, call: Call) -> Option<Instant> {
    match call {
        Call::Change => slots.pop_front(),
        Call::Look if slots.len() > 1 => slots.pop_front(),
        Call::Look => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_cut_at_a_throttle_and_recovers_with_time() {
        let now = Instant::now();
        // Throttled at 20 a second: 14 at once, 17 after `RECOVER`.
        let limit = Limit {
            peak: 20.0 * RECOVER_TO,
            cut_at: now,
        };
        assert!((limit.rate(now) - 14.0).abs() < 1e-9);
        let at = |ms| limit.rate(now + Duration::from_millis(ms));
        assert!((at(500) - 17.0).abs() < 1e-9, "recovered after RECOVER");
        assert!(at(300) > 16.5 && at(700) < 17.5, "level around it");
        assert!(at(1500) > 40.0, "then faster and faster");
        assert_eq!(at(60_000), MAX_RATE);
    }

    #[tokio::test]
    async fn no_limit_until_a_throttle_then_one_cut_per_round() {
        let limiter = Limiter::default();
        for _ in 0..5 {
            let sent = limiter.turn(Call::Look).await;
            limiter.answered(sent, false);
        }
        assert_eq!(limiter.rate(Instant::now()), None);
        let before = limiter.turn(Call::Look).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        limiter.answered(before, true);
        // Six sent over at least 200 ms: throttled at 30 a second at most.
        let cut = limiter.limit().expect("a limit");
        let throttled_at = cut.peak / RECOVER_TO;
        assert!(
            throttled_at > 0.0 && throttled_at <= 30.0 + 1e-9,
            "{throttled_at}"
        );
        // The other calls of that round, throttled too, do not cut again.
        limiter.answered(before, true);
        assert_eq!(limiter.limit().unwrap().cut_at, cut.cut_at);
        // Calls are spaced by the rate (which only grows between cuts, so the rate now bounds
        // the one the gap was made with), and one sent after the cut and throttled cuts again.
        let first = limiter.turn(Call::Look).await;
        let second = limiter.turn(Call::Look).await;
        let gap = second.duration_since(first).as_secs_f64();
        let rate = limiter.rate(Instant::now()).unwrap();
        assert!(gap >= 0.999 / rate, "{gap} at {rate}");
        limiter.answered(second, true);
        assert!(limiter.limit().unwrap().cut_at > cut.cut_at, "cut again");
    }

    #[tokio::test]
    async fn reserved_slots_are_consecutive_and_later_turns_follow_them() {
        let limiter = Limiter::default();
        // No limit: every reserved slot is now.
        let slots = limiter.reserve(3).await;
        assert_eq!(slots.len(), 3);
        assert!(slots.iter().all(|slot| *slot == slots[0]));
        let sent = limiter.turn(Call::Look).await;
        limiter.answered(sent, true);
        let slots = limiter.reserve(3).await;
        let (first_gap, second_gap) = (slots[1] - slots[0], slots[2] - slots[1]);
        assert!(first_gap > Duration::ZERO);
        assert_eq!(first_gap, second_gap);
        assert!(slots[0] > sent, "after the last call's slot");
        let next = limiter.turn(Call::Change).await;
        assert!(
            next > slots[2],
            "a later turn comes after the reserved slots"
        );
    }

    #[tokio::test]
    async fn a_change_goes_before_the_waiting_looks() {
        use std::sync::Arc;
        let limiter = Arc::new(Limiter::default());
        let sent = limiter.turn(Call::Look).await;
        limiter.answered(sent, true);
        assert!(limiter.rate(Instant::now()).is_some(), "a limit");
        let order = Arc::new(Mutex::new(Vec::new()));
        let take_turn = |call: Call, name: &'static str| {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                limiter.turn(call).await;
                order.lock().unwrap().push(name);
            })
        };
        let looks: Vec<_> = ["look 1", "look 2", "look 3"]
            .into_iter()
            .map(|name| take_turn(Call::Look, name))
            .collect();
        // The looks are queued (the first holds the slot) before the change asks.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let change = take_turn(Call::Change, "change");
        change.await.unwrap();
        for look in looks {
            look.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["look 1", "change", "look 2", "look 3"]
        );
    }

    #[test]
    fn looks_never_take_the_change_s_slot() {
        let now = Instant::now();
        let reserved = |n: u64| -> VecDeque<Instant> {
            (0..n).map(|i| now + Duration::from_secs(i)).collect()
        };
        // More looks than were reserved for: the last slot stays the change's.
        let mut slots = reserved(3);
        assert_eq!(take_reserved(&mut slots, Call::Look), Some(now));
        assert_eq!(
            take_reserved(&mut slots, Call::Look),
            Some(now + Duration::from_secs(1))
        );
        assert_eq!(take_reserved(&mut slots, Call::Look), None);
        assert_eq!(
            take_reserved(&mut slots, Call::Change),
            Some(now + Duration::from_secs(2))
        );
        // Fewer: the change goes in the first slot left, not the last.
        let mut slots = reserved(3);
        take_reserved(&mut slots, Call::Look);
        assert_eq!(
            take_reserved(&mut slots, Call::Change),
            Some(now + Duration::from_secs(1))
        );
        assert_eq!(take_reserved(&mut VecDeque::new(), Call::Change), None);
    }
}
