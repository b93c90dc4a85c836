//! Every public `Store` operation that reads or changes something a user can see takes a
//! `Caller`, so authorization is decided in the store and a new method cannot skip it.
//! The operations without one are listed here with the reason; adding to the list is a
//! deliberate act a reviewer sees.

use std::path::Path;

/// Public `Store` methods that take no `Caller`, and why.
const WITHOUT_CALLER: &[(&str, &str)] = &[
    ("open", "opens the database"),
    ("backend", "which database"),
    ("jobs_recorded", "in-process wake-up"),
    ("jobs_generation", "in-process wake-up"),
    ("wait_for_jobs", "in-process wake-up"),
    ("login", "makes the caller"),
    (
        "redeem_console_ticket",
        "the console proxy: the ticket names its caller",
    ),
    (
        "console_still_allowed",
        "the console proxy: re-checks the ticket's caller",
    ),
    (
        "audit_console",
        "the console proxy: records for the ticket's caller",
    ),
    ("logout", "ends the token's own session"),
    ("caller_for_token", "makes the caller"),
    ("find_user", "command line and bootstrap (zentific user …)"),
    ("user_count", "bootstrap: is there a first admin"),
    ("global_options", "typed settings for the server itself"),
    ("node_for_poller_token", "authenticates a poller"),
    ("push_sample", "a poller, authenticated by its node token"),
    ("roll_up_stats", "scheduler housekeeping"),
    ("expire_grants", "scheduler housekeeping"),
    ("fire_due_schedules", "scheduler housekeeping"),
    ("fire_silence_triggers", "scheduler housekeeping"),
    ("claim_job", "scheduler worker"),
    ("job_target", "scheduler worker"),
    ("vm_devices", "scheduler worker"),
    ("finish_job", "scheduler worker"),
    ("heartbeat", "scheduler worker"),
    ("recover_interrupted", "scheduler housekeeping"),
    ("apply_inventory", "scheduler: what the hypervisor reported"),
    (
        "apply_domain_state",
        "scheduler: what the hypervisor reported",
    ),
    ("mark_node", "scheduler: node reachability"),
    ("dispatch_node", "scheduler: connecting to a node"),
    ("dispatch_nodes", "scheduler: reconciliation"),
    ("job_subject", "scheduler worker"),
    (
        "record_vm_uuid",
        "scheduler worker: what the hypervisor reported",
    ),
    ("record_loaded_module", "the server's module loader"),
    ("event_signal", "in-process wake-up of event.next"),
    ("prune_events", "scheduler housekeeping"),
    ("mark_silent_nodes", "scheduler housekeeping"),
];

/// (name, parameter text) of each `pub fn` inside `impl Store` blocks of `source`.
fn store_methods(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for block in source.split("\nimpl Store {").skip(1) {
        let block = block.split("\n}\n").next().unwrap_or(block);
        for item in block.split("\n    pub fn ").skip(1) {
            let name: String = item
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let params = item.split(") ->").next().unwrap_or(item).to_string();
            found.push((name, params));
        }
    }
    found
}

#[test]
fn every_store_operation_on_user_visible_objects_takes_a_caller() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut methods = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            methods.extend(store_methods(&text));
        }
    }
    assert!(
        methods.len() > 60,
        "found only {} Store methods",
        methods.len()
    );
    let mut offenders = Vec::new();
    for (name, params) in &methods {
        let exempt = WITHOUT_CALLER.iter().any(|(n, _)| n == name);
        let takes = params.contains("Caller");
        if !takes && !exempt {
            offenders.push(name.clone());
        }
        assert!(
            !(takes && exempt),
            "{name} takes a Caller; take it off the exemption list"
        );
    }
    assert!(
        offenders.is_empty(),
        "these public Store operations take no Caller: {offenders:?}"
    );
    for (name, _) in WITHOUT_CALLER {
        assert!(
            methods.iter().any(|(n, _)| n == name),
            "{name} is exempt but no longer exists"
        );
    }
}
