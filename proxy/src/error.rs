//! The proxy's one error type: a typed `ApiError` that answers with its status and
//! `{"error": {"code", "message", "retry_after_s"?}}`.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pixelkeep::wire::{ApiError, ErrorBody, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub ApiError);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error(ApiError::new(code, message))
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidRequest, message)
    }
    pub fn upstream(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::UpstreamError, message)
    }
    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.0.retry_after_s = seconds;
        self
    }
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }
    pub fn message(&self) -> &str {
        &self.0.message
    }
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A core error about one input (`what` = "image", "mask", ...), worded for the person.
    pub fn from_core(what: &str, e: pixelkeep::Error) -> Self {
        use pixelkeep::Error as E;
        let code = match e {
            E::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            E::Encode(_) => ErrorCode::UpstreamError,
            _ => ErrorCode::InvalidRequest,
        };
        Error::new(code, format!("The {what} was refused: {e}."))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code.as_str(), self.0.message)
    }
}

impl std::error::Error for Error {}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry = self.0.retry_after_s;
        let mut response = (status, Json(ErrorBody { error: self.0 })).into_response();
        if let Some(s) = retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}
