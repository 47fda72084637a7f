//! Property tests: `next_opening` against a minute-by-minute scan, parse/format round trips,
//! indicator bounds.

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use prosa_domain::InboxId;
use prosa_rules::rating::{nps, parse_score, summarize};
use prosa_rules::service_hours::{
    ClockTime, ClosedDate, Interval, Schedule, ServiceHoursRule, WeekdaySet, is_open, next_opening,
};

// New York: DST transitions at 02:00, not at midnight as in Brazil, exercise the general case.
const ZONES: [&str; 5] = [
    "America/Sao_Paulo",
    "America/Manaus",
    "America/Noronha",
    "America/Rio_Branco",
    "America/New_York",
];

fn interval() -> impl Strategy<Value = Interval> {
    // Mostly quarter hours (readable failures), sometimes any minute; 24:00 allowed as an end.
    let minute = prop_oneof![3 => (0u16..96).prop_map(|q| q * 15), 1 => 0u16..1440];
    (minute.clone(), prop_oneof![minute, Just(1440u16)])
        .prop_filter("start != end", |(s, e)| s != e)
        .prop_map(|(s, e)| {
            Interval::new(
                ClockTime::from_minutes(s).unwrap(),
                ClockTime::from_minutes(e).unwrap(),
            )
        })
}

fn rule() -> impl Strategy<Value = ServiceHoursRule> {
    (
        0u8..128,
        prop::collection::vec(interval(), 1..=3),
        prop_oneof![3 => Just(vec![]), 1 => Just(vec![InboxId(1)]), 1 => Just(vec![InboxId(2)])],
        prop::bool::weighted(0.85),
    )
        .prop_map(|(bits, intervals, inbox_ids, active)| ServiceHoursRule {
            description: "r".into(),
            weekdays: WeekdaySet::from_bits(bits),
            intervals,
            inbox_ids,
            active,
        })
}

/// Instants from 2017 to 2027, with extra weight around São Paulo's last DST transitions and
/// around Christmas/Good Friday.
fn instant() -> impl Strategy<Value = Timestamp> {
    let base = |s: &'static str| s.parse::<Timestamp>().unwrap();
    let near = prop_oneof![
        Just(base("2017-10-15T03:00:00Z")),
        Just(base("2018-02-18T02:00:00Z")),
        Just(base("2018-11-04T03:00:00Z")),
        Just(base("2019-02-17T02:00:00Z")),
        Just(base("2026-12-25T03:00:00Z")),
        Just(base("2026-04-03T03:00:00Z")),
        Just(base("2018-03-11T07:00:00Z")),
        Just(base("2018-11-04T06:00:00Z")),
    ];
    prop_oneof![
        2 => (1_483_228_800i64..1_830_297_600).prop_map(|s| Timestamp::from_second(s).unwrap()),
        1 => (near, -3 * 86_400i64..3 * 86_400).prop_map(|(b, d)| b.checked_add(SignedDuration::from_secs(d)).unwrap()),
    ]
}

fn schedule() -> impl Strategy<Value = (Schedule, Timestamp)> {
    (
        prop::collection::vec(rule(), 0..=3),
        0usize..ZONES.len(),
        prop::bool::weighted(0.8),
        prop::collection::vec(0i64..10, 0..=4),
        instant(),
    )
        .prop_map(|(rules, zone, holidays, closed_offsets, t)| {
            let mut s = Schedule::new(rules).with_time_zone(ZONES[zone]);
            s.national_holidays = holidays;
            let today = t.to_zoned_datetime(s.zone().unwrap()).date();
            for off in closed_offsets {
                let d = today.checked_add(jiff::Span::new().days(off)).unwrap();
                s.closed_dates.push(ClosedDate::new(d, None));
            }
            (s, t)
        })
}

/// Window scanned minute by minute.
const WINDOW_MINUTES: i64 = 4 * 24 * 60;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn next_opening_is_the_first_open_minute((s, t) in schedule(), inbox in 1i64..=3) {
        let inbox = InboxId(inbox);
        let got = next_opening(&s, inbox, t);
        if let Some(o) = &got {
            prop_assert!(o.timestamp() >= t);
            prop_assert!(is_open(&s, inbox, o.timestamp()), "not open at {o}");
            prop_assert_eq!(o.time_zone(), &s.zone().unwrap());
        }
        prop_assert_eq!(got.as_ref().map(|o| o.timestamp()) == Some(t), is_open(&s, inbox, t));
        // No earlier minute is open (minute resolution is exact: zone offsets are whole minutes).
        let end = got.as_ref().map(|o| o.timestamp()).unwrap_or(Timestamp::MAX);
        let mut m = t.round(jiff::Unit::Minute).unwrap();
        if m < t {
            m = m.checked_add(SignedDuration::from_mins(1)).unwrap();
        }
        let limit = t.checked_add(SignedDuration::from_mins(WINDOW_MINUTES)).unwrap();
        if end != t {
            prop_assert!(!is_open(&s, inbox, t));
        }
        while m < end && m < limit {
            prop_assert!(!is_open(&s, inbox, m), "open at {} before {:?}", m, got);
            m = m.checked_add(SignedDuration::from_mins(1)).unwrap();
        }
    }

    #[test]
    fn open_minutes_are_their_own_next_opening((s, t) in schedule()) {
        // Sample instants after t; whenever open, next_opening returns the instant itself.
        for k in 0..48 {
            let u = t.checked_add(SignedDuration::from_mins(k * 37)).unwrap();
            let open = is_open(&s, InboxId(1), u);
            let o = next_opening(&s, InboxId(1), u);
            prop_assert_eq!(open, o.map(|o| o.timestamp()) == Some(u));
        }
    }

    #[test]
    fn clock_time_round_trips(m in 0u16..=1440) {
        let t = ClockTime::from_minutes(m).unwrap();
        prop_assert_eq!(t.to_string().parse::<ClockTime>().unwrap(), t);
    }

    #[test]
    fn parse_score_never_out_of_range(text in ".{0,40}", option in proptest::option::of("[a-z:0-9]{0,10}")) {
        if let Some(n) = parse_score(&text, option.as_deref()) {
            prop_assert!(n <= 10);
        }
    }

    #[test]
    fn parse_score_reads_every_score(n in 0u8..=10, template in 0usize..6) {
        let text = match template {
            0 => format!("{n}"),
            1 => format!(" nota {n} "),
            2 => format!("{n}/10"),
            3 => format!("minha nota é {n}!"),
            4 => n.to_string().chars().map(|c| format!("{c}\u{FE0F}\u{20E3}")).collect(),
            _ => String::new(),
        };
        let option = (template == 5).then(|| format!("score:{n}"));
        prop_assert_eq!(parse_score(&text, option.as_deref()), Some(n));
    }

    #[test]
    fn indicators_are_bounded(scores in prop::collection::vec(0u8..=12, 0..50)) {
        let s = summarize(&scores);
        prop_assert_eq!(s.responses, scores.iter().filter(|v| **v <= 10).count());
        prop_assert_eq!(s.responses, s.promoters + s.passives + s.detractors);
        match (s.nps, s.csat) {
            (Some(n), Some(c)) => {
                prop_assert!((-100.0..=100.0).contains(&n));
                prop_assert!((0.0..=100.0).contains(&c));
                prop_assert!(n <= c + 1e-9);
            }
            (None, None) => prop_assert_eq!(s.responses, 0),
            _ => prop_assert!(false),
        }
        prop_assert_eq!(nps(&scores), s.nps);
    }
}

#[test]
fn window_check_sanity() {
    // A fixed case of the first property, so a regression fails with a readable message.
    let s = Schedule::new(vec![ServiceHoursRule::new(
        "x",
        WeekdaySet::MON_FRI,
        vec![Interval::parse("08:00", "18:00").unwrap()],
    )]);
    let t = date(2026, 3, 6)
        .at(18, 0, 0, 0)
        .to_zoned_datetime(s.zone().unwrap())
        .unwrap()
        .timestamp();
    let o = next_opening(&s, InboxId(1), t).unwrap();
    assert_eq!(o.datetime(), date(2026, 3, 9).at(8, 0, 0, 0));
}
