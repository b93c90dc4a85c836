//! End-to-end tests of the `ssh` transport: a real OpenSSH server on 127.0.0.1 (see
//! `support/sshd.rs`) running the `xl` stand-in from `fixtures/xl`, which answers like Xen
//! 4.17's xl and logs every call.

mod support;

use std::fs;
use zentific_sql::PowerAction;

use support::sshd::{TestSshd, xl_stand_in};
use zentific_scheduler::dispatch::ssh::{SshDispatcher, SshSettings};
use zentific_scheduler::dispatch::{
    Action, Device, DispatchError, Dispatcher, DomainRef, DomainSpec,
};
use zentific_sql::{VmState, VmType};

const WEB1_UUID: &str = "6b1d8e8c-0f4a-4c1e-9a6b-1f2e3d4c5b6a";
const DB1_UUID: &str = "0b5e3f7c-1111-4222-8333-944455556666";

fn web1() -> DomainRef<'static> {
    DomainRef {
        uuid: WEB1_UUID,
        name: "web1",
    }
}

fn connect(sshd: &TestSshd) -> SshDispatcher {
    SshDispatcher::connect(sshd.settings()).expect("connect to the test sshd")
}

fn calls(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|call| call.iter().map(|arg| (*arg).to_owned()).collect())
        .collect()
}

fn spec(name: &str, uuid: &str) -> DomainSpec {
    DomainSpec {
        uuid: uuid.to_owned(),
        name: name.to_owned(),
        vm_type: VmType::Pv,
        os: String::new(),
        memory_kb: 256 * 1024,
        max_memory_kb: 512 * 1024,
        vcpus: 2,
        disks: vec![("xvda".into(), "/dev/vg0/app1".into(), false)],
        vifs: vec![("00:16:3e:aa:bb:cc".into(), "xenbr0".into())],
    }
}

#[test]
fn inventory_comes_from_xl_list_over_ssh() {
    let sshd = TestSshd::start();
    sshd.seed_domains(&[
        ("web1", 3, WEB1_UUID, 512, 2),
        ("db1", 7, DB1_UUID, 2048, 4),
    ]);
    let dispatcher = connect(&sshd);

    let mut domains = dispatcher.domains().expect("inventory");
    domains.sort_by(|a, b| a.name.cmp(&b.name));

    assert_eq!(domains.len(), 2, "Domain-0 is not a VM: {domains:?}");
    assert_eq!(domains[0].name, "db1");
    assert_eq!(domains[0].uuid, DB1_UUID);
    assert_eq!(domains[0].memory_kb, 2048 * 1024);
    assert_eq!(
        domains[0].max_memory_kb,
        2 * 2048 * 1024,
        "ceiling from xl list -l"
    );
    assert_eq!(domains[0].vcpus, 4);
    assert_eq!(domains[0].vm_type, Some(VmType::Pv));
    assert_eq!(domains[1].name, "web1");
    assert_eq!(
        domains[1].state,
        VmState::Idle,
        "the stand-in's guests are blocked (-b----)"
    );
    assert!(!dispatcher.lists_stopped_domains());
    assert_eq!(sshd.xl_calls(), calls(&[&["list", "-v"], &["list", "-l"]]));
}

#[test]
fn each_action_runs_its_xl_command_once_and_changes_the_domain() {
    let sshd = TestSshd::start();
    sshd.seed_domains(&[("web1", 3, WEB1_UUID, 512, 2)]);
    let dispatcher = connect(&sshd);
    let field = |name: &str, key: &str| sshd.domain_state(name).map(|domain| domain[key].clone());

    dispatcher
        .act(web1(), Action::Power(PowerAction::Pause))
        .expect("pause");
    assert_eq!(field("web1", "pause_count"), Some(1.into()));
    let paused = dispatcher.domains().expect("inventory");
    assert_eq!(paused[0].state, VmState::Paused);

    dispatcher
        .act(web1(), Action::Power(PowerAction::Unpause))
        .expect("unpause");
    assert_eq!(field("web1", "pause_count"), Some(0.into()));

    dispatcher
        .act(web1(), Action::SetMemory(256 * 1024))
        .expect("mem-set");
    assert_eq!(field("web1", "memory_kb"), Some((256 * 1024).into()));

    dispatcher
        .act(web1(), Action::SetMaxMemory(768 * 1024))
        .expect("mem-max");
    assert_eq!(field("web1", "max_memory_kb"), Some((768 * 1024).into()));

    dispatcher
        .act(web1(), Action::SetVcpus(1))
        .expect("vcpu-set");
    assert_eq!(field("web1", "vcpus"), Some(1.into()));

    dispatcher
        .act(web1(), Action::Power(PowerAction::Reboot))
        .expect("reboot");
    assert_eq!(
        field("web1", "domid"),
        Some(4.into()),
        "a rebooted domain gets a new ID"
    );

    dispatcher
        .act(web1(), Action::Power(PowerAction::Shutdown))
        .expect("shutdown");
    assert_eq!(field("web1", "domid"), None);

    dispatcher.define(&spec("app1", WEB1_UUID)).expect("define");
    dispatcher
        .act(
            DomainRef {
                uuid: WEB1_UUID,
                name: "app1",
            },
            Action::Power(PowerAction::Start),
        )
        .expect("start");
    assert_eq!(field("app1", "uuid"), Some(WEB1_UUID.into()));
    dispatcher
        .act(
            DomainRef {
                uuid: WEB1_UUID,
                name: "app1",
            },
            Action::Power(PowerAction::Destroy),
        )
        .expect("destroy");
    assert_eq!(field("app1", "uuid"), None);

    let config = format!("{}/app1.cfg", sshd.config_dir().display());
    assert_eq!(
        sshd.xl_calls(),
        calls(&[
            &["list", "-v", "web1"],
            &["pause", "web1"],
            &["list", "-v"],
            &["list", "-l"],
            &["unpause", "web1"],
            // Sizes change live only for a listed (running) domain.
            &["list", "-v", "web1"],
            &["mem-set", "web1", "262144k"],
            &["list", "-v", "web1"],
            &["mem-max", "web1", "786432k"],
            &["list", "-v", "web1"],
            &["vcpu-set", "web1", "1"],
            &["reboot", "web1"],
            &["shutdown", "web1"],
            &["create", &config],
            &["destroy", "app1"],
        ])
    );
}

#[test]
fn refusals_for_the_domains_state_are_wrong_state_in_xls_words() {
    let sshd = TestSshd::start();
    sshd.seed_domains(&[("web1", 3, WEB1_UUID, 512, 2)]);
    let dispatcher = connect(&sshd);

    // The real xl exits 0 here and only prints libxl's error.
    let not_paused = dispatcher
        .act(web1(), Action::Power(PowerAction::Unpause))
        .expect_err("web1 is not paused");
    assert_eq!(
        not_paused,
        DispatchError::WrongState(
            "libxl: error: libxl_domain.c:688:domain_unpause_done: Domain 3:Unpausing domain: Invalid argument"
                .into()
        )
    );

    dispatcher
        .act(web1(), Action::Power(PowerAction::Pause))
        .expect("pause");
    let again = dispatcher
        .act(web1(), Action::Power(PowerAction::Pause))
        .expect_err("already paused");
    assert!(
        matches!(&again, DispatchError::WrongState(message) if message.contains("already paused")),
        "{again:?}"
    );
    assert_eq!(
        sshd.domain_state("web1").expect("web1")["pause_count"],
        1,
        "no nested pause"
    );

    let paused_shutdown = dispatcher
        .act(web1(), Action::Power(PowerAction::Shutdown))
        .expect_err("paused guest");
    assert_eq!(
        paused_shutdown,
        DispatchError::Failed(
            "libxl: error: libxl_domain.c:854:pvcontrol_cb: guest didn't acknowledge control request: -9\nshutdown failed (rc=-9)"
                .into()
        )
    );
    dispatcher
        .act(web1(), Action::Power(PowerAction::Unpause))
        .expect("unpause");

    dispatcher
        .define(&spec("web1", WEB1_UUID))
        .expect("define web1");
    let running = dispatcher
        .act(web1(), Action::Power(PowerAction::Start))
        .expect_err("already running");
    assert!(
        matches!(&running, DispatchError::WrongState(message) if message.ends_with("Domain with name \"web1\" already exists.")),
        "{running:?}"
    );

    let too_much = dispatcher
        .act(web1(), Action::SetMemory(4 * 1024 * 1024))
        .expect_err("above ceiling");
    assert!(
        matches!(&too_much, DispatchError::Refused(message) if message.contains("memory_dynamic_max must be less than or equal to memory_static_max")),
        "{too_much:?}"
    );
}

#[test]
fn unknown_domains_are_no_such_domain() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    let ghost = DomainRef {
        uuid: DB1_UUID,
        name: "ghost",
    };

    for action in [
        Action::Power(PowerAction::Pause),
        Action::Power(PowerAction::Unpause),
        Action::Power(PowerAction::Destroy),
    ] {
        assert_eq!(
            dispatcher.act(ghost, action),
            Err(DispatchError::NoSuchDomain(
                "ghost is an invalid domain identifier (rc=-6)".into()
            )),
            "{action:?}"
        );
    }
    // Not running and not defined by Zentific: nothing to resize either.
    let resize = dispatcher.act(ghost, Action::SetVcpus(1));
    assert!(
        matches!(&resize, Err(DispatchError::NoSuchDomain(message)) if message.contains("has no configuration")),
        "{resize:?}"
    );
    let never_defined = dispatcher
        .act(ghost, Action::Power(PowerAction::Start))
        .expect_err("no config");
    assert_eq!(
        never_defined,
        DispatchError::NoSuchDomain(format!(
            "Failed to read config file: {}/ghost.cfg: No such file or directory",
            sshd.config_dir().display()
        ))
    );
}

#[test]
fn names_the_shell_or_xl_would_misread_never_reach_the_node() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    for name in [
        "-h",
        "web1; touch /tmp/zentific-injected",
        "$(reboot)",
        "../etc/passwd",
        "",
    ] {
        let refused = dispatcher.act(
            DomainRef {
                uuid: WEB1_UUID,
                name,
            },
            Action::Power(PowerAction::Destroy),
        );
        assert!(
            matches!(refused, Err(DispatchError::Failed(_))),
            "{name:?}: {refused:?}"
        );
    }
    assert_eq!(sshd.xl_calls(), Vec::<Vec<String>>::new());
}

#[test]
fn define_writes_the_config_and_guards_other_domains_files() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    let app1 = spec("app1", WEB1_UUID);

    dispatcher.define(&app1).expect("define");
    let path = sshd.config_dir().join("app1.cfg");
    let written = fs::read_to_string(&path).expect("config written");
    assert!(written.contains("name = \"app1\"\n"), "{written}");
    assert!(
        written.contains(&format!("uuid = \"{WEB1_UUID}\"\n")),
        "{written}"
    );
    assert!(
        written.contains("memory = 256\nmaxmem = 512\nvcpus = 2\n"),
        "{written}"
    );
    assert!(
        written.contains("disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/vg0/app1' ]")
    );
    assert!(written.contains("vif = [ 'mac=00:16:3e:aa:bb:cc,bridge=xenbr0' ]"));
    assert!(
        sshd.domain_state("app1").is_none(),
        "define leaves the domain stopped"
    );

    // Redefining the same domain replaces its file.
    dispatcher
        .define(&DomainSpec {
            vcpus: 4,
            ..app1.clone()
        })
        .expect("redefine");
    assert!(
        fs::read_to_string(&path)
            .expect("config")
            .contains("vcpus = 4\n")
    );

    // Another domain may not take the name's file.
    let clash = dispatcher
        .define(&spec("app1", DB1_UUID))
        .expect_err("name taken");
    assert!(
        matches!(&clash, DispatchError::Failed(message) if message.contains("already exists for another domain")),
        "{clash:?}"
    );
    assert!(
        fs::read_to_string(&path)
            .expect("config")
            .contains(WEB1_UUID)
    );

    // What define wrote is what xl create reads.
    dispatcher
        .act(
            DomainRef {
                uuid: WEB1_UUID,
                name: "app1",
            },
            Action::Power(PowerAction::Start),
        )
        .expect("start");
    let started = dispatcher.domains().expect("inventory");
    assert_eq!(started.len(), 1);
    assert_eq!(
        (
            started[0].uuid.as_str(),
            started[0].memory_kb,
            started[0].max_memory_kb,
            started[0].vcpus
        ),
        (WEB1_UUID, 256 * 1024, 512 * 1024, 4)
    );

    let unsafe_disk = DomainSpec {
        disks: vec![("xvda".into(), "/img', 'target=/etc/shadow".into(), false)],
        ..spec("app2", DB1_UUID)
    };
    assert!(matches!(
        dispatcher.define(&unsafe_disk),
        Err(DispatchError::Failed(_))
    ));
    assert!(!sshd.config_dir().join("app2.cfg").exists());
}

#[test]
fn one_master_connection_carries_every_command() {
    let sshd = TestSshd::start();
    sshd.seed_domains(&[("web1", 3, WEB1_UUID, 512, 2)]);
    let dispatcher = connect(&sshd);

    for _ in 0..10 {
        dispatcher
            .act(web1(), Action::Power(PowerAction::Pause))
            .expect("pause");
        dispatcher
            .act(web1(), Action::Power(PowerAction::Unpause))
            .expect("unpause");
    }
    // More workers than sshd's default MaxSessions (10) channels per connection.
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                for _ in 0..3 {
                    dispatcher
                        .domains()
                        .expect("inventory from a worker thread");
                }
            });
        }
    });

    assert_eq!(sshd.xl_calls().len(), 30 + 16 * 3 * 2);
    assert_eq!(sshd.accepted_logins(), 1, "one SSH login for all commands");
}

#[test]
fn a_stopped_sshd_is_unreachable_and_the_dispatcher_reconnects() {
    let mut sshd = TestSshd::start();
    sshd.seed_domains(&[("web1", 3, WEB1_UUID, 512, 2)]);
    let dispatcher = connect(&sshd);
    assert_eq!(dispatcher.domains().expect("inventory").len(), 1);

    sshd.stop();
    let listing = dispatcher.domains().expect_err("sshd is down");
    assert!(
        matches!(listing, DispatchError::Unreachable(_)),
        "{listing:?}"
    );
    assert!(listing.is_transient());
    let pause = dispatcher
        .act(web1(), Action::Power(PowerAction::Pause))
        .expect_err("sshd is down");
    assert!(matches!(pause, DispatchError::Unreachable(_)), "{pause:?}");
    assert_eq!(sshd.domain_state("web1").expect("web1")["pause_count"], 0);

    sshd.resume();
    assert_eq!(
        dispatcher
            .domains()
            .expect("inventory after sshd came back")
            .len(),
        1
    );
    dispatcher
        .act(web1(), Action::Power(PowerAction::Pause))
        .expect("pause after sshd came back");
    assert_eq!(
        sshd.accepted_logins(),
        2,
        "exactly one new master connection"
    );
}

#[test]
fn connecting_to_a_closed_port_is_unreachable() {
    let mut sshd = TestSshd::start();
    sshd.stop();
    let refused = SshDispatcher::connect(sshd.settings())
        .err()
        .expect("nothing listens");
    assert!(
        matches!(&refused, DispatchError::Unreachable(message) if message.contains("Connection refused")),
        "{refused:?}"
    );
}

#[test]
fn node_uri_settings_reach_the_node() {
    let sshd = TestSshd::start();
    let defaults = sshd.settings();
    let uri = format!(
        "ssh://{}@127.0.0.1:{}?xl={}&config_dir={}",
        defaults.user,
        sshd.port(),
        xl_stand_in().display(),
        sshd.config_dir().display()
    );
    let settings = SshSettings {
        identity_file: defaults.identity_file.clone(),
        known_hosts_file: defaults.known_hosts_file.clone(),
        connect_timeout: defaults.connect_timeout,
        ..SshSettings::from_uri(&uri, "nobody").expect("valid URI")
    };
    assert_eq!(settings, defaults);
    let dispatcher = SshDispatcher::connect(settings).expect("connect");
    assert_eq!(dispatcher.domains().expect("inventory"), vec![]);
}

#[test]
fn calls_from_async_code_are_refused_instead_of_panicking() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let inside = runtime.block_on(async { dispatcher.domains() });
    assert!(
        matches!(&inside, Err(DispatchError::Failed(message)) if message.contains("plain thread")),
        "{inside:?}"
    );
    assert!(dispatcher.domains().is_ok());
}

#[test]
fn a_missing_xl_program_is_a_failure_not_an_outage() {
    let sshd = TestSshd::start();
    let settings = SshSettings {
        xl_command: "/nonexistent/xl".into(),
        ..sshd.settings()
    };
    let dispatcher = SshDispatcher::connect(settings).expect("connect");
    assert_eq!(
        dispatcher.domains(),
        Err(DispatchError::Failed(
            "/nonexistent/xl: command not found on the node".into()
        ))
    );
}

/// A domain defined with one file-backed disk in the test sshd's config directory.
fn define_with_file_disk(
    sshd: &TestSshd,
    dispatcher: &SshDispatcher,
) -> (DomainSpec, std::path::PathBuf) {
    let disk = sshd.config_dir().join("app1-disk.img");
    fs::create_dir_all(sshd.config_dir()).unwrap();
    fs::write(&disk, b"the original disk").unwrap();
    let app1 = DomainSpec {
        disks: vec![("xvda".into(), disk.to_string_lossy().into_owned(), false)],
        ..spec("app1", WEB1_UUID)
    };
    dispatcher.define(&app1).expect("define");
    (app1, disk)
}

#[test]
fn a_stopped_domains_changes_go_to_its_configuration_only() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    let (app1, _) = define_with_file_disk(&sshd, &dispatcher);
    let domain = DomainRef {
        uuid: WEB1_UUID,
        name: "app1",
    };
    // Not running: no xl resize runs, and the change is the new configuration.
    assert_eq!(
        dispatcher.act(domain, Action::SetVcpus(4)),
        Ok(zentific_scheduler::dispatch::Applied::Now)
    );
    dispatcher
        .keep_definition(&DomainSpec {
            vcpus: 4,
            ..app1.clone()
        })
        .expect("rewrite");
    let written = fs::read_to_string(sshd.config_dir().join("app1.cfg")).unwrap();
    assert!(written.contains("vcpus = 4\n"), "{written}");
    assert!(
        sshd.xl_calls()
            .iter()
            .all(|call| call.first().map(String::as_str) == Some("list")),
        "{:?}",
        sshd.xl_calls()
    );
    // A domain Zentific did not define is not given a configuration.
    dispatcher
        .keep_definition(&spec("elsewhere", DB1_UUID))
        .expect("nothing to keep");
    assert!(!sshd.config_dir().join("elsewhere.cfg").exists());
    let unknown = dispatcher.act(
        DomainRef {
            uuid: DB1_UUID,
            name: "elsewhere",
        },
        Action::SetVcpus(2),
    );
    assert!(
        matches!(unknown, Err(DispatchError::NoSuchDomain(_))),
        "{unknown:?}"
    );
}

#[test]
fn snapshots_of_a_stopped_domain_copy_its_disk_files_back_and_forth() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    let (_, disk) = define_with_file_disk(&sshd, &dispatcher);
    let domain = DomainRef {
        uuid: WEB1_UUID,
        name: "app1",
    };
    dispatcher.snapshot(domain, "clean").expect("snapshot");
    assert_eq!(dispatcher.snapshot_names(domain).unwrap(), ["clean"]);
    assert!(
        dispatcher.snapshot(domain, "clean").is_err(),
        "names are unique"
    );
    fs::write(&disk, b"rm -rf / with impunity").unwrap();
    dispatcher.revert(domain, "clean").expect("revert");
    assert_eq!(fs::read(&disk).unwrap(), b"the original disk");
    dispatcher.delete_snapshot(domain, "clean").expect("delete");
    assert!(dispatcher.snapshot_names(domain).unwrap().is_empty());
    assert!(dispatcher.revert(domain, "clean").is_err());
    assert!(dispatcher.snapshot(domain, "../escape").is_err());

    // A running domain is refused: its disks would be copied mid-write.
    sshd.seed_domains(&[("app1", 5, WEB1_UUID, 256, 2)]);
    let running = dispatcher.snapshot(domain, "live");
    assert!(
        matches!(running, Err(DispatchError::WrongState(_))),
        "{running:?}"
    );
    // A block-device disk is refused with the reason.
    let lvm = DomainRef {
        uuid: DB1_UUID,
        name: "lvm1",
    };
    dispatcher.define(&spec("lvm1", DB1_UUID)).unwrap();
    let refused = dispatcher.snapshot(lvm, "clean");
    assert!(
        matches!(refused, Err(DispatchError::Refused(_))),
        "{refused:?}"
    );
}

#[test]
fn volumes_are_sparse_files_in_dir_pools_and_undefine_removes_the_configuration() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    let pool_dir = sshd.config_dir().join("pool");
    let pool = zentific_sql::Pool {
        id: 1,
        node_id: 1,
        name: "images".into(),
        kind: "dir".into(),
        path: pool_dir.to_string_lossy().into_owned(),
        capacity_kb: 1 << 30,
        allocation_kb: 0,
    };
    let volume = zentific_sql::Volume {
        id: 1,
        pool_id: 1,
        name: "data.img".into(),
        path: pool_dir.join("data.img").to_string_lossy().into_owned(),
        capacity_kb: 4096,
        allocation_kb: 0,
        state: "adding".into(),
    };
    dispatcher.create_volume(&pool, &volume).expect("create");
    let made = fs::metadata(pool_dir.join("data.img")).unwrap();
    assert_eq!(made.len(), 4096 * 1024);
    assert!(dispatcher.create_volume(&pool, &volume).is_err(), "exists");
    dispatcher.delete_volume(&pool, &volume).expect("delete");
    assert!(!pool_dir.join("data.img").exists());
    let lvm = zentific_sql::Pool {
        kind: "lvm".into(),
        ..pool.clone()
    };
    assert!(matches!(
        dispatcher.create_volume(&lvm, &volume),
        Err(DispatchError::Refused(_))
    ));

    let (_, _) = define_with_file_disk(&sshd, &dispatcher);
    let domain = DomainRef {
        uuid: WEB1_UUID,
        name: "app1",
    };
    dispatcher.snapshot(domain, "clean").unwrap();
    dispatcher.undefine(domain).expect("undefine");
    assert!(!sshd.config_dir().join("app1.cfg").exists());
    assert!(!sshd.config_dir().join("snapshots/app1").exists());
    assert!(dispatcher.undefine(domain).is_err(), "already gone");
}

#[test]
fn devices_change_live_on_a_running_domain_and_a_failed_attach_is_taken_back() {
    let sshd = TestSshd::start();
    let dispatcher = connect(&sshd);
    sshd.seed_domains(&[("web1", 3, WEB1_UUID, 512, 2)]);
    let vif = zentific_sql::Vif {
        id: 1,
        mac: "00:16:3E:00:00:07".into(),
        bridge: "xenbr0".into(),
        model: String::new(),
    };
    assert_eq!(
        dispatcher.attach(web1(), Device::Vif(&vif)),
        Ok(zentific_scheduler::dispatch::Applied::Now)
    );
    let vifs = sshd.domain_state("web1").unwrap()["vifs"].clone();
    assert_eq!(vifs[0]["mac"], "00:16:3e:00:00:07", "{vifs}");
    dispatcher
        .detach(web1(), Device::Vif(&vif))
        .expect("network-detach");
    assert_eq!(
        sshd.domain_state("web1").unwrap()["vifs"],
        serde_json::json!([])
    );

    // A bridge the node lacks: Xen's refusal, and the half-added vif is detached again.
    let nowhere = zentific_sql::Vif {
        bridge: "nosuchbr0".into(),
        ..vif.clone()
    };
    let refused = dispatcher.attach(web1(), Device::Vif(&nowhere));
    assert!(
        matches!(&refused, Err(DispatchError::Refused(m)) if m.contains("Could not find bridge device nosuchbr0")),
        "{refused:?}"
    );
    assert_eq!(
        sshd.domain_state("web1").unwrap()["vifs"],
        serde_json::json!([])
    );

    let image = sshd.config_dir().join("web1-data.img");
    fs::create_dir_all(sshd.config_dir()).unwrap();
    fs::write(&image, b"data").unwrap();
    let disk = zentific_sql::Disk {
        id: 2,
        target: "xvdb".into(),
        source: image.to_string_lossy().into_owned(),
        size_kb: 0,
        readonly: true,
    };
    dispatcher
        .attach(web1(), Device::Disk(&disk))
        .expect("block-attach");
    let disks = sshd.domain_state("web1").unwrap()["disks"].clone();
    assert_eq!(disks[0]["vdev"], "xvdb", "{disks}");
    assert_eq!(disks[0]["access"], "ro", "{disks}");
    // The same vdev again: refused, and the disk that is there stays.
    let again = dispatcher.attach(web1(), Device::Disk(&disk));
    assert!(matches!(again, Err(DispatchError::Refused(_))), "{again:?}");
    assert_eq!(
        sshd.domain_state("web1").unwrap()["disks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    dispatcher
        .detach(web1(), Device::Disk(&disk))
        .expect("block-detach");
    assert_eq!(
        sshd.domain_state("web1").unwrap()["disks"],
        serde_json::json!([])
    );
    let attach_calls: Vec<Vec<String>> = sshd
        .xl_calls()
        .into_iter()
        .filter(|call| call[0].contains("attach") || call[0].contains("detach"))
        .collect();
    assert_eq!(
        attach_calls[0],
        [
            "network-attach",
            "web1",
            "mac=00:16:3e:00:00:07",
            "bridge=xenbr0"
        ]
    );
    assert_eq!(
        attach_calls[3],
        ["network-detach", "web1", "00:16:3e:00:00:07"]
    );
}
