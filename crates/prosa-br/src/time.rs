//! America/Sao_Paulo ("horário de Brasília") helpers.
//!
//! We resolve the real `America/Sao_Paulo` zone (the crate enables jiff's `tzdb-bundle-always`,
//! so the zone is found even on hosts without `/usr/share/zoneinfo`, e.g. scratch containers;
//! jiff still prefers the system database when present). A real zone matters for timestamps
//! before 2019, when Brazil still had daylight saving time (Decreto 9.772/2019 ended it), and
//! in case it returns. Should lookup fail anyway, we fall back to a fixed UTC−3 offset, which is
//! exact for every instant since 2019-02-17.

use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ZonedDateTime, civil};

/// The IANA name.
pub const SAO_PAULO: &str = "America/Sao_Paulo";

/// The São Paulo zone (UTC−3 fixed offset as a last-resort fallback).
pub fn sao_paulo() -> TimeZone {
    TimeZone::get(SAO_PAULO)
        .or_else(|_| jiff::tz::db().get(SAO_PAULO))
        .unwrap_or_else(|_| TimeZone::fixed(Offset::constant(-3)))
}

/// Now, in São Paulo.
pub fn now_sp() -> ZonedDateTime {
    Timestamp::now().to_zoned_datetime(sao_paulo())
}

/// Today's date in São Paulo.
pub fn today_sp() -> civil::Date {
    now_sp().date()
}

/// A UTC instant in São Paulo.
pub fn to_sp(ts: Timestamp) -> ZonedDateTime {
    ts.to_zoned_datetime(sao_paulo())
}

/// A UTC instant as São Paulo civil (wall-clock) time.
pub fn to_sp_civil(ts: Timestamp) -> civil::DateTime {
    to_sp(ts).datetime()
}

/// A São Paulo wall-clock time as a UTC instant (earlier instant when ambiguous).
pub fn from_sp_civil(dt: civil::DateTime) -> Option<Timestamp> {
    dt.to_zoned_datetime(sao_paulo())
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn converts_utc_to_sao_paulo() {
        let ts: Timestamp = "2026-01-15T15:00:00Z".parse().unwrap();
        assert_eq!(to_sp_civil(ts), date(2026, 1, 15).at(12, 0, 0, 0));
        let midnight: Timestamp = "2026-03-01T02:30:00Z".parse().unwrap();
        assert_eq!(to_sp(midnight).date(), date(2026, 2, 28));
        assert_eq!(from_sp_civil(date(2026, 1, 15).at(12, 0, 0, 0)), Some(ts));
    }

    #[test]
    fn uses_the_real_zone_with_historic_daylight_saving() {
        // 2018-12-01: Brazil was on daylight saving time (UTC−2).
        let ts: Timestamp = "2018-12-01T12:00:00Z".parse().unwrap();
        assert_eq!(to_sp_civil(ts), date(2018, 12, 1).at(10, 0, 0, 0));
    }

    #[test]
    fn bundled_database_has_the_zone() {
        let tz = jiff::tz::TimeZoneDatabase::bundled()
            .get(SAO_PAULO)
            .unwrap();
        let ts: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        assert_eq!(tz.to_offset(ts), Offset::constant(-3));
    }

    #[test]
    fn now_is_sane() {
        let n = now_sp();
        assert_eq!(n.offset(), Offset::constant(-3));
        assert_eq!(today_sp(), n.date());
    }
}
