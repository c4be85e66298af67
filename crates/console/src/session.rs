//! Sessions, sign-in and sign-out. A session is a random 256-bit id in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` over TLS), kept in memory for
//! [`SESSION_LIFETIME`]. Sign-in and sign-out are POST forms with a CSRF token: the
//! sign-in form's token is also set as a cookie (double submit, there being no session
//! yet), the sign-out form carries the session's own token.

use crate::{Console, ConsoleAccess, Viewer, html, view};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "posture_session";
const CSRF_COOKIE: &str = "posture_signin_csrf";
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
const MAX_SESSIONS: usize = 10_000;
const MAX_FORM_BYTES: usize = 8 * 1024;

struct Session {
    user: String,
    groups: Option<Vec<u32>>,
    csrf: String,
    expires: Instant,
}

#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two tokens without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Sessions {
    fn open(&self, user: String, groups: Option<Vec<u32>>) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut map = self.map.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
        }
        map.insert(
            id.clone(),
            Session {
                user,
                groups,
                csrf: random_token(),
                expires: now + SESSION_LIFETIME,
            },
        );
        id
    }

    fn viewer(&self, id: &str) -> Option<Viewer> {
        let mut map = self.map.lock();
        let s = map.get(id)?;
        if s.expires <= Instant::now() {
            map.remove(id);
            return None;
        }
        Some(Viewer {
            name: Some(s.user.clone()),
            groups: s.groups.clone(),
            csrf: s.csrf.clone(),
        })
    }

    fn close(&self, id: &str) {
        self.map.lock().remove(id);
    }
}

impl Console {
    /// The viewer of a request: anyone on an open console, else the session's user.
    pub(crate) fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        match &self.access {
            ConsoleAccess::Open => Some(Viewer {
                name: None,
                groups: None,
                csrf: String::new(),
            }),
            ConsoleAccess::Users(_) => self.sessions.viewer(cookie(headers, SESSION_COOKIE)?),
        }
    }

    fn cookie_header(&self, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure_cookies {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// `GET /console/signin`: the form, with a fresh CSRF token (also set as a cookie).
pub(crate) async fn sign_in_form(State(c): State<Arc<Console>>) -> Response {
    if matches!(c.access, ConsoleAccess::Open) {
        return Redirect::to("/console").into_response();
    }
    form_response(&c, StatusCode::OK, None)
}

fn form_response(c: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let token = random_token();
    let mut r = html(status, view::sign_in_page(&token, error));
    r.headers_mut().append(
        header::SET_COOKIE,
        c.cookie_header(CSRF_COOKIE, &token, Some(1800)),
    );
    r
}

#[derive(serde::Deserialize)]
struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn read_form<T: serde::de::DeserializeOwned>(req: Request) -> Option<T> {
    let body = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
        .await
        .ok()?;
    serde_urlencoded::from_bytes(&body).ok()
}

/// `POST /console/signin`: checks the CSRF token, then the password through identity's
/// throttled check; on success opens a session and redirects to the overview.
pub(crate) async fn sign_in(State(c): State<Arc<Console>>, req: Request) -> Response {
    let ConsoleAccess::Users(identity) = &c.access else {
        return Redirect::to("/console").into_response();
    };
    let source = crate::peer(&req);
    let csrf_cookie = cookie(req.headers(), CSRF_COOKIE).map(str::to_owned);
    let Some(form) = read_form::<SignInForm>(req).await else {
        return form_response(
            &c,
            StatusCode::BAD_REQUEST,
            Some("The form could not be read."),
        );
    };
    if csrf_cookie.is_none_or(|t| !same(&t, &form.csrf)) || form.csrf.is_empty() {
        return form_response(
            &c,
            StatusCode::FORBIDDEN,
            Some("The form expired or did not come from this page; please sign in again."),
        );
    }
    if form.username.trim().is_empty() || form.password.is_empty() {
        return form_response(
            &c,
            StatusCode::BAD_REQUEST,
            Some("Enter your user name and password."),
        );
    }
    match identity
        .sign_in_user(&form.username, &form.password, source)
        .await
    {
        Ok(user) => {
            let id = c.sessions.open(user.name, user.groups);
            let mut r = Redirect::to("/console").into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                c.cookie_header(SESSION_COOKIE, &id, Some(SESSION_LIFETIME.as_secs())),
            );
            h.append(
                header::SET_COOKIE,
                c.cookie_header(CSRF_COOKIE, "", Some(0)),
            );
            r
        }
        Err(identity::SignInRefused::Throttled(secs)) => {
            let mut r = form_response(
                &c,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many failed sign-ins; try again in {secs} seconds."
                )),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(identity::SignInRefused::WrongCredentials) => form_response(
            &c,
            StatusCode::UNAUTHORIZED,
            Some("Wrong user name or password."),
        ),
        Err(e) => {
            tracing::error!(error = %e, "console sign-in failed");
            form_response(
                &c,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Sign-in is unavailable right now; try again later."),
            )
        }
    }
}

#[derive(serde::Deserialize)]
struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/signout`: closes the session (its CSRF token required).
pub(crate) async fn sign_out(State(c): State<Arc<Console>>, req: Request) -> Response {
    let id = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned);
    let viewer = id.as_deref().and_then(|i| c.sessions.viewer(i));
    let Some(form) = read_form::<SignOutForm>(req).await else {
        return (StatusCode::BAD_REQUEST, "The form could not be read.").into_response();
    };
    match (id, viewer) {
        (Some(id), Some(v)) if !v.csrf.is_empty() && same(&v.csrf, &form.csrf) => {
            c.sessions.close(&id);
            let mut r = Redirect::to("/console/signin").into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                c.cookie_header(SESSION_COOKIE, "", Some(0)),
            );
            r
        }
        (_, None) => Redirect::to("/console/signin").into_response(),
        _ => (
            StatusCode::FORBIDDEN,
            "The sign-out form did not come from this console.",
        )
            .into_response(),
    }
}
