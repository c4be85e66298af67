//! The API's error type: every failure becomes the MDE error body
//! `{"error":{"code","message","target"}}` with its documented status.

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use model::wire::{ErrorBody, ErrorDetail};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// Correlation id (the request id), filled in by the dispatcher.
    pub target: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            target: None,
        }
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidInput", message)
    }
    pub fn odata(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ODataError", message)
    }
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredParameter",
            format!("Parameter {name} is missing."),
        )
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }
    pub fn resource_not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            format!("Method {method} is not allowed; use GET."),
        )
    }
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Response represents reaching quota limit either by number of requests or by CPU.",
        );
        e.retry_after = Some(retry_after);
        e
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            message,
        )
    }
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "RequestTimeout", message)
    }
    /// 503 with `Retry-After`: the service is busy (store locked, ingest slots full).
    pub fn service_unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
        );
        e.retry_after = Some(retry_after);
        e
    }
    /// The MDE body for a status raised below the API (the HTTP layer, axum's
    /// extractors, tower's timeout), which would otherwise answer with an empty or
    /// plain-text body.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("BadRequest", "The request is not valid HTTP."),
            404 => ("NotFound", "The resource was not found."),
            405 => ("BadRequest", "The method is not allowed."),
            408 => ("RequestTimeout", "The request was not received in time."),
            411 => ("BadRequest", "A Content-Length is required."),
            413 => ("RequestEntityTooLarge", "The request body is too large."),
            414 => ("BadRequest", "The request URI is too long."),
            415 => ("BadRequest", "The content type is not supported."),
            422 => ("InvalidInput", "The request body could not be read."),
            431 => ("BadRequest", "The request headers are too large."),
            429 => ("TooManyRequests", "Too many requests."),
            503 => ("ServiceUnavailable", "The service is busy; retry later."),
            504 => ("ServiceUnavailable", "The request took too long."),
            s if s >= 500 => ("InternalServerError", "The request failed."),
            _ => ("BadRequest", "The request was refused."),
        };
        let mut e = Self::new(status, code, message);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            e.retry_after = Some(5);
        }
        e
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            message,
        )
    }
    pub fn with_target(mut self, target: &str) -> Self {
        self.target.get_or_insert_with(|| target.to_owned());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let target = self
            .target
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                target,
            },
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut response = (self.status, text).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("the body is in memory");
        serde_json::from_slice(&bytes).expect("the error body is JSON")
    }

    #[tokio::test]
    async fn the_mde_error_body_with_status_and_retry_after() {
        let response = ApiError::too_many_requests(57)
            .with_target("req-1")
            .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "57");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let json = body(response).await;
        assert_eq!(json["error"]["code"], "TooManyRequests");
        assert_eq!(json["error"]["target"], "req-1");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("quota"))
        );
    }

    #[tokio::test]
    async fn a_target_is_kept_once_set_and_generated_when_missing() {
        let e = ApiError::forbidden("no")
            .with_target("first")
            .with_target("second");
        assert_eq!(e.target.as_deref(), Some("first"));
        let response = ApiError::missing_parameter("sinceTime").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
        let json = body(response).await;
        assert_eq!(json["error"]["code"], "MissingRequiredParameter");
        assert_eq!(json["error"]["message"], "Parameter sinceTime is missing.");
        let target = json["error"]["target"].as_str().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(target).is_ok(), "{target}");
    }
}
