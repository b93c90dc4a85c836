//! `docs/api.md` is generated from the registry; this fails when it is stale.

#[test]
fn api_reference_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
    let expected = zentific_xmlrpc::registry().markdown();
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == expected,
        "docs/api.md is stale; regenerate it with: cargo run -- api-doc > docs/api.md"
    );
}
