//! The widget's files, served at `/` so one process runs the whole demo.
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::path::PathBuf;
use tower_http::services::ServeDir;

pub fn service(dir: PathBuf) -> Router {
    Router::new()
        .fallback_service(ServeDir::new(dir).append_index_html_on_directories(true))
        .layer(middleware::from_fn(types_and_caching))
}

/// Browsers refuse `WebAssembly.instantiateStreaming` without `application/wasm` and module
/// scripts without a JavaScript type, so these are set explicitly rather than guessed.
/// `no-cache` makes a rebuilt widget show up on reload (revalidated by Last-Modified).
async fn types_and_caching(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_ascii_lowercase();
    let mut response = next.run(request).await;
    let forced = if path.ends_with(".wasm") {
        Some("application/wasm")
    } else if path.ends_with(".mjs") || path.ends_with(".js") {
        Some("text/javascript; charset=utf-8")
    } else {
        None
    };
    let success = response.status().is_success();
    let headers = response.headers_mut();
    if success {
        if let Some(t) = forced {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(t));
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
