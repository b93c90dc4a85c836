//! The web page: the files of `frontend/web/`, embedded in the binary at build time and
//! served at `/` by `zentific serve` beside `/RPC2`.
//!
//! The page is plain ES modules (no bundler; each minified on its own at build time):
//! `index.html` holds the import map and loads `app.js`, which talks to the server only through XML-RPC calls to `/RPC2` (`rpc.js`).
//! Third-party modules (Preact, htm, uPlot, noVNC, xterm.js) come from npm (`frontend/package-lock.json`,
//! installed by `scripts/deps.sh`) and are embedded from `node_modules/` at build time and
//! served under `/ui/vendor/`; `build.rs` stops the build when they are missing.
//!
//! Every answer carries the same safety headers: a strict Content-Security-Policy
//! (scripts, styles and connections to this origin only; the one inline element, the
//! import map, allowed by its hash; no framing), `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: no-referrer`. The console page (`console.html`, see [`console`] for
//! its websocket) has a policy of its own: inline styles for xterm.js, framing by the
//! page only.

pub mod console;

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rust_embed::Embed;
use sha2::{Digest, Sha256};

/// The page's files, its modules as written among them.
#[derive(Embed)]
#[folder = "web/"]
struct Web;

/// The page's modules minified by esbuild (`build.rs`): what browsers are sent, unless
/// [`SOURCES_VARIABLE`] asks for the modules as written.
#[derive(Embed)]
#[folder = "$OUT_DIR/web/"]
struct Minified;

/// Set (to anything) in the server's environment, the page's modules are sent as written
/// in `frontend/web/` instead of minified: for reading them in the browser's debugger, and
/// for `scripts/web-dev.sh`, where a debug build reads them from disk as they are edited.
pub const SOURCES_VARIABLE: &str = "ZENTIFIC_WEB_SOURCES";

fn sends_sources() -> bool {
    static SOURCES: OnceLock<bool> = OnceLock::new();
    *SOURCES.get_or_init(|| std::env::var_os(SOURCES_VARIABLE).is_some())
}

/// The files of npm packages the page loads (the list `build.rs` checks).
#[derive(Embed)]
#[folder = "node_modules/"]
#[include = "preact/dist/preact.mjs"]
#[include = "preact/hooks/dist/hooks.mjs"]
#[include = "htm/dist/htm.module.js"]
#[include = "uplot/dist/uPlot.esm.js"]
#[include = "uplot/dist/uPlot.min.css"]
#[include = "@novnc/novnc/core/*.js"]
#[include = "@novnc/novnc/core/**/*.js"]
#[include = "@novnc/novnc/vendor/pako/lib/**/*.js"]
#[include = "@xterm/xterm/lib/xterm.mjs"]
#[include = "@xterm/xterm/css/xterm.css"]
struct Vendor;

/// The Content-Security-Policy of every answer: this origin only, and the page's import
/// map by its SHA-256.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let index = Web::get("index.html")
            .map(|f| f.data.into_owned())
            .unwrap_or_default();
        let index = String::from_utf8_lossy(&index);
        let map = inline_import_map(&index).unwrap_or_default();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(map.as_bytes()));
        format!(
            "default-src 'none'; script-src 'self' 'sha256-{hash}'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-src 'self'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    })
}

/// The Content-Security-Policy of the console page (`console.html`): no inline script
/// at all, but inline styles, which xterm.js writes as `<style>` elements; it may be
/// framed by the page itself (the VM's Console tab) and by nothing else.
pub const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// The text of the `<script type="importmap">` element of a page.
fn inline_import_map(page: &str) -> Option<&str> {
    let open = "<script type=\"importmap\">";
    let start = page.find(open)? + open.len();
    let end = start + page[start..].find("</script>")?;
    Some(&page[start..end])
}

/// The routes of the page: `/`, `/ui/<file>` and `/ui/vendor/<package>/<file>`, sent
/// gzip-compressed to browsers that accept it.
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
        .route("/", axum::routing::get(|| async { file("index.html") }))
        .route(
            "/ui/{*path}",
            axum::routing::get(|Path(path): Path<String>| async move { file(&path) }),
        )
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The content type of a file of the page, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn file(path: &str) -> Response {
    let found = match path.strip_prefix("vendor/") {
        Some(vendored) => Vendor::get(vendored),
        None if path.ends_with(".js") && !sends_sources() => Minified::get(path),
        None => Web::get(path),
    };
    let mut response = match found {
        Some(found) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type(path))],
            found.data.into_owned(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let headers = response.headers_mut();
    let policy = if path == "console.html" {
        CONSOLE_POLICY
    } else {
        content_security_policy()
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The page is small and changes with the binary: always revalidated.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = router::<()>()
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn serves_the_page_with_its_safety_headers() {
        let (status, headers, body) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<script type=\"module\" src=\"/ui/app.js\"></script>"));
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(policy, content_security_policy());
        assert!(policy.contains("frame-ancestors 'none'"));
        // The import map's hash, as a browser computes it over the element's text.
        let map = inline_import_map(&body).expect("index.html has an import map");
        assert!(map.contains("\"preact\""));
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(map));
        assert!(policy.contains(&format!("script-src 'self' 'sha256-{hash}';")));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        let (status, headers, body) = get("/ui/rpc.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        // Minified: the readable source's words are gone, its exports are not.
        assert!(body.contains("export"));
        assert!(body.contains("session.login"));
        assert!(
            !body.contains("/** Call `method`"),
            "rpc.js is sent minified"
        );
        let (status, _, body) = get("/ui/vendor/preact/dist/preact.mjs").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("export"));
        // noVNC's modules import pako beside them; both are served.
        let (status, _, body) = get("/ui/vendor/@novnc/novnc/core/inflator.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("../vendor/pako/lib/zlib/inflate.js"));
        let (status, _, _) = get("/ui/vendor/@novnc/novnc/vendor/pako/lib/zlib/inflate.js").await;
        assert_eq!(status, StatusCode::OK);
        // The console page may be framed by the page only, and allows inline styles.
        let (status, headers, body) = get("/ui/console.html").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("/ui/console.js"));
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONSOLE_POLICY);
        assert!(CONSOLE_POLICY.contains("frame-ancestors 'self'"));
        assert!(!CONSOLE_POLICY.contains("script-src 'self' 'unsafe"));
        for missing in [
            "/ui/nope.js",
            "/ui/../Cargo.toml",
            "/ui/%2e%2e/Cargo.toml",
            "/ui/vendor/playwright-core/package.json",
            "/ui/vendor/preact/package.json",
            "/ui/vendor/../package.json",
        ] {
            let (status, headers, _) = get(missing).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }
}
