//! The bot through the real server: a subscriber on the API channel gets the second copy of
//! the bill from the demo ERP, and the conversation closes with the rating request.

mod support;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_gets_second_copy_from_the_bot() {
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;
    let (cb, cb_url) = Callback::start().await;
    let r = app
        .post("/api/v1/inboxes", json!({"name": "Portal", "bot_enabled": true, "channel": {"kind": "api", "secret": "k", "callback_url": cb_url}}))
        .await;
    assert_eq!(r.status(), 201);
    let inbox = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = json!({"id": "maria", "name": "Maria", "phone": "5511987654321"});
    let say = |id: &str, text: &str| json!({"message_id": id, "from": from, "text": text});
    let texts = |cb: &Callback| {
        cb.bodies()
            .iter()
            .map(|b| b["text"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };

    app.deliver(&inbox, "k", &say("1", "quero a segunda via do boleto"))
        .await;
    eventually(20, "confirmation question", || async {
        texts(&cb).contains("número do endereço").then_some(())
    })
    .await;
    assert!(
        !texts(&cb).contains("Flores"),
        "the expected answer is never shown"
    );

    app.deliver(&inbox, "k", &say("2", "é 123")).await;
    eventually(20, "the bill", || async {
        texts(&cb).contains("Linha digitável").then_some(())
    })
    .await;
    let all = texts(&cb);
    assert!(all.contains("34191"), "{all}");

    app.deliver(&inbox, "k", &say("3", "não, obrigado")).await;
    let rating = eventually(20, "rating request", || async {
        cb.bodies()
            .into_iter()
            .find(|b| b["text"].as_str().unwrap_or("").contains("De 0 a 10"))
    })
    .await;
    assert_eq!(rating["options"].as_array().unwrap().len(), 11);
    let convs = app.get("/api/v1/conversations?status=resolved").await;
    assert_eq!(convs.as_array().unwrap().len(), 1);
    // The contact is linked to the subscriber it proved to be.
    let contact = app
        .get(&format!(
            "/api/v1/contacts/{}",
            convs[0]["contact_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(contact["document"], "***.982.247-**");
    app.stop().await;
}
