//! Multinomial logistic regression over word, stem, word-bigram and character n-gram features.
//!
//! Features are hashed to 64 bits (FNV-1a with a namespace byte), mapped to dense indices through
//! a vocabulary built from the training data (unknown features are ignored at inference), weighted
//! by group and L2-normalised per message. Training is plain SGD on the cross-entropy with exact
//! L2 regularisation (lazy scaling), a decaying learning rate, and a fixed-seed shuffle: the same
//! data gives bit-identical weights on every run.

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

/// Training hyper-parameters. The defaults are the ones the built-in model uses.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Softmax temperature applied at inference (> 1 softens over-confident scores).
    pub temperature: f32,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 40,
            learning_rate: 1.0,
            l2: 1e-6,
            temperature: 0.85,
            seed: 0x5EED_1DEA,
        }
    }
}

const NS_WORD: u8 = 1;
const NS_STEM: u8 = 2;
const NS_BIGRAM: u8 = 3;
const NS_CHAR: u8 = 4;
const NS_LEN: u8 = 5;
const NS_FIRST: u8 = 6;

const W_WORD: f32 = 1.0;
const W_STEM: f32 = 1.0;
const W_BIGRAM: f32 = 0.7;
const W_CHAR: f32 = 0.35;
const W_LEN: f32 = 0.5;
const W_FIRST: f32 = 0.5;

fn fnv(ns: u8, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(ns);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            eat(0xff);
        }
        for &b in p.as_bytes() {
            eat(b);
        }
    }
    h
}

/// Extracts hashed features with their group weight.
pub(crate) struct Featurizer {
    stemmer: Stemmer,
}

impl Featurizer {
    pub(crate) fn new() -> Featurizer {
        Featurizer {
            stemmer: Stemmer::create(Algorithm::Portuguese),
        }
    }

    pub(crate) fn features(&self, tokens: &[String], out: &mut Vec<(u64, f32)>) {
        out.clear();
        let n = tokens.len();
        let len_bucket = match n {
            0 => "0",
            1 => "1",
            2 => "2",
            3..=4 => "3-4",
            5..=8 => "5-8",
            _ => "9+",
        };
        out.push((fnv(NS_LEN, &[len_bucket]), W_LEN));
        if let Some(first) = tokens.first() {
            out.push((fnv(NS_FIRST, &[first]), W_FIRST));
        }
        let mut prev = "<s>";
        for t in tokens {
            out.push((fnv(NS_WORD, &[t]), W_WORD));
            let is_word = t.chars().all(|c| c.is_ascii_alphabetic());
            if is_word && t.len() > 3 {
                let stem = self.stemmer.stem(t);
                if stem != t.as_str() {
                    out.push((fnv(NS_STEM, &[&stem]), W_STEM));
                }
            }
            out.push((fnv(NS_BIGRAM, &[prev, t]), W_BIGRAM));
            prev = t;
            if is_word && t.len() >= 3 {
                let padded: Vec<u8> = std::iter::once(b'<')
                    .chain(t.bytes())
                    .chain(std::iter::once(b'>'))
                    .collect();
                for k in 3..=5 {
                    for w in padded.windows(k) {
                        // Safe: ASCII only.
                        let s = std::str::from_utf8(w).unwrap_or_default();
                        out.push((fnv(NS_CHAR, &[s]), W_CHAR));
                    }
                }
            }
        }
        out.push((fnv(NS_BIGRAM, &[prev, "</s>"]), W_BIGRAM));
        // Merge duplicates so that the norm is computed on the real vector.
        out.sort_unstable_by_key(|f| f.0);
        out.dedup_by(|a, b| {
            if a.0 == b.0 {
                b.1 += a.1;
                true
            } else {
                false
            }
        });
        let norm = out.iter().map(|f| f.1 * f.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            for f in out.iter_mut() {
                f.1 /= norm;
            }
        }
    }
}

/// The trained weights.
pub(crate) struct Model {
    pub(crate) classes: usize,
    vocab: HashMap<u64, u32>,
    /// `vocab.len() × classes`, row-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
    temperature: f32,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl Model {
    /// Trains on `(features, class)` pairs.
    pub(crate) fn train(
        data: &[(Vec<(u64, f32)>, usize)],
        classes: usize,
        cfg: &TrainConfig,
    ) -> Model {
        let mut vocab: HashMap<u64, u32> = HashMap::new();
        let mut indexed: Vec<(Vec<(u32, f32)>, usize)> = Vec::with_capacity(data.len());
        for (feats, y) in data {
            let row = feats
                .iter()
                .map(|&(h, v)| {
                    let next = vocab.len() as u32;
                    (*vocab.entry(h).or_insert(next), v)
                })
                .collect();
            indexed.push((row, *y));
        }
        let nf = vocab.len();
        // w = scale * v, so that the L2 shrink is O(1) per step.
        let mut v = vec![0f32; nf * classes];
        let mut bias = vec![0f32; classes];
        let mut scale = 1.0f32;
        let mut order: Vec<usize> = (0..indexed.len()).collect();
        let mut rng = Rng(cfg.seed | 1);
        let mut probs = vec![0f32; classes];
        let mut grad = vec![0f32; classes];
        let total = (cfg.epochs * indexed.len()).max(1) as f32;
        let mut step = 0usize;
        for _ in 0..cfg.epochs {
            for i in (1..order.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &k in &order {
                let (row, y) = &indexed[k];
                let lr = cfg.learning_rate * (1.0 - 0.9 * step as f32 / total);
                step += 1;
                probs.copy_from_slice(&bias);
                for &(f, x) in row {
                    let w = &v[f as usize * classes..(f as usize + 1) * classes];
                    let sx = scale * x;
                    for (p, wc) in probs.iter_mut().zip(w) {
                        *p += wc * sx;
                    }
                }
                softmax(&mut probs);
                scale *= 1.0 - lr * cfg.l2;
                for c in 0..classes {
                    grad[c] = probs[c] - if c == *y { 1.0 } else { 0.0 };
                    bias[c] -= lr * grad[c];
                    grad[c] *= lr / scale;
                }
                for &(f, x) in row {
                    let w = &mut v[f as usize * classes..(f as usize + 1) * classes];
                    for (wc, g) in w.iter_mut().zip(&grad) {
                        *wc -= g * x;
                    }
                }
                if scale < 1e-3 {
                    for w in v.iter_mut() {
                        *w *= scale;
                    }
                    scale = 1.0;
                }
            }
        }
        for w in v.iter_mut() {
            *w *= scale;
        }
        Model {
            classes,
            vocab,
            weights: v,
            bias,
            temperature: cfg.temperature,
        }
    }

    /// Class probabilities for one message's features.
    pub(crate) fn predict(&self, feats: &[(u64, f32)], probs: &mut Vec<f32>) {
        probs.clear();
        probs.extend_from_slice(&self.bias);
        for &(h, x) in feats {
            if let Some(&f) = self.vocab.get(&h) {
                let w = &self.weights[f as usize * self.classes..(f as usize + 1) * self.classes];
                for (p, wc) in probs.iter_mut().zip(w) {
                    *p += wc * x;
                }
            }
        }
        let t = self.temperature;
        for p in probs.iter_mut() {
            *p /= t;
        }
        softmax(probs);
    }

    /// Number of distinct features kept.
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.vocab.len()
    }
}

fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for x in z.iter_mut() {
        *x = (*x - m).exp();
        s += *x;
    }
    for x in z.iter_mut() {
        *x /= s;
    }
}
