//! Optional fallback to an OpenAI-compatible `/v1/chat/completions` endpoint (feature `llm`).
//!
//! Asked only when the built-in classifier is below the threshold; any failure (timeout,
//! connection, HTTP status, oversized or unparsable body, an answer that is not one of the 23
//! ids) silently keeps the built-in answer. By default the text sent is redacted: CPF, CNPJ,
//! phone, e-mail, CEP, long numbers and names (after "meu nome é", "me chamo", "em nome de"…, and
//! runs of two or more capitalised words) are replaced by tags such as `[CPF]` (LGPD, security
//! promise 10). `allow_private_data` lifts the redaction. Redirects are not followed, so the key
//! is only ever sent to the configured host.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::{Classification, EntityKind, Intent, Nlu, RECOMMENDED_THRESHOLD};

/// Where the fallback is and how it may be used.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// E.g. `https://api.example.com/v1` or `http://127.0.0.1:8080` (`/v1` is added when
    /// missing, then `/chat/completions`).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<SecretString>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Ask the LLM when the built-in confidence is below this.
    pub threshold: f32,
    /// Send the text unredacted (the administrator's explicit choice).
    pub allow_private_data: bool,
}

impl LlmConfig {
    /// Defaults: 3 s timeout, [`RECOMMENDED_THRESHOLD`], redaction on.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> LlmConfig {
        LlmConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(3),
            threshold: RECOMMENDED_THRESHOLD,
            allow_private_data: false,
        }
    }
}

/// Which classifier gave the final intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Confident enough: the LLM was not asked.
    Builtin,
    /// The LLM answered with a valid intent id.
    Llm,
    /// The LLM was asked but failed; the built-in answer is kept.
    BuiltinAfterLlmError,
}

/// The final answer. When `source` is [`Source::Llm`], `classification.intent` is the LLM's
/// and `classification.confidence` stays the built-in probability of that intent.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub classification: Classification,
    pub source: Source,
    /// Why the LLM answer was not used, when it was asked and failed.
    pub error: Option<String>,
}

/// The fallback client.
#[derive(Debug, Clone)]
pub struct LlmFallback {
    client: reqwest::Client,
    url: String,
    config: LlmConfig,
}

const MAX_BODY: usize = 64 * 1024;

fn system_prompt() -> String {
    let mut s = String::from(
        "Você classifica UMA mensagem de um assinante de um provedor de internet brasileiro. \
         Responda apenas com um destes ids, sem mais nada:\n",
    );
    for (intent, what) in DESCRIPTIONS {
        s.push_str(intent.as_str());
        s.push_str(": ");
        s.push_str(what);
        s.push('\n');
    }
    s.push_str(
        "Regras: bloqueado e já pagou = payment_notice; pagar depois = trust_unlock; pagar por Pix agora = \
         pix_payment; luzes/equipamento vencem sem internet; mudar dia de vencimento = account_change; \
         documento dentro de outro pedido mantém o pedido. Tags como [CPF] ou [NOME] substituem dados privados.",
    );
    s
}

const DESCRIPTIONS: [(Intent, &str); 23] = [
    (
        Intent::Greeting,
        "cumprimenta ou pergunta se há alguém, sem pedido",
    ),
    (Intent::ProvideDocument, "informa CPF ou CNPJ"),
    (
        Intent::InvoiceCopy,
        "pede boleto, segunda via, código de barras, fatura",
    ),
    (
        Intent::PixPayment,
        "quer pagar por Pix agora: chave, copia e cola, QR code",
    ),
    (
        Intent::DebtInquiry,
        "quanto deve, valor, vencimento, se há algo em aberto, por que esse valor",
    ),
    (
        Intent::PaymentNotice,
        "diz que já pagou (comprovante, débito automático, pagou e segue bloqueado)",
    ),
    (
        Intent::TrustUnlock,
        "pede desbloqueio por uns dias até pagar",
    ),
    (
        Intent::NoConnection,
        "internet totalmente fora, luzes normais",
    ),
    (
        Intent::SlowConnection,
        "lenta, instável, caindo, ping, wifi fraco",
    ),
    (
        Intent::EquipmentIssue,
        "luzes do roteador/ONU (vermelha, LOS, PON), aparelho queimado, cabo/fibra rompido",
    ),
    (
        Intent::WifiSettings,
        "trocar ou esqueceu senha/nome do wifi",
    ),
    (
        Intent::TicketStatus,
        "chamado/OS existente, visita do técnico, data de instalação, reagendar",
    ),
    (
        Intent::AddressChange,
        "assinante mudando de endereço ou mudando o ponto de lugar",
    ),
    (
        Intent::PlanChange,
        "mais velocidade, plano mais barato, trocar plano",
    ),
    (
        Intent::AccountChange,
        "dia de vencimento, e-mail, telefone, nome, titular, entrega da fatura, débito automático",
    ),
    (Intent::Cancellation, "pedido explícito de cancelar"),
    (
        Intent::NewService,
        "ainda não é cliente: cobertura, preços, contratar",
    ),
    (Intent::HumanAgent, "quer falar com uma pessoa ou setor"),
    (
        Intent::Complaint,
        "reclamação formal, Anatel/Procon/justiça, 'cancelo se…', cobrança contestada, raiva sem sintoma concreto",
    ),
    (Intent::Goodbye, "agradece, encerra"),
    (Intent::Affirm, "sim / correto / pode"),
    (Intent::Deny, "não / errado"),
    (Intent::OutOfScope, "nada a ver com o provedor"),
];

impl LlmFallback {
    /// Builds the HTTP client (timeout, no redirects).
    pub fn new(config: LlmConfig) -> anyhow::Result<LlmFallback> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = config.base_url.trim_end_matches('/');
        let url = if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        };
        Ok(LlmFallback {
            client,
            url,
            config,
        })
    }

    /// Classifies with `nlu`, asking the LLM only below the threshold.
    pub async fn classify(&self, nlu: &Nlu, text: &str) -> Resolved {
        let mut classification = nlu.classify(text);
        if classification.confidence >= self.config.threshold {
            return Resolved {
                classification,
                source: Source::Builtin,
                error: None,
            };
        }
        let sent = if self.config.allow_private_data {
            text.to_string()
        } else {
            redact(text, &classification)
        };
        match self.ask(&sent).await {
            Ok(intent) => {
                classification.intent = intent;
                classification.confidence = classification
                    .ranking
                    .iter()
                    .find(|r| r.0 == intent)
                    .map_or(0.0, |r| r.1);
                Resolved {
                    classification,
                    source: Source::Llm,
                    error: None,
                }
            }
            Err(e) => Resolved {
                classification,
                source: Source::BuiltinAfterLlmError,
                error: Some(format!("{e:#}")),
            },
        }
    }

    async fn ask(&self, text: &str) -> anyhow::Result<Intent> {
        let body = serde_json::json!({
            "model": self.config.model,
            "temperature": 0,
            "max_tokens": 16,
            "messages": [
                {"role": "system", "content": system_prompt()},
                {"role": "user", "content": text},
            ],
        });
        let mut req = self.client.post(&self.url).json(&body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key.expose_secret());
        }
        let mut resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            anyhow::bail!("HTTP {status}");
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_BODY {
                anyhow::bail!("response larger than {MAX_BODY} bytes");
            }
        }
        let v: serde_json::Value = serde_json::from_slice(&buf)?;
        let content = v["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no choices[0].message.content"))?;
        parse_answer(content).ok_or_else(|| anyhow::anyhow!("not an intent id: {content:?}"))
    }
}

/// Accepts `complaint`, `"complaint"`, `Complaint.`, `intent: complaint`.
fn parse_answer(content: &str) -> Option<Intent> {
    let cleaned = content.trim().to_ascii_lowercase();
    let cleaned = cleaned.rsplit(':').next().unwrap_or("").trim();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
    cleaned.parse().ok()
}

const NAME_TRIGGERS: &[&str] = &[
    "meu nome é ",
    "meu nome e ",
    "me chamo ",
    "em nome de ",
    "no nome de ",
    "nome do titular é ",
    "nome do titular e ",
    "nome: ",
    "aqui é ",
    "aqui e ",
    "sou o ",
    "sou a ",
];

/// The text with private data replaced by tags (what is sent without `allow_private_data`).
pub fn redact(text: &str, classification: &Classification) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for e in &classification.entities {
        let tag = match e.kind {
            EntityKind::Cpf => "[CPF]",
            EntityKind::Cnpj => "[CNPJ]",
            EntityKind::Phone => "[TELEFONE]",
            EntityKind::Email => "[EMAIL]",
            EntityKind::Cep => "[CEP]",
            EntityKind::Date | EntityKind::Money => continue,
        };
        if e.span.start < last {
            continue;
        }
        out.push_str(&text[last..e.span.start]);
        out.push_str(tag);
        last = e.span.end;
    }
    out.push_str(&text[last..]);
    redact_names(&redact_long_numbers(&out))
}

/// Runs of 6 or more digits (contract, protocol, account numbers) → `[NUMERO]`.
fn redact_long_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.chars().filter(char::is_ascii_digit).count() >= 6 {
            out.push_str("[NUMERO]");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() || (!digits.is_empty() && ".-/".contains(c)) {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn redact_names(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let lower = s.to_lowercase();
    let mut hide = vec![false; words.len()];
    // Words right after a trigger phrase (up to three, stopping at a connector or punctuation).
    for trig in NAME_TRIGGERS {
        let mut from = 0;
        while let Some(p) = lower[from..].find(trig) {
            let at = from + p + trig.len();
            let idx = lower[..at].split(' ').count() - 1;
            for (k, w) in words.iter().enumerate().skip(idx).take(3) {
                let bare = w.trim_matches(|c: char| !c.is_alphabetic());
                if bare.is_empty()
                    || ["e", "do", "da", "de", "cpf", "cnpj", "o", "a"]
                        .contains(&bare.to_lowercase().as_str())
                        && k > idx
                {
                    break;
                }
                hide[k] = true;
                if ends_clause(w) {
                    break;
                }
            }
            from = at;
        }
    }
    // Two or more consecutive capitalised words (full names), unless the message is all caps.
    let all_caps = !s.chars().any(char::is_lowercase);
    if !all_caps {
        let cap = |w: &str| {
            let bare = w.trim_matches(|c: char| !c.is_alphabetic());
            bare.chars().next().is_some_and(char::is_uppercase)
                && bare.chars().skip(1).all(char::is_lowercase)
                && bare.chars().count() > 1
        };
        let mut i = 0;
        while i < words.len() {
            let mut j = i;
            while j < words.len() && cap(words[j]) {
                j += 1;
            }
            if j - i >= 2 {
                for h in &mut hide[i..j] {
                    *h = true;
                }
            }
            i = j.max(i + 1);
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut k = 0;
    while k < words.len() {
        if !hide[k] {
            out.push(words[k].to_string());
            k += 1;
            continue;
        }
        // Merge a run of hidden words, stopping after one that ends a clause.
        while k + 1 < words.len() && hide[k + 1] && !ends_clause(words[k]) {
            k += 1;
        }
        let tail: String = words[k]
            .chars()
            .rev()
            .take_while(|c| !c.is_alphanumeric())
            .collect();
        out.push(format!("[NOME]{}", tail.chars().rev().collect::<String>()));
        k += 1;
    }
    out.join(" ")
}

fn ends_clause(w: &str) -> bool {
    w.ends_with([',', '.', ';', '!', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_leniently() {
        assert_eq!(parse_answer("complaint"), Some(Intent::Complaint));
        assert_eq!(
            parse_answer(" \"Ticket_Status\".\n"),
            Some(Intent::TicketStatus)
        );
        assert_eq!(parse_answer("intent: deny"), Some(Intent::Deny));
        assert_eq!(parse_answer("acho que é reclamação"), None);
    }
}
