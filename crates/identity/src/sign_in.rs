//! Password sign-in of a delegated user outside the token endpoint (the web console's
//! sign-in form), through the same throttling as the password grant: a locked-out
//! subject or source is refused before any password is checked, Argon2 runs on a
//! blocking thread behind the bounded password-check semaphore, and every failure is
//! counted and logged with the user name and source, never the password.

use crate::Identity;
use crate::apps::verify_password;
use crate::throttle::{Subject, retry_after_secs};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// A user whose password was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    pub name: String,
    /// Delegated scopes granted to the user.
    pub scopes: Vec<String>,
    /// The device groups the user may see (`None`: every group).
    pub groups: Option<Vec<u32>>,
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignInRefused {
    #[error("Wrong user name or password.")]
    WrongCredentials,
    #[error("Too many failed sign-ins; try again in {0} seconds.")]
    Throttled(u64),
    #[error("Sign-in failed: {0}")]
    Internal(String),
}

impl Identity {
    /// Verifies `name` and `password` of a delegated user (created with
    /// [`Identity::create_user`]) as the password grant does, with its throttling.
    pub async fn sign_in_user(
        self: &Arc<Self>,
        name: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> Result<SignedInUser, SignInRefused> {
        let name: String = name.trim().chars().take(256).collect();
        let subject = Subject::user(&name);
        if let Err(wait) =
            self.sign_in
                .check(std::slice::from_ref(&subject), source, Instant::now())
        {
            return Err(SignInRefused::Throttled(retry_after_secs(wait)));
        }
        let _slot = self
            .sign_in
            .password_slot()
            .await
            .map_err(|_| SignInRefused::Throttled(1))?;
        let (worker, user_name, password) = (self.clone(), name.clone(), password.to_owned());
        let checked = tokio::task::spawn_blocking(move || {
            let user = worker
                .registry
                .user(&user_name)
                .map_err(|e| SignInRefused::Internal(e.to_string()))?;
            match user {
                Some(u) if verify_password(&password, &u.password_hash) => Ok(Some(u)),
                Some(_) => Ok(None),
                None => {
                    // Same work for an unknown user, so timing does not reveal names.
                    let _ = verify_password(&password, crate::token::DUMMY_PHC);
                    Ok(None)
                }
            }
        })
        .await
        .map_err(|e| SignInRefused::Internal(e.to_string()))??;
        match checked {
            Some(u) => {
                self.sign_in.record_success(&subject, source);
                Ok(SignedInUser {
                    name: u.name,
                    scopes: u.scopes,
                    groups: u.groups,
                })
            }
            None => {
                self.sign_in
                    .record_failure(&subject, source, Instant::now());
                let source = source.map_or_else(|| "-".to_owned(), |s| s.to_string());
                tracing::warn!(user = %name, source = %source, "console sign-in failed");
                Err(SignInRefused::WrongCredentials)
            }
        }
    }
}
