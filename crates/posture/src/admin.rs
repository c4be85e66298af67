//! The emulator's admin endpoint, `POST /admin/advance?hours=H` (time travel), and
//! the guard in front of it.
//!
//! The endpoint changes data, so (beyond `--admin`, off by default):
//! - with authentication on, it needs a bearer token of an application holding the
//!   `Posture.Admin` role (never granted by default: `apps create --roles
//!   Posture.Admin`; the demo application does not have it). No token is `401`, a
//!   token without the role `403`, both with the MDE error body;
//! - with `--auth off` it answers `403` unless `--admin-without-auth` is given too:
//!   an open time machine should be a deliberate choice, not a side effect of
//!   exploring the API without tokens;
//! - whatever the mode, a request a web page could send cross-site is refused (`403`):
//!   one carrying an `Origin` other than the server's own, a `Sec-Fetch-Site` other
//!   than `same-origin`/`none`, or a form content type (`application/x-www-form-urlencoded`,
//!   `multipart/form-data`, `text/plain`: what an HTML form posts without a CORS
//!   preflight). The endpoint takes no body, so API clients are unaffected. With
//!   tokens this is a second line: browsers never attach a bearer token by themselves.

use crate::args::PublishArgs;
use crate::datadir::DataDir;
use access::{ApiError, Authenticator, Permission, RateFamily, Route};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use snapshot::Snapshots;
use std::sync::Arc;

/// What the admin route requires of a caller.
pub const ADMIN_ROUTE: Route = Route {
    path: "admin/advance",
    permission: Permission::Admin,
    family: RateFamily::Json,
};

/// Who may call the admin endpoint.
pub enum AdminAccess {
    /// Bearer tokens with the `Posture.Admin` role, checked by this authenticator.
    Tokens(Arc<dyn Authenticator>),
    /// Anyone (`--auth off --admin-without-auth`); cross-site requests are still refused.
    Open,
    /// Nobody (`--auth off` without `--admin-without-auth`).
    Refused,
}

/// The checks in front of every admin request.
pub struct AdminGuard {
    access: AdminAccess,
    /// `scheme://host[:port]` of the server's base URL: the one accepted `Origin`.
    own_origin: String,
}

impl AdminGuard {
    pub fn new(access: AdminAccess, base_url: &str) -> Arc<AdminGuard> {
        let own_origin = match base_url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split('/').next().unwrap_or(rest);
                format!("{scheme}://{host}")
            }
            None => base_url.to_owned(),
        };
        Arc::new(AdminGuard { access, own_origin })
    }

    /// `Ok` when the request may run the admin action.
    pub fn admit(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let text = |name: header::HeaderName| {
            headers.get(name).map(|v| {
                v.to_str()
                    .unwrap_or("(not text)")
                    .trim()
                    .to_ascii_lowercase()
            })
        };
        if let Some(origin) = text(header::ORIGIN)
            && origin != self.own_origin.to_ascii_lowercase()
        {
            return Err(cross_site());
        }
        if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
            && site != "same-origin"
            && site != "none"
        {
            return Err(cross_site());
        }
        if let Some(content_type) = text(header::CONTENT_TYPE) {
            let essence = content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
            if matches!(
                essence.as_str(),
                "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
            ) {
                return Err(cross_site());
            }
        }
        match &self.access {
            AdminAccess::Tokens(auth) => auth.authenticate(headers, &ADMIN_ROUTE).map(|_| ()),
            AdminAccess::Open => Ok(()),
            AdminAccess::Refused => Err(ApiError::forbidden(
                "The admin endpoint needs authentication: serve with --auth on and call it with a token of an application with the Posture.Admin role (or add --admin-without-auth on a trusted machine).",
            )),
        }
    }
}

fn cross_site() -> ApiError {
    ApiError::forbidden(
        "Cross-site requests to the admin endpoint are refused: POST without a body and without a browser Origin.",
    )
}

/// Runs the guard before the routes it wraps.
pub fn guarded(router: axum::Router, guard: Arc<AdminGuard>) -> axum::Router {
    async fn check(State(guard): State<Arc<AdminGuard>>, request: Request, next: Next) -> Response {
        match guard.admit(request.headers()) {
            Ok(()) => next.run(request).await,
            Err(e) => {
                tracing::warn!(code = e.code, "admin request refused");
                e.into_response()
            }
        }
    }
    router.layer(axum::middleware::from_fn_with_state(guard, check))
}

#[derive(Clone)]
struct AdminState {
    dir: DataDir,
    snapshots: Arc<Snapshots>,
    publish: PublishArgs,
}

/// `POST /admin/advance?hours=H` moves the synthetic fleet forward and publishes,
/// answering the advance and publish reports; behind `guard`.
pub fn admin_router(
    dir: DataDir,
    snapshots: Arc<Snapshots>,
    publish: PublishArgs,
    guard: Arc<AdminGuard>,
) -> axum::Router {
    async fn advance_handler(
        State(s): State<AdminState>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> Response {
        let hours = match q.get("hours").map(|h| h.trim().parse::<u32>()) {
            None => Ok(6),
            Some(Ok(h)) if (1..=24 * 14).contains(&h) => Ok(h),
            Some(_) => Err(ApiError::invalid_input(
                "Invalid value for parameter hours: must be an integer from 1 to 336.",
            )),
        };
        let hours = match hours {
            Ok(h) => h,
            Err(e) => return e.into_response(),
        };
        let result = tokio::task::spawn_blocking(move || {
            crate::cmd::advance::advance(&s.dir, &s.snapshots, hours, &s.publish, true)
        })
        .await;
        match result {
            Ok(Ok(report)) => axum::Json(report).into_response(),
            Ok(Err(e)) => ApiError::invalid_input(format!("{e:#}")).into_response(),
            Err(e) => ApiError::internal(e.to_string()).into_response(),
        }
    }
    let router = axum::Router::new()
        .route("/admin/advance", axum::routing::post(advance_handler))
        .with_state(AdminState {
            dir,
            snapshots,
            publish,
        });
    guarded(router, guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    const BASE: &str = "http://127.0.0.1:8080";

    fn router(access: AdminAccess) -> axum::Router {
        let inner = axum::Router::new().route(
            "/admin/advance",
            axum::routing::post(|| async { "advanced" }),
        );
        guarded(inner, AdminGuard::new(access, BASE))
    }

    async fn post(router: &axum::Router, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let mut request = Request::post("/admin/advance?hours=6");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn error_code(body: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["error"]["code"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn with_tokens_only_the_admin_role_may_advance() {
        let dir = tempfile::tempdir().unwrap();
        let id = Arc::new(
            identity::Identity::open(dir.path(), identity::IdentityConfig::new(BASE)).unwrap(),
        );
        let token = |roles: &[&str]| {
            let app = id.create_app("t", roles, None).unwrap();
            let now = chrono::Utc::now().timestamp();
            id.sign_claims(&serde_json::json!({
                "aud": identity::DEFAULT_AUDIENCES[0],
                "iss": id.issuer(identity::TokenVersion::V2),
                "tid": id.tenant_id(),
                "appid": app.client_id,
                "roles": app.roles,
                "iat": now,
                "nbf": now,
                "exp": now + 600,
            }))
            .unwrap()
        };
        let reader = token(&["Vulnerability.Read.All", "Machine.ReadWrite.All"]);
        let admin = token(&["Posture.Admin"]);
        let r = router(AdminAccess::Tokens(id.clone()));
        // The attack: no token at all, as the endpoint used to accept.
        let (status, body) = post(&r, &[]).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, "Unauthorized")
        );
        // A data role is not enough.
        let (status, body) = post(&r, &[("authorization", &format!("Bearer {reader}"))]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("Posture.Admin"), "{body}");
        // A browser form posted from another site: no Authorization, a form type, an Origin.
        let (status, body) = post(
            &r,
            &[
                ("origin", "https://evil.example"),
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::FORBIDDEN, "Forbidden")
        );
        // Even with a stolen admin token a cross-site request is refused.
        let bearer = format!("Bearer {admin}");
        for cross in [
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-site"),
            ("content-type", "text/plain"),
        ] {
            let (status, _) = post(&r, &[("authorization", &bearer), cross]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{cross:?}");
        }
        // The admin role, from an API client (or the server's own origin), advances.
        assert_eq!(
            post(&r, &[("authorization", &bearer)]).await,
            (StatusCode::OK, "advanced".into())
        );
        let same = [("authorization", bearer.as_str()), ("origin", BASE)];
        assert_eq!(post(&r, &same).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn without_authentication_it_is_refused_unless_explicitly_opened() {
        let r = router(AdminAccess::Refused);
        let (status, body) = post(&r, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("--admin-without-auth"), "{body}");
        let open = router(AdminAccess::Open);
        assert_eq!(post(&open, &[]).await.0, StatusCode::OK);
        let (status, _) = post(
            &open,
            &[
                ("origin", "https://evil.example"),
                ("content-type", "multipart/form-data; boundary=x"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
