//! Inbox administration through the real server against the provider fakes: "Testar
//! credenciais" for every provider kind (valid and wrong credentials), Evolution QR-code
//! pairing followed to "connected", the admin pages (per-kind fields, pt-BR errors next to the
//! field, secrets never shown back, what to paste where), and typing indicators both ways.

mod support;

use futures_util::{SinkExt, StreamExt};
use prosa_channel_botframework::fake::FakeBotFramework;
use prosa_channel_evolution::fake::FakeEvolution;
use prosa_channel_messenger::fake::FakeMeta;
use prosa_channel_telegram::fake::FakeTelegram;
use prosa_channel_whatsapp_cloud::fake::FakeWhatsApp;
use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::Message as Ws;

async fn app() -> App {
    let url = fresh_url(false).await.unwrap();
    let mut config = test_config(&url);
    // The SQLite file's folder also keeps the media.
    config.data_dir = std::path::PathBuf::from(
        url.trim_start_matches("sqlite://")
            .trim_end_matches("/prosa.db"),
    );
    App::start(config).await
}

async fn put(app: &App, path: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn create_inbox(app: &App, name: &str, kind: &str, settings: Value) -> String {
    let mut channel = settings;
    channel["kind"] = json!(kind);
    let r = app
        .post("/api/v1/inboxes", json!({"name": name, "channel": channel}))
        .await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn test_credentials(app: &App, id: &str) -> Value {
    let r = app
        .post(&format!("/api/v1/inboxes/{id}/test"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Replaces one setting (secrets left out keep their value).
async fn change(app: &App, id: &str, kind: &str, name: &str, setting: &str, value: &str) {
    let current = app.get(&format!("/api/v1/inboxes/{id}")).await;
    let mut channel = current["channel"].clone();
    let map = channel.as_object_mut().unwrap();
    map.retain(|k, _| !k.ends_with("_set") && !k.ends_with("_hint"));
    map.insert("kind".into(), json!(kind));
    map.insert(setting.into(), json!(value));
    let r = put(
        app,
        &format!("/api/v1/inboxes/{id}"),
        json!({"name": name, "channel": channel}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn testing_credentials_of_every_provider_kind() {
    let app = app().await;

    let wa = FakeWhatsApp::start().await;
    let id = create_inbox(&app, "WhatsApp", "whatsapp_cloud", wa.settings()).await;
    let ok = test_credentials(&app, &id).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(
        ok["message"]
            .as_str()
            .unwrap()
            .contains("+55 48 99999-0000"),
        "{ok}"
    );
    let asked = wa.requests();
    let last = asked.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        (
            "GET",
            format!(
                "/v23.0/{}",
                prosa_channel_whatsapp_cloud::fake::PHONE_NUMBER_ID
            )
            .as_str()
        )
    );
    change(
        &app,
        &id,
        "whatsapp_cloud",
        "WhatsApp",
        "access_token",
        "expirado",
    )
    .await;
    let bad = test_credentials(&app, &id).await;
    assert_eq!(bad["ok"], false);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("Token de acesso inválido ou expirado"),
        "{bad}"
    );

    let tg = FakeTelegram::start().await;
    let id = create_inbox(&app, "Telegram", "telegram", tg.settings()).await;
    let ok = test_credentials(&app, &id).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(
        ok["message"]
            .as_str()
            .unwrap()
            .contains("@provedor_exemplo_bot")
    );
    change(&app, &id, "telegram", "Telegram", "bot_token", "999:errado").await;
    let bad = test_credentials(&app, &id).await;
    assert_eq!(bad["ok"], false);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("Token do bot recusado"),
        "{bad}"
    );

    let meta = FakeMeta::start().await;
    let id = create_inbox(&app, "Messenger", "messenger", meta.settings()).await;
    let ok = test_credentials(&app, &id).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(ok["message"].as_str().unwrap().contains("Provedor Exemplo"));
    change(
        &app,
        &id,
        "messenger",
        "Messenger",
        "page_access_token",
        "vencido",
    )
    .await;
    let bad = test_credentials(&app, &id).await;
    assert_eq!(bad["ok"], false);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("Token da página inválido"),
        "{bad}"
    );

    let evo = FakeEvolution::start().await;
    let id = create_inbox(&app, "Evolution", "whatsapp_evolution", evo.settings()).await;
    let ok = test_credentials(&app, &id).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(ok["message"].as_str().unwrap().contains("desconectado"));
    change(
        &app,
        &id,
        "whatsapp_evolution",
        "Evolution",
        "api_key",
        "chave-errada",
    )
    .await;
    let bad = test_credentials(&app, &id).await;
    assert_eq!(bad["ok"], false);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("Chave de API recusada"),
        "{bad}"
    );

    let bf = FakeBotFramework::start().await;
    let id = create_inbox(&app, "Teams", "bot_framework", bf.settings()).await;
    let ok = test_credentials(&app, &id).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(bf.token_requests(), 1);
    change(
        &app,
        &id,
        "bot_framework",
        "Teams",
        "app_password",
        "senha-errada",
    )
    .await;
    let bad = test_credentials(&app, &id).await;
    assert_eq!(bad["ok"], false);
    assert!(
        bad["message"].as_str().unwrap().contains("AADSTS7000215"),
        "{bad}"
    );

    // A provider that is not there, and a kind with nothing to test.
    let gone = create_inbox(
        &app,
        "Fora do ar",
        "telegram",
        json!({"bot_token": "1:x", "base_url": "http://127.0.0.1:9"}),
    )
    .await;
    let down = test_credentials(&app, &gone).await;
    assert_eq!(down["ok"], false);
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .contains("Não foi possível falar com 127.0.0.1"),
        "{down}"
    );
    let web = create_inbox(&app, "Site", "web_chat", json!({})).await;
    let r = app
        .post(&format!("/api/v1/inboxes/{web}/test"), json!({}))
        .await;
    assert_eq!(r.status(), 422);

    // Audited.
    let audit = app.get("/api/v1/audit?limit=200").await;
    let tests = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "inbox.test_credentials")
        .count();
    assert_eq!(tests, 11, "{audit}");
    app.stop().await;
}

#[tokio::test]
async fn evolution_pairing_creates_the_instance_and_follows_it_to_connected() {
    let app = app().await;
    let evo = FakeEvolution::start().await;
    let mut settings = evo.settings();
    settings["instance"] = json!("provedor-novo");
    let id = create_inbox(&app, "WhatsApp QR", "whatsapp_evolution", settings).await;

    // Not created yet: "Conectar" creates it, with the webhook pointing at this inbox.
    let p: Value = app
        .post(
            &format!("/api/v1/inboxes/{id}/evolution/connect"),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["state"], "connecting", "{p}");
    assert_eq!(p["qr"], prosa_channel_evolution::fake::QR_DATA_URL);
    let create = evo
        .requests()
        .into_iter()
        .find(|r| r.path == "/instance/create")
        .expect("instance created");
    let body = create.json();
    assert_eq!(body["instanceName"], "provedor-novo");
    assert!(
        body["webhook"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/webhooks/evolution/{id}")),
        "{body}"
    );
    assert_eq!(
        body["webhook"]["headers"]["x-webhook-token"],
        prosa_channel_evolution::fake::WEBHOOK_TOKEN
    );

    // A new QR code arrives by webhook; the page's poll sees it.
    let new_qr = "data:image/png;base64,iVBORw0KGgoNOVO=";
    let hook = app.url(&format!("/webhooks/evolution/{id}"));
    let r = FakeEvolution::deliver(
        &app.client,
        &hook,
        &FakeEvolution::event(
            "qrcode.updated",
            json!({"qrcode": {"instance": "provedor-novo", "pairingCode": null, "code": "2@novo", "base64": new_qr}}),
        ),
        Some(prosa_channel_evolution::fake::WEBHOOK_TOKEN),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let s = app
        .get(&format!("/api/v1/inboxes/{id}/evolution/state"))
        .await;
    assert_eq!(
        (s["state"].as_str(), s["qr"].as_str()),
        (Some("connecting"), Some(new_qr))
    );
    assert_eq!(s["state_label"], "aguardando a leitura do QR code");

    // A forged webhook changes nothing.
    let r = FakeEvolution::deliver(
        &app.client,
        &hook,
        &FakeEvolution::event(
            "qrcode.updated",
            json!({"qrcode": {"base64": "data:image/png;base64,Rk9SSkFETw=="}}),
        ),
        Some("token-errado"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 401);

    // The phone scans it: CONNECTION_UPDATE open, and Evolution says so too.
    evo.set_state("open");
    let r = FakeEvolution::deliver(
        &app.client,
        &hook,
        &FakeEvolution::event(
            "connection.update",
            json!({"instance": "provedor-novo", "state": "open", "statusReason": 200}),
        ),
        Some(prosa_channel_evolution::fake::WEBHOOK_TOKEN),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let s = app
        .get(&format!("/api/v1/inboxes/{id}/evolution/state"))
        .await;
    assert_eq!(s["state"], "open");
    assert_eq!(s["state_label"], "conectado");
    assert!(s["qr"].is_null());

    // Connecting again when already open: no QR code.
    let p: Value = app
        .post(
            &format!("/api/v1/inboxes/{id}/evolution/connect"),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["state"], "open");
    // Only Evolution inboxes pair.
    let web = create_inbox(&app, "Site", "web_chat", json!({})).await;
    let r = app
        .post(
            &format!("/api/v1/inboxes/{web}/evolution/connect"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 422);
    app.stop().await;
}

/// A signed-in administrator's browser: session cookie and CSRF token.
struct Browser {
    http: reqwest::Client,
    csrf: String,
}

async fn sign_in(app: &App) -> Browser {
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "admin@test.local", "password": "admin-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let me: Value = http
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Browser {
        http,
        csrf: me["csrf_token"].as_str().unwrap().to_owned(),
    }
}

impl Browser {
    async fn page(&self, app: &App, path: &str) -> String {
        let r = self.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.unwrap()
    }

    async fn submit(&self, app: &App, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let r = self
            .http
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        if r.status() == 303 {
            // Saved: the browser follows to the inbox page (a reload there posts nothing).
            let to = r.headers()["location"].to_str().unwrap().to_owned();
            let page = self.http.get(app.url(&to)).send().await.unwrap();
            return (page.status().as_u16(), page.text().await.unwrap());
        }
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn admin_pages_create_edit_test_and_never_show_secrets() {
    let app = app().await;
    let browser = sign_in(&app).await;
    let wa = FakeWhatsApp::start().await;

    let list = browser.page(&app, "/admin/inboxes").await;
    assert!(list.contains("Nenhuma caixa de entrada ainda."));
    assert!(list.contains(r#"<option value="whatsapp_cloud">"#));
    let form = browser
        .page(&app, "/admin/inboxes/new?kind=whatsapp_cloud")
        .await;
    assert!(form.contains("ID do número de telefone"));
    assert!(form.contains(r#"name="s.access_token" type="password""#));

    // A missing field: the pt-BR error next to it, what was typed kept (secrets are not).
    let (status, page) = browser
        .submit(
            &app,
            "/admin/inboxes",
            &[
                ("kind", "whatsapp_cloud"),
                ("name", "WhatsApp <Vendas>"),
                ("s.phone_number_id", ""),
                ("s.access_token", "segredo-de-acesso-1"),
                (
                    "s.app_secret",
                    prosa_channel_whatsapp_cloud::fake::APP_SECRET,
                ),
                ("s.base_url", &wa.base_url),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"id="err-s.phone_number_id" role="alert">campo obrigatório"#),
        "{page}"
    );
    assert!(page.contains("WhatsApp &lt;Vendas&gt;"));
    assert!(!page.contains("WhatsApp <Vendas>"));
    assert!(!page.contains("segredo-de-acesso-1"));
    let (_, page) = browser
        .submit(
            &app,
            "/admin/inboxes",
            &[
                ("kind", "whatsapp_cloud"),
                ("name", "WhatsApp Vendas"),
                (
                    "s.phone_number_id",
                    prosa_channel_whatsapp_cloud::fake::PHONE_NUMBER_ID,
                ),
                ("s.access_token", prosa_channel_whatsapp_cloud::fake::TOKEN),
                (
                    "s.app_secret",
                    prosa_channel_whatsapp_cloud::fake::APP_SECRET,
                ),
                ("s.verify_token", ""),
                ("s.base_url", "ftp://graph"),
            ],
        )
        .await;
    assert!(
        page.contains("informe um endereço começando com http:// ou https://"),
        "{page}"
    );
    let (status, page) = browser
        .submit(
            &app,
            "/admin/inboxes",
            &[
                ("kind", "whatsapp_cloud"),
                ("name", "WhatsApp Vendas"),
                (
                    "s.phone_number_id",
                    prosa_channel_whatsapp_cloud::fake::PHONE_NUMBER_ID,
                ),
                ("s.access_token", prosa_channel_whatsapp_cloud::fake::TOKEN),
                (
                    "s.app_secret",
                    prosa_channel_whatsapp_cloud::fake::APP_SECRET,
                ),
                ("s.verify_token", ""),
                ("s.base_url", &wa.base_url),
                ("bot_enabled", "on"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Caixa de entrada salva."));
    let inboxes = app.get("/api/v1/inboxes").await;
    let inbox = &inboxes.as_array().unwrap()[0];
    let id = inbox["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox["bot_enabled"], true);
    // What to paste where: the callback URL and the generated verify token, shown once.
    let stored = app
        .store()
        .inbox_by_id(prosa_domain::InboxId(id.parse().unwrap()))
        .await
        .unwrap();
    let verify = stored.settings["verify_token"].as_str().unwrap().to_owned();
    assert!(verify.len() >= 20);
    assert!(page.contains(&format!("/webhooks/whatsapp/{id}")));
    assert!(page.contains(&verify), "the new verify token is shown once");
    assert!(page.contains("Campos do webhook"));
    assert!(!page.contains(prosa_channel_whatsapp_cloud::fake::TOKEN));

    // The flash is shown once: the same address again shows nothing secret.
    let inboxes = app.get("/api/v1/inboxes").await;
    assert_eq!(
        inboxes.as_array().unwrap().len(),
        1,
        "errors created nothing"
    );
    // Later: secrets are "definido", never their value.
    let detail = browser.page(&app, &format!("/admin/inboxes/{id}")).await;
    assert!(detail.contains("definido"));
    for secret in [
        verify.as_str(),
        prosa_channel_whatsapp_cloud::fake::TOKEN,
        prosa_channel_whatsapp_cloud::fake::APP_SECRET,
    ] {
        assert!(!detail.contains(secret), "{secret} shown back");
    }
    assert!(detail.contains("Testar credenciais"));

    // Test credentials from the page.
    let (_, tested) = browser
        .submit(&app, &format!("/admin/inboxes/{id}/test"), &[])
        .await;
    assert!(
        tested.contains("Credenciais válidas: número +55 48 99999-0000"),
        "{tested}"
    );

    // Edit with blank secrets: they are kept; the name changes.
    let (_, saved) = browser
        .submit(
            &app,
            &format!("/admin/inboxes/{id}"),
            &[
                ("kind", "whatsapp_cloud"),
                ("name", "WhatsApp Suporte"),
                (
                    "s.phone_number_id",
                    prosa_channel_whatsapp_cloud::fake::PHONE_NUMBER_ID,
                ),
                ("s.access_token", ""),
                ("s.app_secret", ""),
                ("s.verify_token", ""),
                ("s.base_url", &wa.base_url),
            ],
        )
        .await;
    assert!(saved.contains("Caixa de entrada salva."));
    assert!(!saved.contains(&verify));
    let after = app
        .store()
        .inbox_by_id(prosa_domain::InboxId(id.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(after.name, "WhatsApp Suporte");
    assert_eq!(after.settings["verify_token"], verify.as_str());
    assert_eq!(
        after.settings["access_token"],
        prosa_channel_whatsapp_cloud::fake::TOKEN
    );
    assert!(!after.bot_enabled, "unchecked box turns the bot off");

    // Health in the list: a dead letter and the last error show.
    app.store()
        .record_inbox_error(after.id, "whatsapp: 401 token expirado")
        .await
        .unwrap();
    let list = browser.page(&app, "/admin/inboxes").await;
    assert!(list.contains("WhatsApp Suporte"));
    assert!(list.contains("whatsapp: 401 token expirado"));

    // The website chat page gives the one <script> tag.
    let (_, web) = browser
        .submit(
            &app,
            "/admin/inboxes",
            &[
                ("kind", "web_chat"),
                ("name", "Site"),
                ("s.title", "Fale com a gente"),
            ],
        )
        .await;
    assert!(web.contains("/widget.js&quot; data-inbox=&quot;"), "{web}");

    // An operator is refused; a form without the CSRF token is refused.
    let r = browser
        .http
        .post(app.url("/admin/inboxes"))
        .form(&[("kind", "api"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let audit = app.get("/api/v1/audit?limit=100").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"inbox.create"));
    assert!(actions.contains(&"inbox.update"));
    assert!(actions.contains(&"inbox.test_credentials"));
    app.stop().await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Socket, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Ws::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if pred(&v) {
                    return v;
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => panic!("no frame: {what}"),
        }
    }
}

#[tokio::test]
async fn typing_shows_on_the_other_side_and_is_never_a_message() {
    let app = app().await;
    let inbox = create_inbox(&app, "Site", "web_chat", json!({})).await;
    let session: Value = app
        .client
        .post(app.url(&format!("/webchat/{inbox}/session")))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let visitor_url = format!(
        "ws://{}/webchat/{inbox}/ws?token={}",
        app.running.addr,
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let (mut visitor, _) = tokio_tungstenite::connect_async(visitor_url).await.unwrap();
    next_json(&mut visitor, "ready", |f| f["type"] == "ready").await;
    visitor
        .send(Ws::Text(
            json!({"type": "message", "client_id": "c1", "text": "Oi, sem internet"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let m = next_json(&mut visitor, "own message", |f| f["type"] == "message").await;
    assert_eq!(m["text"], "Oi, sem internet");
    let convs = eventually(10, "conversation", || async {
        let v = app.get("/api/v1/conversations").await;
        (!v.as_array().unwrap().is_empty()).then_some(v)
    })
    .await;
    let conv = convs[0]["id"].as_str().unwrap().to_owned();

    // The panel's socket (the admin's, who sees everything).
    let browser = sign_in(&app).await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}/api/v1/ws", app.running.addr)
        .into_client_request()
        .unwrap();
    let cookie = browser_cookie(&app).await;
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (mut panel, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    next_json(&mut panel, "hello", |f| f["type"] == "hello").await;

    // Visitor typing → the panel sees "typing" from the contact for that conversation.
    visitor
        .send(Ws::Text(json!({"type": "typing"}).to_string().into()))
        .await
        .unwrap();
    let t = next_json(&mut panel, "visitor typing", |f| f["type"] == "typing").await;
    assert_eq!(t["author"], "contact");
    assert_eq!(t["conversation_id"], conv.as_str());

    // Operator typing → the widget shows it; a burst is throttled (204), never stored.
    let typing = |who: &Browser| {
        who.http
            .post(app.url(&format!("/api/v1/conversations/{conv}/typing")))
            .header("x-csrf-token", who.csrf.clone())
            .send()
    };
    let first = typing(&browser).await.unwrap();
    assert_eq!(first.status(), 202);
    let second = typing(&browser).await.unwrap();
    assert_eq!(second.status(), 204);
    next_json(&mut visitor, "operator typing", |f| f["type"] == "typing").await;
    let messages = app
        .get(&format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
    // Without the CSRF header a browser session cannot post it.
    let r = browser
        .http
        .post(app.url(&format!("/api/v1/conversations/{conv}/typing")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

async fn browser_cookie(app: &App) -> String {
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "admin@test.local", "password": "admin-password"}))
        .send()
        .await
        .unwrap();
    r.headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn visitor(app: &App, inbox: &str) -> (String, Socket) {
    let session: Value = app
        .client
        .post(app.url(&format!("/webchat/{inbox}/session")))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let url = format!(
        "ws://{}/webchat/{inbox}/ws?token={}",
        app.running.addr,
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_json(&mut ws, "ready", |f| f["type"] == "ready").await;
    (token, ws)
}

async fn upload(app: &App, inbox: &str, token: &str, cid: &str, name: &str, body: Vec<u8>) -> u16 {
    app.client
        .post(app.url(&format!("/webchat/{inbox}/upload")))
        .query(&[("token", token), ("client_id", cid), ("name", name)])
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn website_chat_files_go_both_ways_and_only_to_their_visitor() {
    let app = app().await;
    let inbox = create_inbox(&app, "Site", "web_chat", json!({})).await;
    let (token, mut ws) = visitor(&app, &inbox).await;
    let png = b"\x89PNG\r\n\x1a\n-a-tiny-picture".to_vec();
    assert_eq!(
        upload(
            &app,
            &inbox,
            &token,
            "f1",
            "../foto do modem.png",
            png.clone()
        )
        .await,
        202
    );
    let m = next_json(&mut ws, "the visitor's file", |f| f["type"] == "message").await;
    assert_eq!(m["client_id"], "f1");
    let a = &m["attachments"][0];
    assert_eq!(
        (a["kind"].as_str(), a["file_name"].as_str()),
        (Some("image"), Some("foto do modem.png"))
    );
    let url = a["url"].as_str().unwrap().to_owned();
    let r = app
        .client
        .get(app.url(&url))
        .query(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    // Another visitor cannot fetch it; bad files are refused with the reason.
    let (other, _other_ws) = visitor(&app, &inbox).await;
    let r = app
        .client
        .get(app.url(&url))
        .query(&[("token", other.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        upload(
            &app,
            &inbox,
            &token,
            "f2",
            "x.svg",
            b"<svg onload=alert(1)>".to_vec()
        )
        .await,
        422
    );
    assert_eq!(
        upload(
            &app,
            &inbox,
            &token,
            "f3",
            "big.pdf",
            vec![b'%'; 6 * 1024 * 1024]
        )
        .await,
        413
    );
    assert_eq!(
        upload(&app, &inbox, "forjado", "f4", "a.png", png.clone()).await,
        401
    );

    // The panel gets the file through the operators' attachment route.
    let mid = m["id"].as_str().unwrap();
    let r = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{mid}/0")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    // An operator sends the invoice PDF; the visitor sees it arrive and downloads it.
    let conv = app.get("/api/v1/conversations").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = b"%PDF-1.4\n% fatura de teste\n".to_vec();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{conv}/attachments")))
        .query(&[
            ("name", "fatura-novembro.pdf"),
            ("caption", "Segue a fatura"),
        ])
        .bearer_auth(&app.token)
        .header("content-type", "application/octet-stream")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sent = next_json(&mut ws, "the operator's file", |f| {
        f["type"] == "message" && f["direction"] == "outgoing"
    })
    .await;
    assert_eq!(sent["text"], "Segue a fatura");
    let a = &sent["attachments"][0];
    assert_eq!(a["kind"], "document");
    let r = app
        .client
        .get(app.url(a["url"].as_str().unwrap()))
        .query(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"fatura-novembro.pdf\"")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    app.stop().await;
}

#[tokio::test]
async fn website_chat_allowed_origins_keep_other_sites_out() {
    let app = app().await;
    let inbox = create_inbox(
        &app,
        "Site",
        "web_chat",
        json!({"allowed_origins": ["https://www.provedor.com.br"]}),
    )
    .await;
    let session = |origin: &'static str| {
        app.client
            .post(app.url(&format!("/webchat/{inbox}/session")))
            .header("origin", origin)
            .json(&json!({}))
            .send()
    };
    assert_eq!(
        session("https://www.provedor.com.br")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        session("https://golpe.example").await.unwrap().status(),
        403
    );
    let token: Value = session("https://www.provedor.com.br/")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap();
    let r = app
        .client
        .post(app.url(&format!("/webchat/{inbox}/upload")))
        .query(&[("token", token), ("client_id", "x")])
        .header("origin", "https://golpe.example")
        .body(b"%PDF-1.4".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

/// Log lines of this test binary, for checking that a secret never reaches them.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The secrets of a save wait (in the settings) for the inbox page that shows them once. When
/// that page is never opened they are removed after ten minutes by the maintenance job; and
/// they never appear in an API answer, the audit trail or the logs.
#[tokio::test]
async fn one_time_secrets_of_a_never_opened_page_expire() {
    let logs = Logs::default();
    let writer = logs.clone();
    let captured = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .try_init()
        .is_ok();
    let app = app().await;
    let browser = sign_in(&app).await;
    let wa = FakeWhatsApp::start().await;
    let typed = "token-de-acesso-digitado-0123456789";
    let form: Vec<(&str, &str)> = vec![
        ("csrf_token", browser.csrf.as_str()),
        ("kind", "whatsapp_cloud"),
        ("name", "WhatsApp Suporte"),
        (
            "s.phone_number_id",
            prosa_channel_whatsapp_cloud::fake::PHONE_NUMBER_ID,
        ),
        ("s.access_token", typed),
        (
            "s.app_secret",
            prosa_channel_whatsapp_cloud::fake::APP_SECRET,
        ),
        ("s.verify_token", ""),
        ("s.base_url", &wa.base_url),
    ];
    let r = browser
        .http
        .post(app.url("/admin/inboxes"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let key = location.split("saved=").nth(1).expect("a one-time key");
    let id = location
        .trim_start_matches("/admin/inboxes/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let stored = app
        .store()
        .inbox_by_id(prosa_domain::InboxId(id.parse().unwrap()))
        .await
        .unwrap();
    let generated = stored.settings["verify_token"].as_str().unwrap().to_owned();
    let flash = format!("flash.inbox.{key}");
    // The page is never opened: the secrets wait...
    let waiting = app.store().setting(&flash).await.unwrap().expect("waiting");
    assert_eq!(waiting["reveal"]["verify_token"], generated.as_str());
    let state = &app.running.state;
    let now = jiff::Timestamp::now();
    let minutes = |m: i64| now + jiff::SignedDuration::from_mins(m);
    assert_eq!(
        prosa_server::maintenance::expire_secrets(state, minutes(5))
            .await
            .unwrap(),
        0
    );
    assert!(app.store().setting(&flash).await.unwrap().is_some());
    // ...and are gone after ten minutes, by the periodic clean-up.
    prosa_server::maintenance::prune_once(state, minutes(11))
        .await
        .unwrap();
    assert!(app.store().setting(&flash).await.unwrap().is_none());
    let late = browser.page(&app, &location).await;
    assert!(!late.contains(&generated), "shown after it expired");
    assert!(!late.contains(typed));
    assert!(late.contains("definido"));

    // Never in an API answer or the audit trail (the page's session and the token alike).
    for path in [
        "/api/v1/inboxes".to_owned(),
        format!("/api/v1/inboxes/{id}"),
        "/api/v1/audit".to_owned(),
    ] {
        let r = app
            .client
            .get(app.url(&path))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        let body = r.text().await.unwrap();
        for secret in [typed, generated.as_str()] {
            assert!(!body.contains(secret), "{path} shows a secret: {body}");
        }
    }
    let audit = app.get("/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "inbox.create"),
        "{audit}"
    );
    if captured {
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        assert!(!text.is_empty(), "nothing was logged");
        for secret in [typed, generated.as_str()] {
            assert!(!text.contains(secret), "a secret was logged");
        }
    }
    app.stop().await;
}
