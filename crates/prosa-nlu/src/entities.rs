//! Entity extraction: CPF, CNPJ, phone, e-mail, date, money and CEP (see `docs/intents.md`).
//!
//! The extractor works on the original text and reports byte spans into it. It is rule-based and
//! ordered so that the formats do not steal from each other:
//!
//! 1. e-mail addresses (anything around an `@`);
//! 2. money: a number after `R$`, before `reais`/`real`, or written `1.234,56` (comma and two
//!    decimals), so a CEP `01310-100` or a date is never money;
//! 3. the remaining "number-like" chunks (digits, letters, `. - / ( ) +`), with adjacent pure-digit
//!    groups separated by one space merged (`628 194 821 12`, `(11) 98765-4321`), judged by shape
//!    first (`000.000.000-00` is a CPF, `00000-000` a CEP, `(11) 9…`/`9999-9999` a phone,
//!    `dd/mm/yy[yy]` a date, `00.000.000/0000-00` a CNPJ) and then, for bare digits, by the nearest
//!    keyword (`cpf`, `cnpj`, `documento`, `telefone`/`zap`/`celular`, `cep`) and the length.
//!
//! Bare 11 digits with no keyword: a CPF when its check digits are right, else a phone when it
//! looks like a mobile number (`DD9…`), else a CPF with `valid: false`. Bare 10 digits with no
//! keyword: a landline phone when the third digit is 2–5, else an invalid CPF. CPF/CNPJ validity
//! comes from `prosa_br`.

use std::ops::Range;

use prosa_br::{Cnpj, Cpf};
use serde::{Deserialize, Serialize};

/// Entity types of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Cpf,
    Cnpj,
    Phone,
    Email,
    Date,
    Money,
    Cep,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Cpf,
        EntityKind::Cnpj,
        EntityKind::Phone,
        EntityKind::Email,
        EntityKind::Date,
        EntityKind::Money,
        EntityKind::Cep,
    ];

    /// The id used in JSON (`cpf`, `cnpj`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            EntityKind::Cpf => "cpf",
            EntityKind::Cnpj => "cnpj",
            EntityKind::Phone => "phone",
            EntityKind::Email => "email",
            EntityKind::Date => "date",
            EntityKind::Money => "money",
            EntityKind::Cep => "cep",
        }
    }

    /// The placeholder token that replaces this entity in the classifier's input.
    pub(crate) const fn placeholder(self) -> &'static str {
        match self {
            EntityKind::Cpf => " _cpf_ ",
            EntityKind::Cnpj => " _cnpj_ ",
            EntityKind::Phone => " _phone_ ",
            EntityKind::Email => " _email_ ",
            EntityKind::Date => " _date_ ",
            EntityKind::Money => " _money_ ",
            EntityKind::Cep => " _cep_ ",
        }
    }
}

/// One entity found in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: EntityKind,
    /// Normalised value (see the spec table).
    pub value: String,
    /// For CPF and CNPJ: whether the check digits are right. `None` for the other kinds.
    pub valid: Option<bool>,
    /// Byte range in the original text.
    #[serde(skip)]
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    None,
    Cpf,
    Cnpj,
    Doc,
    Phone,
    Cep,
}

/// Extracts the entities of `text`, in text order.
pub fn extract(text: &str) -> Vec<Entity> {
    let mut found: Vec<Entity> = Vec::new();
    let mut claimed = vec![false; text.len()];
    emails(text, &mut found, &mut claimed);
    money(text, &mut found, &mut claimed);
    numbers(text, &mut found, &claimed);
    found.sort_by_key(|e| e.span.start);
    found
}

fn claim(claimed: &mut [bool], r: &Range<usize>) {
    for c in &mut claimed[r.clone()] {
        *c = true;
    }
}

fn emails(text: &str, found: &mut Vec<Entity>, claimed: &mut [bool]) {
    let b = text.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'@' {
            i += 1;
            continue;
        }
        let mut s = i;
        while s > 0 && local(b[s - 1]) {
            s -= 1;
        }
        let mut e = i + 1;
        while e < b.len() && domain(b[e]) {
            e += 1;
        }
        while e > i + 1 && (b[e - 1] == b'.' || b[e - 1] == b'-') {
            e -= 1;
        }
        let dom = &text[i + 1..e];
        let ok = s < i
            && dom.contains('.')
            && !dom.starts_with('.')
            && dom.rsplit('.').next().is_some_and(|tld| tld.len() >= 2);
        if ok {
            let r = s..e;
            found.push(Entity {
                kind: EntityKind::Email,
                value: text[r.clone()].to_ascii_lowercase(),
                valid: None,
                span: r.clone(),
            });
            claim(claimed, &r);
        }
        i = e.max(i + 1);
    }
}

/// Parses `1.234,56`, `89,9`, `80`, `99.90` into `1234.56`, `89.90`, `80.00`, `99.90`.
fn parse_money(s: &str) -> Option<String> {
    let (int, dec) = if let Some(p) = s.rfind(',') {
        (s[..p].replace('.', ""), s[p + 1..].to_string())
    } else if let Some(p) = s.rfind('.') {
        let tail = &s[p + 1..];
        if tail.len() == 2 && s.matches('.').count() == 1 {
            (s[..p].to_string(), tail.to_string())
        } else {
            (s.replace('.', ""), String::new())
        }
    } else {
        (s.to_string(), String::new())
    };
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || dec.len() > 2 {
        return None;
    }
    if !dec.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let dec = format!("{dec:0<2}");
    Some(format!("{int}.{dec}"))
}

fn money(text: &str, found: &mut Vec<Entity>, claimed: &mut [bool]) {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0
                && (b[i - 1].is_ascii_alphanumeric()
                    || b[i - 1] == b'.'
                    || b[i - 1] == b','
                    || b[i - 1] == b'-'
                    || b[i - 1] == b'/'))
        {
            i += 1;
            continue;
        }
        let s = i;
        let mut e = i;
        while e < b.len() && (b[e].is_ascii_digit() || b[e] == b'.' || b[e] == b',') {
            e += 1;
        }
        let next = e;
        while e > s && (b[e - 1] == b'.' || b[e - 1] == b',') {
            e -= 1;
        }
        let num = &text[s..e];
        // A number glued to letters or to other separators is not money (`2a`, `01310-100`).
        let glued =
            next < b.len() && (b[next].is_ascii_alphabetic() || b[next] == b'-' || b[next] == b'/');
        let before = lower[..s].trim_end();
        let after = lower[e..].trim_start();
        let currency = before.ends_with("r$");
        let unit = ["reais", "real", "conto"].iter().any(|w| {
            after.starts_with(w)
                && !after[w.len()..].starts_with(|c: char| c.is_ascii_alphabetic() && c != 's')
        });
        let shaped = is_brl_decimal(num);
        if !glued
            && (currency || unit || shaped)
            && let Some(value) = parse_money(num)
        {
            {
                let start = if currency { before.len() - 2 } else { s };
                let r = start..e;
                found.push(Entity {
                    kind: EntityKind::Money,
                    value,
                    valid: None,
                    span: r.clone(),
                });
                claim(claimed, &r);
            }
        }
        i = next.max(i + 1);
    }
}

/// `89,90`, `1.234,56`: a comma with exactly two decimals.
fn is_brl_decimal(s: &str) -> bool {
    let Some((int, dec)) = s.split_once(',') else {
        return false;
    };
    if dec.len() != 2 || !dec.bytes().all(|c| c.is_ascii_digit()) || int.is_empty() {
        return false;
    }
    let groups: Vec<&str> = int.split('.').collect();
    groups[0].len() <= 3
        && groups[0].bytes().all(|c| c.is_ascii_digit())
        && !groups[0].is_empty()
        && groups[1..]
            .iter()
            .all(|g| g.len() == 3 && g.bytes().all(|c| c.is_ascii_digit()))
}

fn chunk_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b".-/()+".contains(&c)
}

/// Number-like chunks, as byte ranges trimmed of trailing punctuation.
fn chunks(text: &str, claimed: &[bool]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if claimed[i] || !chunk_char(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && !claimed[i] && chunk_char(b[i]) {
            i += 1;
        }
        // A chunk glued to a non-ASCII letter (`2°`, `ção`) is cut there; that is fine.
        let mut e = i;
        let mut st = s;
        while e > st && b".-/".contains(&b[e - 1]) {
            e -= 1;
        }
        while st < e && b".-/".contains(&b[st]) {
            st += 1;
        }
        if st < e && b[st..e].iter().any(u8::is_ascii_digit) {
            out.push(st..e);
        }
    }
    out
}

fn is_digit_group(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_digit() || b".-()+".contains(&c))
        && s.bytes().any(|c| c.is_ascii_digit())
}

fn numbers(text: &str, found: &mut Vec<Entity>, claimed: &[bool]) {
    let cs = chunks(text, claimed);
    let b = text.as_bytes();
    let mut i = 0;
    while i < cs.len() {
        // A boleto bar code / linha digitável (dozens of digits in groups) holds no entity:
        // skip the whole space-separated run when it has more than 20 digits.
        if is_digit_group(&text[cs[i].clone()]) {
            let mut k = i;
            let mut total = count_digits(&text[cs[i].clone()]);
            while k + 1 < cs.len()
                && cs[k + 1].start == cs[k].end + 1
                && b[cs[k].end] == b' '
                && is_digit_group(&text[cs[k + 1].clone()])
            {
                k += 1;
                total += count_digits(&text[cs[k].clone()]);
            }
            if total > 20 {
                i = k + 1;
                continue;
            }
        }
        // Greedy merge of pure-digit groups separated by exactly one space.
        let mut j = i;
        if is_digit_group(&text[cs[i].clone()]) {
            let mut digits = count_digits(&text[cs[i].clone()]);
            while j + 1 < cs.len()
                && cs[j + 1].start == cs[j].end + 1
                && b[cs[j].end] == b' '
                && is_digit_group(&text[cs[j + 1].clone()])
                && digits + count_digits(&text[cs[j + 1].clone()]) <= 14
            {
                digits += count_digits(&text[cs[j + 1].clone()]);
                j += 1;
            }
        }
        let mut done = false;
        if j > i {
            let r = cs[i].start..cs[j].end;
            if let Some(e) = judge(text, r) {
                found.push(e);
                done = true;
            }
        }
        if done {
            i = j + 1;
        } else {
            if let Some(e) = judge(text, cs[i].clone()) {
                found.push(e);
            }
            i += 1;
        }
    }
}

fn count_digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// The nearest document/phone/CEP keyword before the number (within 40 bytes), else after it
/// (within 25 bytes).
fn context(text: &str, r: &Range<usize>) -> Ctx {
    let before = crate::normalize::fold(&text[..r.start]);
    let after = crate::normalize::fold(&text[r.end..]);
    context_in(&before, &after)
}

const KEYWORDS: &[(&str, Ctx)] = &[
    ("cnpj", Ctx::Cnpj),
    ("cpf", Ctx::Cpf),
    ("documento", Ctx::Doc),
    ("doc", Ctx::Doc),
    ("telefone", Ctx::Phone),
    ("fone", Ctx::Phone),
    ("tel", Ctx::Phone),
    ("celular", Ctx::Phone),
    ("cel", Ctx::Phone),
    ("zap", Ctx::Phone),
    ("whatsapp", Ctx::Phone),
    ("whats", Ctx::Phone),
    ("wpp", Ctx::Phone),
    ("contato", Ctx::Phone),
    ("liga", Ctx::Phone),
    ("ligar", Ctx::Phone),
    ("ligue", Ctx::Phone),
    ("cep", Ctx::Cep),
];

fn window_start(s: &str, n: usize) -> usize {
    let mut k = s.len().saturating_sub(n);
    while !s.is_char_boundary(k) {
        k += 1;
    }
    k
}

fn context_in(before: &str, after: &str) -> Ctx {
    let wb = &before[window_start(before, 40)..];
    let mut best: Option<(usize, Ctx)> = None;
    for word in wb
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let pos = word.as_ptr() as usize - wb.as_ptr() as usize;
        if let Some((_, ctx)) = KEYWORDS.iter().find(|(k, _)| *k == word)
            && best.is_none_or(|(p, _)| pos >= p)
        {
            best = Some((pos, *ctx));
        }
    }
    if wb.contains("numero novo") && best.is_none() {
        best = Some((0, Ctx::Phone));
    }
    if let Some((_, c)) = best {
        return c;
    }
    let mut end = after.len().min(25);
    while !after.is_char_boundary(end) {
        end -= 1;
    }
    for word in after[..end]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if let Some((_, ctx)) = KEYWORDS.iter().find(|(k, _)| *k == word) {
            return *ctx;
        }
    }
    Ctx::None
}

/// Shape: digits → `9`, letters → `A`, the rest kept.
fn shape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '9'
            } else if c.is_ascii_alphabetic() {
                'A'
            } else {
                c
            }
        })
        .collect()
}

fn cpf_entity(digits: String, r: Range<usize>) -> Entity {
    let valid = Cpf::parse(&digits).is_ok();
    Entity {
        kind: EntityKind::Cpf,
        value: digits,
        valid: Some(valid),
        span: r,
    }
}

fn cnpj_entity(sig: String, r: Range<usize>) -> Entity {
    let valid = Cnpj::parse(&sig).is_ok();
    Entity {
        kind: EntityKind::Cnpj,
        value: sig,
        valid: Some(valid),
        span: r,
    }
}

fn plain(kind: EntityKind, value: String, r: Range<usize>) -> Entity {
    Entity {
        kind,
        value,
        valid: None,
        span: r,
    }
}

fn date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    if seps[0] != seps[1] {
        return None;
    }
    let (y, m, d) = if parts[0].len() == 4 && seps[0] == '-' {
        (parts[0], parts[1], parts[2])
    } else if parts[0].len() <= 2
        && parts[1].len() <= 2
        && (parts[2].len() == 2 || parts[2].len() == 4)
    {
        if seps[0] == '.' && parts[2].len() == 2 {
            return None;
        }
        (parts[2], parts[1], parts[0])
    } else {
        return None;
    };
    let y: u32 = if y.len() == 2 {
        2000 + y.parse::<u32>().ok()?
    } else {
        y.parse().ok()?
    };
    let m: u32 = m.parse().ok()?;
    let d: u32 = d.parse().ok()?;
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1900..=2199).contains(&y) || d == 0 || d > days {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

fn valid_ddd(d: &[u8]) -> bool {
    d.len() >= 2 && (b'1'..=b'9').contains(&d[0]) && (b'1'..=b'9').contains(&d[1])
}

fn phone_digits(mut digits: String, explicit_country: bool) -> Option<String> {
    if (digits.len() == 12 || digits.len() == 13) && digits.starts_with("55") {
        digits.drain(..2);
    } else if explicit_country {
        return None;
    }
    if digits.len() == 11 && digits.starts_with('0') {
        digits.remove(0);
    }
    (8..=11).contains(&digits.len()).then_some(digits)
}

fn judge(text: &str, r: Range<usize>) -> Option<Entity> {
    let raw = &text[r.clone()];
    let sh = shape(raw);
    let sig: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    let letters = sig.len() - n;

    if letters > 0 {
        // Alphanumeric CNPJ: 12 of [0-9A-Z] and two numeric check digits.
        let b = sig.as_bytes();
        let separators_ok = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-/".contains(c));
        if sig.len() == 14
            && n >= 4
            && b[12].is_ascii_digit()
            && b[13].is_ascii_digit()
            && separators_ok
        {
            return Some(cnpj_entity(sig, r));
        }
        return None;
    }
    let sh_core = sh.trim_start_matches('+');
    if let Some(d) = date(raw) {
        return Some(plain(EntityKind::Date, d, r));
    }
    if sh == "99999-999" || sh == "99.999-999" {
        return Some(plain(EntityKind::Cep, digits, r));
    }
    if sh == "999.999.999-99" || sh == "999.999.999-9" || sh == "999 999 999 99" {
        return Some(cpf_entity(digits, r));
    }
    if sh == "99.999.999/9999-99" {
        return Some(cnpj_entity(sig, r));
    }
    let ctx = context(text, &r);
    let phone_shape = sh.contains('(')
        || sh.starts_with('+')
        || sh_core.ends_with("9999-9999") && !sh.contains('.');
    if phone_shape && !matches!(ctx, Ctx::Cpf | Ctx::Cnpj | Ctx::Doc) {
        return phone_digits(digits, sh.starts_with('+')).map(|p| plain(EntityKind::Phone, p, r));
    }
    let d = digits.as_bytes();
    match (n, ctx) {
        (14, Ctx::Phone) => None,
        (14, _) => Some(cnpj_entity(sig, r)),
        (12..=15, Ctx::Cnpj) => Some(cnpj_entity(sig, r)),
        (9..=12, Ctx::Cpf | Ctx::Doc) => Some(cpf_entity(digits, r)),
        (8..=13, Ctx::Phone) => phone_digits(digits, false).map(|p| plain(EntityKind::Phone, p, r)),
        (8, Ctx::Cep) => Some(plain(EntityKind::Cep, digits, r)),
        (11, _) => {
            if Cpf::parse(&digits).is_ok() {
                Some(cpf_entity(digits, r))
            } else if valid_ddd(d) && d[2] == b'9' {
                Some(plain(EntityKind::Phone, digits, r))
            } else {
                Some(cpf_entity(digits, r))
            }
        }
        (10, _) => {
            if valid_ddd(d) && (b'2'..=b'5').contains(&d[2]) {
                Some(plain(EntityKind::Phone, digits, r))
            } else {
                Some(cpf_entity(digits, r))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (EntityKind, String, Option<bool>) {
        let e = extract(text);
        assert_eq!(e.len(), 1, "{text}: {e:?}");
        (e[0].kind, e[0].value.clone(), e[0].valid)
    }

    fn none(text: &str) {
        let e = extract(text);
        assert!(e.is_empty(), "{text}: {e:?}");
    }

    #[test]
    fn cpf() {
        assert_eq!(
            one("meu cpf é 529.982.247-25"),
            (EntityKind::Cpf, "52998224725".into(), Some(true))
        );
        assert_eq!(
            one("52998224725"),
            (EntityKind::Cpf, "52998224725".into(), Some(true))
        );
        assert_eq!(
            one("cpf 529 982 247 25"),
            (EntityKind::Cpf, "52998224725".into(), Some(true))
        );
        assert_eq!(
            one("cpf 5299822472"),
            (EntityKind::Cpf, "5299822472".into(), Some(false))
        );
        assert_eq!(
            one("cpf 529.982.247-26"),
            (EntityKind::Cpf, "52998224726".into(), Some(false))
        );
        assert_eq!(
            one("111.111.111-11"),
            (EntityKind::Cpf, "11111111111".into(), Some(false))
        );
        assert_eq!(
            one("o cpf é 12345678900."),
            (EntityKind::Cpf, "12345678900".into(), Some(false))
        );
    }

    #[test]
    fn cnpj() {
        assert_eq!(
            one("cnpj 11.222.333/0001-81"),
            (EntityKind::Cnpj, "11222333000181".into(), Some(true))
        );
        assert_eq!(
            one("11444777000161"),
            (EntityKind::Cnpj, "11444777000161".into(), Some(true))
        );
        assert_eq!(
            one("cnpj 12.abc.345/01de-35"),
            (EntityKind::Cnpj, "12ABC34501DE35".into(), Some(true))
        );
        assert_eq!(
            one("CNPJ 12ABC34501DE36"),
            (EntityKind::Cnpj, "12ABC34501DE36".into(), Some(false))
        );
        assert_eq!(
            one("cnpj 1122233300018"),
            (EntityKind::Cnpj, "1122233300018".into(), Some(false))
        );
    }

    #[test]
    fn phone() {
        assert_eq!(
            one("(11) 98765-4321"),
            (EntityKind::Phone, "11987654321".into(), None)
        );
        assert_eq!(
            one("+55 21 99876-5432"),
            (EntityKind::Phone, "21998765432".into(), None)
        );
        assert_eq!(
            one("zap 11987654321"),
            (EntityKind::Phone, "11987654321".into(), None)
        );
        assert_eq!(
            one("98765-4321"),
            (EntityKind::Phone, "987654321".into(), None)
        );
        assert_eq!(
            one("tel 31 3333-4444"),
            (EntityKind::Phone, "3133334444".into(), None)
        );
        // Not a valid CPF and shaped like a mobile number.
        assert_eq!(
            one("11987654321"),
            (EntityKind::Phone, "11987654321".into(), None)
        );
    }

    #[test]
    fn email_date_money_cep() {
        assert_eq!(
            one("meu email Ana.Souza@Gmail.com."),
            (EntityKind::Email, "ana.souza@gmail.com".into(), None)
        );
        assert_eq!(
            one("venceu 10/11/2025"),
            (EntityKind::Date, "2025-11-10".into(), None)
        );
        assert_eq!(
            one("desde 5/3/26"),
            (EntityKind::Date, "2026-03-05".into(), None)
        );
        assert_eq!(one("R$ 89,90"), (EntityKind::Money, "89.90".into(), None));
        assert_eq!(one("r$89"), (EntityKind::Money, "89.00".into(), None));
        assert_eq!(one("80 reais"), (EntityKind::Money, "80.00".into(), None));
        assert_eq!(
            one("R$ 1.234,56"),
            (EntityKind::Money, "1234.56".into(), None)
        );
        assert_eq!(
            one("plano de 99,90"),
            (EntityKind::Money, "99.90".into(), None)
        );
        assert_eq!(
            one("cep 01310-100"),
            (EntityKind::Cep, "01310100".into(), None)
        );
        assert_eq!(
            one("cep 01310100"),
            (EntityKind::Cep, "01310100".into(), None)
        );
    }

    #[test]
    fn not_entities() {
        none("quero 500 mega");
        none("o tecnico vem dia 10");
        none("protocolo 2025110500123");
        none("das 8 as 12");
        none("2 via do boleto");
        none("ip 192.168.0.1");
        none("rede 5g");
        none("linha 34191.09008 00000.012344 56789.012301 6 13810000009990 ok");
        none("34196138100000099901090000000012345678901230");
        none("00020126330014BR.GOV.BCB.PIX01115794666323452040000530398654041.005802BR5925");
    }

    #[test]
    fn several() {
        let e = extract("cpf 52998224725 e zap (11) 98765-4321, email x@y.com.br, R$ 50,00");
        let kinds: Vec<_> = e.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EntityKind::Cpf,
                EntityKind::Phone,
                EntityKind::Email,
                EntityKind::Money
            ]
        );
    }
}
