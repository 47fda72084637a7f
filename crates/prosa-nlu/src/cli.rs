//! The `prosa nlu classify` and `prosa nlu eval` contract as library functions.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Entity, EntityKind, Intent, Nlu, RECOMMENDED_THRESHOLD};

#[derive(Deserialize)]
struct ClassifyInput {
    text: String,
}

/// What [`run_classify`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassifySummary {
    /// Input lines answered (blank lines are not inputs).
    pub lines: usize,
    /// Of those, lines that were not `{"text": "..."}`.
    pub errors: usize,
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

/// One output line of `classify`, fields in the contract's order.
#[derive(Serialize)]
struct ClassifyOutput<'a> {
    text: &'a str,
    intent: Intent,
    confidence: f64,
    entities: Vec<EntityOutput<'a>>,
}

#[derive(Serialize)]
struct EntityOutput<'a> {
    #[serde(rename = "type")]
    kind: EntityKind,
    value: &'a str,
    valid: Option<bool>,
}

fn entity_output(e: &Entity) -> EntityOutput<'_> {
    EntityOutput {
        kind: e.kind,
        value: &e.value,
        valid: e.valid,
    }
}

/// `prosa nlu classify`: reads JSON lines `{"text": "..."}` (other fields ignored) and writes one
/// JSON line `{"text","intent","confidence","entities":[{"type","value","valid"}]}` per input
/// line, in input order.
///
/// Blank input lines are skipped. A malformed line does not stop the run: a precise message
/// `line N: …` goes to `errors` (stderr in the binary) and, so that output line *k* still answers
/// input line *k*, the output gets `{"line": N, "error": "…"}` in its place. The caller should
/// exit non-zero when [`ClassifySummary::errors`] is not zero. I/O errors stop the run.
pub fn run_classify(
    nlu: &Nlu,
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> anyhow::Result<ClassifySummary> {
    let mut summary = ClassifySummary::default();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        let n = i + 1;
        match serde_json::from_str::<ClassifyInput>(&line) {
            Ok(inp) => {
                let c = nlu.classify(&inp.text);
                let out = ClassifyOutput {
                    text: &inp.text,
                    intent: c.intent,
                    confidence: round4(c.confidence),
                    entities: c.entities.iter().map(entity_output).collect(),
                };
                serde_json::to_writer(&mut output, &out)?;
            }
            Err(e) => {
                summary.errors += 1;
                let msg = format!("expected {{\"text\": \"...\"}}: {e}");
                writeln!(errors, "line {n}: {msg}")?;
                serde_json::to_writer(&mut output, &json!({"line": n, "error": msg}))?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}

/// A gold entity in an evaluation file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct GoldEntity {
    #[serde(rename = "type")]
    pub kind: EntityKind,
    pub value: String,
    #[serde(default)]
    pub valid: Option<bool>,
}

/// One line of an evaluation file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabeledExample {
    pub text: String,
    pub intent: Intent,
    #[serde(default)]
    pub entities: Vec<GoldEntity>,
}

/// Precision, recall and F1 of one intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentScore {
    pub intent: Intent,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Entity counts for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EntityCounts {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
}

impl EntityCounts {
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }
}

/// A misclassified message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub text: String,
    pub gold: Intent,
    pub predicted: Intent,
    pub confidence: f32,
}

/// The result of [`evaluate`]; `Display` prints the human report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_intent: Vec<IntentScore>,
    /// `(gold, predicted, count)`, most frequent first.
    pub confusions: Vec<(Intent, Intent, usize)>,
    pub misses: Vec<Miss>,
    /// An entity matches when type, value and validity are all equal.
    pub entities: BTreeMap<EntityKind, EntityCounts>,
    pub entity_precision: f64,
    pub entity_recall: f64,
    /// Gold CPF/CNPJ not found with the right value and validity, plus predicted CPF/CNPJ that
    /// are not in the gold data. Must be zero.
    pub document_errors: usize,
    /// Expected calibration error over 10 confidence bins.
    pub calibration_error: f64,
    pub threshold: f32,
    /// Share of messages at or above the threshold, and the accuracy on them.
    pub coverage_at_threshold: f64,
    pub accuracy_at_threshold: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Evaluates `nlu` on labelled examples.
pub fn evaluate(nlu: &Nlu, data: &[LabeledExample]) -> Report {
    let k = Intent::ALL.len();
    let mut matrix = vec![vec![0usize; k]; k];
    let mut misses = Vec::new();
    let mut entities: BTreeMap<EntityKind, EntityCounts> = EntityKind::ALL
        .iter()
        .map(|k| (*k, EntityCounts::default()))
        .collect();
    let mut document_errors = 0;
    let mut bins = [(0usize, 0f64, 0usize); 10];
    let (mut above, mut above_ok) = (0usize, 0usize);
    for ex in data {
        let c = nlu.classify(&ex.text);
        matrix[ex.intent.index()][c.intent.index()] += 1;
        let ok = c.intent == ex.intent;
        if !ok {
            misses.push(Miss {
                text: ex.text.clone(),
                gold: ex.intent,
                predicted: c.intent,
                confidence: c.confidence,
            });
        }
        let b = ((c.confidence * 10.0) as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += f64::from(c.confidence);
        bins[b].2 += usize::from(ok);
        if c.confidence >= RECOMMENDED_THRESHOLD {
            above += 1;
            above_ok += usize::from(ok);
        }
        let mut gold: Vec<GoldEntity> = ex.entities.clone();
        let mut pred: Vec<GoldEntity> = c
            .entities
            .iter()
            .map(|e| GoldEntity {
                kind: e.kind,
                value: e.value.clone(),
                valid: e.valid,
            })
            .collect();
        gold.sort();
        pred.sort();
        for p in &pred {
            let counts = entities.get_mut(&p.kind).expect("all kinds present");
            if let Some(pos) = gold.iter().position(|g| g == p) {
                gold.remove(pos);
                counts.true_positives += 1;
            } else {
                counts.false_positives += 1;
                if matches!(p.kind, EntityKind::Cpf | EntityKind::Cnpj) {
                    document_errors += 1;
                }
            }
        }
        for g in &gold {
            entities
                .get_mut(&g.kind)
                .expect("all kinds present")
                .false_negatives += 1;
            if matches!(g.kind, EntityKind::Cpf | EntityKind::Cnpj) {
                document_errors += 1;
            }
        }
    }
    let n = data.len();
    let correct: usize = (0..k).map(|i| matrix[i][i]).sum();
    let mut per_intent = Vec::new();
    for intent in Intent::ALL {
        let i = intent.index();
        let support: usize = matrix[i].iter().sum();
        let predicted: usize = (0..k).map(|g| matrix[g][i]).sum();
        let precision = ratio(matrix[i][i], predicted);
        let recall = ratio(matrix[i][i], support);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        per_intent.push(IntentScore {
            intent,
            support,
            precision,
            recall,
            f1,
        });
    }
    let present: Vec<&IntentScore> = per_intent.iter().filter(|s| s.support > 0).collect();
    let macro_f1 = present.iter().map(|s| s.f1).sum::<f64>() / present.len().max(1) as f64;
    let mut confusions = Vec::new();
    for g in Intent::ALL {
        for p in Intent::ALL {
            let c = matrix[g.index()][p.index()];
            if g != p && c > 0 {
                confusions.push((g, p, c));
            }
        }
    }
    confusions.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let (tp, fp, fn_) = entities.values().fold((0, 0, 0), |acc, c| {
        (
            acc.0 + c.true_positives,
            acc.1 + c.false_positives,
            acc.2 + c.false_negatives,
        )
    });
    let calibration_error = bins
        .iter()
        .filter(|b| b.0 > 0)
        .map(|b| {
            (b.0 as f64 / n.max(1) as f64) * (b.1 / b.0 as f64 - b.2 as f64 / b.0 as f64).abs()
        })
        .sum();
    Report {
        examples: n,
        accuracy: ratio(correct, n),
        macro_f1,
        per_intent,
        confusions,
        misses,
        entities,
        entity_precision: ratio(tp, tp + fp),
        entity_recall: ratio(tp, tp + fn_),
        document_errors,
        calibration_error,
        threshold: RECOMMENDED_THRESHOLD,
        coverage_at_threshold: ratio(above, n),
        accuracy_at_threshold: ratio(above_ok, above),
    }
}

/// `prosa nlu eval FILE.jsonl`: reads lines `{"text","intent","entities"}` and evaluates.
/// Unlike `classify`, a malformed line is an error (`line N: …`): a gold file must be clean.
pub fn run_eval(nlu: &Nlu, input: impl BufRead) -> anyhow::Result<Report> {
    let mut data = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let ex: LabeledExample =
            serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?;
        data.push(ex);
    }
    Ok(evaluate(nlu, &data))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "examples        {}", self.examples)?;
        writeln!(f, "accuracy        {:.2}%", 100.0 * self.accuracy)?;
        writeln!(f, "macro-F1        {:.4}", self.macro_f1)?;
        writeln!(f, "calibration ECE {:.4}", self.calibration_error)?;
        writeln!(
            f,
            "threshold {:.2}: coverage {:.1}%, accuracy above it {:.2}%",
            self.threshold,
            100.0 * self.coverage_at_threshold,
            100.0 * self.accuracy_at_threshold
        )?;
        writeln!(f, "\nintent               support  precision  recall  f1")?;
        for s in &self.per_intent {
            writeln!(
                f,
                "{:<20} {:>7}  {:>9.3}  {:>6.3}  {:.3}",
                s.intent.as_str(),
                s.support,
                s.precision,
                s.recall,
                s.f1
            )?;
        }
        writeln!(
            f,
            "\nentities: precision {:.3}, recall {:.3}, CPF/CNPJ errors {}",
            self.entity_precision, self.entity_recall, self.document_errors
        )?;
        for (k, c) in &self.entities {
            writeln!(
                f,
                "  {:<6} tp {:>3}  fp {:>3}  fn {:>3}",
                k.as_str(),
                c.true_positives,
                c.false_positives,
                c.false_negatives
            )?;
        }
        writeln!(f, "\nconfusions (gold -> predicted: count)")?;
        if self.confusions.is_empty() {
            writeln!(f, "  none")?;
        }
        for (g, p, c) in &self.confusions {
            writeln!(f, "  {} -> {}: {}", g.as_str(), p.as_str(), c)?;
        }
        writeln!(f, "\nmisclassified")?;
        for m in &self.misses {
            writeln!(
                f,
                "  [{} -> {} {:.2}] {}",
                m.gold.as_str(),
                m.predicted.as_str(),
                m.confidence,
                m.text
            )?;
        }
        Ok(())
    }
}
