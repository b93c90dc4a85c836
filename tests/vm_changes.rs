//! VM changes end to end on libvirt's test driver: devices, snapshots and volumes, each
//! checked in `vm.get` (or `vm.snapshots`, `storage.volumes`) after the node was read
//! again, against the job's outcome; and a nightly revert schedule (the lab reset).

mod common;

use common::*;
use dxr::Value;

struct Lab {
    server: Server,
    admin: String,
    node: i32,
}

fn lab() -> Lab {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    let node = node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    Lab {
        server,
        admin,
        node,
    }
}

impl Lab {
    fn call(&self, method: &str, mut params: Vec<Value>) -> Result<Value, dxr::Fault> {
        params.insert(0, s(&self.admin));
        self.server.call(method, params)
    }

    /// Run a job to its end, then read the node again; returns the finished job.
    fn run(&self, job: i32) -> Value {
        finish_and_sync(&self.server, &self.admin, self.node, job)
    }

    fn list(&self, vm: i32, what: &str) -> Vec<Value> {
        match member(&self.call("vm.get", vec![i(vm)]).unwrap(), what) {
            Value::Array(items) => items.clone(),
            other => panic!("{what} is {other:?}"),
        }
    }

    fn snapshot_names(&self, vm: i32) -> Vec<Value> {
        let Value::Array(list) = self.call("vm.snapshots", vec![i(vm)]).unwrap() else {
            panic!()
        };
        list.iter()
            .map(|snap| member(snap, "name").clone())
            .collect()
    }
}

fn succeeded(job: &Value, applies: &str) {
    assert_eq!(member(job, "state"), &s("succeeded"), "{job:?}");
    assert_eq!(member(job, "applies"), &s(applies), "{job:?}");
}

#[test]
fn devices_attach_to_a_stopped_vm_and_detach_again() {
    let lab = lab();
    let backup = vm_named(&lab.server, &lab.admin, "backup"); // stopped
    let vif = st(&[("bridge", s("xenbr1")), ("mac", s("00:16:3E:0A:0B:0C"))]);
    let added = lab.call("vm.addVif", vec![i(backup), vif]).unwrap();
    let job = int(member(&added, "job"));
    succeeded(&lab.run(job), "now");
    let vifs = lab.list(backup, "vifs");
    assert_eq!(vifs.len(), 1, "{vifs:?}");
    assert_eq!(member(&vifs[0], "mac"), &s("00:16:3e:0a:0b:0c"));
    assert_eq!(member(&vifs[0], "bridge"), &s("xenbr1"));

    let disk = st(&[
        ("target", s("xvdb")),
        ("source", s("/srv/xen/backup-data.img")),
    ]);
    let added = lab.call("vm.addDisk", vec![i(backup), disk]).unwrap();
    succeeded(&lab.run(int(member(&added, "job"))), "now");
    let disks = lab.list(backup, "disks");
    assert_eq!(disks.len(), 1, "{disks:?}");
    assert_eq!(member(&disks[0], "target"), &s("xvdb"));

    // Detach both; a second detach of the same disk while the first waits is a conflict.
    let disk_id = int(member(&disks[0], "id"));
    let job = int(&lab
        .call("vm.removeDisk", vec![i(backup), i(disk_id)])
        .unwrap());
    let again = lab.call("vm.removeDisk", vec![i(backup), i(disk_id)]);
    assert!(matches!(code(again), 8 | 3));
    succeeded(&lab.run(job), "now");
    assert!(lab.list(backup, "disks").is_empty());
    let vif_id = int(member(&vifs[0], "id"));
    let job = int(&lab
        .call("vm.removeVif", vec![i(backup), i(vif_id)])
        .unwrap());
    succeeded(&lab.run(job), "now");
    assert!(lab.list(backup, "vifs").is_empty());
    assert_eq!(
        code(lab.call("vm.removeVif", vec![i(backup), i(vif_id)])),
        3
    );
}

#[test]
fn a_running_vm_gets_its_device_at_the_next_boot_and_a_failed_attach_changes_nothing() {
    let lab = lab();
    let web = vm_named(&lab.server, &lab.admin, "web"); // running
    let vif = st(&[("mac", s("00:16:3e:00:00:aa"))]);
    let added = lab.call("vm.addVif", vec![i(web), vif.clone()]).unwrap();
    // The test driver has no hot-plug: the definition changes, for the next boot.
    succeeded(&lab.run(int(member(&added, "job"))), "next boot");
    assert_eq!(lab.list(web, "vifs").len(), 1);
    // The same MAC again is refused at the call.
    assert_eq!(code(lab.call("vm.addVif", vec![i(web), vif])), 8);

    // db's definition has a disk at xvda that Zentific never recorded: the hypervisor
    // side refuses a second one there, the job fails, and vm.get is as it was.
    let db = vm_named(&lab.server, &lab.admin, "db");
    let before = lab.call("vm.get", vec![i(db)]).unwrap();
    let clash = st(&[("target", s("xvda")), ("source", s("/srv/xen/other.img"))]);
    let added = lab.call("vm.addDisk", vec![i(db), clash]).unwrap();
    let failed = lab.run(int(member(&added, "job")));
    assert_eq!(member(&failed, "state"), &s("failed"), "{failed:?}");
    let after = lab.call("vm.get", vec![i(db)]).unwrap();
    assert_eq!(member(&before, "disks"), member(&after, "disks"));
    assert_eq!(member(&after, "pending"), &arr(vec![]));
    // Bad input is refused at the call, and nothing is recorded.
    let bad = st(&[("source", s("/srv/xen/web-d.img"))]);
    assert_eq!(code(lab.call("vm.addDisk", vec![i(web), bad])), -32602);
    assert_eq!(lab.list(web, "disks"), Vec::<Value>::new());
}

#[test]
fn snapshot_revert_and_delete_on_the_hypervisor() {
    let lab = lab();
    let web = vm_named(&lab.server, &lab.admin, "web"); // running
    let job = int(&lab.call("vm.snapshot", vec![i(web), s("clean")]).unwrap());
    // Being made: not listed yet, and the name is taken.
    assert_eq!(code(lab.call("vm.snapshot", vec![i(web), s("clean")])), 8);
    succeeded(&lab.run(job), "now");
    assert_eq!(lab.snapshot_names(web), [s("clean")]);
    let Value::Array(list) = lab.call("vm.snapshots", vec![i(web)]).unwrap() else {
        panic!()
    };
    assert_eq!(member(&list[0], "state"), &s("running"));

    // Change the VM, then revert: it is running again, as when the snapshot was taken.
    let job = int(&lab.call("vm.pause", vec![i(web)]).unwrap());
    lab.run(job);
    assert_eq!(vm_state(&lab.server, &lab.admin, web), "paused");
    let job = int(&lab.call("vm.revert", vec![i(web), s("clean")]).unwrap());
    succeeded(&lab.run(job), "now");
    assert_eq!(vm_state(&lab.server, &lab.admin, web), "running");

    assert_eq!(code(lab.call("vm.revert", vec![i(web), s("nope")])), 3);
    assert_eq!(
        code(lab.call("vm.snapshot", vec![i(web), s("bad name!")])),
        4
    );
    let job = int(&lab
        .call("vm.deleteSnapshot", vec![i(web), s("clean")])
        .unwrap());
    succeeded(&lab.run(job), "now");
    assert!(lab.snapshot_names(web).is_empty());
    assert_eq!(
        code(lab.call("vm.deleteSnapshot", vec![i(web), s("clean")])),
        3
    );
}

#[test]
fn a_schedule_reverts_a_vm_to_its_snapshot() {
    let lab = lab();
    let backup = vm_named(&lab.server, &lab.admin, "backup"); // stopped
    let job = int(&lab
        .call("vm.snapshot", vec![i(backup), s("lab-reset")])
        .unwrap());
    succeeded(&lab.run(job), "now");
    let Value::Array(list) = lab.call("vm.snapshots", vec![i(backup)]).unwrap() else {
        panic!()
    };
    let id = int(member(&list[0], "id"));
    // Another VM's snapshot id is refused.
    let web = vm_named(&lab.server, &lab.admin, "web");
    let wrong = st(&[
        ("name", s("wrong")),
        ("vm", i(web)),
        ("action", s("revert")),
        ("params", st(&[("snapshot", i(id))])),
        ("cron", s("0 3 * * *")),
    ]);
    assert_eq!(code(lab.call("schedule.create", vec![wrong])), 3);
    // Every second here; a lab would say "0 3 * * *".
    let nightly = st(&[
        ("name", s("reset")),
        ("vm", i(backup)),
        ("action", s("revert")),
        ("params", st(&[("snapshot", i(id))])),
        ("cron", s("* * * * * *")),
        ("count", i(1)),
    ]);
    lab.call("schedule.create", vec![nightly]).unwrap();
    let reverted = zentific_test_support::wait_until(
        std::time::Duration::from_secs(20),
        "the scheduled revert",
        || {
            let Value::Array(jobs) = lab
                .call("job.list", vec![st(&[("vm", i(backup))])])
                .unwrap()
            else {
                return None;
            };
            jobs.into_iter().find(|j| {
                member(j, "action") == &s("revert") && member(j, "state") == &s("succeeded")
            })
        },
    );
    assert_eq!(member(&reverted, "kind"), &s("recurring"));
}

#[test]
fn volumes_are_made_in_the_nodes_pool_and_counted_when_they_exist() {
    let lab = lab();
    let pool = pool(&lab.server, &lab.admin, lab.node, "images", "/srv/xen");
    let allocation = |lab: &Lab| {
        let Value::Array(pools) = lab.call("storage.list", vec![]).unwrap() else {
            panic!()
        };
        let found = pools.iter().find(|p| member(p, "id") == &i(pool)).unwrap();
        member(found, "allocation_kb").clone()
    };
    let before = allocation(&lab);
    let spec = st(&[("name", s("data.img")), ("capacity_kb", i(1 << 20))]);
    let made = lab
        .call("storage.createVolume", vec![i(pool), spec])
        .unwrap();
    let job = int(member(&made, "job"));
    // Until its job succeeds the volume is adding and the pool's allocation unchanged
    // (read first: the job may finish between the two reads).
    let early = allocation(&lab);
    let Value::Array(volumes) = lab.call("storage.volumes", vec![i(pool)]).unwrap() else {
        panic!()
    };
    if member(&volumes[0], "state") == &s("adding") {
        assert_eq!(early, before);
    }
    let done = finished_job(&lab.server, &lab.admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    let Value::Array(volumes) = lab.call("storage.volumes", vec![i(pool)]).unwrap() else {
        panic!()
    };
    assert_eq!(member(&volumes[0], "state"), &s("present"));
    assert_ne!(allocation(&lab), before);

    // A VM's disk from it keeps it from being deleted.
    let backup = vm_named(&lab.server, &lab.admin, "backup");
    let disk = st(&[
        ("target", s("xvdb")),
        ("pool", i(pool)),
        ("volume", s("data.img")),
    ]);
    let added = lab.call("vm.addDisk", vec![i(backup), disk]).unwrap();
    succeeded(&lab.run(int(member(&added, "job"))), "now");
    let volume = int(member(&volumes[0], "id"));
    assert_eq!(code(lab.call("storage.deleteVolume", vec![i(volume)])), 5);
    let disk_id = int(member(&lab.list(backup, "disks")[0], "id"));
    let job = int(&lab
        .call("vm.removeDisk", vec![i(backup), i(disk_id)])
        .unwrap());
    lab.run(job);
    let job = int(&lab.call("storage.deleteVolume", vec![i(volume)]).unwrap());
    let done = finished_job(&lab.server, &lab.admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    assert_eq!(allocation(&lab), before);
    let Value::Array(volumes) = lab.call("storage.volumes", vec![i(pool)]).unwrap() else {
        panic!()
    };
    assert!(volumes.is_empty());
}

#[test]
fn a_xenapi_vm_is_cloned_from_the_template_its_os_names() {
    let server = Server::sqlite(); // no scheduler: only what the API records
    let admin = server.admin();
    let node = node_on(
        &server,
        &admin,
        "xcp",
        "xenapi",
        "https://root:secret@192.0.2.1/",
    );
    let spec = |os: &str| {
        st(&[
            ("name", s("guest")),
            ("type", s("HVM")),
            ("node", i(node)),
            ("memory_kb", i(262_144)),
            ("vcpus", i(1)),
            ("os", s(os)),
        ])
    };
    assert_eq!(code(server.call("vm.create", vec![s(&admin), spec("")])), 4);
    let Value::Array(vms) = server.call("vm.list", vec![s(&admin)]).unwrap() else {
        panic!()
    };
    assert!(vms.is_empty(), "a refused VM was recorded");
    server
        .call("vm.create", vec![s(&admin), spec("Debian Bookworm 12")])
        .unwrap();
}

#[test]
fn on_the_xenapi_simulator_a_vm_is_provisioned_changed_snapshotted_and_deleted() {
    let simulator = XapiSimulator::start(0);
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    let node = node_on(&server, &admin, "xcp", "xenapi", &simulator.node_uri());
    vm_named(&server, &admin, "web-1");
    let lab = Lab {
        server,
        admin,
        node,
    };
    let spec = st(&[
        ("name", s("lab-1")),
        ("type", s("PV")),
        ("node", i(node)),
        ("memory_kb", i(524_288)),
        ("vcpus", i(2)),
        ("os", s("Debian Bookworm 12")),
        ("vifs", arr(vec![st(&[("bridge", s("xenbr0"))])])),
    ]);
    let job = int(&lab.call("vm.create", vec![spec]).unwrap());
    let done = lab.run(job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    let vm = int(member(&done, "target"));
    let made = lab.call("vm.get", vec![i(vm)]).unwrap();
    assert_eq!(member(&made, "state"), &s("stopped"), "{made:?}");
    assert_eq!(member(&made, "memory_kb"), &Value::Long(524_288));
    assert_eq!(lab.list(vm, "vifs").len(), 1);

    let added = lab
        .call("vm.addVif", vec![i(vm), st(&[("bridge", s("xenbr1"))])])
        .unwrap();
    succeeded(&lab.run(int(member(&added, "job"))), "now");
    assert_eq!(lab.list(vm, "vifs").len(), 2);

    // A halted VM's vCPUs are the ones it boots with.
    let job = int(&lab
        .call("vm.update", vec![i(vm), st(&[("vcpus", i(1))])])
        .unwrap());
    succeeded(&lab.run(job), "now");
    assert_eq!(
        member(&lab.call("vm.get", vec![i(vm)]).unwrap(), "vcpus"),
        &i(1)
    );

    let job = int(&lab.call("vm.snapshot", vec![i(vm), s("clean")]).unwrap());
    succeeded(&lab.run(job), "now");
    assert_eq!(lab.snapshot_names(vm), [s("clean")]);
    let job = int(&lab.call("vm.revert", vec![i(vm), s("clean")]).unwrap());
    succeeded(&lab.run(job), "now");
    let job = int(&lab
        .call("vm.deleteSnapshot", vec![i(vm), s("clean")])
        .unwrap());
    succeeded(&lab.run(job), "now");
    assert!(lab.snapshot_names(vm).is_empty());

    let job = int(&lab.call("vm.delete", vec![i(vm)]).unwrap());
    let done = finished_job(&lab.server, &lab.admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    assert_eq!(code(lab.call("vm.get", vec![i(vm)])), 3);
}
