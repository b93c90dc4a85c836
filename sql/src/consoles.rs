//! Console tickets (`vm.console`): a one-time ticket, valid [`CONSOLE_TICKET_SECS`],
//! bound to the session it was issued to, the VM and the kind of console. The console
//! proxy redeems it once, then re-checks the session and the permission while the console
//! stays open. Only the SHA-256 of a ticket is stored (see `ops/consoles.rs`).

use crate::sessions::{new_token, token_hash};
use crate::{Caller, ConsoleKind, Node, Store, StoreError, Vm};

/// How long a console ticket may wait to be redeemed, in seconds.
pub const CONSOLE_TICKET_SECS: i64 = 30;

/// A ticket just issued.
#[derive(Clone, Debug)]
pub struct ConsoleTicket {
    /// The ticket: 64 hex digits, shown once.
    pub ticket: String,
    /// Until when it may be redeemed (Unix seconds).
    pub expires_at: i64,
}

/// What a redeemed ticket opens: who, which VM (and its node, with credentials, to reach
/// it), which kind of console, and the session it belongs to.
#[derive(Clone, Debug)]
pub struct ConsoleAccess {
    /// The user the ticket was issued to.
    pub caller: Caller,
    /// The VM as recorded when the ticket was redeemed.
    pub vm: Vm,
    /// Its node, with credentials ([`Node::connect_uri`]).
    pub node: Node,
    /// The kind of console.
    pub kind: ConsoleKind,
    pub(crate) session_hash: String,
}

impl Store {
    /// Issue a console ticket for `vm` to the session of `session_token` (whose caller is
    /// `caller`): needs the `console` permission and a running or paused VM.
    pub fn console_ticket(
        &self,
        caller: &Caller,
        session_token: &str,
        vm: i32,
        kind: ConsoleKind,
    ) -> Result<ConsoleTicket, StoreError> {
        if self.caller_for_token(session_token)? != *caller {
            return Err(StoreError::NotAuthenticated(
                "a console ticket is issued to the session asking for it".into(),
            ));
        }
        let ticket = new_token();
        let expires_at = crate::now() + CONSOLE_TICKET_SECS;
        self.write(|conn| {
            crate::ops::consoles::issue(
                conn,
                caller,
                &token_hash(session_token),
                &token_hash(&ticket),
                vm,
                kind,
                expires_at,
            )
        })?;
        Ok(ConsoleTicket { ticket, expires_at })
    }

    /// Redeem a ticket, once: the access it grants, if the ticket is live and unused, its
    /// session still open and its user still holds `console` on a running or paused VM.
    /// [`StoreError::NotAuthenticated`] says which of unknown, used or expired it was.
    pub fn redeem_console_ticket(&self, ticket: &str) -> Result<ConsoleAccess, StoreError> {
        if ticket.len() != 64 || !ticket.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotAuthenticated(
                "not a console ticket (64 hex digits from vm.console)".into(),
            ));
        }
        let (caller, session_hash, vm, kind) = self
            .write(|conn| crate::ops::consoles::redeem(conn, &token_hash(ticket), crate::now()))?;
        let node = self.dispatch_node(vm.node_id)?;
        Ok(ConsoleAccess {
            caller,
            vm,
            node,
            kind,
            session_hash,
        })
    }

    /// Whether an open console may stay open: its session has not ended, its user still
    /// holds `console` on the VM, and the VM still runs or is paused.
    pub fn console_still_allowed(&self, access: &ConsoleAccess) -> Result<(), StoreError> {
        self.read(|conn| {
            crate::ops::consoles::still_allowed(
                conn,
                &access.session_hash,
                access.caller.user_id,
                access.vm.id,
                crate::now(),
            )
            .map(|_| ())
        })
    }

    /// Record a console session's opening or closing in the audit log (action
    /// `console.open` or `console.close`, on the VM).
    pub fn audit_console(
        &self,
        access: &ConsoleAccess,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            crate::ops::audit::record(
                conn,
                Some(&access.caller),
                action,
                "vm",
                Some(access.vm.id),
                detail,
            )
        })
    }
}
