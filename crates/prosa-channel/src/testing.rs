//! Helpers for the adapter crates' tests: mangled variants of recorded provider payloads, so
//! every parser is shown to refuse bad input without panicking. Pure; no IO but reading fixtures.

use serde_json::Value;
use std::path::Path;

/// Every node of `body` replaced by null, a number, a string, an array and an object, and every
/// fifth prefix of the raw bytes.
pub fn mangled_variants(body: &[u8]) -> Vec<Vec<u8>> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        match v {
            Value::Object(o) => {
                for (k, c) in o {
                    path.push(k.clone());
                    walk(c, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    path.push(i.to_string());
                    walk(c, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<Vec<u8>> = (0..body.len())
        .step_by(5)
        .map(|n| body[..n].to_vec())
        .collect();
    let Ok(root) = serde_json::from_slice::<Value>(body) else {
        return out;
    };
    let mut paths = Vec::new();
    walk(&root, &mut Vec::new(), &mut paths);
    for p in paths {
        let pointer: String = p
            .iter()
            .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
            .collect();
        for replacement in [
            Value::Null,
            Value::from(-1),
            Value::from("x"),
            Value::Array(Vec::new()),
            Value::Object(Default::default()),
        ] {
            let mut v = root.clone();
            if let Some(slot) = v.pointer_mut(&pointer) {
                *slot = replacement;
            }
            out.push(serde_json::to_vec(&v).expect("a JSON value serializes"));
        }
    }
    out
}

/// The raw bytes of every `*.json` file in `dir` (an adapter crate's `test_data`).
pub fn fixture_bodies(dir: &Path) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).expect("fixture folder readable") {
        let p = e.expect("fixture entry").path();
        if p.extension().and_then(|x| x.to_str()) == Some("json") {
            v.push(std::fs::read(p).expect("fixture readable"));
        }
    }
    v
}

/// Every mangled variant of every fixture in `dir`, fed to `parse`; returns how many were tried.
pub fn feed_mangled_fixtures(dir: &Path, mut parse: impl FnMut(&[u8])) -> usize {
    let mut n = 0;
    for body in fixture_bodies(dir) {
        for b in mangled_variants(&body) {
            parse(&b);
            n += 1;
        }
    }
    n
}
