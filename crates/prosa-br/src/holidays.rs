//! Brazil's national holidays and federal "ponto facultativo" days.
//!
//! What counts as [`HolidayKind::National`] (what [`is_national_holiday`] answers):
//! - fixed dates of Lei 662/1949 as amended: 01/01 Confraternização Universal, 21/04 Tiradentes,
//!   01/05 Dia do Trabalho, 07/09 Independência, 02/11 Finados, 15/11 Proclamação da República,
//!   25/12 Natal;
//! - 12/10 Nossa Senhora Aparecida (Lei 6.802/1980, from 1980);
//! - 20/11 Dia Nacional de Zumbi e da Consciência Negra (Lei 14.759/2023, from 2024);
//! - Good Friday (Easter − 2). Legally it is a religious holiday declared by municipal law (Lei
//!   9.093/1995), but every municipality declares it and national calendars list it, so we count it.
//!
//! [`HolidayKind::Optional`] ("ponto facultativo" of the federal government, not holidays; banks
//! usually close on Carnival, verify per year): Carnival Monday and Tuesday (Easter − 48/−47) and
//! Corpus Christi (Easter + 60). State "data magna" and municipal holidays are not here: they
//! belong in per-tenant configuration.

use jiff::ToSpan;
use jiff::civil::{Date, date};

/// Whether a day is a holiday or an optional day off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayKind {
    /// National holiday.
    National,
    /// Federal "ponto facultativo".
    Optional,
}

/// A dated holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Holiday {
    pub date: Date,
    /// Portuguese name.
    pub name: &'static str,
    pub kind: HolidayKind,
}

/// Easter Sunday (Gregorian; anonymous "Meeus/Jones/Butcher" algorithm). Valid for 1583..=9999.
pub fn easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, month as i8, day as i8)
}

/// Holidays and optional days of a year, sorted by date; empty outside the Gregorian years we
/// can compute (1583..=9998).
pub fn holidays(year: i16) -> Vec<Holiday> {
    use HolidayKind::{National, Optional};
    if !(1583..=9998).contains(&year) {
        return Vec::new();
    }
    let mut out = vec![
        Holiday {
            date: date(year, 1, 1),
            name: "Confraternização Universal",
            kind: National,
        },
        Holiday {
            date: date(year, 4, 21),
            name: "Tiradentes",
            kind: National,
        },
        Holiday {
            date: date(year, 5, 1),
            name: "Dia do Trabalho",
            kind: National,
        },
        Holiday {
            date: date(year, 9, 7),
            name: "Independência do Brasil",
            kind: National,
        },
        Holiday {
            date: date(year, 11, 2),
            name: "Finados",
            kind: National,
        },
        Holiday {
            date: date(year, 11, 15),
            name: "Proclamação da República",
            kind: National,
        },
        Holiday {
            date: date(year, 12, 25),
            name: "Natal",
            kind: National,
        },
    ];
    if year >= 1980 {
        out.push(Holiday {
            date: date(year, 10, 12),
            name: "Nossa Senhora Aparecida",
            kind: National,
        });
    }
    if year >= 2024 {
        out.push(Holiday {
            date: date(year, 11, 20),
            name: "Dia Nacional de Zumbi e da Consciência Negra",
            kind: National,
        });
    }
    let e = easter(year);
    let shift = |days: i64| {
        e.checked_add(days.days())
            .expect("invariant: Easter ± 60 days stays in range")
    };
    out.push(Holiday {
        date: shift(-48),
        name: "Carnaval (segunda-feira)",
        kind: Optional,
    });
    out.push(Holiday {
        date: shift(-47),
        name: "Carnaval (terça-feira)",
        kind: Optional,
    });
    out.push(Holiday {
        date: shift(-2),
        name: "Sexta-feira Santa",
        kind: National,
    });
    out.push(Holiday {
        date: shift(60),
        name: "Corpus Christi",
        kind: Optional,
    });
    out.sort_by_key(|h| h.date);
    out
}

/// The holiday or optional day on this date, if any.
pub fn holiday_on(d: Date) -> Option<Holiday> {
    holidays(d.year()).into_iter().find(|h| h.date == d)
}

/// Whether `d` is a national holiday (Good Friday included; Carnival and Corpus Christi not).
pub fn is_national_holiday(d: Date) -> bool {
    holiday_on(d).is_some_and(|h| h.kind == HolidayKind::National)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_vectors() {
        let cases = [
            (2000, date(2000, 4, 23)),
            (2019, date(2019, 4, 21)),
            (2024, date(2024, 3, 31)),
            (2025, date(2025, 4, 20)),
            (2026, date(2026, 4, 5)),
            (2027, date(2027, 3, 28)),
            (2038, date(2038, 4, 25)),
            (2285, date(2285, 3, 22)),
        ];
        for (y, want) in cases {
            assert_eq!(easter(y), want, "{y}");
        }
    }

    #[test]
    fn doc_vectors_2026_2027() {
        let find = |y, name: &str| {
            holidays(y)
                .into_iter()
                .find(|h| h.name == name)
                .unwrap()
                .date
        };
        assert_eq!(find(2026, "Sexta-feira Santa"), date(2026, 4, 3));
        assert_eq!(find(2026, "Carnaval (terça-feira)"), date(2026, 2, 17));
        assert_eq!(find(2026, "Corpus Christi"), date(2026, 6, 4));
        assert_eq!(find(2027, "Sexta-feira Santa"), date(2027, 3, 26));
        assert_eq!(find(2027, "Carnaval (terça-feira)"), date(2027, 2, 9));
        assert_eq!(find(2027, "Corpus Christi"), date(2027, 5, 27));
    }

    #[test]
    fn national_holiday_answers() {
        let cases = [
            (date(2026, 1, 1), true),
            (date(2026, 4, 3), true),
            (date(2026, 4, 21), true),
            (date(2026, 10, 12), true),
            (date(2026, 11, 20), true),
            (date(2023, 11, 20), false),
            (date(2024, 11, 20), true),
            (date(2026, 2, 17), false),
            (date(2026, 6, 4), false),
            (date(2026, 3, 10), false),
            (date(1979, 10, 12), false),
        ];
        for (d, want) in cases {
            assert_eq!(is_national_holiday(d), want, "{d}");
        }
        assert_eq!(
            holiday_on(date(2026, 2, 16)).map(|h| h.kind),
            Some(HolidayKind::Optional)
        );
    }

    #[test]
    fn year_lists_are_sorted_and_complete() {
        for y in [1990, 2023, 2024, 2026, 2100] {
            let list = holidays(y);
            assert!(list.windows(2).all(|w| w[0].date < w[1].date), "{y}");
            let national = list
                .iter()
                .filter(|h| h.kind == HolidayKind::National)
                .count();
            assert_eq!(national, if y >= 2024 { 10 } else { 9 }, "{y}");
            assert_eq!(
                list.iter()
                    .filter(|h| h.kind == HolidayKind::Optional)
                    .count(),
                3
            );
        }
    }
}
