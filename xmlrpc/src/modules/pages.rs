//! Module pages on the frontend layer: the pages enabled modules declare (listed by
//! `module.pages` for the web page's navigation), and their scripts and assets served at
//! `GET /modules/<module>/<path>`.
//!
//! An asset is the module's to give: the host calls its reserved entry `asset:get` with
//! the path and answers `{content_type, body}` as it says, with `nosniff` and no caching
//! (a module replaced at a restart serves new code). Only enabled modules that declare
//! the frontend layer are asked, only for paths that pass [`is_asset_path`] (relative,
//! no `..`, no hidden files); anything else is 404 without reaching the module.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dxr::Value;
use zentific_module_api::CallerInfo;
use zentific_modules::{Layer, PageDecl, is_asset_path};

use super::ModuleHost;
use crate::App;

/// The reserved entry a module's assets are asked from.
pub const ASSET: &str = "asset:get";

/// A page of an enabled module.
#[derive(Clone, Debug)]
pub struct Page {
    /// The module.
    pub module: String,
    /// What it declares.
    pub page: PageDecl,
}

impl ModuleHost {
    /// The pages of enabled, running modules, in navigation order.
    pub fn pages(&self) -> Vec<Page> {
        self.refresh();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let mut pages: Vec<Page> = state
            .loaded
            .iter()
            .filter(|l| l.instance.is_some() && super::is_enabled(&state.records, &l.module.name))
            .flat_map(|l| {
                l.module.provides.pages.iter().map(|page| Page {
                    module: l.module.name.clone(),
                    page: page.clone(),
                })
            })
            .collect();
        pages.sort_by(|a, b| (a.page.order, &a.page.label).cmp(&(b.page.order, &b.page.label)));
        pages
    }

    /// An asset of an enabled frontend module: (content type, bytes).
    fn asset(&self, module: &str, path: &str) -> Option<(String, Vec<u8>)> {
        if !is_asset_path(path) {
            return None;
        }
        self.refresh();
        let running = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let loaded = state.loaded.iter().find(|l| l.module.name == module)?;
            if !loaded.module.layers.contains(&Layer::Frontend)
                || !super::is_enabled(&state.records, module)
            {
                return None;
            }
            loaded.instance.clone()?
        };
        let nobody = CallerInfo {
            user_id: 0,
            role: 0,
        };
        let answer = running
            .call(
                nobody,
                ASSET,
                &[Value::String(path.to_owned())],
                self.call_limit(),
            )
            .ok()?;
        let Value::Struct(members) = answer else {
            return None;
        };
        match (members.get("content_type"), members.get("body")) {
            (Some(Value::String(kind)), Some(Value::Base64(body))) => {
                Some((kind.clone(), body.clone()))
            }
            _ => None,
        }
    }
}

/// `GET /modules/<module>/<path>`.
pub(crate) async fn serve_asset(
    State(app): State<Arc<App>>,
    Path((module, path)): Path<(String, String)>,
) -> Response {
    let Some(host) = app.registry.modules() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::task::block_in_place(|| host.asset(&module, &path)) {
        Some((kind, body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, kind),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
