//! The XenAPI transport against `fixtures/xapi_sim.py`, a simulated xapi host speaking
//! xapi's XML-RPC dialect (Status/Value envelopes, untyped strings, int64s as strings,
//! `Z`-suffixed timestamps) over real HTTP on 127.0.0.1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use zentific_sql::PowerAction;

use dxr::{MethodCall, MethodResponse, Value};
use zentific_scheduler::dispatch::xenapi::XenApiDispatcher;
use zentific_scheduler::dispatch::{
    Action, Device, DispatchError, Dispatcher, Domain, DomainEvent, DomainRef, DomainSpec,
    EventSink,
};
use zentific_sql::{VmState, VmType};

const USER: &str = "root";
/// A password with characters that must be percent-encoded in the node URI.
const PASSWORD: &str = "p@ss:w/rd";
const PASSWORD_IN_URI: &str = "p%40ss%3Aw%2Frd";

const CONTROL_DOMAIN: &str = "a0e7b9a3-3d2f-4f30-9d4b-0c0ffee00000";
const TEMPLATE: &str = "5c2b0cde-7b8a-4a55-9f0e-7e3a1f0c0001";
const WEB: DomainRef<'static> = DomainRef {
    uuid: "11111111-2222-4333-8444-555555555501",
    name: "web-1",
};
const DB: DomainRef<'static> = DomainRef {
    uuid: "11111111-2222-4333-8444-555555555502",
    name: "db-1",
};
const BUILD: DomainRef<'static> = DomainRef {
    uuid: "11111111-2222-4333-8444-555555555503",
    name: "r&d <build>",
};

const GIB_IN_KIB: i64 = 1024 * 1024;

/// [`zentific_test_support::wait_until`], with the argument order of these tests.
fn wait_until<T>(what: &str, limit: Duration, check: impl FnMut() -> Option<T>) -> T {
    zentific_test_support::wait_until(limit, what, check)
}

/// A running `xapi_sim.py`, killed on drop.
struct Simulator {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Simulator {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port_file = dir.path().join("port");
        let script: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "tests",
            "fixtures",
            "xapi_sim.py",
        ]
        .iter()
        .collect();
        let child = Command::new("python3")
            .arg(&script)
            .arg(&port_file)
            .env("XAPI_SIM_USER", USER)
            .env("XAPI_SIM_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start python3 xapi_sim.py");
        let mut simulator = Simulator {
            child,
            port: 0,
            _dir: dir,
        };
        simulator.port = wait_until("the simulator's port", Duration::from_secs(15), || {
            if let Ok(Some(status)) = simulator.child.try_wait() {
                panic!("xapi_sim.py exited early: {status}");
            }
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|text| text.trim().parse().ok())
        });
        simulator
    }

    fn uri(&self) -> String {
        format!("http://{USER}:{PASSWORD_IN_URI}@127.0.0.1:{}/", self.port)
    }

    fn connect(&self) -> XenApiDispatcher {
        XenApiDispatcher::connect(&self.uri()).expect("log in to the simulator")
    }

    /// Call one of the simulator's hidden `sim.*` hooks (outside XenAPI, no session).
    fn hook(&self, method: &str, params: Vec<Value>) -> Value {
        let body = MethodCall {
            name: method.into(),
            params,
        }
        .to_xml()
        .expect("encode call");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let text = agent
            .post(&format!("http://127.0.0.1:{}/", self.port))
            .header("Content-Type", "text/xml")
            .send(body.as_bytes())
            .expect("reach the simulator")
            .body_mut()
            .read_to_string()
            .expect("read the answer");
        let answer = MethodResponse::from_xml(&text)
            .expect("hooks answer plain XML-RPC")
            .value;
        let Value::Struct(mut envelope) = answer else {
            panic!("{method}: no envelope in {text}");
        };
        assert_eq!(
            envelope.get("Status"),
            Some(&Value::String("Success".into())),
            "{method}: {text}"
        );
        envelope.remove("Value").expect("a Value member")
    }

    /// `sim.stats`: logins, sessions, event_waiters, event_from_calls (the counters;
    /// the per-operation `power_calls` struct is left out).
    fn stats(&self) -> BTreeMap<String, i32> {
        let Value::Struct(members) = self.hook("sim.stats", vec![]) else {
            panic!("sim.stats is a struct");
        };
        members
            .into_iter()
            .filter_map(|(name, value)| match value {
                Value::Integer(number) => Some((name, number)),
                _ => None,
            })
            .collect()
    }

    /// A few fields of the VM's record on the simulated host, as strings.
    fn vm(&self, uuid: &str) -> BTreeMap<String, String> {
        let Value::Struct(members) = self.hook("sim.vm_state", vec![Value::String(uuid.into())])
        else {
            panic!("sim.vm_state is a struct");
        };
        members
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(text) => (name, text),
                other => panic!("{name}: {other:?}"),
            })
            .collect()
    }

    fn power_state(&self, uuid: &str) -> String {
        self.vm(uuid)["power_state"].clone()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wrong_state<T: std::fmt::Debug>(result: Result<T, DispatchError>) -> String {
    match result {
        Err(DispatchError::WrongState(message)) => message,
        other => panic!("expected WrongState, got {other:?}"),
    }
}

fn failed<T: std::fmt::Debug>(result: Result<T, DispatchError>) -> String {
    match result {
        Err(DispatchError::Failed(message)) => message,
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn inventory_lists_guests_with_converted_sizes_and_types() {
    let simulator = Simulator::start();
    let node = simulator.connect();
    let domains = node.domains().expect("inventory");
    assert_eq!(
        domains,
        vec![
            Domain {
                uuid: DB.uuid.into(),
                name: "db-1".into(),
                state: VmState::Stopped,
                memory_kb: 4 * GIB_IN_KIB,
                max_memory_kb: 4 * GIB_IN_KIB,
                vcpus: 2,
                vm_type: Some(VmType::Hvm),
            },
            // Suspended on the host: reported as stopped.
            Domain {
                uuid: BUILD.uuid.into(),
                name: "r&d <build>".into(),
                state: VmState::Stopped,
                memory_kb: 768 * 1024,
                max_memory_kb: GIB_IN_KIB,
                vcpus: 1,
                vm_type: Some(VmType::Hvm),
            },
            Domain {
                uuid: WEB.uuid.into(),
                name: "web-1".into(),
                state: VmState::Running,
                memory_kb: 2 * GIB_IN_KIB,
                max_memory_kb: 2 * GIB_IN_KIB,
                vcpus: 2,
                vm_type: Some(VmType::Pv),
            },
        ]
    );
    assert!(
        domains
            .iter()
            .all(|d| d.uuid != CONTROL_DOMAIN && d.uuid != TEMPLATE)
    );
    assert!(node.lists_stopped_domains());
}

#[test]
fn each_power_action_changes_the_hosts_state() {
    let simulator = Simulator::start();
    let node = simulator.connect();

    node.act(WEB, Action::Power(PowerAction::Pause))
        .expect("pause");
    assert_eq!(simulator.power_state(WEB.uuid), "Paused");
    node.act(WEB, Action::Power(PowerAction::Unpause))
        .expect("unpause");
    assert_eq!(simulator.power_state(WEB.uuid), "Running");

    let domid_before = simulator.vm(WEB.uuid)["domid"].clone();
    node.act(WEB, Action::Power(PowerAction::Reboot))
        .expect("reboot");
    let after = simulator.vm(WEB.uuid);
    assert_eq!(after["power_state"], "Running");
    assert_ne!(after["domid"], domid_before, "a reboot makes a new domain");

    node.act(WEB, Action::Power(PowerAction::Shutdown))
        .expect("clean shutdown");
    assert_eq!(simulator.power_state(WEB.uuid), "Halted");
    node.act(WEB, Action::Power(PowerAction::Start))
        .expect("start");
    assert_eq!(simulator.power_state(WEB.uuid), "Running");
    node.act(WEB, Action::Power(PowerAction::Destroy))
        .expect("hard shutdown");
    assert_eq!(simulator.power_state(WEB.uuid), "Halted");

    node.act(DB, Action::Power(PowerAction::Start))
        .expect("start a halted HVM guest");
    assert_eq!(simulator.power_state(DB.uuid), "Running");

    // Suspended, listed as stopped: starting it resumes it.
    node.act(BUILD, Action::Power(PowerAction::Start))
        .expect("start a suspended guest");
    assert_eq!(simulator.power_state(BUILD.uuid), "Running");
    node.act(BUILD, Action::Power(PowerAction::Destroy))
        .expect("hard shutdown");
    assert_eq!(simulator.power_state(BUILD.uuid), "Halted");
}

#[test]
fn memory_and_vcpu_changes_reach_the_host() {
    let simulator = Simulator::start();
    let node = simulator.connect();

    let one_and_a_half_gib = 3 * GIB_IN_KIB / 2;
    node.act(WEB, Action::SetMemory(one_and_a_half_gib))
        .expect("set memory on a running guest");
    let record = simulator.vm(WEB.uuid);
    assert_eq!(record["memory_dynamic_min"], "1610612736");
    assert_eq!(record["memory_dynamic_max"], "1610612736");

    node.act(WEB, Action::SetVcpus(3)).expect("hot-plug a vCPU");
    assert_eq!(simulator.vm(WEB.uuid)["VCPUs_at_startup"], "3");

    let web = node
        .domains()
        .expect("inventory")
        .into_iter()
        .find(|d| d.uuid == WEB.uuid)
        .expect("web-1 listed");
    assert_eq!((web.memory_kb, web.vcpus), (one_and_a_half_gib, 3));

    // More vCPUs than VCPUs_max, more memory than memory_static_max: xapi's own refusals.
    let message = failed(node.act(WEB, Action::SetVcpus(9)));
    assert!(message.contains("INVALID_VALUE"), "{message}");
    let message = failed(node.act(WEB, Action::SetMemory(8 * GIB_IN_KIB)));
    assert!(message.contains("MEMORY_CONSTRAINT_VIOLATION"), "{message}");

    // The ceiling moves only while the VM is halted.
    let message = wrong_state(node.act(WEB, Action::SetMaxMemory(3 * GIB_IN_KIB)));
    assert!(
        message.contains("running") && message.contains("halted"),
        "{message}"
    );
    node.act(WEB, Action::Power(PowerAction::Shutdown))
        .expect("shutdown");
    node.act(WEB, Action::SetMaxMemory(3 * GIB_IN_KIB))
        .expect("raise the ceiling of a halted guest");
    assert_eq!(simulator.vm(WEB.uuid)["memory_static_max"], "3221225472");
}

#[test]
fn wrong_power_state_keeps_xapis_words() {
    let simulator = Simulator::start();
    let node = simulator.connect();

    let message = wrong_state(node.act(WEB, Action::Power(PowerAction::Start)));
    assert!(message.contains("web-1"), "{message}");
    assert!(
        message.contains("it is running") && message.contains("only when it is halted"),
        "{message}"
    );
    let message = wrong_state(node.act(DB, Action::Power(PowerAction::Shutdown)));
    assert!(
        message.contains("it is halted") && message.contains("only when it is running"),
        "{message}"
    );
    let message = wrong_state(node.act(DB, Action::Power(PowerAction::Destroy)));
    assert!(
        message.contains("paused, suspended or running"),
        "{message}"
    );
    assert_eq!(simulator.power_state(DB.uuid), "Halted");
}

#[test]
fn unknown_uuid_is_no_such_domain() {
    let simulator = Simulator::start();
    let node = simulator.connect();
    let ghost = DomainRef {
        uuid: "deadbeef-0000-4000-8000-000000000000",
        name: "ghost",
    };
    match node.act(ghost, Action::Power(PowerAction::Start)) {
        Err(DispatchError::NoSuchDomain(message)) => {
            assert!(message.contains("UUID_INVALID"), "{message}");
        }
        other => panic!("expected NoSuchDomain, got {other:?}"),
    }
}

#[test]
fn an_expired_session_is_renewed_transparently() {
    let simulator = Simulator::start();
    let node = simulator.connect();
    assert_eq!(simulator.stats()["logins"], 1);

    simulator.hook("sim.expire_sessions", vec![]);
    assert_eq!(node.domains().expect("inventory after expiry").len(), 3);
    assert_eq!(simulator.stats()["logins"], 2, "exactly one new login");

    simulator.hook("sim.expire_sessions", vec![]);
    node.act(WEB, Action::Power(PowerAction::Pause))
        .expect("action after expiry");
    assert_eq!(simulator.power_state(WEB.uuid), "Paused");
    assert_eq!(simulator.stats()["logins"], 3);
}

#[test]
fn a_session_refused_after_a_fresh_login_is_unreachable() {
    let simulator = Simulator::start();
    let node = simulator.connect();
    simulator.hook("sim.set_sessions_die", vec![Value::Boolean(true)]);
    match node.domains() {
        Err(DispatchError::Unreachable(message)) => {
            assert!(message.contains("SESSION_INVALID"), "{message}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert_eq!(simulator.stats()["logins"], 2, "one retry, no loop");
}

#[test]
fn a_wrong_password_is_refused_with_xapis_code() {
    let simulator = Simulator::start();
    let uri = format!("http://{USER}:wrong@127.0.0.1:{}/", simulator.port);
    match XenApiDispatcher::connect(&uri) {
        Err(DispatchError::Failed(message)) => {
            assert!(
                message.contains("SESSION_AUTHENTICATION_FAILED"),
                "{message}"
            );
            assert!(!message.contains("wrong"), "the password leaked: {message}");
        }
        Err(other) => panic!("expected Failed, got {other:?}"),
        Ok(_) => panic!("logged in with a wrong password"),
    }
}

#[test]
fn a_killed_host_is_unreachable() {
    let mut simulator = Simulator::start();
    let node = simulator.connect();
    node.domains().expect("inventory while up");
    simulator.kill();
    assert!(
        matches!(node.domains(), Err(DispatchError::Unreachable(_))),
        "inventory after the kill"
    );
    assert!(
        matches!(
            node.act(WEB, Action::Power(PowerAction::Pause)),
            Err(DispatchError::Unreachable(_))
        ),
        "action after the kill"
    );
}

#[test]
fn nothing_listening_is_unreachable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let uri = format!("http://{USER}:{PASSWORD_IN_URI}@127.0.0.1:{port}/");
    match XenApiDispatcher::connect(&uri) {
        Err(DispatchError::Unreachable(message)) => {
            assert!(!message.contains(PASSWORD_IN_URI), "{message}");
        }
        Err(other) => panic!("expected Unreachable, got {other:?}"),
        Ok(_) => panic!("connected to a closed port"),
    }
}

#[test]
fn an_http_error_status_is_unreachable() {
    // A proxy or load balancer in front of a host that is down answers 503.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        // Read the whole request first, so closing cannot reset the client mid-send.
        let mut request = Vec::new();
        let mut chunk = [0_u8; 4096];
        while !String::from_utf8_lossy(&request).contains("</methodCall>") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(read) => request.extend_from_slice(&chunk[..read]),
            }
        }
        let body = "host is down\n";
        let _ = write!(
            stream,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let uri = format!("http://{USER}:{PASSWORD_IN_URI}@127.0.0.1:{port}/");
    match XenApiDispatcher::connect(&uri) {
        Err(DispatchError::Unreachable(message)) => {
            assert!(message.contains("503"), "{message}");
        }
        Err(other) => panic!("expected Unreachable, got {other:?}"),
        Ok(_) => panic!("logged in through a 503"),
    }
    server.join().expect("the one-shot server");
}

#[test]
fn other_uris_are_refused() {
    for uri in ["xen+ssh://root@host/", "http://host/", "qemu:///system"] {
        assert!(
            matches!(
                XenApiDispatcher::connect(uri),
                Err(DispatchError::Unsupported(_))
            ),
            "{uri}"
        );
    }
}

#[test]
fn define_clones_the_template_and_gives_it_sizes_and_devices() {
    let simulator = Simulator::start();
    let node = simulator.connect();
    let volume = zentific_sql::Volume {
        id: 1,
        pool_id: 1,
        name: "new-root".into(),
        path: "/srv/new-root".into(),
        capacity_kb: GIB_IN_KIB,
        allocation_kb: 0,
        state: "adding".into(),
    };
    let pool = zentific_sql::Pool {
        id: 1,
        node_id: 1,
        name: "Local storage".into(),
        kind: "ext".into(),
        path: "/srv".into(),
        capacity_kb: 100 * GIB_IN_KIB,
        allocation_kb: 0,
    };
    node.create_volume(&pool, &volume).expect("VDI.create");
    let spec = DomainSpec {
        uuid: "22222222-3333-4444-8555-666666666666".into(),
        name: "new".into(),
        vm_type: VmType::Pv,
        os: "Debian Bookworm 12".into(),
        memory_kb: GIB_IN_KIB,
        max_memory_kb: 2 * GIB_IN_KIB,
        vcpus: 2,
        disks: vec![("xvda".into(), "/srv/new-root".into(), false)],
        vifs: vec![("00:16:3e:00:00:42".into(), "xenbr0".into())],
    };
    let uuid = node.define(&spec).expect("provision").expect("xapi's UUID");
    let made = simulator.vm(&uuid);
    assert_eq!(made["is_a_template"], "false");
    assert_eq!(made["power_state"], "Halted");
    assert_eq!(
        made["memory_static_max"],
        (2 * GIB_IN_KIB * 1024).to_string()
    );
    assert_eq!(made["memory_dynamic_max"], (GIB_IN_KIB * 1024).to_string());
    assert_eq!(
        (
            made["VCPUs_max"].as_str(),
            made["VCPUs_at_startup"].as_str()
        ),
        ("2", "2")
    );
    assert!(made["VIFs"].contains("00:16:3e:00:00:42"), "{made:?}");
    assert!(made["VBDs"].contains("\"userdevice\":\"0\""), "{made:?}");
    let listed = node.domains().unwrap();
    assert!(listed.iter().any(|d| d.uuid == uuid && d.name == "new"));

    // No template, or one that is not there: refused, and nothing is left behind.
    let refused = node.define(&DomainSpec {
        os: String::new(),
        ..spec.clone()
    });
    assert!(
        matches!(refused, Err(DispatchError::Refused(_))),
        "{refused:?}"
    );
    let before = node.domains().unwrap().len();
    let missing = node.define(&DomainSpec {
        disks: vec![("xvda".into(), "/srv/no-such-volume".into(), false)],
        name: "half".into(),
        ..spec.clone()
    });
    assert!(
        matches!(missing, Err(DispatchError::Refused(_))),
        "{missing:?}"
    );
    assert_eq!(
        node.domains().unwrap().len(),
        before,
        "a half-made VM was left"
    );

    // Deleting: halted only, then it is gone.
    let new = DomainRef {
        uuid: &uuid,
        name: "new",
    };
    node.undefine(new).expect("VM.destroy");
    assert!(!node.domains().unwrap().iter().any(|d| d.uuid == uuid));
    node.delete_volume(&pool, &volume).expect("VDI.destroy");
    assert!(node.delete_volume(&pool, &volume).is_err());
}

#[test]
fn devices_plug_into_running_vms_and_snapshots_revert() {
    let simulator = Simulator::start();
    let node = simulator.connect();
    let vif = zentific_sql::Vif {
        id: 9,
        mac: "00:16:3e:00:00:99".into(),
        bridge: "xenbr1".into(),
        model: String::new(),
    };
    // web-1 runs: the interface is created and plugged.
    assert_eq!(
        node.attach(WEB, Device::Vif(&vif)),
        Ok(zentific_scheduler::dispatch::Applied::Now)
    );
    let vifs = simulator.vm(WEB.uuid)["VIFs"].clone();
    assert!(
        vifs.contains("\"MAC\":\"00:16:3e:00:00:99\",\"bridge\":\"xenbr1\",\"attached\":true"),
        "{vifs}"
    );
    node.detach(WEB, Device::Vif(&vif))
        .expect("unplug and destroy");
    assert!(!simulator.vm(WEB.uuid)["VIFs"].contains("00:16:3e:00:00:99"));
    let nowhere = zentific_sql::Vif {
        bridge: "xenbr9".into(),
        ..vif.clone()
    };
    assert!(matches!(
        node.attach(WEB, Device::Vif(&nowhere)),
        Err(DispatchError::Refused(_))
    ));

    // Snapshot, change, revert, delete.
    node.snapshot(DB, "clean").expect("VM.snapshot");
    assert_eq!(node.snapshot_names(DB).unwrap(), ["clean"]);
    assert!(
        node.domains().unwrap().iter().all(|d| d.name != "clean"),
        "snapshots are not guests"
    );
    node.act(DB, Action::SetVcpus(1)).ok();
    node.revert(DB, "clean").expect("VM.revert");
    node.delete_snapshot(DB, "clean")
        .expect("destroy the snapshot");
    assert!(node.snapshot_names(DB).unwrap().is_empty());
    assert!(node.revert(DB, "clean").is_err());
}

#[test]
fn subscribe_reports_changes_made_through_another_session() {
    let simulator = Simulator::start();
    let watcher = simulator
        .connect()
        .with_event_poll_timeout(Duration::from_secs(1));
    let (sender, events) = mpsc::channel::<DomainEvent>();
    let sink: EventSink = Arc::new(move |event| {
        let _ = sender.send(event);
    });
    assert!(watcher.subscribe(sink).expect("subscribe"));

    // The first event.from (token "") returns at once with every VM; the watcher is
    // ready once its second call is blocked waiting for changes.
    wait_until(
        "the watcher to wait for changes",
        Duration::from_secs(10),
        || {
            let stats = simulator.stats();
            (stats["event_from_calls"] >= 2 && stats["event_waiters"] >= 1).then_some(())
        },
    );

    let other_session = simulator.connect();
    other_session
        .act(WEB, Action::Power(PowerAction::Pause))
        .expect("pause");
    let event = events
        .recv_timeout(Duration::from_secs(10))
        .expect("an event for the pause");
    assert_eq!(
        event,
        DomainEvent {
            uuid: WEB.uuid.into(),
            state: VmState::Paused,
        }
    );

    other_session
        .act(DB, Action::Power(PowerAction::Start))
        .expect("start");
    let event = events
        .recv_timeout(Duration::from_secs(10))
        .expect("an event for the start");
    assert_eq!(
        event,
        DomainEvent {
            uuid: DB.uuid.into(),
            state: VmState::Running,
        }
    );

    // A memory change is no power-state change: nothing is reported for it.
    other_session
        .act(DB, Action::SetMemory(2 * GIB_IN_KIB))
        .expect("set memory");
    other_session
        .act(DB, Action::Power(PowerAction::Destroy))
        .expect("hard shutdown");
    let event = events
        .recv_timeout(Duration::from_secs(10))
        .expect("an event for the hard shutdown");
    assert_eq!(
        event,
        DomainEvent {
            uuid: DB.uuid.into(),
            state: VmState::Stopped,
        }
    );

    // Dropping the dispatcher logs its session out and ends the event thread without
    // a new login.
    let logins = simulator.stats()["logins"];
    drop(watcher);
    wait_until("the event thread to stop", Duration::from_secs(10), || {
        let stats = simulator.stats();
        (stats["event_waiters"] == 0 && stats["sessions"] == 1).then_some(())
    });
    assert_eq!(simulator.stats()["logins"], logins);
    assert!(
        events.try_recv().is_err(),
        "no event after the memory change"
    );
}

#[test]
fn consoles_are_the_running_vms_console_records() {
    use zentific_scheduler::dispatch::ConsoleTarget;
    use zentific_sql::ConsoleKind;

    let simulator = Simulator::start();
    let node = simulator.connect();
    let Ok(ConsoleTarget::HttpConnect {
        host,
        port,
        tls,
        target,
        ..
    }) = node.console(WEB, ConsoleKind::Text)
    else {
        panic!("web-1 has no vt100 console");
    };
    assert_eq!(
        (host.as_str(), port, tls),
        ("127.0.0.1", simulator.port, false)
    );
    assert!(target.starts_with("/console?uuid="), "{target}");
    assert!(target.contains("&session_id=OpaqueRef:"), "{target}");
    assert!(matches!(
        node.console(WEB, ConsoleKind::Vnc),
        Ok(ConsoleTarget::HttpConnect { .. })
    ));

    // An HVM guest has only the graphical console; a halted one none at all.
    node.act(DB, Action::Power(PowerAction::Start))
        .expect("start");
    let Err(DispatchError::Unsupported(reason)) = node.console(DB, ConsoleKind::Text) else {
        panic!("an HVM guest with a vt100 console");
    };
    assert!(reason.contains("its consoles: rfb"), "{reason}");
    node.act(WEB, Action::Power(PowerAction::Destroy))
        .expect("hard shutdown");
    let Err(DispatchError::Unsupported(reason)) = node.console(WEB, ConsoleKind::Vnc) else {
        panic!("a halted guest with a console");
    };
    assert!(reason.contains("its consoles: none"), "{reason}");
}
