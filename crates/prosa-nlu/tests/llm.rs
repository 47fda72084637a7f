//! The LLM fallback against a fake OpenAI-compatible server on 127.0.0.1.
#![cfg(feature = "llm")]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use prosa_nlu::llm::{LlmConfig, LlmFallback, Source, redact};
use prosa_nlu::{Intent, Nlu};
use serde_json::{Value, json};

fn nlu() -> &'static Nlu {
    static NLU: OnceLock<Nlu> = OnceLock::new();
    NLU.get_or_init(Nlu::builtin)
}

/// Requests received: the `Authorization` header and the JSON body.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone, Copy)]
enum Behaviour {
    Answer(&'static str),
    Status(u16),
    Sleep(u64),
    Garbage,
}

#[derive(Clone)]
struct Fake {
    behaviour: Behaviour,
    seen: Seen,
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, String) {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    fake.seen.lock().unwrap().push((auth, body));
    match fake.behaviour {
        Behaviour::Answer(a) => (
            StatusCode::OK,
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": a}}]})
                .to_string(),
        ),
        Behaviour::Status(s) => (StatusCode::from_u16(s).unwrap(), "{}".into()),
        Behaviour::Sleep(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            (
                StatusCode::OK,
                json!({"choices": [{"message": {"content": "complaint"}}]}).to_string(),
            )
        }
        Behaviour::Garbage => (StatusCode::OK, "not json".into()),
    }
}

async fn serve(behaviour: Behaviour) -> (String, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(Fake {
            behaviour,
            seen: seen.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn config(base: &str) -> LlmConfig {
    let mut c = LlmConfig::new(base, "fake-model");
    c.api_key = Some("sk-test".to_string().into());
    c.timeout = Duration::from_millis(500);
    c
}

const PRIVATE: &str = "Maria Aparecida Souza aqui, cpf 529.982.247-25, zap (11) 98765-4321, maria.souza@gmail.com, contrato 99887766, sobre aquilo";

#[tokio::test]
async fn confident_messages_never_reach_the_llm() {
    let (base, seen) = serve(Behaviour::Answer("complaint")).await;
    let fb = LlmFallback::new(config(&base)).unwrap();
    let r = fb.classify(nlu(), "quero a segunda via do boleto").await;
    assert_eq!(r.source, Source::Builtin);
    assert_eq!(r.classification.intent, Intent::InvoiceCopy);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unsure_message_is_asked_redacted() {
    let (base, seen) = serve(Behaviour::Answer(" Complaint.")).await;
    let mut cfg = config(&base);
    cfg.threshold = 1.01; // force the call
    let fb = LlmFallback::new(cfg).unwrap();
    let r = fb.classify(nlu(), PRIVATE).await;
    assert_eq!(r.source, Source::Llm, "{:?}", r.error);
    assert_eq!(r.classification.intent, Intent::Complaint);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (auth, body) = &seen[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "fake-model");
    let sent = body["messages"][1]["content"].as_str().unwrap();
    for secret in [
        "529",
        "98765",
        "maria.souza",
        "gmail",
        "Maria",
        "Aparecida",
        "Souza",
        "99887766",
    ] {
        assert!(!sent.contains(secret), "{secret} leaked in {sent:?}");
    }
    assert!(
        sent.contains("[CPF]")
            && sent.contains("[TELEFONE]")
            && sent.contains("[EMAIL]")
            && sent.contains("[NOME]"),
        "{sent}"
    );
    assert!(sent.contains("sobre aquilo"));
}

#[tokio::test]
async fn private_data_is_sent_only_when_allowed() {
    let (base, seen) = serve(Behaviour::Answer("provide_document")).await;
    let mut cfg = config(&base);
    cfg.threshold = 1.01;
    cfg.allow_private_data = true;
    let fb = LlmFallback::new(cfg).unwrap();
    let r = fb.classify(nlu(), PRIVATE).await;
    assert_eq!(r.source, Source::Llm);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].1["messages"][1]["content"], PRIVATE);
}

#[tokio::test]
async fn any_failure_keeps_the_builtin_answer() {
    let nlu = nlu(); // train before timing
    for behaviour in [
        Behaviour::Sleep(2_000),
        Behaviour::Status(500),
        Behaviour::Status(302),
        Behaviour::Garbage,
        Behaviour::Answer("acho que é uma reclamação"),
    ] {
        let (base, _) = serve(behaviour).await;
        let mut cfg = config(&base);
        cfg.threshold = 1.01;
        let fb = LlmFallback::new(cfg).unwrap();
        let started = std::time::Instant::now();
        let r = fb.classify(nlu, "quero a segunda via do boleto").await;
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "timeout not enforced"
        );
        assert_eq!(r.source, Source::BuiltinAfterLlmError);
        assert_eq!(r.classification.intent, Intent::InvoiceCopy);
        assert!(r.error.is_some());
    }
    // Nothing listening at all.
    let mut cfg = config("http://127.0.0.1:9");
    cfg.threshold = 1.01;
    let r = LlmFallback::new(cfg).unwrap().classify(nlu, "oi").await;
    assert_eq!(r.source, Source::BuiltinAfterLlmError);
}

#[test]
fn redaction_keeps_the_request_readable() {
    let c = nlu().classify("meu nome é joão pereira, quero cancelar, cpf 52998224725");
    assert_eq!(
        redact(
            "meu nome é joão pereira, quero cancelar, cpf 52998224725",
            &c
        ),
        "meu nome é [NOME], quero cancelar, cpf [CPF]"
    );
    let c = nlu().classify("VOU NA ANATEL");
    assert_eq!(redact("VOU NA ANATEL", &c), "VOU NA ANATEL");
}
