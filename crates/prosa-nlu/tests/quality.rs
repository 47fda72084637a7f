//! Quality gates on the committed data: held-out accuracy, CPF/CNPJ validity, data hygiene,
//! determinism and the classify contract.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use prosa_nlu::cli::LabeledExample;
use prosa_nlu::{
    BUILTIN_TRAINING_DATA, Intent, Nlu, evaluate, extract, normalize, parse_examples, run_classify,
};

const TEST_DATA: &str = include_str!("../data/test.jsonl");

fn nlu() -> &'static Nlu {
    static NLU: OnceLock<Nlu> = OnceLock::new();
    NLU.get_or_init(Nlu::builtin)
}

fn test_split() -> Vec<LabeledExample> {
    TEST_DATA
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn key(text: &str) -> String {
    normalize::tokens(text, &extract(text)).join(" ")
}

#[test]
fn test_split_accuracy_and_documents() {
    let report = evaluate(nlu(), &test_split());
    println!("{report}");
    assert!(
        report.accuracy >= 0.95,
        "accuracy {:.4} below 95%",
        report.accuracy
    );
    assert_eq!(
        report.document_errors, 0,
        "a CPF/CNPJ was missed or its validity misjudged"
    );
    let docs = report.entities[&prosa_nlu::EntityKind::Cpf].true_positives
        + report.entities[&prosa_nlu::EntityKind::Cnpj].true_positives;
    assert!(docs >= 20, "the test split must keep its document cases");
}

#[test]
fn no_test_text_in_training() {
    let train: HashSet<String> = parse_examples(BUILTIN_TRAINING_DATA)
        .unwrap()
        .iter()
        .map(|e| key(&e.text))
        .collect();
    let leaked: Vec<String> = test_split()
        .iter()
        .filter(|e| train.contains(&key(&e.text)))
        .map(|e| e.text.clone())
        .collect();
    assert!(
        leaked.is_empty(),
        "test texts also in training (normalised): {leaked:?}"
    );
}

#[test]
fn enough_examples_per_intent() {
    let mut train: BTreeMap<Intent, usize> = BTreeMap::new();
    for e in parse_examples(BUILTIN_TRAINING_DATA).unwrap() {
        *train.entry(e.intent).or_default() += 1;
    }
    let mut test: BTreeMap<Intent, usize> = BTreeMap::new();
    for e in test_split() {
        *test.entry(e.intent).or_default() += 1;
    }
    for intent in Intent::ALL {
        assert!(
            train.get(&intent).copied().unwrap_or(0) >= 60,
            "{intent}: {:?} training examples",
            train.get(&intent)
        );
        assert!(
            test.get(&intent).copied().unwrap_or(0) >= 15,
            "{intent}: {:?} test examples",
            test.get(&intent)
        );
    }
}

#[test]
fn training_is_deterministic() {
    let examples = parse_examples(BUILTIN_TRAINING_DATA).unwrap();
    let again = Nlu::train(&examples);
    for e in test_split().iter().take(60) {
        assert_eq!(nlu().classify(&e.text), again.classify(&e.text));
    }
}

#[test]
fn confidence_is_a_probability_and_ranking_is_sorted() {
    let c = nlu().classify("blz, a net ta lenta dms 🐢");
    assert_eq!(c.ranking.len(), Intent::ALL.len());
    assert_eq!(c.ranking[0], (c.intent, c.confidence));
    let sum: f32 = c.ranking.iter().map(|r| r.1).sum();
    assert!((sum - 1.0).abs() < 1e-3);
    assert!(c.ranking.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn tie_breaking_rules_of_the_spec() {
    let cases = [
        ("ja paguei e continua bloqueado", Intent::PaymentNotice),
        ("to bloqueado, pago na sexta, libera?", Intent::TrustUnlock),
        (
            "to bloqueado, me manda o pix que pago agora",
            Intent::PixPayment,
        ),
        (
            "sem internet e a luz los ta vermelha",
            Intent::EquipmentIssue,
        ),
        ("quero mudar o dia do vencimento", Intent::AccountChange),
        (
            "segunda via do boleto, meu cpf é 529.982.247-25",
            Intent::InvoiceCopy,
        ),
        ("529.982.247-25", Intent::ProvideDocument),
        ("quero falar com o financeiro", Intent::HumanAgent),
    ];
    for (text, want) in cases {
        assert_eq!(nlu().classify(text).intent, want, "{text}");
    }
}

#[test]
fn classify_contract_keeps_order_and_reports_bad_lines() {
    let input = "{\"text\": \"manda o boleto\"}\nnot json\n\n{\"text\": \"meu cpf 529.982.247-25\"}\n{\"txt\": 1}\n";
    let mut out = Vec::new();
    let mut err = Vec::new();
    let summary = run_classify(nlu(), input.as_bytes(), &mut out, &mut err).unwrap();
    assert_eq!(summary.lines, 4);
    assert_eq!(summary.errors, 2);
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["intent"], "invoice_copy");
    assert_eq!(lines[0]["text"], "manda o boleto");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[2]["intent"], "provide_document");
    assert_eq!(
        lines[2]["entities"][0],
        serde_json::json!({"type": "cpf", "value": "52998224725", "valid": true})
    );
    assert_eq!(lines[3]["line"], 5);
    let err = String::from_utf8(err).unwrap();
    assert!(err.starts_with("line 2: "), "{err}");
    assert!(
        err.contains("\nline 5: ") && err.contains("missing field `text`"),
        "{err}"
    );
}

#[test]
fn nlu_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Nlu>();
}
