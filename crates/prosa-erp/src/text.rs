//! Defensive decoding of ERP answers: broken encodings, ids as numbers or strings, field names
//! whose casing varies, Brazilian money and date formats.

use jiff::civil::Date;
use serde_json::Value;

/// Windows-1252 code points for bytes 0x80..=0x9F (`None` = undefined, decoded as the C1 control).
const CP1252_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    None,
];

/// Decodes a body: UTF-8 when valid, else Windows-1252 (a superset of Latin-1 in practice).
pub fn decode_body(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)].unwrap_or(char::from(b)),
                _ => char::from(b),
            })
            .collect(),
    }
}

fn cp1252_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if u < 0x80 || (0xA0..=0xFF).contains(&u) {
        return Some(u as u8);
    }
    if (0x80..=0x9F).contains(&u) {
        return Some(u as u8);
    }
    CP1252_HIGH
        .iter()
        .position(|&x| x == Some(c))
        .map(|i| 0x80 + i as u8)
}

/// Repairs mojibake: UTF-8 bytes that were decoded as Latin-1/Windows-1252 (`Ã§` → `ç`,
/// `NÃ£o` → `Não`). Only when every character maps back to a byte and those bytes are valid
/// UTF-8 with at least one multi-byte sequence; genuine Latin-1 text ("SÃO") stays as is.
pub fn repair_mojibake(s: &str) -> String {
    if s.is_ascii() {
        return s.to_owned();
    }
    let bytes: Option<Vec<u8>> = s.chars().map(cp1252_byte).collect();
    match bytes.and_then(|b| String::from_utf8(b).ok()) {
        Some(fixed) if fixed != s => fixed,
        _ => s.to_owned(),
    }
}

/// Repairs every string of a JSON tree in place.
pub fn repair_json(v: &mut Value) {
    match v {
        Value::String(s) => {
            let fixed = repair_mojibake(s);
            if fixed != *s {
                *s = fixed;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(repair_json),
        Value::Object(o) => o.values_mut().for_each(repair_json),
        _ => {}
    }
}

fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A field by any of its names, ignoring case and punctuation (`codconexao` = `CodConexao`,
/// `Num. ERRO` = `num_erro`).
pub fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    let obj = v.as_object()?;
    for name in names {
        let n = norm_key(name);
        if let Some((_, val)) = obj.iter().find(|(k, _)| norm_key(k) == n)
            && !val.is_null()
        {
            return Some(val);
        }
    }
    None
}

/// A scalar as text: strings trimmed, numbers printed (`123.0` → `123`), booleans as `true`.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 && !n.is_i64() && !n.is_u64() => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A field as text (id, name…), whatever JSON type it came as.
pub fn text(v: &Value, names: &[&str]) -> Option<String> {
    field(v, names).and_then(scalar)
}

/// `Sim`/`S`/`true`/`1`/`Yes` → true; `Não`/`N`/`false`/`0` → false.
pub fn flag(v: &Value, names: &[&str]) -> Option<bool> {
    let t = text(v, names)?.to_lowercase();
    match t.as_str() {
        "sim" | "s" | "true" | "1" | "yes" | "y" | "t" => Some(true),
        "não" | "nao" | "n" | "false" | "0" | "no" | "f" => Some(false),
        _ => None,
    }
}

/// Money to cents: numbers (`99.9`), `"99.90"`, `"99,90"`, `"1.234,56"`, `"R$ 1.234,56"`.
pub fn cents(v: &Value) -> Option<u64> {
    let s = match v {
        Value::Number(n) => {
            return n
                .as_f64()
                .filter(|f| *f >= 0.0)
                .map(|f| (f * 100.0).round() as u64);
        }
        Value::String(s) => s.trim().trim_start_matches("R$").trim().to_owned(),
        _ => return None,
    };
    let normalised = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else {
        s
    };
    let (int, frac) = normalised.split_once('.').unwrap_or((&normalised, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac2: String = format!("{frac:0<2}").chars().take(2).collect();
    let rest_up = frac.len() > 2 && frac.as_bytes()[2] >= b'5';
    int.parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(frac2.parse::<u64>().ok()? + u64::from(rest_up))
}

/// `DD/MM/YYYY`, `YYYY-MM-DD` (time part ignored); `0000-00-00` is `None`.
pub fn date(s: &str) -> Option<Date> {
    let s = s.trim();
    let day_part = s.split([' ', 'T']).next()?;
    if let Some((d, rest)) = day_part.split_once('/') {
        let (m, y) = rest.split_once('/')?;
        return Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok();
    }
    let mut it = day_part.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

pub fn date_field(v: &Value, names: &[&str]) -> Option<Date> {
    text(v, names).as_deref().and_then(date)
}

/// Digits only.
pub fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// CEP as 8 digits.
pub fn cep(s: &str) -> Option<String> {
    let d = digits(s);
    (d.len() == 8).then_some(d)
}

/// The first array found among `names`, or the value itself when it is an array.
pub fn list<'a>(v: &'a Value, names: &[&str]) -> Vec<&'a Value> {
    if let Some(a) = v.as_array() {
        return a.iter().collect();
    }
    match field(v, names) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// National phone digits: drops a leading `55` country code from 12/13-digit numbers.
pub fn national_phone(s: &str) -> String {
    let d = digits(s);
    if (d.len() == 12 || d.len() == 13) && d.starts_with("55") {
        d[2..].to_owned()
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_latin1_and_cp1252() {
        assert_eq!(decode_body("Não".as_bytes()), "Não");
        assert_eq!(decode_body(b"N\xe3o \x80 5"), "Não € 5");
        assert_eq!(decode_body(b"Conex\xe3o \x81"), "Conexão \u{81}");
    }

    #[test]
    fn repairs_mojibake() {
        assert_eq!(repair_mojibake("ConexÃ£o"), "Conexão");
        assert_eq!(repair_mojibake("ManutenÃ§Ã£o"), "Manutenção");
        assert_eq!(repair_mojibake("SÃO PAULO"), "SÃO PAULO");
        assert_eq!(repair_mojibake("São Paulo"), "São Paulo");
        assert_eq!(repair_mojibake("plain"), "plain");
        assert_eq!(repair_mojibake("â€œaspasâ€\u{9d}"), "“aspas”");
        let mut v = json!({"a": ["InvÃ¡lido", 1], "b": "ok"});
        repair_json(&mut v);
        assert_eq!(v, json!({"a": ["Inválido", 1], "b": "ok"}));
    }

    #[test]
    fn fields_ids_money_dates() {
        let v = json!({"CodigoConexao": 12, "Num. ERRO": "003", "valor": "1.234,56", "x": null, "X": "y"});
        assert_eq!(
            text(&v, &["codconexao", "CodigoConexao"]).as_deref(),
            Some("12")
        );
        assert_eq!(text(&v, &["num_erro"]).as_deref(), Some("003"));
        assert_eq!(text(&v, &["x"]).as_deref(), Some("y"));
        assert_eq!(
            text(&json!({"id": "  77 "}), &["ID"]).as_deref(),
            Some("77")
        );
        assert_eq!(text(&json!({"id": 77.0}), &["id"]).as_deref(), Some("77"));
        assert_eq!(cents(&json!("1.234,56")), Some(123_456));
        assert_eq!(cents(&json!("99.90")), Some(9990));
        assert_eq!(cents(&json!("99.9")), Some(9990));
        assert_eq!(cents(&json!(99.9)), Some(9990));
        assert_eq!(cents(&json!("R$ 10,5")), Some(1050));
        assert_eq!(cents(&json!("10.005")), Some(1001));
        assert_eq!(cents(&json!("abc")), None);
        assert_eq!(date("10/03/2026"), Some(jiff::civil::date(2026, 3, 10)));
        assert_eq!(
            date("2026-03-10 00:00:00"),
            Some(jiff::civil::date(2026, 3, 10))
        );
        assert_eq!(date("0000-00-00"), None);
        assert_eq!(
            flag(&json!({"bloqueada": "Não"}), &["bloqueada"]),
            Some(false)
        );
        assert_eq!(
            flag(&json!({"bloqueada": "Sim"}), &["bloqueada"]),
            Some(true)
        );
        assert_eq!(national_phone("+55 (11) 98765-4321"), "11987654321");
    }
}
