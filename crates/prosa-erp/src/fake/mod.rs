//! Fake MK Solutions and IXC Provedor servers (axum on 127.0.0.1, port 0) answering in the
//! documented shapes, with knobs to inject every error shape. Behind the cargo feature `fake`:
//!
//! ```toml
//! [dev-dependencies]
//! prosa-erp = { workspace = true, features = ["fake"] }
//! ```
//!
//! Both serve the demo seed ([`crate::demo_seed`] for today) translated to the ERP's shapes.

pub mod ixc;
pub mod mk;

pub use ixc::{FakeIxc, IxcFault};
pub use mk::{FakeMk, MkFault};

use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A running fake server; stops when dropped.
pub(crate) struct Server {
    pub addr: SocketAddr,
    handle: JoinHandle<()>,
}

impl Server {
    pub async fn start(router: axum::Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("invariant: loopback bind works in tests");
        let addr = listener
            .local_addr()
            .expect("invariant: bound socket has an address");
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Server { addr, handle }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Text encodings a fake can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyEncoding {
    /// Plain UTF-8.
    #[default]
    Utf8,
    /// Real Latin-1 bytes (invalid UTF-8 for accented letters).
    Latin1,
    /// The MK/Proxer bug: the first UTF-8 byte of each accented letter raw, the second as a
    /// `\u00XX` JSON escape.
    BrokenEscapes,
}

/// Serialises JSON in the chosen encoding.
pub(crate) fn encode(v: &serde_json::Value, enc: BodyEncoding) -> Vec<u8> {
    let s = v.to_string();
    match enc {
        BodyEncoding::Utf8 => s.into_bytes(),
        BodyEncoding::Latin1 => s
            .chars()
            .map(|c| {
                if (c as u32) < 0x100 {
                    c as u32 as u8
                } else {
                    b'?'
                }
            })
            .collect(),
        BodyEncoding::BrokenEscapes => {
            let mut out = Vec::with_capacity(s.len() + 16);
            for c in s.chars() {
                let mut buf = [0u8; 4];
                let bytes = c.encode_utf8(&mut buf).as_bytes();
                if bytes.len() == 1 {
                    out.push(bytes[0]);
                } else {
                    out.push(bytes[0]);
                    for b in &bytes[1..] {
                        out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                    }
                }
            }
            out
        }
    }
}

/// Capitalises every object key (`codconexao` → `Codconexao`), for field-casing drift.
pub(crate) fn capitalise_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            let entries: Vec<(String, serde_json::Value)> = std::mem::take(o).into_iter().collect();
            for (k, mut val) in entries {
                capitalise_keys(&mut val);
                let key = if k == "status" {
                    k
                } else {
                    let mut c = k.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                        None => k,
                    }
                };
                o.insert(key, val);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(capitalise_keys),
        _ => {}
    }
}

/// Turns id-like string values of digits into JSON numbers (ids as numbers or strings).
pub(crate) fn ids_to_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                let lk = k.to_lowercase();
                let id_like = lk.starts_with("cod")
                    || lk.starts_with("cd_")
                    || lk == "id"
                    || lk == "contrato";
                if let serde_json::Value::String(s) = val
                    && id_like
                    && !s.is_empty()
                    && s.len() < 16
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(n) = s.parse::<u64>()
                {
                    *val = serde_json::Value::from(n);
                    continue;
                }
                ids_to_numbers(val);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(ids_to_numbers),
        _ => {}
    }
}
