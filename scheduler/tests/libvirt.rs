//! The libvirt transport against the real libvirt library and its built-in test driver
//! (no daemon), on a node file with four domains in different states.

use std::sync::mpsc;
use std::time::Duration;
use zentific_sql::PowerAction;

use zentific_scheduler::dispatch::libvirt::LibvirtDispatcher;
use zentific_scheduler::dispatch::{Action, DispatchError, Dispatcher, DomainRef, DomainSpec};
use zentific_sql::{VmState, VmType};

fn node_uri() -> String {
    format!(
        "test://{}/tests/fixtures/libvirt-node.xml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn web() -> DomainRef<'static> {
    DomainRef {
        uuid: "11111111-1111-4111-8111-111111111111",
        name: "web",
    }
}

#[test]
fn inventory_lists_every_domain_with_its_state_and_sizes() {
    let node = LibvirtDispatcher::connect(&node_uri()).unwrap();
    let mut domains = node.domains().unwrap();
    domains.sort_by(|a, b| a.name.cmp(&b.name));
    let summary: Vec<(&str, VmState)> =
        domains.iter().map(|d| (d.name.as_str(), d.state)).collect();
    assert_eq!(
        summary,
        [
            ("backup", VmState::Stopped),
            ("db", VmState::Running),
            ("frozen", VmState::Paused),
            ("web", VmState::Running)
        ]
    );
    let web = domains.iter().find(|d| d.name == "web").unwrap();
    assert_eq!(
        (web.memory_kb, web.max_memory_kb, web.vcpus),
        (262_144, 524_288, 2)
    );
    assert_eq!(web.uuid, "11111111-1111-4111-8111-111111111111");
}

#[test]
fn actions_change_state_and_wrong_states_keep_libvirts_words() {
    let node = LibvirtDispatcher::connect(&node_uri()).unwrap();
    let state = |name: &str| {
        node.domains()
            .unwrap()
            .into_iter()
            .find(|d| d.name == name)
            .unwrap()
            .state
    };
    node.act(web(), Action::Power(PowerAction::Pause)).unwrap();
    assert_eq!(state("web"), VmState::Paused);
    let error = node
        .act(web(), Action::Power(PowerAction::Pause))
        .unwrap_err();
    assert!(
        matches!(&error, DispatchError::WrongState(words) if words.contains("not running")),
        "{error:?}"
    );
    node.act(web(), Action::Power(PowerAction::Unpause))
        .unwrap();
    node.act(web(), Action::Power(PowerAction::Destroy))
        .unwrap();
    assert_eq!(state("web"), VmState::Stopped);
    node.act(web(), Action::Power(PowerAction::Start)).unwrap();
    assert_eq!(state("web"), VmState::Running);
    node.act(web(), Action::SetMemory(131_072)).unwrap();
    let web = node
        .domains()
        .unwrap()
        .into_iter()
        .find(|d| d.name == "web")
        .unwrap();
    assert_eq!(web.memory_kb, 131_072);
    let missing = node.act(
        DomainRef {
            uuid: "99999999-9999-4999-8999-999999999999",
            name: "ghost",
        },
        Action::Power(PowerAction::Start),
    );
    assert!(
        matches!(missing, Err(DispatchError::NoSuchDomain(_))),
        "{missing:?}"
    );
}

#[test]
fn defined_domains_appear_stopped() {
    let node = LibvirtDispatcher::connect(&node_uri()).unwrap();
    let spec = DomainSpec {
        uuid: "55555555-5555-4555-8555-555555555555".into(),
        name: "fresh".into(),
        vm_type: VmType::Hvm,
        os: String::new(),
        memory_kb: 65_536,
        max_memory_kb: 131_072,
        vcpus: 1,
        disks: vec![("vda".into(), "/var/lib/images/fresh.img".into(), false)],
        vifs: vec![("52:54:00:00:00:01".into(), "br0".into())],
    };
    node.define(&spec).unwrap();
    let fresh = node
        .domains()
        .unwrap()
        .into_iter()
        .find(|d| d.name == "fresh")
        .unwrap();
    assert_eq!(
        (fresh.state, fresh.max_memory_kb),
        (VmState::Stopped, 131_072)
    );
}

#[test]
fn lifecycle_events_arrive() {
    let node = LibvirtDispatcher::connect(&node_uri()).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let subscribed = node.subscribe(std::sync::Arc::new(move |event| {
        let _ = tx.lock().unwrap().send(event);
    }));
    assert_eq!(subscribed, Ok(true));
    node.act(web(), Action::Power(PowerAction::Pause)).unwrap();
    let event = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no lifecycle event within 10 s");
    assert_eq!(
        (event.uuid.as_str(), event.state),
        (web().uuid, VmState::Paused)
    );
}

#[test]
fn unreachable_uris_are_reported_as_such() {
    let error = LibvirtDispatcher::connect("qemu+tcp://127.0.0.1:1/system")
        .err()
        .unwrap();
    assert!(matches!(error, DispatchError::Unreachable(_)), "{error:?}");
}
