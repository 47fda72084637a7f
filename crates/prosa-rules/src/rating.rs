//! Rating rules ("regras de avaliação"), reading the subscriber's score, CSAT and NPS.
//!
//! At the end of a conversation the subscriber is asked for a score from 0 to 10. Every active
//! rule whose score set contains the score fires (overlapping rules all fire) and notifies its
//! operators: [`notifications_for`] gives one notification per (rule, operator).
//!
//! # Indicators (conventions)
//! - **NPS** = % promoters (9–10) − % detractors (0–6), from −100 to 100; passives are 7–8.
//! - **CSAT** = % of answers that are 9 or 10 (the "top-2-box" of the 0–10 scale), from 0 to 100.
//! - Both are over the answered scores only (no answer = not in the slice); an empty slice has no
//!   value (`None`), and values above 10 are ignored. Results are unrounded `f64`; round for display.

use prosa_domain::{RatingRuleId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::service_hours::fold_accent;
use crate::validation::{FieldError, check_description, msg};

/// The highest score.
pub const MAX_SCORE: u8 = 10;

/// A rating rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRule {
    pub id: RatingRuleId,
    pub description: String,
    /// Scores that fire the rule, 0..=10.
    pub scores: BTreeSet<u8>,
    /// Operators to notify.
    pub operators: Vec<UserId>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl RatingRule {
    /// Active and containing the score.
    pub fn matches(&self, score: u8) -> bool {
        self.active && self.scores.contains(&score)
    }

    /// Field errors (empty = valid): `description`, `scores`, `operators`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        check_description(&self.description, &mut out);
        if self.scores.is_empty() {
            out.push(FieldError::new("scores", msg::SCORE_REQUIRED));
        } else if self.scores.iter().any(|s| *s > MAX_SCORE) {
            out.push(FieldError::new("scores", msg::SCORE_RANGE));
        }
        if self.operators.is_empty() {
            out.push(FieldError::new("operators", msg::OPERATOR_REQUIRED));
        }
        out
    }
}

/// A rating rule as sent by the panel (scores as plain integers, possibly out of range).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRuleDraft {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scores: Vec<i64>,
    #[serde(default)]
    pub operators: Vec<UserId>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl RatingRuleDraft {
    /// The rule (description trimmed, scores and operators deduplicated), or every field error:
    /// `description`, `scores`, `scores[i]` (out of 0–10), `operators`.
    pub fn into_rule(self, id: RatingRuleId) -> Result<RatingRule, Vec<FieldError>> {
        let mut out = Vec::new();
        check_description(&self.description, &mut out);
        if self.scores.is_empty() {
            out.push(FieldError::new("scores", msg::SCORE_REQUIRED));
        }
        let mut scores = BTreeSet::new();
        for (n, s) in self.scores.iter().enumerate() {
            match u8::try_from(*s) {
                Ok(s) if s <= MAX_SCORE => {
                    scores.insert(s);
                }
                _ => out.push(FieldError::new(format!("scores[{n}]"), msg::SCORE_RANGE)),
            }
        }
        if self.operators.is_empty() {
            out.push(FieldError::new("operators", msg::OPERATOR_REQUIRED));
        }
        if !out.is_empty() {
            return Err(out);
        }
        let mut operators = Vec::new();
        for u in self.operators {
            if !operators.contains(&u) {
                operators.push(u);
            }
        }
        Ok(RatingRule {
            id,
            description: self.description.trim().to_owned(),
            scores,
            operators,
            active: self.active,
        })
    }
}

/// Every active rule containing the score, in the given order.
pub fn matching_rules(rules: &[RatingRule], score: u8) -> Vec<&RatingRule> {
    rules.iter().filter(|r| r.matches(score)).collect()
}

/// One operator to notify because of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    pub rule_id: RatingRuleId,
    pub user_id: UserId,
    /// The rule's description when it fired (kept even if the rule is edited later).
    pub description: String,
}

/// Notifications for a score: one per (rule, operator), rules in the given order, operators in
/// rule order. An operator in two matching rules gets two notifications (one per rule); a rule
/// listed twice, or an operator listed twice in a rule, counts once.
pub fn notifications_for(rules: &[RatingRule], score: u8) -> Vec<Notification> {
    let mut out: Vec<Notification> = Vec::new();
    for r in matching_rules(rules, score) {
        for u in &r.operators {
            if !out.iter().any(|n| n.rule_id == r.id && n.user_id == *u) {
                out.push(Notification {
                    rule_id: r.id,
                    user_id: *u,
                    description: r.description.clone(),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reading the answer
// ---------------------------------------------------------------------------------------------

/// Text answers longer than this many words are not read as a score.
pub const MAX_ANSWER_WORDS: usize = 12;

/// Reads the subscriber's answer to the rating request.
///
/// `selected_option` is the id of a tapped button or list row (`"score:7"`, `"nota:7"` or `"7"`);
/// when it is a valid score it wins over the text. Otherwise the text is read: digits (`"10"`,
/// `" 7 "`, `"nota 9"`, `"07"`), number words (`"zero"`…`"dez"`, accents optional), keycap
/// emoji (`"8️⃣"`, `"🔟"`, `"1️⃣0️⃣"`), and `"9/10"` or `"9 de 10"`. `None` when the answer holds
/// no score, different scores (`"7 ou 8"`), a value out of 0–10 (`"11"`, `"-1"`, `"100"`), a
/// decimal (`"8,5"`), or more than [`MAX_ANSWER_WORDS`] words. "um"/"uma" count as 1 only when no
/// other number is present (`"dou um 8"` is 8).
pub fn parse_score(text: &str, selected_option: Option<&str>) -> Option<u8> {
    if let Some(n) = selected_option.and_then(parse_option_id) {
        return Some(n);
    }
    parse_score_text(text)
}

fn parse_option_id(id: &str) -> Option<u8> {
    let id = id.trim().to_ascii_lowercase();
    let n = ["score:", "nota:", "rating:", "score_", "nota_", "rating_"]
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or(&id);
    if n.is_empty() || n.len() > 2 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().filter(|n| *n <= MAX_SCORE)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Word(String),
    Punct(char),
}

fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut cur: Option<Tok> = None;
    let flush = |cur: &mut Option<Tok>, toks: &mut Vec<Tok>| {
        if let Some(t) = cur.take() {
            toks.push(t);
        }
    };
    for c in text.chars() {
        match c {
            '\u{FE0F}' | '\u{20E3}' | '\u{200D}' => continue, // emoji presentation, keycap, ZWJ
            '🔟' => {
                flush(&mut cur, &mut toks);
                toks.push(Tok::Num("10".into()));
                continue;
            }
            _ => {}
        }
        let c = fold_accent(c.to_lowercase().next().unwrap_or(c));
        if c.is_ascii_digit() {
            match &mut cur {
                Some(Tok::Num(s)) => s.push(c),
                _ => {
                    flush(&mut cur, &mut toks);
                    cur = Some(Tok::Num(c.to_string()));
                }
            }
        } else if c.is_alphabetic() {
            match &mut cur {
                Some(Tok::Word(s)) => s.push(c),
                _ => {
                    flush(&mut cur, &mut toks);
                    cur = Some(Tok::Word(c.to_string()));
                }
            }
        } else {
            flush(&mut cur, &mut toks);
            if !c.is_whitespace() {
                toks.push(Tok::Punct(c));
            }
        }
    }
    flush(&mut cur, &mut toks);
    toks
}

fn number_word(w: &str) -> Option<u8> {
    Some(match w {
        "zero" => 0,
        "um" | "uma" => 1,
        "dois" | "duas" => 2,
        "tres" => 3,
        "quatro" => 4,
        "cinco" => 5,
        "seis" => 6,
        "sete" => 7,
        "oito" => 8,
        "nove" => 9,
        "dez" => 10,
        _ => return None,
    })
}

fn parse_score_text(text: &str) -> Option<u8> {
    let toks = tokenize(text);
    if toks.iter().filter(|t| matches!(t, Tok::Word(_))).count() > MAX_ANSWER_WORDS {
        return None;
    }
    let value = |t: &Tok| match t {
        Tok::Num(s) => Some(if s.len() > 3 {
            u16::MAX
        } else {
            s.parse::<u16>().unwrap_or(u16::MAX)
        }),
        Tok::Word(w) => number_word(w).map(u16::from),
        Tok::Punct(_) => None,
    };
    let mut found: Vec<u16> = Vec::new();
    let mut articles = false;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let Some(v) = value(t) else {
            i += 1;
            continue;
        };
        if let Tok::Num(_) = t {
            // Negative sign ("-1"), unless it reads as a range ("7-8": both numbers count).
            if i >= 1 && toks[i - 1] == Tok::Punct('-') && (i < 2 || value(&toks[i - 2]).is_none())
            {
                return None;
            }
            // Decimal ("8,5", "9.5").
            if matches!(toks.get(i + 1), Some(Tok::Punct(',' | '.')))
                && matches!(toks.get(i + 2), Some(Tok::Num(_)))
            {
                return None;
            }
        }
        if matches!(t, Tok::Word(w) if w == "um" || w == "uma") {
            articles = true;
            i += 1;
            continue;
        }
        found.push(v);
        // "9/10", "9 de 10": the scale, not a second score.
        let sep = matches!(toks.get(i + 1), Some(Tok::Punct('/')))
            || matches!(toks.get(i + 1), Some(Tok::Word(w)) if w == "de");
        if sep && toks.get(i + 2).and_then(value) == Some(10) {
            i += 3;
            continue;
        }
        i += 1;
    }
    if found.is_empty() && articles {
        found.push(1);
    }
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [v] if *v <= u16::from(MAX_SCORE) => Some(*v as u8),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Indicators
// ---------------------------------------------------------------------------------------------

/// Counts and indicators of a set of scores (see the module docs for the conventions).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// Scores in 0..=10.
    pub responses: usize,
    /// 9–10.
    pub promoters: usize,
    /// 7–8.
    pub passives: usize,
    /// 0–6.
    pub detractors: usize,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
    pub average: Option<f64>,
}

/// Counts, NPS, CSAT and mean of the scores (values above 10 ignored).
pub fn summarize(scores: &[u8]) -> ScoreSummary {
    let mut s = ScoreSummary::default();
    let mut sum = 0u64;
    for &v in scores.iter().filter(|v| **v <= MAX_SCORE) {
        s.responses += 1;
        sum += u64::from(v);
        match v {
            9..=10 => s.promoters += 1,
            7..=8 => s.passives += 1,
            _ => s.detractors += 1,
        }
    }
    if s.responses > 0 {
        let n = s.responses as f64;
        s.nps = Some(100.0 * (s.promoters as f64 - s.detractors as f64) / n);
        s.csat = Some(100.0 * s.promoters as f64 / n);
        s.average = Some(sum as f64 / n);
    }
    s
}

/// NPS in % (−100..=100): promoters (9–10) minus detractors (0–6); `None` for no scores.
pub fn nps(scores: &[u8]) -> Option<f64> {
    summarize(scores).nps
}

/// CSAT in % (0..=100): share of 9–10; `None` for no scores.
pub fn csat(scores: &[u8]) -> Option<f64> {
    summarize(scores).csat
}
