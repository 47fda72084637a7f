//! Portuguese understanding for the Prosa bot: intent classification and entity extraction for
//! messages that Brazilian ISP subscribers write (see `docs/intents.md` and `docs/nlu.md`).
//!
//! ```
//! use prosa_nlu::{Intent, Nlu};
//! let nlu = Nlu::builtin();
//! let c = nlu.classify("manda a segunda via do boleto pfv, cpf 529.982.247-25");
//! assert_eq!(c.intent, Intent::InvoiceCopy);
//! assert_eq!(c.entities[0].value, "52998224725");
//! assert_eq!(c.entities[0].valid, Some(true));
//! ```
//!
//! Everything is in process and deterministic: the built-in model is trained at start-up from
//! the examples embedded in the binary (`data/train.jsonl`) in well under a second.

pub mod cli;
pub mod entities;
mod intent;
#[cfg(feature = "llm")]
pub mod llm;
mod model;
pub mod normalize;

use serde::{Deserialize, Serialize};

pub use cli::{ClassifySummary, Report, evaluate, run_classify, run_eval};
pub use entities::{Entity, EntityKind, extract};
pub use intent::{Intent, UnknownIntent};
pub use model::TrainConfig;

use model::{Featurizer, Model};

/// Below this confidence the bot should not act on the intent alone: show the menu (or ask the
/// optional LLM fallback). Chosen on the test split, see `docs/nlu.md`.
pub const RECOMMENDED_THRESHOLD: f32 = 0.5;

/// The training data compiled into the crate.
pub const BUILTIN_TRAINING_DATA: &str = include_str!("../data/train.jsonl");

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub intent: Intent,
}

/// Parses JSON lines `{"text","intent"}` (blank lines ignored).
pub fn parse_examples(jsonl: &str) -> anyhow::Result<Vec<Example>> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ex: Example =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?;
        out.push(ex);
    }
    Ok(out)
}

/// The result for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: Intent,
    /// Probability of `intent` (softmax output), in `[0, 1]`.
    pub confidence: f32,
    /// All intents, most probable first.
    pub ranking: Vec<(Intent, f32)>,
    pub entities: Vec<Entity>,
}

impl Classification {
    /// Whether `confidence` reaches [`RECOMMENDED_THRESHOLD`].
    pub fn is_confident(&self) -> bool {
        self.confidence >= RECOMMENDED_THRESHOLD
    }
}

/// A trained classifier plus the entity extractor.
pub struct Nlu {
    featurizer: Featurizer,
    model: Model,
}

impl std::fmt::Debug for Nlu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nlu")
            .field("features", &self.model.vocabulary_size())
            .finish()
    }
}

impl Nlu {
    /// The model trained on the built-in data.
    pub fn builtin() -> Nlu {
        let examples =
            parse_examples(BUILTIN_TRAINING_DATA).expect("built-in training data is valid");
        Nlu::train(&examples)
    }

    /// Trains with the default configuration.
    pub fn train(examples: &[Example]) -> Nlu {
        Nlu::train_with(examples, &TrainConfig::default())
    }

    /// Trains with an explicit configuration. Deterministic for a given input order and config.
    pub fn train_with(examples: &[Example], config: &TrainConfig) -> Nlu {
        let featurizer = Featurizer::new();
        let data: Vec<(Vec<(u64, f32)>, usize)> = examples
            .iter()
            .map(|ex| {
                let mut feats = Vec::new();
                let toks = normalize::tokens(&ex.text, &entities::extract(&ex.text));
                featurizer.features(&toks, &mut feats);
                (feats, ex.intent.index())
            })
            .collect();
        let model = Model::train(&data, Intent::ALL.len(), config);
        Nlu { featurizer, model }
    }

    /// Classifies one message and extracts its entities.
    pub fn classify(&self, text: &str) -> Classification {
        let entities = entities::extract(text);
        let toks = normalize::tokens(text, &entities);
        let mut feats = Vec::with_capacity(128);
        self.featurizer.features(&toks, &mut feats);
        let mut probs = Vec::with_capacity(Intent::ALL.len());
        self.model.predict(&feats, &mut probs);
        let mut ranking: Vec<(Intent, f32)> = Intent::ALL.iter().copied().zip(probs).collect();
        ranking.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (intent, confidence) = ranking[0];
        Classification {
            intent,
            confidence,
            ranking,
            entities,
        }
    }
}
