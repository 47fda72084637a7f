//! Data-driven tests of rating rules, score parsing and indicators.

use prosa_domain::{RatingRuleId, UserId};
use prosa_rules::rating::{
    Notification, RatingRule, RatingRuleDraft, csat, matching_rules, notifications_for, nps,
    parse_score, summarize,
};
use prosa_rules::validation::{FieldError, msg};

fn rule(id: i64, desc: &str, scores: &[u8], ops: &[i64], active: bool) -> RatingRule {
    RatingRule {
        id: RatingRuleId(id),
        description: desc.into(),
        scores: scores.iter().copied().collect(),
        operators: ops.iter().map(|u| UserId(*u)).collect(),
        active,
    }
}

fn rules() -> Vec<RatingRule> {
    vec![
        rule(1, "Insatisfação", &[0, 1, 2], &[10, 11], true),
        rule(2, "Detratores", &[0, 1, 2, 3, 4, 5, 6], &[11, 12], true),
        rule(3, "Desativada", &[0, 10], &[13], false),
        rule(4, "Elogio", &[10], &[10, 10, 14], true),
        rule(5, "Neutros", &[7, 8], &[15], true),
    ]
}

#[test]
fn matching_rules_table() {
    let rules = rules();
    let cases: [(u8, &[i64]); 12] = [
        (0, &[1, 2]),
        (1, &[1, 2]),
        (2, &[1, 2]),
        (3, &[2]),
        (4, &[2]),
        (5, &[2]),
        (6, &[2]),
        (7, &[5]),
        (8, &[5]),
        (9, &[]),
        (10, &[4]), // rule 3 has 10 but is inactive
        (11, &[]),
    ];
    for (score, want) in cases {
        let got: Vec<i64> = matching_rules(&rules, score)
            .iter()
            .map(|r| r.id.0)
            .collect();
        assert_eq!(got, want, "score {score}");
    }
    assert!(matching_rules(&[], 0).is_empty());
}

#[test]
fn notifications_table() {
    let rules = rules();
    let n = |rule: i64, user: i64, d: &str| Notification {
        rule_id: RatingRuleId(rule),
        user_id: UserId(user),
        description: d.into(),
    };
    let cases: Vec<(u8, Vec<Notification>)> = vec![
        (
            0,
            vec![
                n(1, 10, "Insatisfação"),
                n(1, 11, "Insatisfação"),
                n(2, 11, "Detratores"), // user 11 in two rules: one per rule
                n(2, 12, "Detratores"),
            ],
        ),
        (5, vec![n(2, 11, "Detratores"), n(2, 12, "Detratores")]),
        (8, vec![n(5, 15, "Neutros")]),
        (9, vec![]),
        (10, vec![n(4, 10, "Elogio"), n(4, 14, "Elogio")]), // duplicate operator once
    ];
    for (score, want) in cases {
        assert_eq!(notifications_for(&rules, score), want, "score {score}");
    }
    // The same rule listed twice fires once per operator.
    let twice = vec![
        rule(7, "X", &[3], &[1], true),
        rule(7, "X", &[3], &[1, 2], true),
    ];
    assert_eq!(
        notifications_for(&twice, 3),
        vec![n(7, 1, "X"), n(7, 2, "X")]
    );
}

#[test]
fn rule_validation_table() {
    let fe = |f: &str, m: &str| FieldError::new(f, m);
    let d = |desc: &str, scores: &[i64], ops: &[i64]| RatingRuleDraft {
        description: desc.into(),
        scores: scores.to_vec(),
        operators: ops.iter().map(|u| UserId(*u)).collect(),
        active: true,
    };
    let cases: Vec<(RatingRuleDraft, Vec<FieldError>)> = vec![
        (d("Insatisfação", &[0, 1], &[1]), vec![]),
        (
            d("Todas", &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], &[1, 2]),
            vec![],
        ),
        (
            d("", &[0], &[1]),
            vec![fe("description", msg::DESCRIPTION_REQUIRED)],
        ),
        (
            d("  ", &[0], &[1]),
            vec![fe("description", msg::DESCRIPTION_REQUIRED)],
        ),
        (d("A", &[], &[1]), vec![fe("scores", msg::SCORE_REQUIRED)]),
        (
            d("A", &[0, 11], &[1]),
            vec![fe("scores[1]", msg::SCORE_RANGE)],
        ),
        (d("A", &[-1], &[1]), vec![fe("scores[0]", msg::SCORE_RANGE)]),
        (
            d("A", &[300], &[1]),
            vec![fe("scores[0]", msg::SCORE_RANGE)],
        ),
        (
            d("A", &[1], &[]),
            vec![fe("operators", msg::OPERATOR_REQUIRED)],
        ),
        (
            d("", &[], &[]),
            vec![
                fe("description", msg::DESCRIPTION_REQUIRED),
                fe("scores", msg::SCORE_REQUIRED),
                fe("operators", msg::OPERATOR_REQUIRED),
            ],
        ),
    ];
    for (draft, want) in cases {
        match draft.clone().into_rule(RatingRuleId(1)) {
            Ok(r) => {
                assert!(want.is_empty(), "{draft:?}");
                assert!(r.validate().is_empty());
            }
            Err(got) => assert_eq!(got, want, "{draft:?}"),
        }
    }
    let r = d(" Insatisfação ", &[2, 0, 2], &[5, 5, 6])
        .into_rule(RatingRuleId(9))
        .unwrap();
    assert_eq!(r.description, "Insatisfação");
    assert_eq!(r.scores.iter().copied().collect::<Vec<_>>(), vec![0, 2]);
    assert_eq!(r.operators, vec![UserId(5), UserId(6)]);
    // The typed rule validates too.
    assert_eq!(
        rule(1, "", &[11], &[], true).validate(),
        vec![
            fe("description", msg::DESCRIPTION_REQUIRED),
            fe("scores", msg::SCORE_RANGE),
            fe("operators", msg::OPERATOR_REQUIRED),
        ]
    );
}

#[test]
fn parse_score_table() {
    let cases: &[(&str, Option<&str>, Option<u8>)] = &[
        // digits
        ("10", None, Some(10)),
        ("0", None, Some(0)),
        ("5", None, Some(5)),
        (" 7 ", None, Some(7)),
        ("07", None, Some(7)),
        ("nota 9", None, Some(9)),
        ("Nota: 8", None, Some(8)),
        ("nota10", None, Some(10)),
        ("10!", None, Some(10)),
        ("10.", None, Some(10)),
        ("minha nota é 6", None, Some(6)),
        ("dou 10 pra vcs", None, Some(10)),
        ("dou um 8", None, Some(8)),
        ("foi ótimo, nota 10 👍", None, Some(10)),
        ("10/10", None, Some(10)),
        ("9/10", None, Some(9)),
        ("7 de 10", None, Some(7)),
        ("10 10", None, Some(10)),
        ("10pts", None, Some(10)),
        // words
        ("dez", None, Some(10)),
        ("DEZ", None, Some(10)),
        ("zero", None, Some(0)),
        ("nove", None, Some(9)),
        ("três", None, Some(3)),
        ("tres", None, Some(3)),
        ("nota dez", None, Some(10)),
        ("uma nota dez", None, Some(10)),
        ("um", None, Some(1)),
        ("duas", None, Some(2)),
        ("dez, 10", None, Some(10)),
        // emoji
        ("🔟", None, Some(10)),
        ("8️⃣", None, Some(8)),
        ("0️⃣", None, Some(0)),
        ("1️⃣0️⃣", None, Some(10)),
        ("nota 🔟!", None, Some(10)),
        ("8\u{20E3}", None, Some(8)), // keycap without the presentation selector
        // button / list ids
        ("", Some("score:7"), Some(7)),
        ("Ótimo", Some("score:10"), Some(10)),
        ("7", Some("score:0"), Some(0)), // the tapped option wins
        ("", Some("nota_3"), Some(3)),
        ("", Some("4"), Some(4)),
        ("", Some("SCORE:9"), Some(9)),
        ("5", Some("menu:2"), Some(5)), // unknown id: the text is read
        ("", Some("score:11"), None),
        ("", Some("score:"), None),
        ("", Some("score:-1"), None),
        // refused
        ("", None, None),
        ("   ", None, None),
        ("sim", None, None),
        ("não", None, None),
        ("obrigado", None, None),
        ("11", None, None),
        ("100", None, None),
        ("1000000", None, None),
        ("-1", None, None),
        ("nota -3", None, None),
        ("7 ou 8", None, None),
        ("7-8", None, None),
        ("entre 7 e 8", None, None),
        ("8 ou nove", None, None),
        ("dez ou nove", None, None),
        ("8,5", None, None),
        ("9.5", None, None),
        ("meu protocolo é 123456", None, None),
        ("dezembro", None, None),
        (
            "o atendimento foi bom mas a internet continua caindo toda noite desde a semana passada 5",
            None,
            None,
        ),
    ];
    assert!(cases.len() >= 30);
    for (text, option, want) in cases {
        assert_eq!(parse_score(text, *option), *want, "{text:?} {option:?}");
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn nps_and_csat_examples() {
    // (scores, nps, csat)
    let cases: &[(&[u8], f64, f64)] = &[
        (&[10], 100.0, 100.0),
        (&[0], -100.0, 0.0),
        (&[7, 8], 0.0, 0.0),
        (&[9, 10, 6, 7], 25.0, 50.0),
        (&[10, 10, 10, 9, 8, 7, 6, 5, 0, 3], 0.0, 40.0),
        (&[10, 10, 10, 9, 9, 8, 7, 6, 5, 0], 20.0, 50.0),
        (&[9, 9, 9, 0], 50.0, 75.0),
        (&[6, 6, 6, 10], -50.0, 25.0),
        (&[5, 8, 9], 0.0, 100.0 / 3.0),
    ];
    for (scores, want_nps, want_csat) in cases {
        assert!(
            close(nps(scores), *want_nps),
            "nps {scores:?} = {:?}",
            nps(scores)
        );
        assert!(
            close(csat(scores), *want_csat),
            "csat {scores:?} = {:?}",
            csat(scores)
        );
    }
    assert_eq!(nps(&[]), None);
    assert_eq!(csat(&[]), None);
    // Out-of-range values are ignored.
    assert!(close(nps(&[10, 11, 200]), 100.0));
    assert_eq!(nps(&[11]), None);
    let s = summarize(&[10, 9, 8, 7, 6, 0]);
    assert_eq!(
        (s.responses, s.promoters, s.passives, s.detractors),
        (6, 2, 2, 2)
    );
    assert!(close(s.nps, 0.0));
    assert!(close(s.average, 40.0 / 6.0));
}

#[test]
fn serde_shapes() {
    let r: RatingRule = serde_json::from_str(
        r#"{"id": 3, "description": "Insatisfação", "scores": [1, 0], "operators": [7]}"#,
    )
    .unwrap();
    assert!(r.active);
    assert_eq!(r.id, RatingRuleId(3));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["scores"], serde_json::json!([0, 1]));
    let n = notifications_for(&[r], 0);
    assert_eq!(
        serde_json::to_value(&n).unwrap(),
        serde_json::json!([{"rule_id": 3, "user_id": 7, "description": "Insatisfação"}])
    );
}
