//! Walks the whole method registry: every method but introspection and `session.login`
//! refuses a call without a valid token (fault 1), and a `user` can neither act on another
//! user's VM nor call methods above their role (fault 2).

mod common;

use common::*;
use dxr::Value;
use zentific_sql::Role;
use zentific_xmlrpc::registry::Access;

/// Plausible parameters for a method, from its longest signature, with the token
/// replaced by `token` and every int set to `id`.
fn plausible(server: &Server, method: &str, token: &str, id: i32) -> Vec<Value> {
    let signatures = server
        .call("system.methodSignature", vec![s(method)])
        .unwrap();
    let Value::Array(signatures) = signatures else {
        panic!("signatures of {method}")
    };
    let Some(Value::Array(longest)) = signatures.last() else {
        panic!("no signature for {method}")
    };
    longest[1..]
        .iter()
        .enumerate()
        .map(|(index, ty)| match (index, ty) {
            (0, _) => s(token),
            (_, Value::String(t)) if t == "int" || t == "i8" => i(id),
            (_, Value::String(t)) if t == "string" => s("some text"),
            (_, Value::String(t)) if t == "boolean" => Value::Boolean(true),
            (_, Value::String(t)) if t == "array" => arr(vec![s("view")]),
            (_, Value::String(t)) if t == "struct" => st(&[]),
            (_, Value::String(t)) if t == "dateTime.iso8601" => {
                zentific_xmlrpc::params::datetime(1_700_000_000)
            }
            (_, other) => panic!("unexpected type {other:?} in the signature of {method}"),
        })
        .collect()
}

fn method_names(server: &Server) -> Vec<String> {
    let Value::Array(names) = server.call("system.listMethods", vec![]).unwrap() else {
        panic!()
    };
    names
        .into_iter()
        .map(|n| {
            if let Value::String(n) = n {
                n
            } else {
                panic!()
            }
        })
        .collect()
}

#[test]
fn every_method_but_introspection_and_login_needs_a_token() {
    let server = Server::sqlite();
    let admin = server.admin();
    let names = method_names(&server);
    assert!(
        names.len() > 40,
        "the registry lists only {} methods",
        names.len()
    );
    let logged_out = server.admin();
    server.call("session.logout", vec![s(&logged_out)]).unwrap();
    let mut checked = 0;
    for name in names
        .iter()
        .filter(|n| !n.starts_with("system.") && *n != "session.login")
    {
        assert_eq!(
            code(server.call(name, vec![])),
            1,
            "{name} without parameters"
        );
        assert_eq!(
            code(server.call(name, vec![i(1)])),
            1,
            "{name} with an int for a token"
        );
        let forged = plausible(&server, name, &"0".repeat(64), 1);
        assert_eq!(
            code(server.call(name, forged)),
            1,
            "{name} with a forged token"
        );
        let stale = plausible(&server, name, &logged_out, 1);
        assert_eq!(
            code(server.call(name, stale)),
            1,
            "{name} with a logged-out token"
        );
        checked += 1;
    }
    assert!(checked > 35);
    // The walk is not vacuous: a valid token gets past the check.
    assert!(server.call("session.whoami", vec![s(&admin)]).is_ok());
    // Introspection needs none.
    assert!(server.call("system.version", vec![]).is_ok());
}

#[test]
fn users_cannot_touch_other_users_vms_or_rise_above_their_role() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (_alice_id, alice) = user(&server, &admin, "alice", "user");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let alices_vm = vm(&server, &alice, n, "alices-vm");

    let registry = zentific_xmlrpc::registry();
    let mut vm_methods = Vec::new();
    for method in registry.methods() {
        let mut params = plausible(&server, method.name, &bob, bob_id);
        // Another user's VM is as absent to him as a missing one (fault 3); what his
        // role does not allow is refused (fault 2).
        let (refused_for, expected) = match (method.vm_param, method.access) {
            (Some((index, _)), _) => {
                params[index] = i(alices_vm);
                vm_methods.push(method.name);
                ("another user's VM", 3)
            }
            (None, Access::Session(Role::Admin | Role::Operator)) => ("a user's role", 2),
            _ => continue,
        };
        assert_eq!(
            code(server.call(method.name, params)),
            expected,
            "{} on {refused_for}",
            method.name
        );
    }
    for expected in [
        "vm.get",
        "vm.pause",
        "vm.destroy",
        "vm.update",
        "vm.setNotes",
        "vm.log",
        "user.grant",
    ] {
        assert!(
            vm_methods.contains(&expected),
            "{expected} does not declare its VM parameter"
        );
    }
    // Bob sees nothing of Alice's, and Alice still can act on her own VM.
    let Value::Array(bobs) = server.call("vm.list", vec![s(&bob), st(&[])]).unwrap() else {
        panic!()
    };
    assert!(bobs.is_empty());
    assert!(server.call("vm.get", vec![s(&alice), i(alices_vm)]).is_ok());
    // Jobs on her VM are hidden from him too.
    let job = int(&server
        .call("vm.start", vec![s(&alice), i(alices_vm)])
        .unwrap());
    assert_eq!(code(server.call("job.get", vec![s(&bob), i(job)])), 3);
    assert_eq!(code(server.call("job.cancel", vec![s(&bob), i(job)])), 3);
}

#[test]
fn grants_open_exactly_what_they_name() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let vm_id = vm(&server, &alice, n, "shared");
    server
        .call(
            "user.grant",
            vec![s(&alice), i(bob_id), i(vm_id), arr(vec![s("view")])],
        )
        .unwrap();
    assert!(server.call("vm.get", vec![s(&bob), i(vm_id)]).is_ok());
    assert_eq!(code(server.call("vm.start", vec![s(&bob), i(vm_id)])), 2);
    assert_eq!(
        code(server.call(
            "user.grant",
            vec![s(&bob), i(bob_id), i(vm_id), arr(vec![s("power")])]
        )),
        2
    );
    server
        .call(
            "user.grant",
            vec![s(&alice), i(bob_id), i(vm_id), arr(vec![s("power")])],
        )
        .unwrap();
    assert!(server.call("vm.start", vec![s(&bob), i(vm_id)]).is_ok());
    assert_eq!(
        code(server.call(
            "user.grant",
            vec![s(&alice), i(bob_id), i(vm_id), arr(vec![s("root")])]
        )),
        4
    );
}
