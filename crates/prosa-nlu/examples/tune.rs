//! Development aid: k-fold cross-validation of the training data only (the test split is never
//! used for tuning). `cargo run --release -p prosa-nlu --example tune`
use prosa_nlu::cli::LabeledExample;
use prosa_nlu::{BUILTIN_TRAINING_DATA, Nlu, TrainConfig, evaluate, parse_examples};

fn main() {
    let data = parse_examples(BUILTIN_TRAINING_DATA).unwrap();
    let k = 5;
    let grid: Vec<TrainConfig> = [0.5, 0.6, 0.7, 0.85, 1.0]
        .iter()
        .map(|&temperature| TrainConfig {
            temperature,
            ..TrainConfig::default()
        })
        .collect();
    for cfg in &grid {
        let (mut acc, mut ece, mut f1) = (0.0, 0.0, 0.0);
        let mut conf = std::collections::BTreeMap::new();
        for fold in 0..k {
            let train: Vec<_> = data
                .iter()
                .enumerate()
                .filter(|(i, _)| i % k != fold)
                .map(|(_, e)| e.clone())
                .collect();
            let test: Vec<LabeledExample> = data
                .iter()
                .enumerate()
                .filter(|(i, _)| i % k == fold)
                .map(|(_, e)| LabeledExample {
                    text: e.text.clone(),
                    intent: e.intent,
                    entities: vec![],
                })
                .collect();
            let nlu = Nlu::train_with(&train, cfg);
            let r = evaluate(&nlu, &test);
            for (g, p, c) in &r.confusions {
                *conf.entry((g.as_str(), p.as_str())).or_insert(0) += c;
            }
            acc += r.accuracy / k as f64;
            f1 += r.macro_f1 / k as f64;
            ece += r.calibration_error / k as f64;
        }
        let mut v: Vec<_> = conf.into_iter().collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        if std::env::var("SHOW").is_ok() {
            for ((g, p), c) in v.iter().take(30) {
                println!("  {g} -> {p}: {c}");
            }
        }
        println!(
            "{cfg:?}: cv accuracy {:.4} macro-f1 {:.4} ece {:.4}",
            acc, f1, ece
        );
    }
}
