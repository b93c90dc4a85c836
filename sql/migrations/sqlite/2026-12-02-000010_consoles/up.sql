-- One-time console tickets (vm.console): only the SHA-256 of a ticket is kept, with the
-- session it was issued to (the SHA-256 of that session's token), the VM and the kind
-- of console. A ticket is redeemed once (used_at) within its 30 s (expires_at).
CREATE TABLE console_tickets (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    session_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX console_tickets_by_expiry ON console_tickets (expires_at);
