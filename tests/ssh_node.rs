//! An `xl` node end to end: `zentific serve` reaches a real OpenSSH server on 127.0.0.1
//! running the xl stand-in (`scheduler/tests/fixtures/xl`), and every change is checked
//! in `vm.get` after a re-read and in the files on the node.

mod common;
#[path = "../scheduler/tests/support/sshd.rs"]
#[allow(dead_code)]
mod sshd;

use common::*;
use dxr::Value;
use std::fs;

fn succeeded(job: &Value) {
    assert_eq!(member(job, "state"), &s("succeeded"), "{job:?}");
}

#[test]
fn an_xl_node_creates_changes_snapshots_and_deletes_a_vm() {
    let node_host = sshd::TestSshd::start();
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    let node = node_on(&server, &admin, "xen-01", "ssh", &node_host.node_uri());
    let pool_dir = node_host.config_dir().join("pool");
    let pool = pool(&server, &admin, node, "images", &pool_dir.to_string_lossy());

    // A volume for the VM's disk: a sparse file on the node.
    let made = server
        .call(
            "storage.createVolume",
            vec![
                s(&admin),
                i(pool),
                st(&[("name", s("lab-1.img")), ("capacity_kb", i(65_536))]),
            ],
        )
        .unwrap();
    succeeded(&finished_job(&server, &admin, int(member(&made, "job"))));
    let image = pool_dir.join("lab-1.img");
    assert_eq!(fs::metadata(&image).unwrap().len(), 64 << 20);

    let spec = st(&[
        ("name", s("lab-1")),
        ("type", s("PV")),
        ("node", i(node)),
        ("memory_kb", i(262_144)),
        ("vcpus", i(1)),
        (
            "disks",
            arr(vec![st(&[
                ("target", s("xvda")),
                ("pool", i(pool)),
                ("volume", s("lab-1.img")),
            ])]),
        ),
    ]);
    let job = int(&server.call("vm.create", vec![s(&admin), spec]).unwrap());
    let done = finish_and_sync(&server, &admin, node, job);
    succeeded(&done);
    let vm = int(member(&done, "target"));
    let config = node_host.config_dir().join("lab-1.cfg");
    assert!(fs::read_to_string(&config).unwrap().contains("vcpus = 1\n"));

    // Stopped: a resize is its configuration.
    let job = int(&server
        .call("vm.update", vec![s(&admin), i(vm), st(&[("vcpus", i(2))])])
        .unwrap());
    succeeded(&finish_and_sync(&server, &admin, node, job));
    assert!(fs::read_to_string(&config).unwrap().contains("vcpus = 2\n"));

    // Snapshot the stopped VM's disk file, spoil the disk, revert.
    fs::write(&image, b"a clean system").unwrap();
    let job = int(&server
        .call("vm.snapshot", vec![s(&admin), i(vm), s("clean")])
        .unwrap());
    succeeded(&finish_and_sync(&server, &admin, node, job));
    fs::write(&image, b"rm -rf / with impunity").unwrap();
    let job = int(&server
        .call("vm.revert", vec![s(&admin), i(vm), s("clean")])
        .unwrap());
    succeeded(&finish_and_sync(&server, &admin, node, job));
    assert_eq!(fs::read(&image).unwrap(), b"a clean system");

    // Running: an interface is attached live and kept in the configuration.
    let job = int(&server.call("vm.start", vec![s(&admin), i(vm)]).unwrap());
    succeeded(&finish_and_sync(&server, &admin, node, job));
    // xl shows an idle guest as blocked (`-b----`).
    assert!(matches!(
        vm_state(&server, &admin, vm).as_str(),
        "running" | "idle"
    ));
    let added = server
        .call(
            "vm.addVif",
            vec![s(&admin), i(vm), st(&[("bridge", s("xenbr0"))])],
        )
        .unwrap();
    let done = finish_and_sync(&server, &admin, node, int(member(&added, "job")));
    succeeded(&done);
    assert_eq!(member(&done, "applies"), &s("now"));
    let live = node_host.domain_state("lab-1").unwrap();
    assert_eq!(live["vifs"].as_array().unwrap().len(), 1, "{live}");
    assert!(
        fs::read_to_string(&config)
            .unwrap()
            .contains("bridge=xenbr0")
    );
    let detail = server.call("vm.get", vec![s(&admin), i(vm)]).unwrap();
    assert!(matches!(member(&detail, "vifs"), Value::Array(v) if v.len() == 1));

    // A snapshot of the running VM is refused by the node, and nothing is listed.
    let job = int(&server
        .call("vm.snapshot", vec![s(&admin), i(vm), s("live")])
        .unwrap());
    let failed = finish_and_sync(&server, &admin, node, job);
    assert_eq!(member(&failed, "state"), &s("failed"), "{failed:?}");
    assert_eq!(member(&failed, "fault"), &i(5));
    let Value::Array(snapshots) = server.call("vm.snapshots", vec![s(&admin), i(vm)]).unwrap()
    else {
        panic!()
    };
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");

    // Stop and delete: the configuration and the snapshots go.
    let job = int(&server.call("vm.destroy", vec![s(&admin), i(vm)]).unwrap());
    succeeded(&finish_and_sync(&server, &admin, node, job));
    let job = int(&server.call("vm.delete", vec![s(&admin), i(vm)]).unwrap());
    succeeded(&finished_job(&server, &admin, job));
    assert!(!config.exists());
    assert!(!node_host.config_dir().join("snapshots/lab-1").exists());
    assert_eq!(code(server.call("vm.get", vec![s(&admin), i(vm)])), 3);
}
