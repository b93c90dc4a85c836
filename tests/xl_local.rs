//! The `xl-local` module transport end to end: `zentific serve` loads the in-tree
//! `xl_local` module, a node names its transport, and the scheduler drives `xl` on this
//! machine — here the xl stand-in (`scheduler/tests/fixtures/xl`), which keeps its state
//! in files; `../shared/xenlab` checks the same module against a real Xen dom0.

mod common;
#[path = "../scheduler/tests/support/sshd.rs"]
#[allow(dead_code)]
mod sshd;

use common::*;
use dxr::Value;
use std::fs;

#[test]
fn a_node_on_the_xl_local_transport_defines_starts_and_changes_a_vm() {
    let modules = modules_dir_with(&[built_module("zentific-module-xl-local", "xl_local")]);
    let work = tempfile::tempdir().unwrap();
    let (state, log) = (
        work.path().join("xl-state.json"),
        work.path().join("xl-calls.log"),
    );
    let configs = work.path().join("configs");
    let server = Server::start_with_env(
        "127.0.0.1:0",
        &fresh_sqlite_database(),
        &["--modules-dir", &modules.path().to_string_lossy()],
        &[
            ("XL_STANDIN_STATE", &state.to_string_lossy()),
            ("XL_STANDIN_LOG", &log.to_string_lossy()),
        ],
    );
    let admin = server.admin();
    let uri = format!(
        "xl-local:?xl={}&config_dir={}",
        sshd::xl_stand_in().display(),
        configs.display()
    );
    let spec = |transport: &str| {
        st(&[
            ("name", s("dom0")),
            ("hostname", s("localhost")),
            ("transport", s(transport)),
            ("uri", s(&uri)),
        ])
    };
    // Not until the module is enabled; a made-up transport never.
    let refused = server
        .call("node.register", vec![s(&admin), spec("xl-local")])
        .unwrap_err();
    assert_eq!(refused.code(), 4);
    assert!(
        refused
            .string()
            .contains("transport xl-local is module xl_local's, which is disabled"),
        "{}",
        refused.string()
    );
    let Value::Array(list) = server.call("module.list", vec![s(&admin)]).unwrap() else {
        panic!()
    };
    let listed = list
        .iter()
        .find(|m| member(m, "name") == &s("xl_local"))
        .unwrap();
    assert_eq!(member(listed, "layers"), &arr(vec![s("scheduler")]));
    server
        .call("module.enable", vec![s(&admin), s("xl_local")])
        .unwrap();
    assert_eq!(
        code(server.call("node.register", vec![s(&admin), spec("xl-remote")])),
        4
    );
    let node = node_on(&server, &admin, "dom0", "xl-local", &uri);

    let spec = st(&[
        ("name", s("lab-1")),
        ("type", s("PV")),
        ("node", i(node)),
        ("memory_kb", i(262_144)),
        ("vcpus", i(1)),
    ]);
    let job = int(&server.call("vm.create", vec![s(&admin), spec]).unwrap());
    let done = finish_and_sync(&server, &admin, node, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    let vm = int(member(&done, "target"));
    let config = configs.join("lab-1.cfg");
    assert!(fs::read_to_string(&config).unwrap().contains("vcpus = 1\n"));

    let job = int(&server.call("vm.start", vec![s(&admin), i(vm)]).unwrap());
    let started = finish_and_sync(&server, &admin, node, job);
    assert_eq!(member(&started, "state"), &s("succeeded"), "{started:?}");
    let state = vm_state(&server, &admin, vm);
    assert!(state == "running" || state == "idle", "{state}");
    let calls = fs::read_to_string(&log).unwrap();
    assert!(calls.contains("\"create\""), "{calls}");

    // Live change on the running domain, through the same module.
    let job = int(&server
        .call(
            "vm.update",
            vec![s(&admin), i(vm), st(&[("memory_kb", i(131_072))])],
        )
        .unwrap());
    let changed = finish_and_sync(&server, &admin, node, job);
    assert_eq!(member(&changed, "state"), &s("succeeded"), "{changed:?}");
    let vm_now = server.call("vm.get", vec![s(&admin), i(vm)]).unwrap();
    assert_eq!(member(&vm_now, "memory_kb"), &Value::Long(131_072));

    // Disabled, its nodes are unreachable: a job waits and says why, and runs once the
    // module is back.
    server
        .call("module.disable", vec![s(&admin), s("xl_local")])
        .unwrap();
    let job = int(&server.call("vm.shutdown", vec![s(&admin), i(vm)]).unwrap());
    zentific_test_support::wait_until(
        std::time::Duration::from_secs(20),
        "the job to report the disabled module",
        || {
            let job = server.call("job.get", vec![s(&admin), i(job)]).unwrap();
            match member(&job, "error") {
                Value::String(e) if e.contains("disabled") => Some(()),
                _ => None,
            }
        },
    );
    server
        .call("module.enable", vec![s(&admin), s("xl_local")])
        .unwrap();
    let stopped = finished_job(&server, &admin, job);
    assert_eq!(member(&stopped, "state"), &s("succeeded"), "{stopped:?}");
}
