//! The website chat as a visitor's browser uses it: a session (token) over HTTP and the
//! visitor's WebSocket, with frame helpers.

use futures_util::StreamExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `POST /webchat/{inbox}/session` on the server at `addr`: the status and the body.
pub async fn visitor_session(addr: SocketAddr, inbox: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/webchat/{inbox}/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A new visitor's token.
pub async fn visitor_token(addr: SocketAddr, inbox: &str) -> String {
    let (s, v) = visitor_session(addr, inbox, serde_json::json!({})).await;
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// The visitor's WebSocket, resuming after message `since` when given.
pub async fn visitor_ws(addr: SocketAddr, inbox: &str, token: &str, since: Option<&str>) -> Socket {
    let mut url = format!("ws://{addr}/webchat/{inbox}/ws?token={}", urlencode(token));
    if let Some(s) = since {
        url.push_str(&format!("&since={s}"));
    }
    tokio_tungstenite::connect_async(url).await.expect("ws").0
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The next JSON frame within `wait`; `None` on timeout.
pub async fn next_frame(ws: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Ws::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Frames until one matches (10 s per frame, then a panic naming `what`).
pub async fn frame_where(ws: &mut Socket, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let f = next_frame(ws, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no frame: {what}"));
        if pred(&f) {
            return f;
        }
    }
}

/// The visitor writes `text` (as the widget does, with its own client id).
pub async fn visitor_says(ws: &mut Socket, client_id: &str, text: &str) {
    use futures_util::SinkExt;
    let frame = serde_json::json!({"type": "message", "client_id": client_id, "text": text});
    ws.send(Ws::Text(frame.to_string().into())).await.unwrap();
}
