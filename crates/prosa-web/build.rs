//! Rebuilds the crate when any embedded asset is added or changed (rust-embed only tracks the
//! files that existed at the last build).
fn main() {
    println!("cargo:rerun-if-changed=assets");
}
