//! The API with `identity` deciding access, end to end: the real API router with an
//! `identity::Identity` as its authenticator and `identity::Limiter` as its rate limiter,
//! merged with the OAuth routes, on a loopback port (over HTTP or HTTPS). These tests
//! live with the server because `identity` depends only on the `access` contract,
//! not on the API that serves it.

mod auth;
mod common;
mod external;
mod limits;
mod msal;
mod sign_in;
