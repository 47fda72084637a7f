//! Signed-in people for the app tests: an agent of a team created through the API and signed
//! in with a session cookie, and one call helper that acts as them or with the API token.

use super::App;
use reqwest::Method;
use serde_json::{Value, json};

pub const PASSWORD: &str = "senha-forte-123";

pub struct Person {
    pub id: String,
    pub cookie: String,
    pub csrf: String,
}

pub async fn call(
    app: &App,
    who: Option<&Person>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = app.client.request(method, app.url(path));
    r = match who {
        Some(p) => r
            .header("cookie", &p.cookie)
            .header("x-csrf-token", &p.csrf),
        None => r.bearer_auth(&app.token),
    };
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// An agent of `team`, created and signed in.
pub async fn person(app: &App, email: &str, team: &str) -> Person {
    let (s, v) = call(
        app,
        None,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": email, "name": email.split('@').next().unwrap(), "role": "agent", "password": PASSWORD, "team_ids": [team]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let resp = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: Value = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Person {
        id: me["id"].as_str().unwrap().to_owned(),
        cookie,
        csrf: me["csrf_token"].as_str().unwrap().to_owned(),
    }
}
