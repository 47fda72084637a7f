//! Text normalisation for the classifier.
//!
//! Steps: entities replaced by placeholder tokens (`_cpf_`, `_money_`…), lower case, accents
//! stripped (`ç` → `c`, `ñ` → `n`), split into word tokens and emoji tokens, letters repeated three
//! times or more squeezed to one (`oiii` → `oi`, `kkkk` → `k`), doubled letters squeezed except
//! `rr`/`ss`, remaining numbers of three digits or more masked as `_num_`, and the chat
//! abbreviations expanded (`vc` → `voce`, `pfv` → `por favor`, `net` → `internet`…).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::entities::Entity;

/// Lower case without accents (`Não` → `nao`).
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_emoji(c: char) -> bool {
    let u = c as u32;
    (0x1F000..=0x1FAFF).contains(&u)
        || (0x2600..=0x27BF).contains(&u)
        || (0x2B00..=0x2BFF).contains(&u)
}

/// Chat abbreviations and common misspellings, after folding and squeezing.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("vc", "voce"),
    ("vcs", "voces"),
    ("voceis", "voces"),
    ("pq", "porque"),
    ("pk", "porque"),
    ("tb", "tambem"),
    ("tbm", "tambem"),
    ("q", "que"),
    ("n", "nao"),
    ("naum", "nao"),
    ("nao", "nao"),
    ("blz", "beleza"),
    ("mt", "muito"),
    ("mto", "muito"),
    ("mta", "muita"),
    ("pfv", "por favor"),
    ("pf", "por favor"),
    ("pfvr", "por favor"),
    ("plz", "por favor"),
    ("obg", "obrigado"),
    ("obgd", "obrigado"),
    ("obgda", "obrigada"),
    ("brigado", "obrigado"),
    ("brigada", "obrigada"),
    ("net", "internet"),
    ("zap", "whatsapp"),
    ("zapzap", "whatsapp"),
    ("wpp", "whatsapp"),
    ("whats", "whatsapp"),
    ("hj", "hoje"),
    ("td", "tudo"),
    ("tds", "todos"),
    ("msm", "mesmo"),
    ("dps", "depois"),
    ("vlw", "valeu"),
    ("flw", "falou"),
    ("qdo", "quando"),
    ("qnd", "quando"),
    ("qto", "quanto"),
    ("eh", "e"),
    ("ngm", "ninguem"),
    ("agr", "agora"),
    ("dnv", "de novo"),
    ("oq", "o que"),
    ("cmg", "comigo"),
    ("vdd", "verdade"),
    ("tmb", "tambem"),
    ("s", "sim"),
    ("ss", "sim"),
    ("blza", "beleza"),
    ("cel", "celular"),
    ("tel", "telefone"),
    ("ctz", "certeza"),
    ("qr", "qrcode"),
    ("wi", "wifi"),
    ("wifii", "wifi"),
    ("wireless", "wifi"),
    ("modem", "roteador"),
    ("tecnico", "tecnico"),
    ("os", "os"),
];

fn expand(token: &str) -> Option<&'static str> {
    ABBREVIATIONS
        .iter()
        .find(|(a, _)| *a == token)
        .map(|(_, e)| *e)
}

fn squeeze(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    let mut out = String::with_capacity(token.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = j - i;
        let keep = if c.is_ascii_digit() || c == '_' {
            run
        } else if run == 2 && (c == 'r' || c == 's') && chars.len() > 2 {
            2
        } else {
            1
        };
        for _ in 0..keep {
            out.push(c);
        }
        i = j;
    }
    out
}

/// Replaces the entities by their placeholders.
pub fn mask(text: &str, entities: &[Entity]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    for e in entities {
        if e.span.start < last {
            continue;
        }
        out.push_str(&text[last..e.span.start]);
        out.push_str(e.kind.placeholder());
        last = e.span.end;
    }
    out.push_str(&text[last..]);
    out
}

/// The classifier's tokens for `text` whose entities are `entities`.
pub fn tokens(text: &str, entities: &[Entity]) -> Vec<String> {
    let folded = fold(&mask(text, entities));
    let mut out = Vec::with_capacity(16);
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if cur.is_empty() {
            return;
        }
        let word = std::mem::take(cur);
        let placeholder = word.starts_with('_') && word.ends_with('_') && word.len() > 2;
        if placeholder {
            out.push(word);
            return;
        }
        let word = squeeze(&word);
        if word.bytes().all(|b| b.is_ascii_digit()) {
            if word.len() >= 3 {
                out.push("_num_".to_string());
            } else {
                out.push(word);
            }
            return;
        }
        match expand(&word) {
            Some(e) => out.extend(e.split(' ').map(str::to_string)),
            None => out.push(word),
        }
    };
    for c in folded.chars() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
        } else {
            flush(&mut cur, &mut out);
            if is_emoji(c) {
                out.push(c.to_string());
            } else if c == '?' && out.last().is_none_or(|t| t != "?") {
                out.push("?".to_string());
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::extract;

    fn toks(s: &str) -> Vec<String> {
        tokens(s, &extract(s))
    }

    #[test]
    fn normalises() {
        assert_eq!(toks("Não, OBRIGADAAA!!"), ["nao", "obrigada"]);
        assert_eq!(toks("oiii vc tá aí?"), ["oi", "voce", "ta", "ai", "?"]);
        assert_eq!(toks("ñ quero"), ["nao", "quero"]);
        assert_eq!(
            toks("segunda via pfv 👍"),
            ["segunda", "via", "por", "favor", "👍"]
        );
        assert_eq!(toks("meu cpf 529.982.247-25"), ["meu", "cpf", "_cpf_"]);
        assert_eq!(toks("quero 500 mega"), ["quero", "_num_", "mega"]);
        assert_eq!(toks("a net caiu"), ["a", "internet", "caiu"]);
        assert_eq!(toks("ss"), ["sim"]);
        assert_eq!(toks("correr"), ["correr"]);
    }
}
