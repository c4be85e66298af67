//! The page shell (navigation, sign-out form), the sign-in page, and small view helpers.

use crate::{Console, Viewer};
use maud::{DOCTYPE, Markup, PreEscaped, html};

pub(crate) const NAV: &[(&str, &str)] = &[
    ("/console", "Overview"),
    ("/console/vulnerabilities", "Vulnerabilities"),
    ("/console/software", "Software"),
    ("/console/devices", "Devices"),
    ("/console/configuration", "Configuration"),
    ("/console/coverage", "Coverage"),
];

fn head(title: &str) -> Markup {
    html! {
        (DOCTYPE)
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Posture console" }
            link rel="stylesheet" href="/console/assets/console.css";
            link rel="icon" href="data:,";
        }
    }
}

/// A whole page: `current` is the navigation entry to mark (its path).
pub(crate) fn shell(viewer: &Viewer, current: &str, title: &str, body: Markup) -> Markup {
    html! {
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    strong { "Posture" }
                    nav aria-label="Console pages" {
                        ul {
                            @for (path, name) in NAV {
                                li {
                                    @if *path == current {
                                        a href=(path) aria-current="page" { (name) }
                                    } @else {
                                        a href=(path) { (name) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(name) = &viewer.name {
                        div.who {
                            span { "Signed in as " strong { (name) } }
                            form method="post" action="/console/signout" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub(crate) fn message_page(_c: &Console, viewer: &Viewer, title: &str, message: &str) -> Markup {
    shell(viewer, "", title, html! { p role="alert" { (message) } })
}

pub(crate) fn sign_in_page(csrf: &str, error: Option<&str>) -> Markup {
    html! {
        html lang="en" {
            (head("Sign in"))
            body {
                header.top { strong { "Posture" } }
                main id="main" {
                    h1 { "Sign in to the Posture console" }
                    @if let Some(e) = error {
                        p.error role="alert" id="signin-error" { (e) }
                    }
                    form.signin method="post" action="/console/signin" {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="username" { "User name"
                            input id="username" name="username" type="text" autocomplete="username" required;
                        }
                        label for="password" { "Password"
                            input id="password" name="password" type="password" autocomplete="current-password" required;
                        }
                        button type="submit" { "Sign in" }
                    }
                    p.meta { "Console users are Posture's delegated users: " code { "posture users create --name NAME --password ... [--groups 1,2]" } "." }
                }
            }
        }
    }
}

/// A link to the API request that reproduces a figure.
pub(crate) fn api_link(c: &Console, path_and_query: &str, what: &str) -> Markup {
    let href = format!("{}{}", c.api_base, path_and_query);
    html! {
        a.api href=(href) title=(format!("The API request behind {what}")) aria-label=(format!("API request for {what}")) { "API" }
    }
}

pub(crate) fn severity(s: Option<&str>) -> Markup {
    let s = s.unwrap_or("None");
    html! { span class=(format!("sev-{s}")) { (s) } }
}

pub(crate) fn kev_badge(kev: bool) -> Markup {
    html! { @if kev { span.kev title="Listed in CISA's Known Exploited Vulnerabilities" { "KEV" } } }
}

pub(crate) fn svg(chart: Option<String>) -> Markup {
    PreEscaped(chart.unwrap_or_default())
}

/// Percent-encodes a path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    model::percent::encode(s)
}
