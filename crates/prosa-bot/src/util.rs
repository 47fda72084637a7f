//! Text helpers: folding, templates, Brazilian formats, reading documents and answers.

use jiff::civil::Date;
use prosa_br::{Document, DocumentError};

/// Lower case, Portuguese accents removed, everything but letters and digits turned into
/// single spaces, trimmed.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether the normalized `text` contains the normalized phrase `kw` as whole words.
pub fn has_phrase(text_norm: &str, kw: &str) -> bool {
    let t = format!(" {text_norm} ");
    let k = format!(" {} ", normalize(kw));
    t.contains(&k)
}

/// Whether a word of the normalized text starts with `prefix`.
pub fn has_prefix(text_norm: &str, prefix: &str) -> bool {
    text_norm.split(' ').any(|w| w.starts_with(prefix))
}

/// Renders `{name}` placeholders in one pass: values are inserted verbatim and never scanned
/// again, so subscriber or ERP data cannot act as a template. Unknown placeholders stay as they are.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let key = &after[..end];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `R$ 1.234,56`.
pub fn money(cents: u64) -> String {
    let reais = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in reais.chars().enumerate() {
        if i > 0 && (reais.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("R$ {grouped},{:02}", cents % 100)
}

/// `dd/mm/aaaa`.
pub fn date_br(d: Date) -> String {
    d.strftime("%d/%m/%Y").to_string()
}

/// An ERP date-time text such as `2026-03-15 18:00` as `15/03/2026 às 18:00`; other texts unchanged.
pub fn datetime_text_br(s: &str) -> String {
    let (day, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    match day.parse::<Date>() {
        Ok(d) => match time {
            Some(t) => format!("{} às {}", date_br(d), t.get(..5).unwrap_or(t)),
            None => date_br(d),
        },
        Err(_) => s.to_owned(),
    }
}

/// A linha digitável in its usual grouping, or as given when it does not parse.
pub fn linha_formatted(l: &str) -> String {
    prosa_br::Boleto::parse(l)
        .map(|b| b.formatted())
        .unwrap_or_else(|_| l.to_owned())
}

/// What a message says about documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentRead {
    None,
    Valid(Document),
    /// Looked like a document but is not a valid one.
    Invalid(DocumentError),
}

fn significant_count(s: &str) -> (usize, usize) {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let letters = s.chars().filter(char::is_ascii_alphabetic).count();
    (digits, letters)
}

/// Finds a CPF or CNPJ in free text (`529.982.247-25`, `529 982 247 25`, `12.ABC.345/01DE-35`).
pub fn read_document(text: &str) -> DocumentRead {
    let tokens: Vec<&str> = text
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|t| !t.is_empty())
        .collect();
    let mut candidates: Vec<String> = Vec::new();
    // Runs of tokens made only of digits and separators ("529 982 247 25").
    let mut run = String::new();
    for t in &tokens {
        if t.chars().all(|c| c.is_ascii_digit() || ".-/".contains(c)) {
            run.push_str(t);
        } else {
            if !run.is_empty() {
                candidates.push(std::mem::take(&mut run));
            }
            candidates.push((*t).to_owned());
        }
    }
    if !run.is_empty() {
        candidates.push(run);
    }
    let mut invalid = None;
    for c in candidates {
        let (digits, letters) = significant_count(&c);
        if digits < 9 || (letters > 0 && !c.ends_with(|ch: char| ch.is_ascii_digit())) {
            continue;
        }
        if letters > 0 && digits + letters != 14 {
            continue;
        }
        match Document::parse(&c) {
            Ok(d) => return DocumentRead::Valid(d),
            Err(e) => invalid = invalid.or(Some(e)),
        }
    }
    invalid.map_or(DocumentRead::None, DocumentRead::Invalid)
}

/// A contract number written after the word "contrato" ("contrato 2004", "contrato nº 2004").
pub fn read_contract_number(text: &str) -> Option<String> {
    let n = normalize(text);
    let words: Vec<&str> = n.split(' ').collect();
    let pos = words.iter().position(|w| *w == "contrato")?;
    words[pos + 1..]
        .iter()
        .take(2)
        .find(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| (*w).to_owned())
}

/// A yes or no answer.
pub fn read_yes_no(text: &str) -> Option<bool> {
    let n = normalize(text);
    const YES: [&str; 22] = [
        "sim",
        "s",
        "ss",
        "isso",
        "isso mesmo",
        "pode",
        "pode sim",
        "claro",
        "quero",
        "ok",
        "blz",
        "beleza",
        "com certeza",
        "yes",
        "certo",
        "correto",
        "positivo",
        "por favor",
        "pfv",
        "pode ser",
        "aham",
        "uhum",
    ];
    const NO: [&str; 14] = [
        "nao",
        "n",
        "nn",
        "negativo",
        "nada",
        "nope",
        "agora nao",
        "nao obrigado",
        "nao obrigada",
        "so isso",
        "e so isso",
        "era so isso",
        "nao precisa",
        "no",
    ];
    let first = n.split(' ').next().unwrap_or("");
    if NO.contains(&n.as_str()) || first == "nao" || first == "n" {
        return Some(false);
    }
    if YES.contains(&n.as_str()) || first == "sim" {
        return Some(true);
    }
    None
}

/// Digits only.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// A date the subscriber typed: `12/04/1985`, `12-4-85`, `12041985`, `12 de abril de 1985`.
pub fn read_date(text: &str) -> Option<Date> {
    let n = normalize(text);
    const MONTHS: [&str; 12] = [
        "janeiro",
        "fevereiro",
        "marco",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ];
    let parts: Vec<String> = n
        .split(' ')
        .filter(|w| *w != "de")
        .map(|w| {
            match MONTHS
                .iter()
                .position(|m| *m == w || (w.len() >= 3 && m.starts_with(w)))
            {
                Some(i) => (i + 1).to_string(),
                None => w.to_owned(),
            }
        })
        .collect();
    let nums: Vec<&String> = parts
        .iter()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let (d, m, y) = match nums.as_slice() {
        [one] if one.len() == 8 => (
            one[..2].to_owned(),
            one[2..4].to_owned(),
            one[4..].to_owned(),
        ),
        [one] if one.len() == 6 => (
            one[..2].to_owned(),
            one[2..4].to_owned(),
            one[4..].to_owned(),
        ),
        [d, m, y] => ((*d).clone(), (*m).clone(), (*y).clone()),
        _ => return None,
    };
    let d: i8 = d.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    let mut y: i16 = y.parse().ok()?;
    if y < 100 {
        y += if y > 30 { 1900 } else { 2000 };
    }
    Date::new(y, m, d).ok()
}

/// Masks a name for a choice made before identity is confirmed: `Maria A. S.` → `M*** A*** S***`.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .filter(|w| w.chars().count() > 2)
        .map(|w| format!("{}***", w.chars().next().unwrap_or('*')))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn normalizes() {
        assert_eq!(normalize("  Olá, SÃO   Paulo!! "), "ola sao paulo");
        assert!(has_phrase("quero a segunda via", "segunda via"));
        assert!(!has_phrase("losango", "los"));
    }

    #[test]
    fn renders_once() {
        let out = render(
            "Olá, {nome}! {x} {",
            &[("nome", "{protocolo}"), ("protocolo", "1")],
        );
        assert_eq!(out, "Olá, {protocolo}! {x} {");
    }

    #[test]
    fn formats() {
        assert_eq!(money(9990), "R$ 99,90");
        assert_eq!(money(123456789), "R$ 1.234.567,89");
        assert_eq!(money(5), "R$ 0,05");
        assert_eq!(datetime_text_br("2026-03-16 14:00"), "16/03/2026 às 14:00");
    }

    #[test]
    fn reads_documents() {
        assert!(matches!(
            read_document("meu cpf é 529.982.247-25"),
            DocumentRead::Valid(_)
        ));
        assert!(matches!(
            read_document("529 982 247 25"),
            DocumentRead::Valid(_)
        ));
        assert!(matches!(
            read_document("CNPJ 12.ABC.345/01DE-35 ok"),
            DocumentRead::Valid(_)
        ));
        assert_eq!(
            read_document("529.982.247-24"),
            DocumentRead::Invalid(DocumentError::CheckDigits)
        );
        assert_eq!(
            read_document("5299822472"),
            DocumentRead::Invalid(DocumentError::WrongLength)
        );
        assert_eq!(read_document("estou sem internet"), DocumentRead::None);
        assert_eq!(read_document("rua 123"), DocumentRead::None);
    }

    #[test]
    fn reads_answers() {
        assert_eq!(read_yes_no("Sim!"), Some(true));
        assert_eq!(read_yes_no("não, obrigado"), Some(false));
        assert_eq!(read_yes_no("quero a segunda via"), None);
        assert_eq!(read_date("12/04/1985"), Some(date(1985, 4, 12)));
        assert_eq!(read_date("12 de abril de 1985"), Some(date(1985, 4, 12)));
        assert_eq!(read_date("12041985"), Some(date(1985, 4, 12)));
        assert_eq!(
            read_contract_number("é o contrato nº 2004"),
            Some("2004".into())
        );
        assert_eq!(mask_name("Maria da Silva"), "M*** S***");
    }
}
