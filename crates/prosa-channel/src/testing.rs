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

/// One part of a `multipart/form-data` body, as the fake providers record it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl FormPart {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Reads a `multipart/form-data` body (RFC 7578) given its `Content-Type` header. `None` when
/// the header has no boundary or the body is not framed by it. For the fake providers.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<FormPart>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        || boundary.is_empty()
    {
        return None;
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let mut pos = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        if body.get(pos..pos + 2) != Some(b"\r\n") {
            return None;
        }
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = std::str::from_utf8(&body[pos..head_end]).ok()?;
        let mut next = delimiter.clone();
        next.splice(0..0, *b"\r\n");
        let data_end = find(body, &next, head_end + 4)?;
        let mut part = FormPart {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: body[head_end + 4..data_end].to_vec(),
        };
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            match k.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for p in v.split(';').map(str::trim) {
                        if let Some(n) = p.strip_prefix("name=") {
                            part.name = n.trim_matches('"').to_owned();
                        } else if let Some(f) = p.strip_prefix("filename=") {
                            part.file_name = Some(f.trim_matches('"').to_owned());
                        }
                    }
                }
                "content-type" => part.content_type = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        parts.push(part);
        pos = data_end + next.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].text().as_str()),
            ("chat_id", "42")
        );
        assert_eq!(parts[1].file_name.as_deref(), Some("a.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].data, b"\x89PNG\r\n\x1a\n");
        assert_eq!(parse_multipart("application/json", body), None);
        assert_eq!(
            parse_multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken"),
            None
        );
    }
}
