//! Sign-in over plain HTTP: the session cookie's attributes, CSRF tokens on sign-in and
//! sign-out, the wrong-password message, throttling after repeated failures, pages
//! redirecting to the sign-in form without a session.

use std::sync::Arc;

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().expect("the token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sessions_csrf_and_throttling() {
    let t0 = testkit::world::utc(2026, 11, 20, 12);
    let world = testkit::world::seeded(20, 3, t0, 2);
    testkit::world::publish_at(
        &world.snapshots,
        t0,
        &testkit::world::small_parts(60_000, 64),
    );
    let (listener, base) = testkit::world::bind_loopback(0).await;
    let identity = Arc::new(
        identity::Identity::open(
            world.dir.path(),
            identity::IdentityConfig::new(base.clone()),
        )
        .expect("identity"),
    );
    identity
        .create_user("ops", "a fine password", &["Vulnerability.Read"], None)
        .expect("a user");
    let console = console::Console::new(
        world.snapshots.clone(),
        console::ConsoleAccess::Users(identity),
        &base,
    );
    // With the peer address as ConnectInfo (as server::listener gives it), so throttling
    // counts per user and source.
    let app = console::router(Arc::new(console))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let _served = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // No session: redirected to the sign-in form.
    let r = http
        .get(format!("{base}/console/devices"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/signin");

    // The form sets its CSRF token as a cookie too.
    let r = http
        .get(format!("{base}/console/signin"))
        .send()
        .await
        .expect("GET");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = csrf_of(&r.text().await.expect("page"));
    let csrf_cookie = cookie.split(';').next().expect("name=value").to_owned();
    let post = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut req = http.post(format!("{base}/console/signin")).form(&form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };

    // Without the matching CSRF cookie the form is refused, whatever the password.
    let r = post(
        vec![
            ("username", "ops".into()),
            ("password", "a fine password".into()),
            ("csrf", token.clone()),
        ],
        None,
    )
    .await
    .expect("POST");
    assert_eq!(r.status(), 403);

    // A wrong password: 401 and a clear message.
    let r = post(
        vec![
            ("username", "ops".into()),
            ("password", "wrong".into()),
            ("csrf", token.clone()),
        ],
        Some(csrf_cookie.clone()),
    )
    .await
    .expect("POST");
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .expect("page")
            .contains("Wrong user name or password.")
    );

    // The right password: a session cookie, HttpOnly and SameSite=Strict (no Secure over http).
    let r = post(
        vec![
            ("username", "ops".into()),
            ("password", "a fine password".into()),
            ("csrf", token.clone()),
        ],
        Some(csrf_cookie.clone()),
    )
    .await
    .expect("POST");
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(console::SESSION_COOKIE))
        .expect("a session cookie")
        .to_owned();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(!session.contains("Secure"));
    let session = session.split(';').next().expect("name=value").to_owned();
    let page = http
        .get(format!("{base}/console"))
        .header("cookie", &session)
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("script-src 'none'"));
    let page = page.text().await.expect("page");
    assert!(page.contains("Signed in as"));

    // Sign-out needs the session's CSRF token.
    let r = http
        .post(format!("{base}/console/signout"))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{base}/console/signout"))
        .header("cookie", &session)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 303);
    let r = http
        .get(format!("{base}/console"))
        .header("cookie", &session)
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 303, "the session is closed");

    // Repeated failures lock the user out with a clear message (identity's throttling).
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = post(
            vec![
                ("username", "ops".into()),
                ("password", "guess".into()),
                ("csrf", token.clone()),
            ],
            Some(csrf_cookie.clone()),
        )
        .await
        .expect("POST");
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            assert!(
                r.text()
                    .await
                    .expect("page")
                    .contains("Too many failed sign-ins")
            );
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    // Unknown pages and bad filters are not server errors.
    let r = http
        .get(format!("{base}/console/vulnerabilities?severity=Bogus"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 303);
}
