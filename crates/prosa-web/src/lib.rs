//! Web assets embedded in the binary and served under content-hash URLs, and the HTML layout
//! every page shares. Pages are rendered with `maud`, which escapes every interpolated value:
//! names, messages and ERP fields are data, never markup.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

pub use maud;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// An embedded file ready to serve.
pub struct Asset {
    pub bytes: std::borrow::Cow<'static, [u8]>,
    pub mime: String,
    pub hash: String,
}

fn hashes() -> &'static HashMap<String, String> {
    static H: OnceLock<HashMap<String, String>> = OnceLock::new();
    H.get_or_init(|| {
        Assets::iter()
            .filter_map(|name| {
                let file = Assets::get(&name)?;
                let h = hex::encode(Sha256::digest(&file.data));
                Some((name.to_string(), h[..12].to_owned()))
            })
            .collect()
    })
}

/// The URL of an asset with its content hash, so browsers cache it forever and a new build
/// busts the cache.
pub fn asset_url(name: &str) -> String {
    match hashes().get(name) {
        Some(h) => format!("/assets/{h}/{name}"),
        None => format!("/assets/0/{name}"),
    }
}

/// Looks up `/{hash}/{name}`; any hash serves the current file (old pages keep working).
pub fn asset(name: &str) -> Option<Asset> {
    let file = Assets::get(name)?;
    let mime = mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_owned();
    let mime = if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    };
    Some(Asset {
        bytes: file.data,
        mime,
        hash: hashes().get(name).cloned().unwrap_or_default(),
    })
}

/// A link in the top navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// Who is signed in, as the layout shows it.
pub struct LayoutUser<'a> {
    pub name: &'a str,
    pub role_label: &'a str,
    pub csrf_token: &'a str,
}

/// The page frame: header with navigation, main content, scripts.
pub fn layout(
    title: &str,
    user: Option<&LayoutUser<'_>>,
    nav: &[NavLink],
    body: Markup,
    scripts: &[&str],
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="pt-BR" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(u) = user { meta name="csrf-token" content=(u.csrf_token); }
                title { (title) " · Prosa" }
                link rel="stylesheet" href=(asset_url("app.css"));
                link rel="icon" href=(asset_url("favicon.svg")) type="image/svg+xml";
            }
            body {
                a class="skip" href="#main" { "Pular para o conteúdo" }
                header class="topbar" {
                    a class="brand" href="/" { "Prosa" }
                    @if !nav.is_empty() {
                        nav aria-label="Principal" {
                            ul {
                                @for link in nav {
                                    li { a href=(link.href) aria-current=[link.active.then_some("page")] { (link.label) } }
                                }
                            }
                        }
                    }
                    @if let Some(u) = user {
                        div class="who" {
                            span { (u.name) " · " (u.role_label) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf_token" value=(u.csrf_token);
                                button type="submit" class="link" { "Sair" }
                            }
                        }
                    }
                }
                main id="main" { (body) }
                @for s in scripts { script src=(asset_url(s)) defer {} }
            }
        }
    }
}

/// Raw, trusted markup (only for constant strings written in this code base).
pub fn trusted(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_escapes_data() {
        let user = LayoutUser {
            name: "<script>alert(1)</script>",
            role_label: "Atendente",
            csrf_token: "t\"x",
        };
        let page = layout("<b>t</b>", Some(&user), &[], html! { p { "ok" } }, &[]).into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("&lt;b&gt;t&lt;/b&gt;"));
        assert!(page.contains("t&quot;x"));
    }

    #[test]
    fn assets_have_hashed_urls() {
        let url = asset_url("app.css");
        assert!(
            url.starts_with("/assets/") && url.ends_with("/app.css") && !url.contains("/0/"),
            "{url}"
        );
        let a = asset("app.css").unwrap();
        assert!(a.mime.starts_with("text/css"));
        assert!(asset("nope.css").is_none());
    }
}
