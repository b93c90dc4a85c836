//! A XenAPI session: log in once, put the session reference first in every call, and
//! log in again when xapi forgets it.
//!
//! xapi drops sessions when it restarts, when a pool master changes, and when one user
//! holds too many; the next call then fails with `SESSION_INVALID`. [`Session::call`]
//! logs in again once and repeats the call. Only one thread logs in again for the same
//! lost session: the others find the new reference already in place. A second
//! `SESSION_INVALID` right after a fresh login becomes [`XapiError::SessionLost`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dxr::Value;

use super::rpc::{RpcTransport, XapiError, as_text};

/// API version string xapi expects in `session.login_with_password`.
const API_VERSION: &str = "2.0";

/// How the session identifies itself in xapi's logs and session records.
const ORIGINATOR: &str = "zentific";

/// Timeout of a login call.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Timeout of the logout a dropped dispatcher sends: short, since nothing waits for it.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// A logged-in XenAPI session, shared by the dispatcher and its event watcher.
pub(super) struct Session {
    transport: RpcTransport,
    username: String,
    password: String,
    /// The current session reference (`OpaqueRef:…`).
    reference: Mutex<String>,
    /// Set by [`Session::logout`]: no more logins after that.
    closed: AtomicBool,
}

impl Session {
    /// Log in to the host behind `transport`.
    pub(super) fn login(
        transport: RpcTransport,
        username: String,
        password: String,
    ) -> Result<Self, XapiError> {
        let reference = login_call(&transport, &username, &password)?;
        Ok(Session {
            transport,
            username,
            password,
            reference: Mutex::new(reference),
            closed: AtomicBool::new(false),
        })
    }

    /// The host's XML-RPC URL, for messages.
    pub(super) fn endpoint(&self) -> &str {
        self.transport.endpoint()
    }

    /// Call `method` with the session reference followed by `args`.
    pub(super) fn call(
        &self,
        method: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Value, XapiError> {
        let used = self.current_reference();
        match self.call_as(&used, method, args, timeout) {
            Err(error) if error.is("SESSION_INVALID") => {
                let fresh = self.renew(&used)?;
                match self.call_as(&fresh, method, args, timeout) {
                    Err(error) if error.is("SESSION_INVALID") => Err(XapiError::SessionLost),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// End the session on the host (best effort) and refuse to log in again.
    pub(super) fn logout(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let reference = self.current_reference();
        let _ = self.transport.call(
            "session.logout",
            vec![Value::String(reference)],
            LOGOUT_TIMEOUT,
        );
    }

    fn call_as(
        &self,
        reference: &str,
        method: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Value, XapiError> {
        let mut params = Vec::with_capacity(args.len() + 1);
        params.push(Value::String(reference.to_owned()));
        params.extend_from_slice(args);
        self.transport.call(method, params, timeout)
    }

    /// A reference newer than `stale`: log in, unless another thread already did.
    fn renew(&self, stale: &str) -> Result<String, XapiError> {
        let mut current = self
            .reference
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current != stale {
            return Ok(current.clone());
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(XapiError::SessionLost);
        }
        tracing::info!(
            endpoint = self.endpoint(),
            "XenAPI session expired; logging in again"
        );
        let fresh = login_call(&self.transport, &self.username, &self.password)?;
        current.clone_from(&fresh);
        Ok(fresh)
    }

    /// The session reference now in use (for consoles, which are opened with it).
    pub(super) fn current_reference(&self) -> String {
        self.reference
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint())
            .field("username", &self.username)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

fn login_call(
    transport: &RpcTransport,
    username: &str,
    password: &str,
) -> Result<String, XapiError> {
    let answer = transport.call(
        "session.login_with_password",
        vec![
            Value::String(username.to_owned()),
            Value::String(password.to_owned()),
            Value::String(API_VERSION.to_owned()),
            Value::String(ORIGINATOR.to_owned()),
        ],
        LOGIN_TIMEOUT,
    )?;
    match as_text(&answer) {
        Some(reference) if !reference.is_empty() => Ok(reference),
        _ => Err(XapiError::Malformed(
            "session.login_with_password returned no session reference".to_owned(),
        )),
    }
}
