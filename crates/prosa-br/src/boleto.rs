//! Boletos: the bank "cobrança" kind (44-digit bar code, 47-digit linha digitável) and the
//! "arrecadação" kind (utilities, taxes: 44-digit bar code starting with 8, 48-digit line).
//!
//! Bank boleto bar code (44 digits): bank (3) · currency (1, `9` = real) · general check digit (1)
//! · due-date factor (4) · value in cents (10) · campo livre (25, bank-specific).
//!
//! Linha digitável (47 digits), shown `AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV`:
//! field 1 = bank + currency + campo livre 1–5 + mod-10 DV; field 2 = campo livre 6–15 + DV;
//! field 3 = campo livre 16–25 + DV; field 4 = the bar code's general (mod-11) DV; field 5 =
//! factor + value.
//!
//! Due-date factor: days since 1997-10-07; factor 1000 was 2000-07-03 and 9999 was 2025-02-21.
//! FEBRABAN restarted it at 1000 on 2025-02-22, so a factor names one date every 9000 days. We
//! decode it inside a window around a reference day ("today"): from [`FACTOR_WINDOW_PAST_DAYS`]
//! before to [`FACTOR_WINDOW_FUTURE_DAYS`] after. The window leans to the past because overdue
//! boletos can be years old while nobody issues one due more than a few years ahead. Factor
//! `0000` means "no due date".

use jiff::ToSpan;
use jiff::civil::{Date, date};
use std::fmt;

/// Why a text is not a valid boleto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoletoError {
    /// Not 44 (bar code), 47 (linha digitável) or 48 (arrecadação) digits.
    WrongLength,
    /// Something other than digits, spaces, dots or dashes.
    InvalidCharacter,
    /// A field's (or arrecadação block's) check digit does not match; fields count from 1.
    FieldCheckDigit { field: u8 },
    /// The bar code's general check digit does not match.
    GeneralCheckDigit,
    /// Input for generation out of range (bank not 3 digits, campo livre not 25 digits, value too
    /// large, due date before 2000-07-03).
    InvalidInput,
}

impl fmt::Display for BoletoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoletoError::WrongLength => f.write_str("wrong length"),
            BoletoError::InvalidCharacter => f.write_str("invalid character"),
            BoletoError::FieldCheckDigit { field } => {
                write!(f, "check digit of field {field} does not match")
            }
            BoletoError::GeneralCheckDigit => f.write_str("general check digit does not match"),
            BoletoError::InvalidInput => f.write_str("invalid input"),
        }
    }
}

impl std::error::Error for BoletoError {}

/// Day 0 of the due-date factor.
pub const FACTOR_BASE: Date = date(1997, 10, 7);
/// Decoding window: a factor resolves to the date at most this many days before the reference...
pub const FACTOR_WINDOW_PAST_DAYS: i64 = 6000;
/// ...and less than this many days after it (the two add up to the 9000-day cycle).
pub const FACTOR_WINDOW_FUTURE_DAYS: i64 = 3000;

fn digits_only(input: &str) -> Result<Vec<u8>, BoletoError> {
    let mut out = Vec::with_capacity(48);
    for c in input.trim().chars() {
        match c {
            '0'..='9' => out.push(c as u8 - b'0'),
            ' ' | '.' | '-' => {}
            _ => return Err(BoletoError::InvalidCharacter),
        }
    }
    Ok(out)
}

fn to_string(d: &[u8]) -> String {
    d.iter().map(|x| char::from(b'0' + x)).collect()
}

/// Modulo 10 (FEBRABAN): weights 2,1,2,1… from the right, the digits of each product summed,
/// DV = (10 − sum mod 10) mod 10.
pub fn mod10(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let p = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn mod11_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * (2 + (i as u32 % 8)))
        .sum()
}

/// General DV of a bank boleto: modulo 11, weights 2..9 repeating from the right,
/// DV = 11 − (sum mod 11), where 0, 10 and 11 become 1 (so the DV is never 0).
pub fn mod11_boleto(digits: &[u8]) -> u8 {
    let dv = 11 - mod11_sum(digits) % 11;
    if dv == 10 || dv == 11 { 1 } else { dv as u8 }
}

/// Modulo 11 of arrecadação slips: DV = 11 − (sum mod 11), 10 and 11 become 0.
pub fn mod11_arrecadacao(digits: &[u8]) -> u8 {
    let dv = 11 - mod11_sum(digits) % 11;
    if dv >= 10 { 0 } else { dv as u8 }
}

fn days_between(from: Date, to: Date) -> i64 {
    to.duration_since(from).as_secs() / 86_400
}

/// The due-date factor of a date, or `None` before 2000-07-03 (factor 1000, the first one used).
pub fn due_factor(due: Date) -> Option<u16> {
    let days = days_between(FACTOR_BASE, due);
    if days < 1000 {
        return None;
    }
    Some(((days - 1000) % 9000 + 1000) as u16)
}

/// The date a factor (1000..=9999) names, chosen inside the window around `reference`
/// (see the module docs). `None` for factors outside 1000..=9999.
pub fn date_from_factor(factor: u16, reference: Date) -> Option<Date> {
    if !(1000..=9999).contains(&factor) {
        return None;
    }
    // Days since FACTOR_BASE of the first occurrence, then shift by whole cycles.
    let first = i64::from(factor);
    let lowest = days_between(FACTOR_BASE, reference) - FACTOR_WINDOW_PAST_DAYS;
    let mut days = first;
    if days < lowest {
        days += (lowest - days).div_euclid(9000) * 9000;
        if days < lowest {
            days += 9000;
        }
    }
    FACTOR_BASE.checked_add(days.days()).ok()
}

/// A valid bank boleto, kept as its 44-digit bar code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Boleto {
    barcode: [u8; 44],
}

impl Boleto {
    /// Parses a linha digitável (47 digits) or a bar code (44 digits), punctuation allowed.
    pub fn parse(input: &str) -> Result<Boleto, BoletoError> {
        let d = digits_only(input)?;
        match d.len() {
            44 => Self::from_barcode_digits(&d),
            47 => Self::from_line_digits(&d),
            _ => Err(BoletoError::WrongLength),
        }
    }

    /// Parses a 44-digit bar code.
    pub fn parse_barcode(input: &str) -> Result<Boleto, BoletoError> {
        let d = digits_only(input)?;
        if d.len() != 44 {
            return Err(BoletoError::WrongLength);
        }
        Self::from_barcode_digits(&d)
    }

    /// Parses a 47-digit linha digitável.
    pub fn parse_linha_digitavel(input: &str) -> Result<Boleto, BoletoError> {
        let d = digits_only(input)?;
        if d.len() != 47 {
            return Err(BoletoError::WrongLength);
        }
        Self::from_line_digits(&d)
    }

    fn from_barcode_digits(d: &[u8]) -> Result<Boleto, BoletoError> {
        let mut barcode = [0u8; 44];
        barcode.copy_from_slice(d);
        let b = Boleto { barcode };
        if b.barcode[4] != mod11_boleto(&b.without_dv()) {
            return Err(BoletoError::GeneralCheckDigit);
        }
        Ok(b)
    }

    fn from_line_digits(d: &[u8]) -> Result<Boleto, BoletoError> {
        let fields: [(&[u8], u8); 3] = [(&d[0..9], d[9]), (&d[10..20], d[20]), (&d[21..31], d[31])];
        for (i, (body, dv)) in fields.iter().enumerate() {
            if mod10(body) != *dv {
                return Err(BoletoError::FieldCheckDigit { field: i as u8 + 1 });
            }
        }
        let mut barcode = [0u8; 44];
        barcode[0..4].copy_from_slice(&d[0..4]);
        barcode[4] = d[32];
        barcode[5..19].copy_from_slice(&d[33..47]);
        barcode[19..24].copy_from_slice(&d[4..9]);
        barcode[24..34].copy_from_slice(&d[10..20]);
        barcode[34..44].copy_from_slice(&d[21..31]);
        Self::from_barcode_digits(&barcode)
    }

    fn without_dv(&self) -> Vec<u8> {
        let mut v = self.barcode[0..4].to_vec();
        v.extend_from_slice(&self.barcode[5..]);
        v
    }

    /// Builds a valid boleto. `bank` is the 3-digit bank code (e.g. `"341"`), `due` `None` writes
    /// factor `0000`, `campo_livre` is the bank's 25 digits.
    pub fn generate(
        bank: &str,
        value_cents: u64,
        due: Option<Date>,
        campo_livre: &str,
    ) -> Result<Boleto, BoletoError> {
        let bank = digits_only(bank)?;
        let campo = digits_only(campo_livre)?;
        if bank.len() != 3 || campo.len() != 25 || value_cents > 9_999_999_999 {
            return Err(BoletoError::InvalidInput);
        }
        let factor = match due {
            Some(d) => due_factor(d).ok_or(BoletoError::InvalidInput)?,
            None => 0,
        };
        let mut barcode = [0u8; 44];
        barcode[0..3].copy_from_slice(&bank);
        barcode[3] = 9;
        let head = format!("{factor:04}{value_cents:010}");
        for (i, c) in head.bytes().enumerate() {
            barcode[5 + i] = c - b'0';
        }
        barcode[19..44].copy_from_slice(&campo);
        let mut b = Boleto { barcode };
        b.barcode[4] = mod11_boleto(&b.without_dv());
        Ok(b)
    }

    /// The 44-digit bar code.
    pub fn barcode(&self) -> String {
        to_string(&self.barcode)
    }

    /// The 47-digit linha digitável, digits only.
    pub fn linha_digitavel(&self) -> String {
        let b = &self.barcode;
        let mut f1 = b[0..4].to_vec();
        f1.extend_from_slice(&b[19..24]);
        let f2 = b[24..34].to_vec();
        let f3 = b[34..44].to_vec();
        let mut out = Vec::with_capacity(47);
        for f in [f1, f2, f3] {
            out.extend_from_slice(&f);
            out.push(mod10(&f));
        }
        out.push(b[4]);
        out.extend_from_slice(&b[5..19]);
        to_string(&out)
    }

    /// `AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV`.
    pub fn formatted(&self) -> String {
        let l = self.linha_digitavel();
        format!(
            "{}.{} {}.{} {}.{} {} {}",
            &l[0..5],
            &l[5..10],
            &l[10..15],
            &l[15..21],
            &l[21..26],
            &l[26..32],
            &l[32..33],
            &l[33..47]
        )
    }

    /// The 3-digit bank code.
    pub fn bank(&self) -> String {
        to_string(&self.barcode[0..3])
    }

    /// The currency code (`9` = real).
    pub fn currency(&self) -> u8 {
        self.barcode[3]
    }

    /// The value in cents (0 when the payer types it).
    pub fn value_cents(&self) -> u64 {
        self.barcode[9..19]
            .iter()
            .fold(0, |acc, &d| acc * 10 + u64::from(d))
    }

    /// The due-date factor, `None` for `0000`.
    pub fn factor(&self) -> Option<u16> {
        let f = self.barcode[5..9]
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d));
        (f != 0).then_some(f)
    }

    /// The due date, resolved around `reference` (usually today; see the module docs).
    pub fn due_date(&self, reference: Date) -> Option<Date> {
        date_from_factor(self.factor()?, reference)
    }

    /// The 25-digit campo livre.
    pub fn campo_livre(&self) -> String {
        to_string(&self.barcode[19..44])
    }
}

impl fmt::Display for Boleto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

/// A valid arrecadação slip (convênio: utilities, taxes), kept as its 44-digit bar code.
///
/// Bar code: `8` · segment (1) · value kind (1: `6`/`7` → mod 10, `8`/`9` → mod 11) · general DV
/// (1) · value (11) · company/convênio and free data (29). The 48-digit line is the bar code cut
/// into four blocks of 11 digits, each followed by its DV computed with the same modulo.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arrecadacao {
    barcode: [u8; 44],
}

impl Arrecadacao {
    fn check(d: &[u8]) -> fn(&[u8]) -> u8 {
        if d[2] == 8 || d[2] == 9 {
            mod11_arrecadacao
        } else {
            mod10
        }
    }

    /// Parses the 48-digit line or the 44-digit bar code.
    pub fn parse(input: &str) -> Result<Arrecadacao, BoletoError> {
        let d = digits_only(input)?;
        let barcode: Vec<u8> = match d.len() {
            44 => d,
            48 => {
                let mut out = Vec::with_capacity(44);
                for (i, block) in d.chunks(12).enumerate() {
                    let f = Self::check(&d);
                    if f(&block[..11]) != block[11] {
                        return Err(BoletoError::FieldCheckDigit { field: i as u8 + 1 });
                    }
                    out.extend_from_slice(&block[..11]);
                }
                out
            }
            _ => return Err(BoletoError::WrongLength),
        };
        if barcode[0] != 8 || !(6..=9).contains(&barcode[2]) {
            return Err(BoletoError::InvalidInput);
        }
        let mut rest = barcode[0..3].to_vec();
        rest.extend_from_slice(&barcode[4..]);
        if Self::check(&barcode)(&rest) != barcode[3] {
            return Err(BoletoError::GeneralCheckDigit);
        }
        let mut a = [0u8; 44];
        a.copy_from_slice(&barcode);
        Ok(Arrecadacao { barcode: a })
    }

    /// Builds a valid slip from the 43 digits without the general DV (position 4).
    pub fn generate(without_dv: &str) -> Result<Arrecadacao, BoletoError> {
        let d = digits_only(without_dv)?;
        if d.len() != 43 || d[0] != 8 || !(6..=9).contains(&d[2]) {
            return Err(BoletoError::InvalidInput);
        }
        let dv = Self::check(&d)(&d);
        let mut a = [0u8; 44];
        a[0..3].copy_from_slice(&d[0..3]);
        a[3] = dv;
        a[4..].copy_from_slice(&d[3..]);
        Ok(Arrecadacao { barcode: a })
    }

    /// The 44-digit bar code.
    pub fn barcode(&self) -> String {
        to_string(&self.barcode)
    }

    /// The 48-digit line, digits only.
    pub fn line(&self) -> String {
        let f = Self::check(&self.barcode);
        let mut out = Vec::with_capacity(48);
        for block in self.barcode.chunks(11) {
            out.extend_from_slice(block);
            out.push(f(block));
        }
        to_string(&out)
    }

    /// The line in four groups `NNNNNNNNNNN-D ...`.
    pub fn formatted(&self) -> String {
        let l = self.line();
        (0..4)
            .map(|i| {
                format!(
                    "{}-{}",
                    &l[i * 12..i * 12 + 11],
                    &l[i * 12 + 11..i * 12 + 12]
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value in cents when the slip carries an effective value (kind `6` or `8`).
    pub fn value_cents(&self) -> Option<u64> {
        matches!(self.barcode[2], 6 | 8).then(|| {
            self.barcode[4..15]
                .iter()
                .fold(0, |acc, &d| acc * 10 + u64::from(d))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VECTOR_BARCODE: &str = "34196138100000099901090000000012345678901230";
    const VECTOR_LINE: &str = "34191.09008 00000.012344 56789.012301 6 13810000009990";

    #[test]
    fn doc_vector_round_trips() {
        let b = Boleto::parse_linha_digitavel(VECTOR_LINE).unwrap();
        assert_eq!(b.barcode(), VECTOR_BARCODE);
        assert_eq!(b.formatted(), VECTOR_LINE);
        assert_eq!(b.to_string(), VECTOR_LINE);
        assert_eq!(b.bank(), "341");
        assert_eq!(b.currency(), 9);
        assert_eq!(b.value_cents(), 9990);
        assert_eq!(b.factor(), Some(1381));
        assert_eq!(b.campo_livre(), "1090000000012345678901230");
        assert_eq!(b.due_date(date(2026, 3, 1)), Some(date(2026, 3, 10)));
        let from_bar = Boleto::parse_barcode(VECTOR_BARCODE).unwrap();
        assert_eq!(from_bar, b);
        assert_eq!(Boleto::parse(VECTOR_BARCODE).unwrap(), b);
        assert_eq!(Boleto::parse(&b.linha_digitavel()).unwrap(), b);
        let generated = Boleto::generate(
            "341",
            9990,
            Some(date(2026, 3, 10)),
            "1090000000012345678901230",
        )
        .unwrap();
        assert_eq!(generated, b);
    }

    #[test]
    fn public_vectors_from_other_libraries() {
        // Bank boletos used as examples by several public validators.
        let b = Boleto::parse("23793.38128 60007.827136 95000.063305 9 75520000370000").unwrap();
        assert_eq!(b.barcode(), "23799755200003700003381260007827139500006330");
        assert_eq!(b.value_cents(), 370_000);
        assert_eq!(b.factor(), Some(7552));
        assert!(Boleto::parse("21290001192110001210904475617405975870000002000").is_ok());
        // Arrecadação (energy bill, value kind 6 → mod 10; government slip, kind 8 → mod 11).
        let a = Arrecadacao::parse("836200000005 667800481000 180975657313 001589636081").unwrap();
        assert_eq!(a.barcode(), "83620000000667800481001809756573100158963608");
        assert_eq!(a.value_cents(), Some(6678));
        assert_eq!(a.line(), "836200000005667800481000180975657313001589636081");
        assert!(
            Arrecadacao::parse("85890000460-9 52460179160-5 60759305086-5 83148300001-0").is_ok()
        );
        assert!(Arrecadacao::parse("838600000050096000190009000801782309000343062712").is_ok());
        assert!(Arrecadacao::parse("836200000005865801620002001010202172425049125098").is_ok());
        assert!(Arrecadacao::parse("536200000005 667800481000 180975657313 001589636081").is_err());
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert_eq!(mod10(&digits("01230067896")), 3);
        assert_eq!(mod11_arrecadacao(&digits("01230067896")), 0);
    }

    #[test]
    fn invalid_inputs() {
        let cases: &[(&str, BoletoError)] = &[
            (
                "34191.09008 00000.012344 56789.012301 6 1381000000999",
                BoletoError::WrongLength,
            ),
            (
                "34191.09008 00000.012344 56789.012301 6 1381000000999X",
                BoletoError::InvalidCharacter,
            ),
            (
                "34191.09009 00000.012344 56789.012301 6 13810000009990",
                BoletoError::FieldCheckDigit { field: 1 },
            ),
            (
                "34191.09008 00000.012345 56789.012301 6 13810000009990",
                BoletoError::FieldCheckDigit { field: 2 },
            ),
            (
                "34191.09008 00000.012344 56789.012302 6 13810000009990",
                BoletoError::FieldCheckDigit { field: 3 },
            ),
            (
                "34191.09008 00000.012344 56789.012301 7 13810000009990",
                BoletoError::GeneralCheckDigit,
            ),
            (
                "34191.09008 00000.012344 56789.012301 6 13810000009991",
                BoletoError::GeneralCheckDigit,
            ),
            (
                "34196138100000099901090000000012345678901231",
                BoletoError::GeneralCheckDigit,
            ),
            ("", BoletoError::WrongLength),
        ];
        for (input, want) in cases {
            assert_eq!(Boleto::parse(input), Err(*want), "{input}");
        }
        assert_eq!(
            Boleto::generate("34", 1, None, "1090000000012345678901230"),
            Err(BoletoError::InvalidInput)
        );
        assert_eq!(
            Boleto::generate("341", 1, None, "10900"),
            Err(BoletoError::InvalidInput)
        );
        assert_eq!(
            Boleto::generate("341", 10_000_000_000, None, "1090000000012345678901230"),
            Err(BoletoError::InvalidInput)
        );
        assert_eq!(
            Boleto::generate(
                "341",
                1,
                Some(date(2000, 7, 2)),
                "1090000000012345678901230"
            ),
            Err(BoletoError::InvalidInput)
        );
    }

    #[test]
    fn mod10_and_mod11_vectors() {
        assert_eq!(mod10(&[3, 4, 1, 9, 1, 0, 9, 0, 0]), 8);
        assert_eq!(mod10(&[0; 10]), 0);
        // General DV never 0: remainders 0, 1 and 10 become 1.
        assert_eq!(mod11_boleto(&[0; 43]), 1);
    }

    #[test]
    fn factor_vectors_and_the_2025_restart() {
        let cases = [
            (date(2000, 7, 3), 1000),
            (date(2025, 2, 21), 9999),
            (date(2025, 2, 22), 1000),
            (date(2026, 3, 10), 1381),
            // The notes' "next wrap 13/10/2049" is the cycle's last day (factor 9999).
            (date(2049, 10, 13), 9999),
            (date(2049, 10, 14), 1000),
        ];
        for (d, f) in cases {
            assert_eq!(due_factor(d), Some(f), "{d}");
            assert_eq!(date_from_factor(f, d), Some(d), "{d}");
        }
        assert_eq!(due_factor(date(2000, 7, 2)), None);
        // The same factor decodes to the pre-restart date when today is before the restart...
        assert_eq!(
            date_from_factor(9999, date(2025, 1, 1)),
            Some(date(2025, 2, 21))
        );
        assert_eq!(
            date_from_factor(1000, date(2001, 1, 1)),
            Some(date(2000, 7, 3))
        );
        // ...and to the new cycle after it.
        assert_eq!(
            date_from_factor(1000, date(2025, 3, 1)),
            Some(date(2025, 2, 22))
        );
        // Old overdue boleto (factor 9000 = 2022-05-29, 999 days before 9999) still decodes into the past from 2026.
        assert_eq!(
            date_from_factor(9000, date(2026, 6, 1)),
            Some(date(2022, 5, 29))
        );
        assert_eq!(date_from_factor(999, date(2026, 6, 1)), None);
        let none = Boleto::generate("001", 0, None, "0000000000000000000000000").unwrap();
        assert_eq!(none.factor(), None);
        assert_eq!(none.due_date(date(2026, 1, 1)), None);
    }

    #[test]
    fn arrecadacao_round_trip() {
        for kind in 6..=9u8 {
            // 8 · segment 2 · kind · value 00000012345 · 29 free digits.
            let without_dv = format!("82{kind}00000012345{}", "12345678901234567890123456789");
            let a = Arrecadacao::generate(&without_dv).unwrap();
            assert_eq!(Arrecadacao::parse(&a.barcode()).unwrap(), a);
            assert_eq!(Arrecadacao::parse(&a.line()).unwrap(), a);
            assert_eq!(Arrecadacao::parse(&a.formatted()).unwrap(), a);
            assert_eq!(a.line().len(), 48);
            assert_eq!(a.value_cents(), matches!(kind, 6 | 8).then_some(12345));
        }
        assert_eq!(Arrecadacao::parse("1234"), Err(BoletoError::WrongLength));
    }

    fn boleto_strategy() -> impl Strategy<Value = Boleto> {
        (
            "[0-9]{3}",
            0u64..10_000_000_000,
            proptest::option::of(0i64..20_000),
            "[0-9]{25}",
        )
            .prop_map(|(bank, value, due, campo)| {
                let due = due.map(|d| date(2000, 7, 3).checked_add(d.days()).unwrap());
                Boleto::generate(&bank, value, due, &campo).unwrap()
            })
    }

    proptest! {
        #[test]
        fn generated_boletos_validate(b in boleto_strategy()) {
            prop_assert_eq!(Boleto::parse(&b.formatted()).unwrap(), b.clone());
            prop_assert_eq!(Boleto::parse(&b.barcode()).unwrap(), b.clone());
            prop_assert_eq!(b.linha_digitavel().len(), 47);
        }

        #[test]
        fn due_date_round_trips_inside_the_window(offset in -FACTOR_WINDOW_PAST_DAYS..FACTOR_WINDOW_FUTURE_DAYS, today in 2000i64..20_000) {
            let today = date(2000, 7, 3).checked_add(today.days()).unwrap();
            let due = today.checked_add(offset.days()).unwrap();
            prop_assume!(due >= date(2000, 7, 3));
            prop_assert_eq!(date_from_factor(due_factor(due).unwrap(), today), Some(due));
        }

        #[test]
        fn single_digit_change_in_the_line(b in boleto_strategy(), pos in 0usize..47, delta in 1u8..10) {
            let line = b.linha_digitavel();
            let mut bytes = line.clone().into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            let survives = Boleto::parse_linha_digitavel(&changed).is_ok();
            if pos < 32 {
                // Fields 1–3: mod 10 with weights 1 and 2 catches every single-digit change (the
                // doubled-and-digit-summed map is a permutation of 0..9), and a changed field DV
                // no longer matches the field.
                prop_assert!(!survives, "{} -> {}", line, changed);
            } else if pos == 32 {
                // Field 4 is the general DV itself, a function of the other digits.
                prop_assert!(!survives);
            } else {
                // Field 5 is covered only by the mod-11 general DV. Each weight (2..9) times each
                // delta (1..9) is non-zero mod 11, so the remainder always changes, but the rule
                // maps remainders 0, 1 and 10 all to DV 1: a change can survive only when DV is 1.
                prop_assert!(!survives || b.barcode().as_bytes()[4] == b'1', "{} -> {}", line, changed);
            }
        }

        #[test]
        fn single_digit_change_in_the_barcode(b in boleto_strategy(), pos in 0usize..44, delta in 1u8..10) {
            let mut bytes = b.barcode().into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let survives = Boleto::parse_barcode(std::str::from_utf8(&bytes).unwrap()).is_ok();
            // Same collapse of remainders 0/1/10 as above; a changed DV digit never survives.
            prop_assert!(!survives || (pos != 4 && b.barcode().as_bytes()[4] == b'1'));
        }

        #[test]
        fn arrecadacao_mod10_line_catches_single_digit_changes(free in "[0-9]{40}", pos in 0usize..48, delta in 1u8..10) {
            let a = Arrecadacao::generate(&format!("826{free}")).unwrap();
            let mut bytes = a.line().into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            // Kind 6 uses mod 10 for the blocks: every single-digit change breaks its block's DV,
            // unless it hits position 3 (the kind digit) which switches the modulo itself.
            let survives = Arrecadacao::parse(std::str::from_utf8(&bytes).unwrap()).is_ok();
            prop_assert!(!survives || pos == 2);
        }
    }
}
