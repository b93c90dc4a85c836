//! Hostile and malformed requests: each gets the fault DESIGN.md names with a sentence,
//! never an echo of the body, the server stays up, and nothing is half-written.

mod common;

use common::*;
use dxr::Value;

const MARKER: &str = "MARKER-7f3a9c";

fn fault_of(server: &Server, body: &[u8]) -> (i32, String) {
    let (status, text) = server.post(body);
    assert_eq!(status, 200, "faults are HTTP 200");
    match decode(&text) {
        Err(fault) => (fault.code(), fault.string().to_string()),
        Ok(value) => panic!("expected a fault, got {value:?}"),
    }
}

#[test]
fn malformed_requests_get_the_documented_faults() {
    let mut server = Server::sqlite();
    let cases: &[(&str, i32)] = &[
        ("", -32700),
        ("<methodCall><methodName>x", -32700),
        ("<methodCall><methodName>x</methodNam></methodCall>", -32700),
        ("not xml at all MARKER-7f3a9c", -32700),
        ("<html><body>MARKER-7f3a9c</body></html>", -32600),
        ("<methodCall><foo>MARKER-7f3a9c</foo></methodCall>", -32600),
        (
            "<methodCall><methodName>system.listMethods</methodName><params><param><value><blob>MARKER-7f3a9c</blob></value></param></params></methodCall>",
            -32600,
        ),
        (
            "<!DOCTYPE x [<!ENTITY e 'MARKER-7f3a9c'>]><methodCall><methodName>&e;</methodName></methodCall>",
            -32600,
        ),
        (
            "<methodCall><methodName>no.such</methodName><params/></methodCall>",
            -32601,
        ),
    ];
    for (body, expected) in cases {
        let (code, text) = fault_of(&server, body.as_bytes());
        assert_eq!(code, *expected, "{body:?} gave {text}");
        assert!(!text.contains(MARKER), "the fault echoes the body: {text}");
        assert!(text.len() > 20, "the fault says too little: {text}");
    }
    let (code, _) = fault_of(&server, &[0x3c, 0xff, 0xfe, 0x3e]);
    assert_eq!(code, -32700);
    assert!(server.is_alive());
}

#[test]
fn wrong_parameters_and_values_name_what_is_wrong() {
    let server = Server::sqlite();
    let admin = server.admin();
    let too_few = server.call("vm.get", vec![s(&admin)]).unwrap_err();
    assert_eq!(too_few.code(), -32602);
    assert!(
        too_few.string().contains("vm.get(token, id)"),
        "{}",
        too_few.string()
    );
    let wrong_type = server
        .call("vm.get", vec![s(&admin), s("seven")])
        .unwrap_err();
    assert_eq!(wrong_type.code(), -32602);
    assert!(
        wrong_type.string().contains("(id)"),
        "{}",
        wrong_type.string()
    );
    assert_eq!(
        code(server.call("vm.get", vec![s(&admin), i(1), i(2)])),
        -32602
    );
    let bad_role = server
        .call(
            "user.create",
            vec![
                s(&admin),
                st(&[
                    ("username", s("x1")),
                    ("password", s("long-enough")),
                    ("role", s("root")),
                ]),
            ],
        )
        .unwrap_err();
    assert_eq!(bad_role.code(), 4);
    assert!(
        bad_role.string().contains("role") && bad_role.string().contains("admin, operator, user"),
        "{}",
        bad_role.string()
    );
    let typo = server
        .call(
            "node.register",
            vec![
                s(&admin),
                st(&[
                    ("name", s("n")),
                    ("hostname", s("h")),
                    ("transport", s("ssh")),
                    ("uri", s("ssh://h")),
                    ("hostnme", s("h")),
                ]),
            ],
        )
        .unwrap_err();
    assert_eq!(typo.code(), 4);
    assert!(typo.string().contains("hostnme"), "{}", typo.string());
    assert_eq!(
        code(server.call(
            "node.register",
            vec![
                s(&admin),
                st(&[
                    ("name", s("n")),
                    ("hostname", s("h")),
                    ("transport", s("carrier-pigeon")),
                    ("uri", s("x:y"))
                ])
            ]
        )),
        4
    );
    assert_eq!(code(server.call("vm.get", vec![s(&admin), i(999)])), 3);
}

#[test]
fn oversized_bodies_are_refused_and_the_limit_is_configurable() {
    let mut server = Server::start(&fresh_sqlite_database(), &["--max-body-bytes", "4096"]);
    let big = format!(
        "<methodCall><methodName>system.methodHelp</methodName><params><param><value><string>{}</string></value></param></params></methodCall>",
        "a".repeat(8192)
    );
    let (code, text) = fault_of(&server, big.as_bytes());
    assert_eq!(code, -32600);
    assert!(text.contains("4096"), "{text}");
    assert!(server.is_alive());
    assert!(server.call("system.listMethods", vec![]).is_ok());

    let mut default = Server::sqlite();
    let huge = vec![b' '; 9 << 20];
    let (code, _) = fault_of(&default, &huge);
    assert_eq!(code, -32600);
    assert!(default.is_alive());
}

#[test]
fn deep_nesting_is_refused_without_harm() {
    let mut server = Server::sqlite();
    let depth = 100_000;
    let body = format!(
        "<methodCall><methodName>system.listMethods</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(depth),
        "</data></array></value>".repeat(depth)
    );
    let (code, text) = fault_of(&server, body.as_bytes());
    assert_eq!(code, -32600, "{text}");
    assert!(text.contains("deeper"), "{text}");
    // Moderate nesting within the limit still works.
    let nested = (0..10).fold(i(1), |v, _| arr(vec![v]));
    assert_eq!(
        code_or_ok(server.call("system.multicall", vec![arr(vec![nested])])),
        0
    );
    assert!(server.is_alive());
}

fn code_or_ok(result: Result<Value, dxr::Fault>) -> i32 {
    result.map(|_| 0).unwrap_or_else(|f| f.code())
}

#[test]
fn failed_changes_leave_nothing_behind() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let clash = st(&[
        ("name", s("twice")),
        ("type", s("HVM")),
        ("node", i(n)),
        ("memory_kb", i(262_144)),
        ("vcpus", i(1)),
        (
            "disks",
            arr(vec![
                st(&[("target", s("xvda")), ("source", s("/a"))]),
                st(&[("target", s("xvda")), ("source", s("/b"))]),
            ]),
        ),
    ]);
    assert_eq!(code(server.call("vm.create", vec![s(&admin), clash])), 8);
    let Value::Array(vms) = server.call("vm.list", vec![s(&admin)]).unwrap() else {
        panic!()
    };
    assert!(vms.is_empty(), "a VM row survived a failed create");
    let Value::Array(jobs) = server.call("job.list", vec![s(&admin)]).unwrap() else {
        panic!()
    };
    assert!(
        jobs.iter().all(|j| member(j, "target_kind") == &s("node")),
        "a job survived a failed create: {jobs:?}"
    );

    let before = server.call("config.get", vec![s(&admin)]).unwrap();
    let mixed = st(&[("stat_retention_days", i(30)), ("vm_max_vcpus", i(100_000))]);
    let fault = server
        .call("config.set", vec![s(&admin), mixed])
        .unwrap_err();
    assert_eq!(fault.code(), 4);
    assert!(
        fault.string().contains("vm_max_vcpus"),
        "{}",
        fault.string()
    );
    assert_eq!(server.call("config.get", vec![s(&admin)]).unwrap(), before);
}

#[test]
fn cut_off_documents_are_not_well_formed_and_posix_language_tags_are_taken() {
    let server = Server::sqlite();
    let (code, _) = fault_of(
        &server,
        b"<?xml version=\"1.0\"?><methodCall><methodName>system.version</methodName><params><broken>",
    );
    assert_eq!(code, -32700);

    let admin = server.admin();
    for (given, stored) in [
        ("en_US", "en-US"),
        ("pt-br", "pt-BR"),
        ("de_DE.UTF-8", "de-DE"),
    ] {
        let name = format!("u{}", stored.to_lowercase().replace('-', ""));
        let spec = st(&[
            ("username", s(&name)),
            ("password", s("pass-word-1")),
            ("language", s(given)),
        ]);
        let id = int(&server.call("user.create", vec![s(&admin), spec]).unwrap());
        let user = server.call("user.get", vec![s(&admin), i(id)]).unwrap();
        assert_eq!(member(&user, "language"), &s(stored), "{given}");
    }
    server
        .call(
            "config.set",
            vec![s(&admin), st(&[("default_language", s("fr_FR"))])],
        )
        .unwrap();
    let options = server.call("config.get", vec![s(&admin)]).unwrap();
    assert_eq!(member(&options, "default_language"), &s("fr-FR"));
}
