//! Data-driven tests of service hours: rules, days off, zones, next opening and its wording.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, date};
use jiff::tz::TimeZone;
use prosa_domain::InboxId;
use prosa_rules::service_hours::{
    ClockTime, Interval, IntervalDraft, Schedule, ServiceHoursRule, ServiceHoursRuleDraft,
    WeekdaySet, describe_next_opening, format_opening, is_open, next_opening, parse_weekday,
    weekday_id, weekday_name_pt,
};
use prosa_rules::validation::{FieldError, msg};

const INBOX: InboxId = InboxId(1);

fn rule(desc: &str, days: &str, intervals: &[(&str, &str)]) -> ServiceHoursRule {
    ServiceHoursRule::new(
        desc,
        WeekdaySet::parse_list(days).expect("days"),
        intervals
            .iter()
            .map(|(s, e)| Interval::parse(s, e).expect("interval"))
            .collect(),
    )
}

/// "2026-03-02 08:00" (or with seconds) as a civil datetime.
fn civil(s: &str) -> DateTime {
    s.replace(' ', "T")
        .parse()
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A local wall-clock time in the schedule's zone as an instant (earlier side of a fold).
fn local(schedule: &Schedule, s: &str) -> Timestamp {
    schedule
        .zone()
        .unwrap()
        .to_ambiguous_timestamp(civil(s))
        .compatible()
        .unwrap()
}

fn check_open(name: &str, schedule: &Schedule, cases: &[(&str, bool)]) {
    for (when, want) in cases {
        let ts = local(schedule, when);
        assert_eq!(is_open(schedule, INBOX, ts), *want, "{name}: {when}");
    }
}

// 2026-03-02 is a Monday; 2026-03-02..=2026-03-08 is a week without holidays.

fn commercial_with_saturday() -> Schedule {
    Schedule::new(vec![
        rule(
            "Atendimento",
            "mon,tue,wed,thu,fri",
            &[("08:00", "12:00"), ("13:00", "18:00")],
        ),
        rule("Sábado", "sat", &[("08:00", "12:00")]),
    ])
}

#[test]
fn every_weekday_edges_and_lunch_break() {
    check_open(
        "commercial",
        &commercial_with_saturday(),
        &[
            ("2026-03-02 00:00", false),
            ("2026-03-02 07:59", false),
            ("2026-03-02 07:59:59", false),
            ("2026-03-02 08:00", true),
            ("2026-03-02 08:00:01", true),
            ("2026-03-02 11:59", true),
            ("2026-03-02 11:59:59", true),
            ("2026-03-02 12:00", false),
            ("2026-03-02 12:30", false),
            ("2026-03-02 12:59", false),
            ("2026-03-02 13:00", true),
            ("2026-03-02 17:59", true),
            ("2026-03-02 17:59:59", true),
            ("2026-03-02 18:00", false),
            ("2026-03-02 23:59", false),
            ("2026-03-03 08:00", true),
            ("2026-03-03 12:15", false),
            ("2026-03-03 17:00", true),
            ("2026-03-04 09:30", true),
            ("2026-03-04 18:30", false),
            ("2026-03-05 12:59", false),
            ("2026-03-05 13:00", true),
            ("2026-03-06 17:59", true),
            ("2026-03-06 18:00", false),
            ("2026-03-07 07:59", false),
            ("2026-03-07 08:00", true),
            ("2026-03-07 11:59", true),
            ("2026-03-07 12:00", false),
            ("2026-03-07 14:00", false),
            ("2026-03-08 00:00", false),
            ("2026-03-08 10:00", false),
            ("2026-03-08 15:00", false),
            ("2026-03-08 23:59", false),
        ],
    );
}

#[test]
fn each_single_weekday_rule_opens_only_its_day() {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for (n, day) in days.iter().enumerate() {
        let schedule = Schedule::new(vec![rule("Um dia", day, &[("09:00", "10:00")])]);
        for m in 0..7 {
            let d = date(2026, 3, 2 + m as i8);
            assert_eq!(d.weekday().to_monday_zero_offset() as usize, m);
            let ts = local(&schedule, &format!("{d} 09:30"));
            assert_eq!(is_open(&schedule, INBOX, ts), n == m, "{day} rule on {d}");
        }
    }
}

#[test]
fn midnight_crossing_intervals() {
    let night = Schedule::new(vec![rule(
        "Plantão",
        "mon,tue,wed,thu,fri",
        &[("22:00", "06:00")],
    )]);
    check_open(
        "night shift Mon–Fri 22:00–06:00",
        &night,
        &[
            ("2026-03-02 03:00", false), // Monday early hours belong to Sunday, not a rule day
            ("2026-03-02 21:59", false),
            ("2026-03-02 22:00", true),
            ("2026-03-02 23:59:59", true),
            ("2026-03-03 00:00", true),
            ("2026-03-03 05:59", true),
            ("2026-03-03 06:00", false),
            ("2026-03-03 12:00", false),
            ("2026-03-06 22:30", true),  // Friday evening
            ("2026-03-07 02:00", true),  // Friday's tail on Saturday
            ("2026-03-07 05:59", true),  // still Friday's interval
            ("2026-03-07 06:00", false), // tail ends
            ("2026-03-07 22:00", false), // Saturday is not a rule day
            ("2026-03-08 02:00", false),
            ("2026-03-08 22:00", false),
        ],
    );
    let to_midnight = Schedule::new(vec![rule("Até meia-noite", "mon", &[("18:00", "00:00")])]);
    check_open(
        "18:00–00:00 (crosses with an empty tail)",
        &to_midnight,
        &[
            ("2026-03-02 17:59", false),
            ("2026-03-02 18:00", true),
            ("2026-03-02 23:59", true),
            ("2026-03-03 00:00", false),
        ],
    );
    let to_24 = Schedule::new(vec![rule("Até 24h", "mon", &[("18:00", "24:00")])]);
    check_open(
        "18:00–24:00",
        &to_24,
        &[
            ("2026-03-02 18:00", true),
            ("2026-03-02 23:59:59", true),
            ("2026-03-03 00:00", false),
        ],
    );
    let whole_sunday = Schedule::new(vec![rule("Domingo inteiro", "sun", &[("00:00", "24:00")])]);
    check_open(
        "00:00–24:00 Sunday",
        &whole_sunday,
        &[
            ("2026-03-07 23:59", false),
            ("2026-03-08 00:00", true),
            ("2026-03-08 12:00", true),
            ("2026-03-08 23:59", true),
            ("2026-03-09 00:00", false),
        ],
    );
    let mixed = Schedule::new(vec![rule(
        "Misto",
        "sat",
        &[("08:00", "12:00"), ("23:00", "01:00")],
    )]);
    check_open(
        "Saturday 08–12 and 23–01",
        &mixed,
        &[
            ("2026-03-07 09:00", true),
            ("2026-03-07 22:59", false),
            ("2026-03-07 23:00", true),
            ("2026-03-08 00:30", true),
            ("2026-03-08 01:00", false),
            ("2026-03-08 09:00", false),
        ],
    );
}

fn weekdays_8_18() -> Schedule {
    Schedule::new(vec![rule(
        "Atendimento",
        "mon,tue,wed,thu,fri,sat",
        &[("08:00", "18:00")],
    )])
}

#[test]
fn national_holidays_close_the_day() {
    check_open(
        "holidays on",
        &weekdays_8_18(),
        &[
            ("2026-04-02 10:00", true),  // Thursday before Good Friday
            ("2026-04-03 10:00", false), // Sexta-feira Santa (Easter-based)
            ("2026-04-04 10:00", true),  // Saturday after
            ("2027-03-26 10:00", false), // Good Friday 2027
            ("2026-04-21 10:00", false), // Tiradentes (Tuesday)
            ("2026-05-01 10:00", false), // Dia do Trabalho (Friday)
            ("2026-09-07 10:00", false), // Independência (Monday)
            ("2026-10-12 10:00", false), // Nossa Senhora Aparecida (Monday)
            ("2026-11-02 10:00", false), // Finados (Monday)
            ("2026-11-20 10:00", false), // Consciência Negra (Friday, national since 2024)
            ("2023-11-20 10:00", true),  // before Lei 14.759/2023 took effect
            ("2026-12-24 10:00", true),  // Christmas Eve is a working day
            ("2026-12-25 10:00", false), // Natal
            ("2027-01-01 10:00", false), // Confraternização Universal
            ("2026-02-16 10:00", true),  // Carnaval Monday: ponto facultativo, open
            ("2026-02-17 10:00", true),  // Carnaval Tuesday: open
            ("2026-06-04 10:00", true),  // Corpus Christi: open
        ],
    );
    let off = Schedule {
        national_holidays: false,
        ..weekdays_8_18()
    };
    check_open(
        "holidays off",
        &off,
        &[
            ("2026-04-03 10:00", true),
            ("2026-12-25 10:00", true),
            ("2026-04-21 10:00", true),
        ],
    );
}

#[test]
fn isp_closed_dates() {
    let s = weekdays_8_18()
        .with_closed_date(date(2026, 3, 4), Some("Aniversário da cidade"))
        .with_closed_date(date(2026, 2, 17), Some("Carnaval"))
        .with_closed_date(date(2026, 3, 8), None); // a Sunday: closed anyway
    check_open(
        "closed dates",
        &s,
        &[
            ("2026-03-03 17:59", true),
            ("2026-03-04 08:00", false),
            ("2026-03-04 12:00", false),
            ("2026-03-05 08:00", true),
            ("2026-02-16 10:00", true),
            ("2026-02-17 10:00", false),
        ],
    );
    assert_eq!(
        s.day_off(date(2026, 3, 4))
            .and_then(|d| d.description().map(str::to_owned)),
        Some("Aniversário da cidade".into())
    );
    assert_eq!(
        s.day_off(date(2026, 12, 25))
            .and_then(|d| d.description().map(str::to_owned)),
        Some("Natal".into())
    );
    assert_eq!(
        s.day_off(date(2026, 3, 8))
            .map(|d| d.description().is_none()),
        Some(true)
    );
    assert!(s.day_off(date(2026, 3, 5)).is_none());
}

#[test]
fn crossing_interval_around_a_holiday() {
    // Decision: a day off closes its own calendar day 00:00–24:00, tails included.
    let s = Schedule::new(vec![rule(
        "Plantão",
        "mon,tue,wed,thu,fri,sat,sun",
        &[("22:00", "02:00")],
    )]);
    check_open(
        "nightly 22:00–02:00 around Christmas",
        &s,
        &[
            ("2026-12-24 01:00", true), // tail of the 23rd
            ("2026-12-24 22:00", true), // evening before the holiday
            ("2026-12-24 23:59", true),
            ("2026-12-25 00:00", false), // tail cut: the 25th is closed
            ("2026-12-25 01:59", false),
            ("2026-12-25 22:00", false), // the holiday's own interval does not start
            ("2026-12-26 00:00", true),  // …but its tail on the 26th (a normal day) is open
            ("2026-12-26 01:59", true),
            ("2026-12-26 02:00", false),
            ("2026-12-26 22:00", true),
        ],
    );
}

#[test]
fn time_zones() {
    let rules = vec![rule(
        "Atendimento",
        "mon,tue,wed,thu,fri",
        &[("08:00", "18:00")],
    )];
    let sp = Schedule::new(rules.clone());
    let manaus = Schedule::new(rules.clone()).with_time_zone("America/Manaus");
    let noronha = Schedule::new(rules.clone()).with_time_zone("America/Noronha");
    let rio_branco = Schedule::new(rules.clone()).with_time_zone("America/Rio_Branco");
    let cases: &[(&Schedule, &str, bool)] = &[
        // 2026-03-02, Monday. São Paulo UTC−3.
        (&sp, "2026-03-02T10:59:00Z", false),
        (&sp, "2026-03-02T11:00:00Z", true),
        (&sp, "2026-03-02T20:59:00Z", true),
        (&sp, "2026-03-02T21:00:00Z", false),
        // Manaus UTC−4.
        (&manaus, "2026-03-02T11:00:00Z", false),
        (&manaus, "2026-03-02T11:59:00Z", false),
        (&manaus, "2026-03-02T12:00:00Z", true),
        (&manaus, "2026-03-02T21:59:00Z", true),
        (&manaus, "2026-03-02T22:00:00Z", false),
        // Fernando de Noronha UTC−2.
        (&noronha, "2026-03-02T09:59:00Z", false),
        (&noronha, "2026-03-02T10:00:00Z", true),
        (&noronha, "2026-03-02T19:59:00Z", true),
        (&noronha, "2026-03-02T20:00:00Z", false),
        // Acre UTC−5.
        (&rio_branco, "2026-03-02T12:59:00Z", false),
        (&rio_branco, "2026-03-02T13:00:00Z", true),
        // São Paulo with daylight saving (UTC−2) on Monday 2018-12-03.
        (&sp, "2018-12-03T09:59:00Z", false),
        (&sp, "2018-12-03T10:00:00Z", true),
        (&sp, "2018-12-03T19:59:00Z", true),
        (&sp, "2018-12-03T20:00:00Z", false),
        // …and without it (UTC−3) on Monday 2018-07-02.
        (&sp, "2018-07-02T10:59:00Z", false),
        (&sp, "2018-07-02T11:00:00Z", true),
        // Saturday 2026-03-07 03:30Z is still Friday 23:30 in Manaus, Saturday 00:30 in SP.
        (&manaus, "2026-03-07T03:30:00Z", false),
    ];
    for (s, ts, want) in cases {
        let t: Timestamp = ts.parse().unwrap();
        assert_eq!(is_open(s, INBOX, t), *want, "{} {ts}", s.time_zone);
    }
    // The holiday follows the ISP's local date.
    let always = vec![rule(
        "24h",
        "mon,tue,wed,thu,fri,sat,sun",
        &[("00:00", "24:00")],
    )];
    let t: Timestamp = "2026-12-26T03:30:00Z".parse().unwrap(); // 25/12 23:30 Manaus, 26/12 00:30 SP
    assert!(!is_open(
        &Schedule::new(always.clone()).with_time_zone("America/Manaus"),
        INBOX,
        t
    ));
    assert!(is_open(&Schedule::new(always), INBOX, t));
}

#[test]
fn per_inbox_rule_selection() {
    let mut only_1 = rule("Suporte", "mon,tue,wed,thu,fri", &[("08:00", "18:00")]);
    only_1.inbox_ids = vec![InboxId(1)];
    let mut evening_2_3 = rule(
        "Comercial noite",
        "mon,tue,wed,thu,fri",
        &[("18:00", "22:00")],
    );
    evening_2_3.inbox_ids = vec![InboxId(2), InboxId(3)];
    let saturday_all = rule("Sábado", "sat", &[("08:00", "12:00")]);
    let mut inactive = rule(
        "Desativada",
        "mon,tue,wed,thu,fri,sat,sun",
        &[("00:00", "24:00")],
    );
    inactive.active = false;
    let s = Schedule::new(vec![only_1, evening_2_3, saturday_all, inactive]);
    let cases = [
        (1, "2026-03-02 10:00", true),
        (2, "2026-03-02 10:00", false),
        (3, "2026-03-02 10:00", false),
        (9, "2026-03-02 10:00", false),
        (1, "2026-03-02 19:00", false),
        (2, "2026-03-02 19:00", true),
        (3, "2026-03-02 21:59", true),
        (3, "2026-03-02 22:00", false),
        (1, "2026-03-07 10:00", true),
        (2, "2026-03-07 10:00", true),
        (9, "2026-03-07 10:00", true),
        (1, "2026-03-08 10:00", false), // the 24h rule is inactive
        (9, "2026-03-08 03:00", false),
    ];
    for (inbox, when, want) in cases {
        assert_eq!(
            is_open(&s, InboxId(inbox), local(&s, when)),
            want,
            "inbox {inbox} {when}"
        );
    }
}

fn commercial() -> Schedule {
    Schedule::new(vec![rule(
        "Atendimento",
        "mon,tue,wed,thu,fri",
        &[("08:00", "12:00"), ("13:00", "18:00")],
    )])
}

/// (schedule, now local, expected opening local, expected wording)
#[test]
fn next_opening_table() {
    let commercial = commercial();
    let fortnight_off = (9..=20).fold(commercial.clone(), |s, d| {
        s.with_closed_date(date(2026, 3, d), Some("Férias coletivas"))
    });
    let friday_night = Schedule::new(vec![rule("Sexta à noite", "fri", &[("22:00", "06:00")])]);
    let nightly = Schedule::new(vec![rule(
        "Plantão",
        "mon,tue,wed,thu,fri,sat,sun",
        &[("22:00", "02:00")],
    )]);
    let cases: &[(&str, &Schedule, &str, &str, &str)] = &[
        (
            "saturday",
            &commercial,
            "2026-03-07 10:00",
            "2026-03-09 08:00",
            "segunda-feira às 08:00",
        ),
        (
            "sunday",
            &commercial,
            "2026-03-08 10:00",
            "2026-03-09 08:00",
            "amanhã às 08:00",
        ),
        (
            "friday 17:59 open",
            &commercial,
            "2026-03-06 17:59",
            "2026-03-06 17:59",
            "hoje às 17:59",
        ),
        (
            "friday 18:00",
            &commercial,
            "2026-03-06 18:00",
            "2026-03-09 08:00",
            "segunda-feira às 08:00",
        ),
        (
            "friday 23:59",
            &commercial,
            "2026-03-06 23:59",
            "2026-03-09 08:00",
            "segunda-feira às 08:00",
        ),
        (
            "before opening",
            &commercial,
            "2026-03-02 06:30",
            "2026-03-02 08:00",
            "hoje às 08:00",
        ),
        (
            "midnight",
            &commercial,
            "2026-03-02 00:00",
            "2026-03-02 08:00",
            "hoje às 08:00",
        ),
        (
            "lunch",
            &commercial,
            "2026-03-02 12:00",
            "2026-03-02 13:00",
            "hoje às 13:00",
        ),
        (
            "lunch with seconds",
            &commercial,
            "2026-03-02 12:59:30",
            "2026-03-02 13:00",
            "hoje às 13:00",
        ),
        (
            "evening",
            &commercial,
            "2026-03-03 19:00",
            "2026-03-04 08:00",
            "amanhã às 08:00",
        ),
        (
            "good friday",
            &commercial,
            "2026-04-02 18:30",
            "2026-04-06 08:00",
            "segunda-feira às 08:00",
        ),
        (
            "christmas",
            &commercial,
            "2026-12-24 18:00",
            "2026-12-28 08:00",
            "segunda-feira às 08:00",
        ),
        (
            "new year",
            &commercial,
            "2026-12-31 18:00",
            "2027-01-04 08:00",
            "segunda-feira às 08:00",
        ),
        (
            "tiradentes",
            &commercial,
            "2026-04-20 18:00",
            "2026-04-22 08:00",
            "quarta-feira às 08:00",
        ),
        (
            "on the holiday",
            &commercial,
            "2026-04-21 09:00",
            "2026-04-22 08:00",
            "amanhã às 08:00",
        ),
        (
            "closed fortnight",
            &fortnight_off,
            "2026-03-07 10:00",
            "2026-03-23 08:00",
            "em 23/03 às 08:00",
        ),
        (
            "friday night from saturday",
            &friday_night,
            "2026-03-07 07:00",
            "2026-03-13 22:00",
            "sexta-feira às 22:00",
        ),
        (
            "friday night tail open",
            &friday_night,
            "2026-03-07 05:00",
            "2026-03-07 05:00",
            "hoje às 05:00",
        ),
        (
            "friday night same day",
            &friday_night,
            "2026-03-06 10:00",
            "2026-03-06 22:00",
            "hoje às 22:00",
        ),
        (
            "tail after christmas",
            &nightly,
            "2026-12-25 00:00",
            "2026-12-26 00:00",
            "amanhã às 00:00",
        ),
        (
            "christmas eve evening",
            &nightly,
            "2026-12-24 12:00",
            "2026-12-24 22:00",
            "hoje às 22:00",
        ),
    ];
    for (name, s, now, want, words) in cases {
        let now_ts = local(s, now);
        let got = next_opening(s, INBOX, now_ts).unwrap_or_else(|| panic!("{name}: none"));
        assert_eq!(got.datetime(), civil(want), "{name}");
        assert_eq!(got.time_zone(), &s.zone().unwrap(), "{name}");
        assert!(is_open(s, INBOX, got.timestamp()), "{name}");
        assert_eq!(format_opening(&got, now_ts), *words, "{name}");
        assert_eq!(
            describe_next_opening(s, INBOX, now_ts).as_deref(),
            Some(*words),
            "{name}"
        );
    }
}

#[test]
fn next_opening_none() {
    let mut only_1 = rule("Suporte", "mon", &[("08:00", "18:00")]);
    only_1.inbox_ids = vec![InboxId(1)];
    let mut inactive = rule("Off", "mon", &[("08:00", "18:00")]);
    inactive.active = false;
    let no_days = ServiceHoursRule::new(
        "Sem dias",
        WeekdaySet::EMPTY,
        vec![Interval::parse("08:00", "18:00").unwrap()],
    );
    let now: Timestamp = "2026-03-02T12:00:00Z".parse().unwrap();
    let cases = [
        ("no rules", Schedule::default(), InboxId(1)),
        ("other inbox", Schedule::new(vec![only_1]), InboxId(2)),
        ("inactive", Schedule::new(vec![inactive]), InboxId(1)),
        ("no weekdays", Schedule::new(vec![no_days]), InboxId(1)),
    ];
    for (name, s, inbox) in cases {
        assert_eq!(next_opening(&s, inbox, now), None, "{name}");
        assert_eq!(describe_next_opening(&s, inbox, now), None, "{name}");
    }
    // Every Monday of the next 400+ days closed.
    let mondays = rule("Segunda", "mon", &[("08:00", "18:00")]);
    let mut s = Schedule::new(vec![mondays]);
    let mut d = date(2026, 3, 2);
    while d < date(2027, 6, 1) {
        s.closed_dates.push(prosa_rules::ClosedDate::new(d, None));
        d = d.checked_add(jiff::Span::new().days(7)).unwrap();
    }
    assert_eq!(next_opening(&s, INBOX, now), None);
}

#[test]
fn next_opening_other_zones_and_dst() {
    // Manaus: Saturday 08:00 local → Monday 08:00 −04.
    let s = Schedule::new(vec![rule(
        "Atendimento",
        "mon,tue,wed,thu,fri",
        &[("08:00", "18:00")],
    )])
    .with_time_zone("America/Manaus");
    let got = next_opening(&s, INBOX, "2026-03-07T12:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(
        got.timestamp(),
        "2026-03-09T12:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        format_opening(&got, "2026-03-07T12:00:00Z".parse().unwrap()),
        "segunda-feira às 08:00"
    );
    // Noronha: Friday 18:00 local (20:00Z) → Monday 08:00 −02.
    let s = s.with_time_zone("America/Noronha");
    let got = next_opening(&s, INBOX, "2026-03-06T20:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(
        got.timestamp(),
        "2026-03-09T10:00:00Z".parse::<Timestamp>().unwrap()
    );

    // DST start in São Paulo, Sunday 2018-11-04: 00:00 jumped to 01:00. A 00:30–02:00 rule opens
    // at the first existing minute, 01:00 −02 (03:00Z).
    let gap = Schedule::new(vec![rule("Madrugada", "sun", &[("00:30", "02:00")])]);
    let now: Timestamp = "2018-11-04T02:00:00Z".parse().unwrap(); // Saturday 23:00 −03
    let got = next_opening(&gap, INBOX, now).unwrap();
    assert_eq!(
        got.timestamp(),
        "2018-11-04T03:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!((got.hour(), got.minute()), (1, 0));

    // DST end, 2018-02-18 00:00 −02 became 2018-02-17 23:00 −03: Saturday 23:00–23:30 happens
    // twice. At 23:40 of the first pass the next opening is the second 23:00.
    let fold = Schedule::new(vec![rule(
        "Sábado tarde da noite",
        "sat",
        &[("23:00", "23:30")],
    )]);
    let now: Timestamp = "2018-02-18T01:40:00Z".parse().unwrap(); // 23:40 −02
    let got = next_opening(&fold, INBOX, now).unwrap();
    assert_eq!(
        got.timestamp(),
        "2018-02-18T02:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(format_opening(&got, now), "hoje às 23:00");
    // …and before the first pass, the first 23:00 (−02, 01:00Z).
    let now: Timestamp = "2018-02-18T00:30:00Z".parse().unwrap(); // 22:30 −02
    let got = next_opening(&fold, INBOX, now).unwrap();
    assert_eq!(
        got.timestamp(),
        "2018-02-18T01:00:00Z".parse::<Timestamp>().unwrap()
    );

    // A zone whose DST gap is not at midnight (New York, 2018-03-11 02:00 → 03:00): a
    // 02:30–03:30 rule opens at the transition itself, 03:00 EDT.
    let ny = Schedule::new(vec![rule("Gap", "sun", &[("02:30", "03:30")])])
        .with_time_zone("America/New_York");
    let got = next_opening(&ny, INBOX, "2018-03-11T05:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(
        got.timestamp(),
        "2018-03-11T07:00:00Z".parse::<Timestamp>().unwrap()
    );
}

#[test]
fn format_opening_table() {
    let tz = TimeZone::get("America/Sao_Paulo").unwrap();
    let at = |s: &str| {
        tz.to_ambiguous_zoned_datetime(civil(s))
            .compatible()
            .unwrap()
    };
    let now = at("2026-03-02 10:00").timestamp(); // Monday
    let cases = [
        ("2026-03-02 10:00", "hoje às 10:00"),
        ("2026-03-02 23:59", "hoje às 23:59"),
        ("2026-03-03 00:00", "amanhã às 00:00"),
        ("2026-03-03 08:00", "amanhã às 08:00"),
        ("2026-03-04 08:00", "quarta-feira às 08:00"),
        ("2026-03-05 08:30", "quinta-feira às 08:30"),
        ("2026-03-06 14:00", "sexta-feira às 14:00"),
        ("2026-03-07 08:00", "sábado às 08:00"),
        ("2026-03-08 08:00", "domingo às 08:00"),
        ("2026-03-09 08:00", "em 09/03 às 08:00"),
        ("2026-12-25 08:00", "em 25/12 às 08:00"),
        ("2027-01-05 07:05", "em 05/01/2027 às 07:05"),
    ];
    for (opening, want) in cases {
        assert_eq!(format_opening(&at(opening), now), want, "{opening}");
    }
    // From Wednesday, the next Tuesday is six days away.
    let wed = at("2026-03-04 20:00").timestamp();
    assert_eq!(
        format_opening(&at("2026-03-10 08:00"), wed),
        "terça-feira às 08:00"
    );
    assert_eq!(
        format_opening(&at("2026-03-09 08:00"), wed),
        "segunda-feira às 08:00"
    );
    // "now" is read in the opening's zone: 02:30Z is still the previous day in São Paulo.
    let late: Timestamp = "2026-03-03T02:30:00Z".parse().unwrap(); // Monday 23:30 −03
    assert_eq!(
        format_opening(&at("2026-03-03 08:00"), late),
        "amanhã às 08:00"
    );
}

#[test]
fn clock_time_parsing() {
    let ok = [
        ("00:00", 0),
        ("08:00", 480),
        ("8:00", 480),
        (" 08:30 ", 510),
        ("12:59", 779),
        ("23:59", 1439),
        ("24:00", 1440),
    ];
    for (s, m) in ok {
        let t: ClockTime = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(t.minutes(), m, "{s}");
    }
    let bad = [
        "",
        " ",
        "8",
        "0800",
        "08h00",
        "8h",
        "24:01",
        "25:00",
        "08:60",
        "08:0",
        "008:00",
        "-1:00",
        "+8:00",
        "ab:cd",
        "08:00:00",
        "08.00",
        "１２:00",
    ];
    for s in bad {
        assert!(s.parse::<ClockTime>().is_err(), "{s:?}");
    }
    assert_eq!(ClockTime::new(8, 5).unwrap().to_string(), "08:05");
    assert_eq!(ClockTime::END_OF_DAY.to_string(), "24:00");
    assert_eq!(ClockTime::new(24, 1), None);
    assert_eq!(ClockTime::from_minutes(1441), None);
    assert!(
        Interval::parse("22:00", "06:00")
            .unwrap()
            .crosses_midnight()
    );
    assert!(
        Interval::parse("18:00", "00:00")
            .unwrap()
            .crosses_midnight()
    );
    assert!(
        !Interval::parse("18:00", "24:00")
            .unwrap()
            .crosses_midnight()
    );
    assert!(
        !Interval::parse("08:00", "18:00")
            .unwrap()
            .crosses_midnight()
    );
}

#[test]
fn weekday_parsing() {
    use jiff::civil::Weekday::*;
    let cases = [
        ("mon", Some(Monday)),
        ("Monday", Some(Monday)),
        ("seg", Some(Monday)),
        ("Segunda", Some(Monday)),
        ("segunda-feira", Some(Monday)),
        ("2ª", Some(Monday)),
        ("tue", Some(Tuesday)),
        ("ter", Some(Tuesday)),
        ("terça", Some(Tuesday)),
        ("TERÇA-FEIRA", Some(Tuesday)),
        ("terca", Some(Tuesday)),
        ("wed", Some(Wednesday)),
        ("qua", Some(Wednesday)),
        ("quarta-feira", Some(Wednesday)),
        ("thu", Some(Thursday)),
        ("qui", Some(Thursday)),
        ("quinta", Some(Thursday)),
        ("fri", Some(Friday)),
        ("sex", Some(Friday)),
        ("sexta-feira", Some(Friday)),
        ("sat", Some(Saturday)),
        ("sáb", Some(Saturday)),
        ("sab", Some(Saturday)),
        ("sábado", Some(Saturday)),
        ("Sabado", Some(Saturday)),
        ("sun", Some(Sunday)),
        ("dom", Some(Sunday)),
        ("domingo", Some(Sunday)),
        (" dom ", Some(Sunday)),
        ("", None),
        ("feriado", None),
        ("mo", None),
        ("1", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_weekday(s), want, "{s:?}");
    }
    for w in WeekdaySet::ALL.iter() {
        assert_eq!(parse_weekday(weekday_id(w)), Some(w));
        assert_eq!(parse_weekday(weekday_name_pt(w)), Some(w));
    }
    assert_eq!(
        WeekdaySet::parse_list("seg, ter,qua qui;sex"),
        Some(WeekdaySet::MON_FRI)
    );
    assert_eq!(WeekdaySet::parse_list("seg,xyz"), None);
    assert_eq!(WeekdaySet::MON_SAT.to_ids(), "mon,tue,wed,thu,fri,sat");
    assert_eq!(WeekdaySet::ALL.len(), 7);
}

fn draft(desc: &str, days: &[&str], intervals: &[(&str, &str)]) -> ServiceHoursRuleDraft {
    ServiceHoursRuleDraft {
        description: desc.into(),
        weekdays: days.iter().map(|d| d.to_string()).collect(),
        intervals: intervals
            .iter()
            .map(|(s, e)| IntervalDraft {
                start: s.to_string(),
                end: e.to_string(),
            })
            .collect(),
        inbox_ids: vec![],
        active: true,
    }
}

#[test]
fn rule_validation_table() {
    let fe = |f: &str, m: &str| FieldError::new(f, m);
    let cases: Vec<(ServiceHoursRuleDraft, Vec<FieldError>)> = vec![
        (
            draft("Atendimento", &["seg", "sex"], &[("08:00", "18:00")]),
            vec![],
        ),
        (draft("Plantão", &["sab"], &[("22:00", "06:00")]), vec![]),
        (draft("Dia todo", &["dom"], &[("00:00", "24:00")]), vec![]),
        (
            draft("", &["seg"], &[("08:00", "18:00")]),
            vec![fe("description", msg::DESCRIPTION_REQUIRED)],
        ),
        (
            draft("   ", &["seg"], &[("08:00", "18:00")]),
            vec![fe("description", msg::DESCRIPTION_REQUIRED)],
        ),
        (
            draft(&"x".repeat(201), &["seg"], &[("08:00", "18:00")]),
            vec![fe("description", msg::DESCRIPTION_TOO_LONG)],
        ),
        (
            draft("A", &[], &[("08:00", "18:00")]),
            vec![fe("weekdays", msg::WEEKDAY_REQUIRED)],
        ),
        (
            draft("A", &["seg", "xyz"], &[("08:00", "18:00")]),
            vec![fe("weekdays[1]", msg::WEEKDAY_INVALID)],
        ),
        (
            draft("A", &["seg"], &[]),
            vec![fe("intervals", msg::INTERVAL_REQUIRED)],
        ),
        (
            draft("A", &["seg"], &[("8h", "18:00")]),
            vec![fe("intervals[0].start", msg::TIME_INVALID)],
        ),
        (
            draft("A", &["seg"], &[("08:00", "12:00"), ("13:00", "25:00")]),
            vec![fe("intervals[1].end", msg::TIME_INVALID)],
        ),
        (
            draft("A", &["seg"], &[("", "")]),
            vec![
                fe("intervals[0].start", msg::TIME_INVALID),
                fe("intervals[0].end", msg::TIME_INVALID),
            ],
        ),
        (
            draft("A", &["seg"], &[("08:00", "08:00")]),
            vec![fe("intervals[0].end", msg::START_EQUALS_END)],
        ),
        (
            draft("A", &["seg"], &[("24:00", "08:00")]),
            vec![fe("intervals[0].start", msg::TIME_INVALID)],
        ),
        (
            draft("", &[], &[("10:00", "10:00")]),
            vec![
                fe("description", msg::DESCRIPTION_REQUIRED),
                fe("weekdays", msg::WEEKDAY_REQUIRED),
                fe("intervals[0].end", msg::START_EQUALS_END),
            ],
        ),
    ];
    for (d, want) in cases {
        match d.parse() {
            Ok(rule) => {
                assert!(want.is_empty(), "{d:?} should fail with {want:?}");
                assert!(rule.validate().is_empty());
            }
            Err(got) => assert_eq!(got, want, "{d:?}"),
        }
    }
    let parsed = draft(
        "  Atendimento ",
        &["seg", "segunda", "ter"],
        &[("8:00", "12:00")],
    )
    .parse()
    .unwrap();
    assert_eq!(parsed.description, "Atendimento");
    assert_eq!(parsed.weekdays.to_ids(), "mon,tue");
    assert_eq!(
        parsed.intervals,
        vec![Interval::parse("08:00", "12:00").unwrap()]
    );
}

#[test]
fn typed_rule_and_schedule_validation() {
    let bad = ServiceHoursRule::new("", WeekdaySet::EMPTY, vec![]);
    assert_eq!(
        bad.validate(),
        vec![
            FieldError::new("description", msg::DESCRIPTION_REQUIRED),
            FieldError::new("weekdays", msg::WEEKDAY_REQUIRED),
            FieldError::new("intervals", msg::INTERVAL_REQUIRED),
        ]
    );
    let mut s = Schedule::new(vec![rule("Ok", "mon", &[("08:00", "18:00")]), bad])
        .with_time_zone("America/Atlantida");
    s.closed_dates
        .push(prosa_rules::ClosedDate::new(date(2026, 3, 4), None));
    s.closed_dates.push(prosa_rules::ClosedDate::new(
        date(2026, 3, 4),
        Some("de novo"),
    ));
    let fields: Vec<String> = s.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "time_zone",
            "closed_dates[1].date",
            "rules[1].description",
            "rules[1].weekdays",
            "rules[1].intervals"
        ]
    );
    assert!(s.zone().is_err());
    // An unknown zone evaluates in São Paulo.
    let t = local(&Schedule::default(), "2026-03-02 09:00");
    assert!(is_open(&s, INBOX, t));
    for name in [
        "America/Sao_Paulo",
        "America/Manaus",
        "America/Noronha",
        "America/Cuiaba",
        "America/Rio_Branco",
        "America/Belem",
    ] {
        assert!(
            Schedule::default()
                .with_time_zone(name)
                .validate()
                .is_empty(),
            "{name}"
        );
    }
}

#[test]
fn serde_shapes() {
    let json = r#"{
        "rules": [{"description": "Atendimento", "weekdays": ["seg","ter","wed"], "intervals": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}], "inbox_ids": [1]}],
        "closed_dates": [{"date": "2026-03-04", "description": "Aniversário da cidade"}, {"date": "2026-02-17"}]
    }"#;
    let s: Schedule = serde_json::from_str(json).unwrap();
    assert_eq!(s.time_zone, "America/Sao_Paulo");
    assert!(s.national_holidays);
    assert!(s.rules[0].active);
    assert_eq!(s.rules[0].inbox_ids, vec![InboxId(1)]);
    assert_eq!(s.closed_dates[1].description, None);
    let back = serde_json::to_value(&s).unwrap();
    assert_eq!(
        back["rules"][0]["weekdays"],
        serde_json::json!(["mon", "tue", "wed"])
    );
    assert_eq!(back["rules"][0]["intervals"][1]["end"], "18:00");
    assert_eq!(back["closed_dates"][0]["date"], "2026-03-04");
    let again: Schedule = serde_json::from_value(back).unwrap();
    assert_eq!(again, s);
    assert!(
        serde_json::from_str::<ServiceHoursRule>(
            r#"{"description":"x","weekdays":["xx"],"intervals":[]}"#
        )
        .is_err()
    );
    assert!(
        serde_json::from_str::<ServiceHoursRule>(
            r#"{"description":"x","weekdays":["mon"],"intervals":[{"start":"8h","end":"9:00"}]}"#
        )
        .is_err()
    );
}

#[test]
fn day_off_descriptions() {
    let s = Schedule::default();
    let cases: [(Date, Option<&str>); 4] = [
        (date(2026, 4, 3), Some("Sexta-feira Santa")),
        (date(2026, 12, 25), Some("Natal")),
        (date(2026, 2, 17), None),
        (date(2026, 3, 2), None),
    ];
    for (d, want) in cases {
        assert_eq!(
            s.day_off(d)
                .and_then(|o| o.description().map(str::to_owned))
                .as_deref(),
            want,
            "{d}"
        );
    }
}
