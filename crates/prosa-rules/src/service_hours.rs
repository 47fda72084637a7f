//! Service hours of the human queue ("regras de atendimento manual").
//!
//! # Model
//! A [`ServiceHoursRule`] opens the queue on some weekdays during one or more [`Interval`]s
//! (minute precision, start inclusive, end exclusive). An interval whose end is ≤ its start crosses
//! midnight and belongs to the weekday it **starts** on: "sexta 22:00–02:00" is open Friday
//! 22:00–24:00 and Saturday 00:00–02:00. `24:00` is accepted as an end ("18:00–24:00" does not
//! cross; "00:00–24:00" is the whole day). A rule applies to the inboxes it lists, or to every inbox
//! when the list is empty; inactive rules never apply.
//!
//! A [`Schedule`] is the rules plus the ISP's IANA time zone (default `America/Sao_Paulo`), whether
//! national holidays close the queue (default yes, Good Friday included; "ponto facultativo" days
//! such as Carnaval and Corpus Christi stay open unless the ISP adds them as closed dates) and the
//! ISP's own closed dates. The queue is open at an instant when the day is not a day off and any
//! applicable rule covers the local wall-clock minute.
//!
//! # Days off close calendar days
//! A holiday or closed date closes exactly its own calendar day, 00:00–24:00 in the ISP's zone,
//! whatever the rules say. Consequences for midnight-crossing intervals (tested):
//! - the early-hours tail of an interval that started the evening **before** a day off is cut at
//!   midnight (24/12 22:00–02:00 is open until 24/12 23:59 and closed on 25/12 00:00–02:00);
//! - the tail of an interval that started **on** a day off, running into a normal day, is open
//!   (25/12 22:00–02:00 is closed on the 25th and open on 26/12 00:00–02:00).
//!
//! # Time zone
//! Rules are wall-clock times in the schedule's zone, so they follow daylight saving time when
//! the zone had it (São Paulo before 2019). An unknown zone name is reported by
//! [`Schedule::validate`]; evaluation then falls back to `America/Sao_Paulo`.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};
use prosa_domain::InboxId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use crate::validation::{FieldError, check_description, msg};

/// How far [`next_opening`] looks ahead, in days.
pub const SEARCH_DAYS: i64 = 400;

/// The default zone.
pub const DEFAULT_TIME_ZONE: &str = prosa_br::time::SAO_PAULO;

// ---------------------------------------------------------------------------------------------
// Clock time
// ---------------------------------------------------------------------------------------------

/// A wall-clock time of day at minute precision, `00:00`..=`24:00` (stored as minutes since
/// midnight, 0..=1440; `24:00` is only meaningful as an interval end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

/// A string that is not a valid `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("horário inválido (use HH:MM): {0:?}")]
pub struct InvalidClockTime(pub String);

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    /// `24:00`, the end of the day.
    pub const END_OF_DAY: ClockTime = ClockTime(1440);

    /// `hour:minute`; `24:00` allowed.
    pub fn new(hour: u8, minute: u8) -> Option<ClockTime> {
        let m = u16::from(hour) * 60 + u16::from(minute);
        (minute < 60 && m <= 1440).then_some(ClockTime(m))
    }

    /// Minutes since midnight, 0..=1440 (the storage's `start_minute`/`end_minute`).
    pub fn from_minutes(minutes: u16) -> Option<ClockTime> {
        (minutes <= 1440).then_some(ClockTime(minutes))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }

    pub fn hour(self) -> u8 {
        (self.0 / 60) as u8
    }

    pub fn minute(self) -> u8 {
        (self.0 % 60) as u8
    }

    /// The civil time; `24:00` has none.
    pub fn to_civil(self) -> Option<jiff::civil::Time> {
        (self.0 < 1440).then(|| jiff::civil::time(self.hour() as i8, self.minute() as i8, 0, 0))
    }

    /// The minute of a civil time (seconds ignored).
    pub fn of(t: jiff::civil::Time) -> ClockTime {
        ClockTime(t.hour() as u16 * 60 + t.minute() as u16)
    }
}

impl FromStr for ClockTime {
    type Err = InvalidClockTime;

    /// `HH:MM` or `H:MM` (surrounding spaces ignored); `24:00` is the end of the day.
    fn from_str(s: &str) -> Result<ClockTime, InvalidClockTime> {
        let err = || InvalidClockTime(s.to_owned());
        let t = s.trim();
        let (h, m) = t.split_once(':').ok_or_else(err)?;
        let digits = |x: &str, min: usize, max: usize| {
            (min..=max).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(h, 1, 2) || !digits(m, 2, 2) {
            return Err(err());
        }
        let (h, m): (u8, u8) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
        if h > 24 || m > 59 || (h == 24 && m != 0) {
            return Err(err());
        }
        ClockTime::new(h, m).ok_or_else(err)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ClockTime, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `start..end` in wall-clock time; start inclusive, end exclusive. `end <= start` crosses
/// midnight (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub start: ClockTime,
    pub end: ClockTime,
}

impl Interval {
    pub fn new(start: ClockTime, end: ClockTime) -> Interval {
        Interval { start, end }
    }

    /// Parses `"08:00"`, `"12:00"`.
    pub fn parse(start: &str, end: &str) -> Result<Interval, InvalidClockTime> {
        Ok(Interval {
            start: start.parse()?,
            end: end.parse()?,
        })
    }

    /// Whether it runs past midnight into the next calendar day.
    pub fn crosses_midnight(self) -> bool {
        self.end <= self.start
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.start, self.end)
    }
}

// ---------------------------------------------------------------------------------------------
// Weekdays
// ---------------------------------------------------------------------------------------------

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// The stable id of a weekday: `mon`..`sun`.
pub fn weekday_id(w: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][w.to_monday_zero_offset() as usize]
}

/// The pt-BR name: `segunda-feira`, …, `sábado`, `domingo`.
pub fn weekday_name_pt(w: Weekday) -> &'static str {
    [
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ][w.to_monday_zero_offset() as usize]
}

/// Reads a weekday id or name, English or Portuguese, any case, accents optional: `mon`,
/// `monday`, `seg`, `segunda`, `segunda-feira`, `2ª`, `ter`, `terça`, `sáb`, `sabado`, `dom`…
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s: String = s
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold_accent)
        .collect();
    let s = s
        .strip_suffix("-feira")
        .or_else(|| s.strip_suffix(" feira"))
        .unwrap_or(&s);
    let s = s.trim_end_matches('.');
    use Weekday::*;
    Some(match s {
        "mon" | "monday" | "seg" | "segunda" | "2a" | "2ª" => Monday,
        "tue" | "tuesday" | "ter" | "terca" | "3a" | "3ª" => Tuesday,
        "wed" | "wednesday" | "qua" | "quarta" | "4a" | "4ª" => Wednesday,
        "thu" | "thursday" | "qui" | "quinta" | "5a" | "5ª" => Thursday,
        "fri" | "friday" | "sex" | "sexta" | "6a" | "6ª" => Friday,
        "sat" | "saturday" | "sab" | "sabado" => Saturday,
        "sun" | "sunday" | "dom" | "domingo" => Sunday,
        _ => return None,
    })
}

/// Folds the Portuguese accented letters to ASCII (lower case in, lower case out).
pub(crate) fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        c => c,
    }
}

/// A set of weekdays. Serialized as a list of ids in week order (`["mon","tue"]`); deserialized
/// from ids or names ([`parse_weekday`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WeekdaySet(u8);

impl WeekdaySet {
    pub const EMPTY: WeekdaySet = WeekdaySet(0);
    pub const ALL: WeekdaySet = WeekdaySet(0x7f);
    /// Monday to Friday.
    pub const MON_FRI: WeekdaySet = WeekdaySet(0x1f);
    /// Monday to Saturday.
    pub const MON_SAT: WeekdaySet = WeekdaySet(0x3f);

    fn bit(w: Weekday) -> u8 {
        1 << w.to_monday_zero_offset()
    }

    pub fn contains(self, w: Weekday) -> bool {
        self.0 & Self::bit(w) != 0
    }

    pub fn insert(&mut self, w: Weekday) {
        self.0 |= Self::bit(w);
    }

    pub fn with(mut self, w: Weekday) -> WeekdaySet {
        self.insert(w);
        self
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// In week order, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        WEEKDAYS.into_iter().filter(move |w| self.contains(*w))
    }

    /// The raw bitmask (bit 0 = Monday … bit 6 = Sunday).
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> WeekdaySet {
        WeekdaySet(bits & 0x7f)
    }

    /// Parses a comma/space separated list (`"mon,tue"`, `"seg sex"`); `None` on an unknown item.
    pub fn parse_list(s: &str) -> Option<WeekdaySet> {
        s.split([',', ' ', ';'])
            .filter(|x| !x.trim().is_empty())
            .map(parse_weekday)
            .collect::<Option<WeekdaySet>>()
    }

    /// Comma separated ids (`"mon,tue"`), the storage's `weekdays` text.
    pub fn to_ids(self) -> String {
        self.iter().map(weekday_id).collect::<Vec<_>>().join(",")
    }
}

impl FromIterator<Weekday> for WeekdaySet {
    fn from_iter<I: IntoIterator<Item = Weekday>>(iter: I) -> WeekdaySet {
        let mut s = WeekdaySet::EMPTY;
        for w in iter {
            s.insert(w);
        }
        s
    }
}

impl Serialize for WeekdaySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(weekday_id))
    }
}

impl<'de> Deserialize<'de> for WeekdaySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WeekdaySet, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        items
            .iter()
            .map(|x| {
                parse_weekday(x).ok_or_else(|| {
                    serde::de::Error::custom(format!("dia da semana inválido: {x:?}"))
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// One service-hours rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceHoursRule {
    pub description: String,
    pub weekdays: WeekdaySet,
    pub intervals: Vec<Interval>,
    /// Inboxes it applies to; empty = every inbox.
    #[serde(default)]
    pub inbox_ids: Vec<InboxId>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl ServiceHoursRule {
    /// An active rule for every inbox.
    pub fn new(
        description: impl Into<String>,
        weekdays: WeekdaySet,
        intervals: Vec<Interval>,
    ) -> ServiceHoursRule {
        ServiceHoursRule {
            description: description.into(),
            weekdays,
            intervals,
            inbox_ids: Vec::new(),
            active: true,
        }
    }

    /// Active, and listing this inbox or no inbox at all.
    pub fn applies_to(&self, inbox: InboxId) -> bool {
        self.active && (self.inbox_ids.is_empty() || self.inbox_ids.contains(&inbox))
    }

    /// Whether the rule's intervals cover this local minute of this date (days off ignored).
    pub fn covers(&self, date: Date, at: ClockTime) -> bool {
        let today = date.weekday();
        let yesterday = today.previous();
        self.intervals.iter().any(|i| {
            if i.crosses_midnight() {
                (self.weekdays.contains(today) && at >= i.start)
                    || (self.weekdays.contains(yesterday) && at < i.end)
            } else {
                self.weekdays.contains(today) && i.start <= at && at < i.end
            }
        })
    }

    /// Field errors (empty = valid): description, weekdays, intervals (`início e fim iguais`,
    /// `24:00` as a start).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        check_description(&self.description, &mut out);
        if self.weekdays.is_empty() {
            out.push(FieldError::new("weekdays", msg::WEEKDAY_REQUIRED));
        }
        if self.intervals.is_empty() {
            out.push(FieldError::new("intervals", msg::INTERVAL_REQUIRED));
        }
        for (n, i) in self.intervals.iter().enumerate() {
            check_interval(n, i.start, i.end, &mut out);
        }
        out
    }
}

fn check_interval(n: usize, start: ClockTime, end: ClockTime, out: &mut Vec<FieldError>) {
    if start == ClockTime::END_OF_DAY {
        out.push(FieldError::new(
            format!("intervals[{n}].start"),
            msg::TIME_INVALID,
        ));
    } else if start == end {
        out.push(FieldError::new(
            format!("intervals[{n}].end"),
            msg::START_EQUALS_END,
        ));
    }
}

/// An interval as typed in the panel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalDraft {
    pub start: String,
    pub end: String,
}

/// A rule as typed in the panel (strings), turned into a [`ServiceHoursRule`] by
/// [`ServiceHoursRuleDraft::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceHoursRuleDraft {
    #[serde(default)]
    pub description: String,
    /// Ids or names (`"mon"`, `"seg"`, `"sábado"`).
    #[serde(default)]
    pub weekdays: Vec<String>,
    #[serde(default)]
    pub intervals: Vec<IntervalDraft>,
    #[serde(default)]
    pub inbox_ids: Vec<InboxId>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl ServiceHoursRuleDraft {
    /// The rule, or every field error at once. Fields: `description`, `weekdays`,
    /// `weekdays[i]`, `intervals`, `intervals[i].start`, `intervals[i].end`.
    pub fn parse(&self) -> Result<ServiceHoursRule, Vec<FieldError>> {
        let mut out = Vec::new();
        check_description(&self.description, &mut out);
        let mut weekdays = WeekdaySet::EMPTY;
        for (n, w) in self.weekdays.iter().enumerate() {
            match parse_weekday(w) {
                Some(w) => weekdays.insert(w),
                None => out.push(FieldError::new(
                    format!("weekdays[{n}]"),
                    msg::WEEKDAY_INVALID,
                )),
            }
        }
        if self.weekdays.is_empty() {
            out.push(FieldError::new("weekdays", msg::WEEKDAY_REQUIRED));
        }
        if self.intervals.is_empty() {
            out.push(FieldError::new("intervals", msg::INTERVAL_REQUIRED));
        }
        let mut intervals = Vec::new();
        for (n, i) in self.intervals.iter().enumerate() {
            let start = i.start.parse::<ClockTime>();
            let end = i.end.parse::<ClockTime>();
            if start.is_err() {
                out.push(FieldError::new(
                    format!("intervals[{n}].start"),
                    msg::TIME_INVALID,
                ));
            }
            if end.is_err() {
                out.push(FieldError::new(
                    format!("intervals[{n}].end"),
                    msg::TIME_INVALID,
                ));
            }
            if let (Ok(start), Ok(end)) = (start, end) {
                check_interval(n, start, end, &mut out);
                intervals.push(Interval { start, end });
            }
        }
        if out.is_empty() {
            Ok(ServiceHoursRule {
                description: self.description.trim().to_owned(),
                weekdays,
                intervals,
                inbox_ids: self.inbox_ids.clone(),
                active: self.active,
            })
        } else {
            Err(out)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Schedule
// ---------------------------------------------------------------------------------------------

/// A date the ISP closes (state or municipal holiday, company event, Carnaval…).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClosedDate {
    pub date: Date,
    #[serde(default)]
    pub description: Option<String>,
}

impl ClosedDate {
    pub fn new(date: Date, description: Option<&str>) -> ClosedDate {
        ClosedDate {
            date,
            description: description.map(str::to_owned),
        }
    }
}

/// Why a day is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOff<'a> {
    /// A national holiday (its pt-BR name).
    NationalHoliday(&'static str),
    /// One of the ISP's closed dates.
    Closed(&'a ClosedDate),
}

impl DayOff<'_> {
    /// The name to show, when there is one.
    pub fn description(&self) -> Option<&str> {
        match self {
            DayOff::NationalHoliday(name) => Some(name),
            DayOff::Closed(c) => c.description.as_deref(),
        }
    }
}

/// Rules plus calendar: everything [`is_open`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(default)]
    pub rules: Vec<ServiceHoursRule>,
    /// IANA name, e.g. `America/Sao_Paulo`, `America/Manaus`.
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// National holidays close the queue (Good Friday included, Carnaval not).
    #[serde(default = "yes")]
    pub national_holidays: bool,
    #[serde(default)]
    pub closed_dates: Vec<ClosedDate>,
}

fn default_zone() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            rules: Vec::new(),
            time_zone: default_zone(),
            national_holidays: true,
            closed_dates: Vec::new(),
        }
    }
}

/// The schedule's zone name is not in the time zone database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fuso horário desconhecido: {0:?}")]
pub struct UnknownTimeZone(pub String);

impl Schedule {
    /// A schedule in São Paulo with national holidays on.
    pub fn new(rules: Vec<ServiceHoursRule>) -> Schedule {
        Schedule {
            rules,
            ..Schedule::default()
        }
    }

    pub fn with_time_zone(mut self, name: &str) -> Schedule {
        self.time_zone = name.to_owned();
        self
    }

    pub fn with_closed_date(mut self, date: Date, description: Option<&str>) -> Schedule {
        self.closed_dates.push(ClosedDate::new(date, description));
        self
    }

    /// The zone, or an error for an unknown name.
    pub fn zone(&self) -> Result<TimeZone, UnknownTimeZone> {
        let name = self.time_zone.trim();
        TimeZone::get(name)
            .or_else(|_| jiff::tz::db().get(name))
            .map_err(|_| UnknownTimeZone(self.time_zone.clone()))
    }

    /// The zone used for evaluation: [`Schedule::zone`], falling back to São Paulo.
    pub fn zone_or_default(&self) -> TimeZone {
        self.zone().unwrap_or_else(|_| prosa_br::time::sao_paulo())
    }

    /// Why `date` (in the ISP's zone) is closed, if it is.
    pub fn day_off(&self, date: Date) -> Option<DayOff<'_>> {
        if let Some(c) = self.closed_dates.iter().find(|c| c.date == date) {
            return Some(DayOff::Closed(c));
        }
        if self.national_holidays
            && let Some(h) = prosa_br::holidays::holiday_on(date)
            && h.kind == prosa_br::HolidayKind::National
        {
            return Some(DayOff::NationalHoliday(h.name));
        }
        None
    }

    /// Field errors: `time_zone`, `closed_dates[i].date` (repeated), `rules[i].<field>`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.zone().is_err() {
            out.push(FieldError::new("time_zone", msg::TIME_ZONE_INVALID));
        }
        for (n, c) in self.closed_dates.iter().enumerate() {
            if self.closed_dates[..n].iter().any(|o| o.date == c.date) {
                out.push(FieldError::new(
                    format!("closed_dates[{n}].date"),
                    msg::CLOSED_DATE_DUPLICATE,
                ));
            }
        }
        for (n, r) in self.rules.iter().enumerate() {
            out.extend(
                r.validate()
                    .into_iter()
                    .map(|e| e.prefixed(&format!("rules[{n}]"))),
            );
        }
        out
    }

    /// Open at this local wall-clock time?
    pub fn is_open_civil(&self, inbox: InboxId, dt: DateTime) -> bool {
        let date = dt.date();
        let at = ClockTime::of(dt.time());
        // Rules first: cheaper than the holiday lookup.
        self.rules
            .iter()
            .any(|r| r.applies_to(inbox) && r.covers(date, at))
            && self.day_off(date).is_none()
    }

    fn applicable(&self, inbox: InboxId) -> impl Iterator<Item = &ServiceHoursRule> {
        self.rules.iter().filter(move |r| {
            r.applies_to(inbox) && !r.weekdays.is_empty() && !r.intervals.is_empty()
        })
    }
}

/// Whether the human queue of `inbox` is open at `instant`.
pub fn is_open(schedule: &Schedule, inbox: InboxId, instant: Timestamp) -> bool {
    let tz = schedule.zone_or_default();
    schedule.is_open_civil(inbox, tz.to_datetime(instant))
}

/// The first instant at or after `instant` when the queue of `inbox` is open, in the ISP's
/// zone: `instant` itself when already open, otherwise a minute boundary. `None` when nothing
/// opens within [`SEARCH_DAYS`] days (no applicable rule, or every matching day closed).
pub fn next_opening(
    schedule: &Schedule,
    inbox: InboxId,
    instant: Timestamp,
) -> Option<ZonedDateTime> {
    let tz = schedule.zone_or_default();
    if schedule.is_open_civil(inbox, tz.to_datetime(instant)) {
        return Some(instant.to_zoned_datetime(tz));
    }
    let rules: Vec<&ServiceHoursRule> = schedule.applicable(inbox).collect();
    if rules.is_empty() {
        return None;
    }
    // Openness is a function of the local wall-clock minute that can only switch on at midnight
    // (end of a day off, tail of a crossing interval) or at an interval start, or at an instant
    // where the zone's offset changes. Those are the candidates; the first open one wins.
    let mut starts: Vec<ClockTime> = rules
        .iter()
        .flat_map(|r| r.intervals.iter().map(|i| i.start))
        .filter(|s| *s < ClockTime::END_OF_DAY)
        .chain([ClockTime::MIDNIGHT])
        .collect();
    starts.sort_unstable();
    starts.dedup();

    let first_day = tz.to_datetime(instant).date();
    let limit = instant
        .checked_add(jiff::SignedDuration::from_hours(24 * (SEARCH_DAYS + 1)))
        .ok()?;
    let mut candidates: Vec<Timestamp> =
        Vec::with_capacity(starts.len() * (SEARCH_DAYS as usize + 2));
    let mut day = first_day.checked_sub(1.day()).ok()?;
    for _ in 0..=SEARCH_DAYS + 1 {
        for s in &starts {
            let dt = day.to_datetime(s.to_civil().expect("invariant: starts < 24:00"));
            let amb = tz.to_ambiguous_timestamp(dt);
            // Both sides of a fold; in a gap, the later side (the transition itself is added below).
            for ts in [amb.earlier(), amb.later()].into_iter().flatten() {
                if ts > instant && ts <= limit {
                    candidates.push(ts);
                }
            }
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    candidates.extend(
        tz.following(instant)
            .map(|t| t.timestamp())
            .take_while(|t| *t <= limit),
    );
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .find(|ts| schedule.is_open_civil(inbox, tz.to_datetime(*ts)))
        .map(|ts| ts.to_zoned_datetime(tz.clone()))
}

/// pt-BR wording of an opening for the bot, relative to `now` (both seen in the opening's zone):
/// `hoje às 14:00`, `amanhã às 08:00`, the weekday name within the week (`segunda-feira às
/// 08:00`), then `em 25/12 às 08:00` (with the year, `em 05/01/2027 às 08:00`, when the date is
/// 300 days or more away).
pub fn format_opening(opening: &ZonedDateTime, now: Timestamp) -> String {
    let today = opening.time_zone().to_datetime(now).date();
    let day = opening.date();
    let at = format!("{:02}:{:02}", opening.hour(), opening.minute());
    let days = today.until(day).map(|s| s.get_days()).unwrap_or(i32::MAX);
    match days {
        0 => format!("hoje às {at}"),
        1 => format!("amanhã às {at}"),
        2..=6 => format!("{} às {at}", weekday_name_pt(day.weekday())),
        7..300 => format!("em {:02}/{:02} às {at}", day.day(), day.month()),
        _ => format!(
            "em {:02}/{:02}/{} às {at}",
            day.day(),
            day.month(),
            day.year()
        ),
    }
}

/// [`next_opening`] worded by [`format_opening`]; `None` when nothing opens.
pub fn describe_next_opening(
    schedule: &Schedule,
    inbox: InboxId,
    now: Timestamp,
) -> Option<String> {
    next_opening(schedule, inbox, now).map(|o| format_opening(&o, now))
}
