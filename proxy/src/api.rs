//! `/api/...`: health, provider profiles, and the edit.
use crate::error::{Error, Result};
use crate::payload::{answer_body, read_edit, Answer, Edit};
use crate::security::{check_rate, Caller};
use crate::{gemini, local, openai, AppState};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pixelkeep::wire::{ErrorCode, ProviderProfile};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"status": "ok", "providers": state.provider_ids()}))
}

pub async fn providers(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Json<Vec<ProviderProfile>> {
    let mut profiles = vec![local::profile(&state.config.limits)];
    profiles.extend(state.gemini.as_ref().map(|g| g.profile.clone()));
    profiles.extend(state.openai.as_ref().map(|o| o.profile.clone()));
    profiles.retain(|p| caller.may_use(&p.id));
    Json(profiles)
}

pub async fn not_found() -> Error {
    Error::invalid("There is no such API route; see /api/health, /api/providers and /api/edit.")
}

/// A body refused by the size limit is `payload_too_large`, in JSON like every other error.
pub fn read_body(body: std::result::Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(ErrorCode::PayloadTooLarge, format!("The request is larger than {} MB.", limit >> 20))
        } else {
            Error::invalid(format!("The request body could not be read: {rejection}"))
        }
    })
}

pub async fn edit(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let started = Instant::now();
    let body = read_body(body, state.config.limits.body_bytes)?;
    let req = read_edit(&body).map_err(|e| Error::invalid(format!("The edit request is not valid: {e}.")))?;
    let provider = resolve_provider(&state, &req.provider)?;
    if !caller.may_use(provider) {
        return Err(Error::new(
            ErrorCode::Unauthorized,
            format!("Your access token does not allow the {provider} provider."),
        ));
    }
    check_rate(&state, &caller, provider)?;
    let request_id = req.client_request_id.clone();
    let work = run(state.clone(), provider, req);
    let mut response = match &request_id {
        Some(id) if !id.trim().is_empty() => {
            // Scoped to the caller so ids from different sites or people never collide.
            let who =
                caller.claims.as_ref().map(|c| format!("site:{}", c.site)).or(caller.ip.map(|ip| format!("ip:{ip}")));
            let key = format!("{}|{provider}|{id}", who.unwrap_or_default());
            state.idempotency.run(key, &body, work).await?
        }
        _ => work.await?,
    };
    response.elapsed_ms = started.elapsed().as_millis() as u64;
    let body = answer_body(response).map_err(|_| Error::upstream("The answer could not be encoded."))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], Body::new(body)).into_response())
}

/// `""` and `"local"` are the local engine; others must be configured.
pub fn resolve_provider(state: &AppState, requested: &str) -> Result<&'static str> {
    let requested = requested.trim();
    let ids = state.provider_ids();
    if requested.is_empty() {
        return Ok(local::ID);
    }
    ids.iter().copied().find(|id| id.eq_ignore_ascii_case(requested)).ok_or_else(|| {
        Error::invalid(format!("Unknown provider \"{requested}\"; this server offers: {}.", ids.join(", ")))
    })
}

async fn run(state: Arc<AppState>, provider: &'static str, req: Edit) -> Result<Answer> {
    let limits = state.config.limits.image;
    match provider {
        gemini::ID => match &state.gemini {
            Some(g) => g.edit(&state.upstream, &req, &limits).await,
            None => Err(Error::invalid("The gemini provider is not configured.")),
        },
        openai::ID => match &state.openai {
            Some(o) => o.edit(&state.upstream, &req, &limits).await,
            None => Err(Error::invalid("The openai provider is not configured.")),
        },
        _ => local::edit(&req, limits, &state.local_gate).await,
    }
}
