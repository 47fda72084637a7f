//! Pix BR Code ("copia e cola"): EMV QRCPS-MPM payloads as the Banco Central's "Manual de Padrões
//! para Iniciação do Pix" profiles them.
//!
//! The payload is a list of TLV fields (2-digit id, 2-digit length, value): `00` payload format
//! indicator `01` (first), optional `01` point of initiation (`11` static, `12` dynamic), `26`
//! merchant account information { `00` GUI `br.gov.bcb.pix`, `01` key | `25` location URL,
//! optional `02` description }, `52` MCC, `53` currency `986`, optional `54` amount, `58` country
//! `BR`, `59` merchant name, `60` merchant city, optional `62` { `05` txid }, and `63` CRC16 last.
//! The CRC is CRC16-CCITT-FALSE over the whole payload including the characters `6304`, written
//! as 4 upper-case hex digits.
//!
//! We generate static codes with ASCII-only text (accents folded) within the limits many PSPs
//! enforce: name ≤ 25, city ≤ 15, txid ≤ 25 alphanumeric characters.

use std::fmt;

/// Why a payload is not a valid Pix BR Code, or why a code cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PixError {
    /// The TLV structure is broken at this byte offset.
    Malformed { offset: usize },
    /// The payload does not end with the `6304` CRC field.
    MissingCrc,
    /// The CRC does not match the payload.
    CrcMismatch,
    /// Field `00` is not first or not `01`.
    PayloadFormat,
    /// No merchant account field with GUI `br.gov.bcb.pix`.
    NotPix,
    /// A required field is missing (its EMV id).
    MissingField(&'static str),
    /// A field has an invalid value (its EMV id).
    InvalidField(&'static str),
    /// Generation input out of range (key, name, city, txid or amount).
    InvalidInput(&'static str),
}

impl fmt::Display for PixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PixError::Malformed { offset } => write!(f, "malformed TLV at offset {offset}"),
            PixError::MissingCrc => f.write_str("missing CRC field"),
            PixError::CrcMismatch => f.write_str("CRC does not match"),
            PixError::PayloadFormat => f.write_str("payload format indicator missing or not 01"),
            PixError::NotPix => f.write_str("not a Pix code (GUI br.gov.bcb.pix missing)"),
            PixError::MissingField(id) => write!(f, "missing field {id}"),
            PixError::InvalidField(id) => write!(f, "invalid field {id}"),
            PixError::InvalidInput(what) => write!(f, "invalid {what}"),
        }
    }
}

impl std::error::Error for PixError {}

/// The Pix GUI, compared case-insensitively (both cases appear in real codes).
pub const PIX_GUI: &str = "br.gov.bcb.pix";

/// CRC16-CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One TLV field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub id: String,
    pub value: String,
}

/// Splits a TLV string into fields. Lengths count characters (Pix payloads are ASCII in practice;
/// we count `char`s so a stray accented letter does not split a code point).
pub fn parse_tlv(input: &str) -> Result<Vec<Field>, PixError> {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut fields = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let offset = chars[i].0;
        if i + 4 > chars.len() {
            return Err(PixError::Malformed { offset });
        }
        let id: String = chars[i..i + 2].iter().map(|c| c.1).collect();
        let len: String = chars[i + 2..i + 4].iter().map(|c| c.1).collect();
        if !id.bytes().all(|b| b.is_ascii_digit()) || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PixError::Malformed { offset });
        }
        let len: usize = len.parse().map_err(|_| PixError::Malformed { offset })?;
        if i + 4 + len > chars.len() {
            return Err(PixError::Malformed { offset });
        }
        let value: String = chars[i + 4..i + 4 + len].iter().map(|c| c.1).collect();
        fields.push(Field { id, value });
        i += 4 + len;
    }
    Ok(fields)
}

fn tlv(id: &str, value: &str) -> String {
    format!("{id}{:02}{value}", value.chars().count())
}

/// A parsed, valid Pix code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixCode {
    /// The payload exactly as given (trimmed).
    pub payload: String,
    /// The Pix key (static codes).
    pub key: Option<String>,
    /// The location URL (dynamic codes, field 25 of the merchant account information).
    pub url: Option<String>,
    /// Free-text description (field 02 of the merchant account information).
    pub description: Option<String>,
    pub merchant_name: String,
    pub merchant_city: String,
    /// Amount in cents, when fixed.
    pub amount_cents: Option<u64>,
    /// Transaction id; `None` for `***`.
    pub txid: Option<String>,
    /// Point of initiation `12`.
    pub dynamic: bool,
}

fn parse_amount(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 13 {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty()
        || frac.len() > 2
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let frac: u64 = format!("{frac:0<2}").parse().ok()?;
    int.checked_mul(100)?.checked_add(frac)
}

fn format_amount(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

impl PixCode {
    /// Parses and validates a copia-e-cola payload: TLV structure, CRC, payload format indicator,
    /// Pix GUI, currency 986, country BR, name and city present, amount well-formed.
    pub fn parse(input: &str) -> Result<PixCode, PixError> {
        let payload = input.trim();
        let fields = parse_tlv(payload)?;
        let last = fields.last().ok_or(PixError::Malformed { offset: 0 })?;
        if last.id != "63" || last.value.len() != 4 {
            return Err(PixError::MissingCrc);
        }
        let body = &payload[..payload.len() - 4];
        let want = format!("{:04X}", crc16_ccitt_false(body.as_bytes()));
        if !last.value.eq_ignore_ascii_case(&want) {
            return Err(PixError::CrcMismatch);
        }
        if fields[0].id != "00" || fields[0].value != "01" {
            return Err(PixError::PayloadFormat);
        }
        let get = |id: &str| fields.iter().find(|f| f.id == id).map(|f| f.value.as_str());
        let mut key = None;
        let mut url = None;
        let mut description = None;
        let mut found = false;
        for f in fields
            .iter()
            .filter(|f| matches!(f.id.parse::<u8>(), Ok(26..=51)))
        {
            let sub = parse_tlv(&f.value)?;
            let sget = |id: &str| sub.iter().find(|s| s.id == id).map(|s| s.value.clone());
            if sget("00").is_some_and(|g| g.eq_ignore_ascii_case(PIX_GUI)) {
                found = true;
                key = sget("01");
                url = sget("25");
                description = sget("02");
                break;
            }
        }
        if !found {
            return Err(PixError::NotPix);
        }
        if key.is_none() && url.is_none() {
            return Err(PixError::MissingField("26.01"));
        }
        match get("52") {
            Some(mcc) if mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit()) => {}
            Some(_) => return Err(PixError::InvalidField("52")),
            None => return Err(PixError::MissingField("52")),
        }
        match get("53") {
            Some("986") => {}
            Some(_) => return Err(PixError::InvalidField("53")),
            None => return Err(PixError::MissingField("53")),
        }
        match get("58") {
            Some(c) if c.eq_ignore_ascii_case("BR") => {}
            Some(_) => return Err(PixError::InvalidField("58")),
            None => return Err(PixError::MissingField("58")),
        }
        let merchant_name = get("59")
            .filter(|s| !s.is_empty())
            .ok_or(PixError::MissingField("59"))?
            .to_owned();
        let merchant_city = get("60")
            .filter(|s| !s.is_empty())
            .ok_or(PixError::MissingField("60"))?
            .to_owned();
        let amount_cents = match get("54") {
            Some(a) => Some(parse_amount(a).ok_or(PixError::InvalidField("54"))?),
            None => None,
        };
        let dynamic = match get("01") {
            None | Some("11") => false,
            Some("12") => true,
            Some(_) => return Err(PixError::InvalidField("01")),
        };
        let txid = match get("62") {
            Some(v) => parse_tlv(v)?
                .into_iter()
                .find(|s| s.id == "05")
                .map(|s| s.value)
                .filter(|t| t != "***"),
            None => None,
        };
        Ok(PixCode {
            payload: payload.to_owned(),
            key,
            url,
            description,
            merchant_name,
            merchant_city,
            amount_cents,
            txid,
            dynamic,
        })
    }
}

/// Validates a payload (see [`PixCode::parse`]).
pub fn validate(input: &str) -> Result<(), PixError> {
    PixCode::parse(input).map(|_| ())
}

fn fold_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' => 'c',
            'Ç' => 'C',
            'ñ' => 'n',
            'Ñ' => 'N',
            other => other,
        })
        .collect()
}

/// A static Pix code to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPix {
    pub key: String,
    pub merchant_name: String,
    pub merchant_city: String,
    pub amount_cents: Option<u64>,
    pub txid: Option<String>,
    pub description: Option<String>,
}

impl StaticPix {
    pub fn new(
        key: impl Into<String>,
        merchant_name: impl Into<String>,
        merchant_city: impl Into<String>,
    ) -> StaticPix {
        StaticPix {
            key: key.into(),
            merchant_name: merchant_name.into(),
            merchant_city: merchant_city.into(),
            amount_cents: None,
            txid: None,
            description: None,
        }
    }

    pub fn amount_cents(mut self, cents: u64) -> Self {
        self.amount_cents = Some(cents);
        self
    }

    pub fn txid(mut self, txid: impl Into<String>) -> Self {
        self.txid = Some(txid.into());
        self
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// The copia-e-cola payload.
    pub fn to_payload(&self) -> Result<String, PixError> {
        let key = self.key.trim();
        if key.is_empty() || key.len() > 77 || !key.is_ascii() {
            return Err(PixError::InvalidInput("key"));
        }
        let name = fold_ascii(self.merchant_name.trim());
        if name.is_empty() || name.len() > 25 || !name.is_ascii() {
            return Err(PixError::InvalidInput("merchant name"));
        }
        let city = fold_ascii(self.merchant_city.trim());
        if city.is_empty() || city.len() > 15 || !city.is_ascii() {
            return Err(PixError::InvalidInput("merchant city"));
        }
        let txid = match &self.txid {
            Some(t)
                if t.is_empty()
                    || t.len() > 25
                    || !t.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                return Err(PixError::InvalidInput("txid"));
            }
            Some(t) => t.clone(),
            None => "***".to_owned(),
        };
        let mut mai = tlv("00", "BR.GOV.BCB.PIX") + &tlv("01", key);
        if let Some(d) = &self.description {
            let d = fold_ascii(d.trim());
            if !d.is_ascii() || mai.len() + 4 + d.len() > 99 {
                return Err(PixError::InvalidInput("description"));
            }
            mai += &tlv("02", &d);
        }
        if mai.len() > 99 {
            return Err(PixError::InvalidInput("key"));
        }
        let mut out = tlv("00", "01") + &tlv("26", &mai) + &tlv("52", "0000") + &tlv("53", "986");
        if let Some(cents) = self.amount_cents {
            if cents == 0 || cents > 99_999_999_999 {
                return Err(PixError::InvalidInput("amount"));
            }
            out += &tlv("54", &format_amount(cents));
        }
        out += &tlv("58", "BR");
        out += &tlv("59", &name);
        out += &tlv("60", &city);
        out += &tlv("62", &tlv("05", &txid));
        out += "6304";
        let crc = crc16_ccitt_false(out.as_bytes());
        out += &format!("{crc:04X}");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VECTOR: &str = "00020126330014BR.GOV.BCB.PIX01115794666323452040000530398654041.005802BR5925CLENILTON CRUZ DE ALENCAR6006MANAUS62070503***6304FA88";

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt_false(b""), 0xFFFF);
    }

    #[test]
    fn real_world_vector_parses_and_regenerates() {
        let p = PixCode::parse(VECTOR).unwrap();
        assert_eq!(p.key.as_deref(), Some("57946663234"));
        assert_eq!(p.merchant_name, "CLENILTON CRUZ DE ALENCAR");
        assert_eq!(p.merchant_city, "MANAUS");
        assert_eq!(p.amount_cents, Some(100));
        assert_eq!(p.txid, None);
        assert!(!p.dynamic);
        let again = StaticPix::new("57946663234", "CLENILTON CRUZ DE ALENCAR", "MANAUS")
            .amount_cents(100)
            .to_payload()
            .unwrap();
        assert_eq!(again, VECTOR);
        // Lower-case GUI and a lower-case CRC are accepted.
        let lower = VECTOR.replace("BR.GOV.BCB.PIX", "br.gov.bcb.pix");
        let body = &lower[..lower.len() - 4];
        let with_crc = format!("{body}{:04x}", crc16_ccitt_false(body.as_bytes()));
        assert!(PixCode::parse(&with_crc).is_ok());
    }

    #[test]
    fn invalid_payloads() {
        let body = |s: &str| {
            let s = format!("{s}6304");
            let crc = crc16_ccitt_false(s.as_bytes());
            format!("{s}{crc:04X}")
        };
        let ok_mai = "26330014BR.GOV.BCB.PIX0111579466632345204000053039865802BR5901X6001Y";
        assert!(PixCode::parse(&body(&format!("000201{ok_mai}"))).is_ok());
        let cases: Vec<(String, PixError)> = vec![
            (VECTOR.replace("FA88", "FA89"), PixError::CrcMismatch),
            (VECTOR[..VECTOR.len() - 8].to_owned(), PixError::MissingCrc),
            ("0002".to_owned(), PixError::Malformed { offset: 0 }),
            ("000201X".to_owned(), PixError::Malformed { offset: 6 }),
            ("".to_owned(), PixError::Malformed { offset: 0 }),
            (body(&format!("000202{ok_mai}")), PixError::PayloadFormat),
            (body(ok_mai), PixError::PayloadFormat),
            (
                body(&format!(
                    "000201{}",
                    ok_mai.replace("BR.GOV.BCB.PIX", "BR.GOV.BCB.PIY")
                )),
                PixError::NotPix,
            ),
            (
                body(&format!("000201{}", ok_mai.replace("5303986", "5303840"))),
                PixError::InvalidField("53"),
            ),
            (
                body(&format!("000201{}", ok_mai.replace("5802BR", "5802US"))),
                PixError::InvalidField("58"),
            ),
            (
                body(&format!("000201{}", ok_mai.replace("5901X", ""))),
                PixError::MissingField("59"),
            ),
            (
                body(&format!("000201{}5404x.00", ok_mai)),
                PixError::InvalidField("54"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(PixCode::parse(&input), Err(want), "{input}");
        }
        assert_eq!(
            PixCode::parse(&body(&format!("000201{}54031.5", ok_mai)))
                .unwrap()
                .amount_cents,
            Some(150)
        );
    }

    #[test]
    fn generation_limits_and_folding() {
        let p = StaticPix::new("pix@provedor.com.br", "Provedor São João", "São José")
            .txid("FAT123")
            .amount_cents(12_345)
            .to_payload()
            .unwrap();
        let parsed = PixCode::parse(&p).unwrap();
        assert_eq!(parsed.merchant_name, "Provedor Sao Joao");
        assert_eq!(parsed.merchant_city, "Sao Jose");
        assert_eq!(parsed.txid.as_deref(), Some("FAT123"));
        assert_eq!(parsed.amount_cents, Some(12_345));
        assert!(p.contains("5406123.45"));
        assert_eq!(
            StaticPix::new("k", "x".repeat(26), "c").to_payload(),
            Err(PixError::InvalidInput("merchant name"))
        );
        assert_eq!(
            StaticPix::new("k", "n", "c".repeat(16)).to_payload(),
            Err(PixError::InvalidInput("merchant city"))
        );
        assert_eq!(
            StaticPix::new("k", "n", "c").txid("a-b").to_payload(),
            Err(PixError::InvalidInput("txid"))
        );
        assert_eq!(
            StaticPix::new("", "n", "c").to_payload(),
            Err(PixError::InvalidInput("key"))
        );
        assert_eq!(
            StaticPix::new("k", "n", "c").amount_cents(0).to_payload(),
            Err(PixError::InvalidInput("amount"))
        );
    }

    fn pix_strategy() -> impl Strategy<Value = String> {
        (
            "[a-z0-9.@+-]{1,40}",
            "[A-Z][A-Za-z ]{0,24}",
            "[A-Z][A-Za-z ]{0,14}",
            proptest::option::of(1u64..10_000_000),
            proptest::option::of("[A-Za-z0-9]{1,25}"),
        )
            .prop_map(|(key, name, city, amount, txid)| {
                let mut p = StaticPix::new(key, name, city);
                p.amount_cents = amount;
                p.txid = txid;
                p.to_payload().unwrap()
            })
    }

    proptest! {
        #[test]
        fn generated_codes_validate(p in pix_strategy()) {
            prop_assert!(PixCode::parse(&p).is_ok(), "{}", p);
        }

        #[test]
        fn any_single_digit_change_is_caught(p in pix_strategy(), pick in any::<prop::sample::Index>(), delta in 1u8..10) {
            // CRC16 detects every burst of at most 16 bits, so any one-byte change is caught
            // (or the TLV structure breaks first). Digits only, so the CRC's own hex digits
            // cannot turn into the same value in another letter case.
            let digit_positions: Vec<usize> = p.bytes().enumerate().filter(|(_, b)| b.is_ascii_digit()).map(|(i, _)| i).collect();
            let pos = digit_positions[pick.index(digit_positions.len())];
            let mut bytes = p.clone().into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(PixCode::parse(&changed).is_err(), "{} -> {}", p, changed);
        }
    }
}
