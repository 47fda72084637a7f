//! CPF and CNPJ (including the alphanumeric CNPJ issued from July 2026).
//!
//! CPF: 11 digits, two mod-11 check digits. CNPJ: 12 alphanumeric positions plus two numeric check
//! digits; each character is worth its ASCII code minus 48 (digits keep their value, `A` = 17).

use std::fmt;

/// Why a text is not a valid CPF or CNPJ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentError {
    /// Not 11 (CPF) or 14 (CNPJ) significant characters.
    WrongLength,
    /// A character that cannot appear in that position.
    InvalidCharacter,
    /// All digits equal (`111.111.111-11`), which passes the arithmetic but is never issued.
    RepeatedDigits,
    /// The check digits do not match.
    CheckDigits,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentError::WrongLength => "wrong length",
            DocumentError::InvalidCharacter => "invalid character",
            DocumentError::RepeatedDigits => "repeated digits",
            DocumentError::CheckDigits => "check digits do not match",
        })
    }
}

impl std::error::Error for DocumentError {}

/// A valid CPF, stored as its 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpf(String);

/// A valid CNPJ, stored as its 14 upper-case characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cnpj(String);

/// Either document, as a subscriber types it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Document {
    Cpf(Cpf),
    Cnpj(Cnpj),
}

fn mod11_digit(values: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = values.iter().zip(weights).map(|(v, w)| v * w).sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// Keeps the significant characters: digits and ASCII letters, upper-cased; drops `.`, `-`, `/`
/// and spaces. Anything else is an error.
fn significant(input: &str) -> Result<String, DocumentError> {
    let mut out = String::with_capacity(14);
    for c in input.trim().chars() {
        match c {
            '0'..='9' => out.push(c),
            'a'..='z' | 'A'..='Z' => out.push(c.to_ascii_uppercase()),
            '.' | '-' | '/' | ' ' => {}
            _ => return Err(DocumentError::InvalidCharacter),
        }
    }
    Ok(out)
}

impl Cpf {
    /// Parses a CPF with or without punctuation.
    pub fn parse(input: &str) -> Result<Cpf, DocumentError> {
        let s = significant(input)?;
        if s.len() != 11 {
            return Err(DocumentError::WrongLength);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DocumentError::InvalidCharacter);
        }
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        if d.iter().all(|&x| x == d[0]) {
            return Err(DocumentError::RepeatedDigits);
        }
        let dv1 = mod11_digit(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]);
        let dv2 = mod11_digit(&d[..10], &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
        if d[9] != dv1 || d[10] != dv2 {
            return Err(DocumentError::CheckDigits);
        }
        Ok(Cpf(s))
    }

    /// Builds a valid CPF from its first nine digits (used by the demo data and the tests).
    pub fn from_base(base: [u8; 9]) -> Cpf {
        let mut d: Vec<u32> = base.iter().map(|&x| u32::from(x % 10)).collect();
        d.push(mod11_digit(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]));
        d.push(mod11_digit(&d, &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]));
        Cpf(d.iter().map(|x| char::from(b'0' + *x as u8)).collect())
    }

    /// The 11 digits.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `000.000.000-00`.
    pub fn formatted(&self) -> String {
        let s = &self.0;
        format!("{}.{}.{}-{}", &s[..3], &s[3..6], &s[6..9], &s[9..])
    }

    /// `***.982.247-**`, the form allowed in logs (LGPD).
    pub fn masked(&self) -> String {
        let s = &self.0;
        format!("***.{}.{}-**", &s[3..6], &s[6..9])
    }
}

fn cnpj_value(b: u8) -> u32 {
    u32::from(b) - 48
}

impl Cnpj {
    /// Parses a numeric or alphanumeric CNPJ with or without punctuation; letters are accepted in
    /// either case and kept upper-case.
    pub fn parse(input: &str) -> Result<Cnpj, DocumentError> {
        let s = significant(input)?;
        if s.len() != 14 {
            return Err(DocumentError::WrongLength);
        }
        let b = s.as_bytes();
        if !b[12..].iter().all(u8::is_ascii_digit) {
            return Err(DocumentError::InvalidCharacter);
        }
        if b.iter().all(u8::is_ascii_digit) && b.iter().all(|&x| x == b[0]) {
            return Err(DocumentError::RepeatedDigits);
        }
        let v: Vec<u32> = b.iter().map(|&x| cnpj_value(x)).collect();
        let (dv1, dv2) = cnpj_check_digits(&v[..12]);
        if v[12] != dv1 || v[13] != dv2 {
            return Err(DocumentError::CheckDigits);
        }
        Ok(Cnpj(s))
    }

    /// Builds a valid CNPJ from its first twelve characters (digits or upper-case letters).
    ///
    /// Returns `None` when `base` is not 12 such characters.
    pub fn from_base(base: &str) -> Option<Cnpj> {
        let base = base.to_ascii_uppercase();
        if base.len() != 12
            || !base
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return None;
        }
        let v: Vec<u32> = base.bytes().map(cnpj_value).collect();
        let (dv1, dv2) = cnpj_check_digits(&v);
        Some(Cnpj(format!("{base}{dv1}{dv2}")))
    }

    /// The 14 characters.
    pub fn characters(&self) -> &str {
        &self.0
    }

    /// Whether it has letters (the format issued from July 2026).
    pub fn is_alphanumeric(&self) -> bool {
        self.0.bytes().any(|b| b.is_ascii_uppercase())
    }

    /// `00.000.000/0000-00`.
    pub fn formatted(&self) -> String {
        let s = &self.0;
        format!(
            "{}.{}.{}/{}-{}",
            &s[..2],
            &s[2..5],
            &s[5..8],
            &s[8..12],
            &s[12..]
        )
    }

    /// `**.***.333/0001-**`: the root hidden, as in logs.
    pub fn masked(&self) -> String {
        let s = &self.0;
        format!("**.***.{}/{}-**", &s[5..8], &s[8..12])
    }
}

fn cnpj_check_digits(v: &[u32]) -> (u32, u32) {
    const W1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    const W2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let dv1 = mod11_digit(&v[..12], &W1);
    let mut with1 = v[..12].to_vec();
    with1.push(dv1);
    let dv2 = mod11_digit(&with1, &W2);
    (dv1, dv2)
}

impl Document {
    /// A CPF when it has 11 significant characters, a CNPJ when 14.
    pub fn parse(input: &str) -> Result<Document, DocumentError> {
        let s = significant(input)?;
        match s.len() {
            11 => Cpf::parse(&s).map(Document::Cpf),
            14 => Cnpj::parse(&s).map(Document::Cnpj),
            _ => Err(DocumentError::WrongLength),
        }
    }

    /// The significant characters (digits, or digits and letters).
    pub fn canonical(&self) -> &str {
        match self {
            Document::Cpf(c) => c.digits(),
            Document::Cnpj(c) => c.characters(),
        }
    }

    pub fn formatted(&self) -> String {
        match self {
            Document::Cpf(c) => c.formatted(),
            Document::Cnpj(c) => c.formatted(),
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Document::Cpf(c) => c.masked(),
            Document::Cnpj(c) => c.masked(),
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cpf_vectors() {
        let cases: &[(&str, Result<&str, DocumentError>)] = &[
            ("529.982.247-25", Ok("52998224725")),
            ("52998224725", Ok("52998224725")),
            ("111.444.777-35", Ok("11144477735")),
            (" 111 444 777 35 ", Ok("11144477735")),
            ("529.982.247-24", Err(DocumentError::CheckDigits)),
            ("111.111.111-11", Err(DocumentError::RepeatedDigits)),
            ("000.000.000-00", Err(DocumentError::RepeatedDigits)),
            ("5299822472", Err(DocumentError::WrongLength)),
            ("529.982.247-2X", Err(DocumentError::InvalidCharacter)),
            ("529,982,247-25", Err(DocumentError::InvalidCharacter)),
        ];
        for (input, want) in cases {
            let got = Cpf::parse(input).map(|c| c.digits().to_owned());
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "{input}");
        }
        assert_eq!(
            Cpf::parse("52998224725").unwrap().formatted(),
            "529.982.247-25"
        );
        assert_eq!(
            Cpf::parse("52998224725").unwrap().masked(),
            "***.982.247-**"
        );
    }

    #[test]
    fn cnpj_vectors() {
        let cases: &[(&str, Result<&str, DocumentError>)] = &[
            ("11.222.333/0001-81", Ok("11222333000181")),
            ("11.444.777/0001-61", Ok("11444777000161")),
            ("12.ABC.345/01DE-35", Ok("12ABC34501DE35")),
            ("12.abc.345/01de-35", Ok("12ABC34501DE35")),
            ("12.ABC.345/01DE-36", Err(DocumentError::CheckDigits)),
            ("12.ABC.345/01DE-3A", Err(DocumentError::InvalidCharacter)),
            ("11.222.333/0001-82", Err(DocumentError::CheckDigits)),
            ("00.000.000/0000-00", Err(DocumentError::RepeatedDigits)),
            ("11.222.333/0001", Err(DocumentError::WrongLength)),
        ];
        for (input, want) in cases {
            let got = Cnpj::parse(input).map(|c| c.characters().to_owned());
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "{input}");
        }
        let c = Cnpj::parse("12ABC34501DE35").unwrap();
        assert!(c.is_alphanumeric());
        assert_eq!(c.formatted(), "12.ABC.345/01DE-35");
    }

    #[test]
    fn document_picks_by_length() {
        assert!(matches!(
            Document::parse("529.982.247-25"),
            Ok(Document::Cpf(_))
        ));
        assert!(matches!(
            Document::parse("11.222.333/0001-81"),
            Ok(Document::Cnpj(_))
        ));
        assert_eq!(Document::parse("123"), Err(DocumentError::WrongLength));
    }

    proptest! {
        #[test]
        fn generated_cpf_validates_and_any_digit_change_fails(base in proptest::array::uniform9(0u8..10), pos in 0usize..11, delta in 1u8..10) {
            let cpf = Cpf::from_base(base);
            prop_assume!(!cpf.digits().bytes().all(|b| b == cpf.digits().as_bytes()[0]));
            prop_assert!(Cpf::parse(cpf.digits()).is_ok());
            prop_assert!(Cpf::parse(&cpf.formatted()).is_ok());
            let mut bytes = cpf.digits().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            // Mod 11 maps remainders 0 and 1 to the same check digit 0, so a body change can
            // survive only when a check digit is 0; a changed check digit never survives.
            let survives = Cpf::parse(&changed).is_ok();
            let d = cpf.digits().as_bytes();
            prop_assert!(!survives || (pos < 9 && (d[9] == b'0' || d[10] == b'0')), "{} -> {}", cpf.digits(), changed);
        }

        #[test]
        fn generated_cnpj_validates_and_any_check_digit_change_fails(base in "[0-9A-Z]{12}", delta in 1u8..10, which in 12usize..14) {
            let cnpj = Cnpj::from_base(&base).unwrap();
            prop_assume!(!cnpj.characters().bytes().all(|b| b == cnpj.characters().as_bytes()[0]));
            prop_assert!(Cnpj::parse(&cnpj.formatted()).is_ok());
            let mut bytes = cnpj.characters().as_bytes().to_vec();
            bytes[which] = b'0' + (bytes[which] - b'0' + delta) % 10;
            prop_assert!(Cnpj::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
        }
    }
}
