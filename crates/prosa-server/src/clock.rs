//! The clock the business rules read: service hours (is the human queue open, when does it open
//! next), the bot's hand-off text and the panel's queue status. Real time by default. For
//! browser journeys and demos only, `PROSA_DEV_FAKE_NOW=2026-12-05T10:00:00-03:00` starts it at
//! another instant (it then moves on with real time); it is refused unless `PROSA_DEV_MODE=1`
//! is also set, and announced loudly at start. Leases, sessions, retries and timestamps of
//! stored rows keep the real time: only the rules' "now" moves.

use jiff::{SignedDuration, Timestamp};
use std::time::Instant;

/// The variable that starts the clock at another instant.
pub const FAKE_NOW_VAR: &str = "PROSA_DEV_FAKE_NOW";
/// The variable that must be `1` (or `true`) for [`FAKE_NOW_VAR`] to be accepted.
pub const DEV_MODE_VAR: &str = "PROSA_DEV_MODE";

/// Real time, or real time shifted so that it started at a chosen instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    fake: Option<(Timestamp, Instant)>,
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock { fake: None }
    }

    /// A clock that reads `start` now and moves on from there with real time (tests).
    pub fn starting_at(start: Timestamp) -> Clock {
        Clock {
            fake: Some((start, Instant::now())),
        }
    }

    /// The rules' "now".
    pub fn now(&self) -> Timestamp {
        match self.fake {
            None => Timestamp::now(),
            Some((start, since)) => {
                let elapsed = SignedDuration::try_from(since.elapsed()).unwrap_or_default();
                start.checked_add(elapsed).unwrap_or(start)
            }
        }
    }

    /// The instant a fake clock started at (`None` for the wall clock).
    pub fn fake_start(&self) -> Option<Timestamp> {
        self.fake.map(|(start, _)| start)
    }

    /// Reads [`FAKE_NOW_VAR`] and [`DEV_MODE_VAR`]: `Ok(None)` when the fake clock is not
    /// asked for, an error (to list with the configuration problems) when it is asked for
    /// without the development flag or with an instant that does not parse.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<Clock>, String> {
        let Some(raw) = env(FAKE_NOW_VAR).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let dev = env(DEV_MODE_VAR)
            .map(|v| matches!(v.trim(), "1" | "true" | "yes"))
            .unwrap_or(false);
        if !dev {
            return Err(format!(
                "{FAKE_NOW_VAR} is for development and tests only: set {DEV_MODE_VAR}=1 as well, or unset it"
            ));
        }
        let start: Timestamp = raw.trim().parse().map_err(|e| {
            format!(
                "{FAKE_NOW_VAR}: {raw:?} is not an instant like 2026-12-05T10:00:00-03:00 ({e})"
            )
        })?;
        Ok(Some(Clock::starting_at(start)))
    }

    /// The warning printed at start when the clock is not the wall clock.
    pub fn banner(&self) -> Option<String> {
        self.fake_start().map(|t| {
            format!(
                "WARNING: DEVELOPMENT CLOCK — service hours and the bot believe it is {t} (set by {FAKE_NOW_VAR}); never use this in production"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn system_by_default() {
        assert!(Clock::from_env(env(&[])).unwrap().is_none());
        let c = Clock::default();
        assert!(c.fake_start().is_none() && c.banner().is_none());
        let d = c.now().duration_since(Timestamp::now()).as_secs().abs();
        assert!(d < 5, "{d}");
    }

    #[test]
    fn fake_needs_the_dev_flag() {
        let e = Clock::from_env(env(&[(FAKE_NOW_VAR, "2026-12-05T10:00:00-03:00")])).unwrap_err();
        assert!(e.contains(DEV_MODE_VAR), "{e}");
        let e = Clock::from_env(env(&[
            (FAKE_NOW_VAR, "2026-12-05T10:00:00-03:00"),
            (DEV_MODE_VAR, "0"),
        ]))
        .unwrap_err();
        assert!(e.contains(DEV_MODE_VAR), "{e}");
        let e = Clock::from_env(env(&[(FAKE_NOW_VAR, "sábado"), (DEV_MODE_VAR, "1")])).unwrap_err();
        assert!(e.contains("sábado"), "{e}");
    }

    #[test]
    fn fake_starts_at_the_instant_and_moves_on() {
        let c = Clock::from_env(env(&[
            (FAKE_NOW_VAR, "2026-12-05T10:00:00-03:00"),
            (DEV_MODE_VAR, "1"),
        ]))
        .unwrap()
        .unwrap();
        let start: Timestamp = "2026-12-05T13:00:00Z".parse().unwrap();
        assert_eq!(c.fake_start(), Some(start));
        let now = c.now();
        assert!(now >= start && now < start + SignedDuration::from_secs(60));
        assert!(c.banner().unwrap().contains("2026-12-05T13:00:00Z"));
        // Copies share the same start.
        let copy = c;
        assert!(copy.now() >= now);
    }
}
