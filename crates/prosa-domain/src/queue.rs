//! The human queue as a waiting subscriber sees it: how long the wait may still be.

/// How far back the waiting-time estimate looks.
pub const ESTIMATE_WINDOW_MS: i64 = 2 * 60 * 60 * 1000;
/// Fewer departures from the queue than this within the window: no estimate.
pub const ESTIMATE_MIN_DEPARTURES: usize = 3;

/// The estimated remaining wait (ms) of the subscriber at `position` (1 = next) of a queue, at
/// `now` (ms).
///
/// `ended` holds `(entered, left)` of the stays in this queue that ended within the window
/// (taken by an operator, closed or handed back: each frees a place); `waiting` holds since
/// when the conversations still in the queue wait. The queue's pace is its departures divided
/// by the time within the window during which somebody was waiting (the union of all those
/// stays, clipped to the window), so quiet hours with an empty queue do not read as slowness.
/// Estimate = `position` × that busy time / departures: with 3 departures in 12 busy minutes,
/// the 2nd in line waits about 8 minutes. `None` with fewer than
/// [`ESTIMATE_MIN_DEPARTURES`] departures in the window (no history worth a number).
pub fn estimate_wait_ms(
    position: i64,
    ended: &[(i64, i64)],
    waiting: &[i64],
    now: i64,
) -> Option<i64> {
    let start = now - ESTIMATE_WINDOW_MS;
    let departures = ended
        .iter()
        .filter(|(_, left)| *left >= start && *left <= now)
        .count();
    if position < 1 || departures < ESTIMATE_MIN_DEPARTURES {
        return None;
    }
    let mut spans: Vec<(i64, i64)> = ended
        .iter()
        .copied()
        .chain(waiting.iter().map(|since| (*since, now)))
        .map(|(from, to)| (from.max(start), to.min(now)))
        .filter(|(from, to)| to > from)
        .collect();
    spans.sort_unstable();
    let mut busy = 0i64;
    let mut current: Option<(i64, i64)> = None;
    for (from, to) in spans {
        current = match current {
            Some((a, b)) if from <= b => Some((a, b.max(to))),
            Some((a, b)) => {
                busy += b - a;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((a, b)) = current {
        busy += b - a;
    }
    Some(position * busy / departures as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn no_history_no_estimate() {
        let now = 10 * ESTIMATE_WINDOW_MS;
        assert_eq!(estimate_wait_ms(1, &[], &[now - MIN], now), None);
        let two = [
            (now - 10 * MIN, now - 8 * MIN),
            (now - 7 * MIN, now - 5 * MIN),
        ];
        assert_eq!(estimate_wait_ms(1, &two, &[], now), None);
        // Departures older than the window do not count.
        let old = [
            (
                now - ESTIMATE_WINDOW_MS - 9 * MIN,
                now - ESTIMATE_WINDOW_MS - 5 * MIN,
            ),
            (now - 10 * MIN, now - 8 * MIN),
            (now - 7 * MIN, now - 5 * MIN),
        ];
        assert_eq!(estimate_wait_ms(1, &old, &[], now), None);
        assert_eq!(estimate_wait_ms(0, &two, &[], now), None);
    }

    #[test]
    fn pace_counts_only_time_with_somebody_waiting() {
        let now = 10 * ESTIMATE_WINDOW_MS;
        // Three departures; the queue was busy 4 + 4 + 4 minutes, empty in between.
        let ended = [
            (now - 100 * MIN, now - 96 * MIN),
            (now - 60 * MIN, now - 56 * MIN),
            (now - 20 * MIN, now - 16 * MIN),
        ];
        assert_eq!(estimate_wait_ms(1, &ended, &[], now), Some(4 * MIN));
        assert_eq!(estimate_wait_ms(3, &ended, &[], now), Some(12 * MIN));
    }

    #[test]
    fn overlapping_stays_and_current_waits_are_merged() {
        let now = 10 * ESTIMATE_WINDOW_MS;
        // Busy from -30 to -10 (overlapping stays) and from -6 to now (people still waiting).
        let ended = [
            (now - 30 * MIN, now - 20 * MIN),
            (now - 25 * MIN, now - 12 * MIN),
            (now - 15 * MIN, now - 10 * MIN),
            (now - 5 * MIN, now - 4 * MIN),
        ];
        let waiting = [now - 6 * MIN, now - 3 * MIN];
        // 20 + 6 busy minutes, 4 departures: 6.5 minutes per place.
        assert_eq!(estimate_wait_ms(2, &ended, &waiting, now), Some(13 * MIN));
    }

    #[test]
    fn stays_are_clipped_to_the_window() {
        let now = 10 * ESTIMATE_WINDOW_MS;
        let start = now - ESTIMATE_WINDOW_MS;
        // One stay began long before the window: only its part inside counts.
        let ended = [
            (start - 60 * MIN, start + 2 * MIN),
            (start + 10 * MIN, start + 11 * MIN),
            (start + 20 * MIN, start + 21 * MIN),
        ];
        assert_eq!(estimate_wait_ms(1, &ended, &[], now), Some(MIN * 4 / 3));
    }

    #[test]
    fn instant_takes_estimate_zero() {
        let now = 10 * ESTIMATE_WINDOW_MS;
        let ended = [
            (now - 3 * MIN, now - 3 * MIN),
            (now - 2 * MIN, now - 2 * MIN),
            (now - MIN, now - MIN),
        ];
        assert_eq!(estimate_wait_ms(5, &ended, &[], now), Some(0));
    }
}
