//! Drive a node's `xl` through [`SshDispatcher`] from the command line: the check against a
//! real Xen dom0 and the multiplexing benchmark (`bench/ssh_mux.sh`) both use it.
//!
//! ```text
//! xl_over_ssh --uri ssh://root@127.0.0.1:22 [--identity KEY] [--known-hosts FILE] STEP...
//! ```
//!
//! Steps run in order over one dispatcher (one SSH master connection):
//!
//! | step | does |
//! |---|---|
//! | `list` | print the inventory |
//! | `start\|pause\|unpause\|shutdown\|reboot\|destroy NAME` | that action |
//! | `mem-set\|mem-max NAME KIB`, `vcpu-set NAME N` | resource actions |
//! | `wait-gone NAME SECONDS` | poll the inventory every 250 ms until NAME has left it, at most SECONDS |
//! | `repeat N NAME` | N actions alternating pause and unpause on NAME; prints the timing |
//! | `vif-attach NAME MAC BRIDGE`, `vif-detach NAME MAC` | an interface, live on a running domain |
//! | `disk-attach NAME VDEV PATH`, `disk-detach NAME VDEV` | a disk, live on a running domain |
//! | `define NAME UUID DISK` | write a configuration (256 MiB, 1 vCPU, one file disk) |
//! | `keep NAME UUID DISK VCPUS` | rewrite that configuration with VCPUS, as after a change |
//! | `snapshot\|revert\|delete-snapshot NAME SNAPSHOT`, `snapshots NAME` | snapshots of a stopped domain |
//! | `volume-create DIR NAME KIB`, `volume-delete DIR NAME` | a volume file in a dir pool |
//! | `undefine NAME UUID` | remove a stopped domain's configuration |
//!
//! A failed step prints the dispatcher's error and the run goes on; the exit code is 1 if
//! any step failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use zentific_sql::PowerAction;

use zentific_scheduler::dispatch::ssh::{SshDispatcher, SshSettings};
use zentific_scheduler::dispatch::{
    Action, Device, DispatchError, Dispatcher, DomainRef, DomainSpec,
};

const USAGE: &str = "usage: xl_over_ssh --uri ssh://[user@]host[:port][?xl=PATH] \
[--identity KEY] [--known-hosts FILE] STEP...
steps: list | start|pause|unpause|shutdown|reboot|destroy NAME | mem-set|mem-max NAME KIB \
| vcpu-set NAME N | wait-gone NAME SECONDS | repeat N NAME | vif-attach NAME MAC BRIDGE \
| vif-detach NAME MAC | disk-attach NAME VDEV PATH | disk-detach NAME VDEV \
| define NAME UUID DISK | keep NAME UUID DISK VCPUS | snapshot|revert|delete-snapshot NAME SNAPSHOT \
| snapshots NAME | volume-create DIR NAME KIB | volume-delete DIR NAME | undefine NAME UUID";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xl_over_ssh: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Parse the options, connect, run the steps; `Ok(false)` if a step failed.
fn run(arguments: Vec<String>) -> Result<bool, String> {
    let mut uri = None;
    let mut identity = None;
    let mut known_hosts = None;
    let mut steps = Vec::new();
    let mut words = arguments.into_iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--uri" => uri = Some(words.next().ok_or("--uri needs a value")?),
            "--identity" => {
                identity = Some(PathBuf::from(
                    words.next().ok_or("--identity needs a value")?,
                ))
            }
            "--known-hosts" => {
                known_hosts = Some(PathBuf::from(
                    words.next().ok_or("--known-hosts needs a value")?,
                ));
            }
            _ => steps.push(word),
        }
    }
    let uri = uri.ok_or("--uri is required")?;
    let mut settings = SshSettings::from_uri(&uri, "root").map_err(|error| error.to_string())?;
    settings.identity_file = identity.or(settings.identity_file);
    settings.known_hosts_file = known_hosts;

    let connect_started = Instant::now();
    let dispatcher = match SshDispatcher::connect(settings) {
        Ok(dispatcher) => dispatcher,
        Err(error) => {
            println!("connect {uri}: error: {error}");
            return Ok(false);
        }
    };
    println!(
        "connected to {uri} in {} ms",
        connect_started.elapsed().as_millis()
    );

    let mut all_succeeded = true;
    let mut steps = steps.into_iter();
    while let Some(step) = steps.next() {
        let mut operand = |what: &str| steps.next().ok_or(format!("{step} needs {what}"));
        let outcome = match step.as_str() {
            "list" => {
                println!("$ list");
                list(&dispatcher)
            }
            "start" | "pause" | "unpause" | "shutdown" | "reboot" | "destroy" => {
                let name = operand("a domain name")?;
                let action = match step.as_str() {
                    "start" => Action::Power(PowerAction::Start),
                    "pause" => Action::Power(PowerAction::Pause),
                    "unpause" => Action::Power(PowerAction::Unpause),
                    "shutdown" => Action::Power(PowerAction::Shutdown),
                    "reboot" => Action::Power(PowerAction::Reboot),
                    _ => Action::Power(PowerAction::Destroy),
                };
                println!("$ {step} {name}");
                act(&dispatcher, &name, action)
            }
            "mem-set" | "mem-max" | "vcpu-set" => {
                let name = operand("a domain name")?;
                let number: i64 = operand("a number")?
                    .parse()
                    .map_err(|_| format!("{step}: not a number"))?;
                let action = match step.as_str() {
                    "mem-set" => Action::SetMemory(number),
                    "mem-max" => Action::SetMaxMemory(number),
                    _ => {
                        Action::SetVcpus(i32::try_from(number).map_err(|_| "vCPU count too large")?)
                    }
                };
                println!("$ {step} {name} {number}");
                act(&dispatcher, &name, action)
            }
            "wait-gone" => {
                let name = operand("a domain name")?;
                let seconds: u64 = operand("seconds")?
                    .parse()
                    .map_err(|_| "wait-gone: not a number")?;
                println!("$ wait-gone {name} {seconds}");
                wait_gone(&dispatcher, &name, Duration::from_secs(seconds))
            }
            "repeat" => {
                let count: u32 = operand("a count")?
                    .parse()
                    .map_err(|_| "repeat: not a number")?;
                let name = operand("a domain name")?;
                println!("$ repeat {count} {name}");
                repeat(&dispatcher, &name, count)
            }
            "vif-attach" | "vif-detach" => {
                let name = operand("a domain name")?;
                let mac = operand("a MAC")?;
                let bridge = if step == "vif-attach" {
                    operand("a bridge")?
                } else {
                    String::new()
                };
                println!("$ {step} {name} {mac} {bridge}");
                let vif = zentific_sql::Vif {
                    id: 0,
                    mac,
                    bridge,
                    model: String::new(),
                };
                device(&dispatcher, &name, Device::Vif(&vif), step == "vif-attach")
            }
            "disk-attach" | "disk-detach" => {
                let name = operand("a domain name")?;
                let target = operand("a guest device")?;
                let source = if step == "disk-attach" {
                    operand("a path")?
                } else {
                    String::new()
                };
                println!("$ {step} {name} {target} {source}");
                let disk = zentific_sql::Disk {
                    id: 0,
                    target,
                    source,
                    size_kb: 0,
                    readonly: false,
                };
                device(
                    &dispatcher,
                    &name,
                    Device::Disk(&disk),
                    step == "disk-attach",
                )
            }
            "define" | "keep" => {
                let name = operand("a domain name")?;
                let uuid = operand("a UUID")?;
                let disk = operand("a disk path")?;
                let vcpus = if step == "keep" {
                    operand("a vCPU count")?
                        .parse()
                        .map_err(|_| "keep: not a number")?
                } else {
                    1
                };
                println!("$ {step} {name} {uuid} {disk} {vcpus}");
                let spec = DomainSpec {
                    uuid,
                    name,
                    vm_type: zentific_sql::VmType::Pv,
                    os: String::new(),
                    memory_kb: 256 * 1024,
                    max_memory_kb: 256 * 1024,
                    vcpus,
                    disks: vec![("xvda".into(), disk, false)],
                    vifs: vec![],
                };
                if step == "define" {
                    dispatcher.define(&spec).map(drop)
                } else {
                    dispatcher.keep_definition(&spec)
                }
                .map(|()| println!("ok"))
            }
            "snapshot" | "revert" | "delete-snapshot" => {
                let name = operand("a domain name")?;
                let snapshot = operand("a snapshot name")?;
                println!("$ {step} {name} {snapshot}");
                let domain = DomainRef {
                    uuid: "",
                    name: &name,
                };
                match step.as_str() {
                    "snapshot" => dispatcher.snapshot(domain, &snapshot),
                    "revert" => dispatcher.revert(domain, &snapshot),
                    _ => dispatcher.delete_snapshot(domain, &snapshot),
                }
                .map(|()| println!("ok"))
            }
            "snapshots" => {
                let name = operand("a domain name")?;
                println!("$ snapshots {name}");
                dispatcher
                    .snapshot_names(DomainRef {
                        uuid: "",
                        name: &name,
                    })
                    .map(|names| println!("{names:?}"))
            }
            "volume-create" | "volume-delete" => {
                let dir = operand("a pool directory")?;
                let name = operand("a volume name")?;
                let capacity_kb: i64 = if step == "volume-create" {
                    operand("a size in KiB")?
                        .parse()
                        .map_err(|_| "volume-create: not a number")?
                } else {
                    0
                };
                println!("$ {step} {dir} {name} {capacity_kb}");
                let pool = zentific_sql::Pool {
                    id: 0,
                    node_id: 0,
                    name: "pool".into(),
                    kind: "dir".into(),
                    path: dir.clone(),
                    capacity_kb: i64::MAX,
                    allocation_kb: 0,
                };
                let volume = zentific_sql::Volume {
                    id: 0,
                    pool_id: 0,
                    path: format!("{}/{name}", dir.trim_end_matches('/')),
                    name,
                    capacity_kb,
                    allocation_kb: 0,
                    state: String::new(),
                };
                if step == "volume-create" {
                    dispatcher.create_volume(&pool, &volume)
                } else {
                    dispatcher.delete_volume(&pool, &volume)
                }
                .map(|()| println!("ok"))
            }
            "undefine" => {
                let name = operand("a domain name")?;
                let uuid = operand("a UUID")?;
                println!("$ undefine {name} {uuid}");
                dispatcher
                    .undefine(DomainRef {
                        uuid: &uuid,
                        name: &name,
                    })
                    .map(|()| println!("ok"))
            }
            _ => return Err(format!("unknown step {step:?}")),
        };
        if let Err(error) = outcome {
            println!("error: {error}");
            all_succeeded = false;
        }
    }
    Ok(all_succeeded)
}

fn list(dispatcher: &SshDispatcher) -> Result<(), DispatchError> {
    let domains = dispatcher.domains()?;
    println!(
        "{:<12} {:<36} {:<8} {:>10} {:>10} {:>5} {:<4}",
        "name", "uuid", "state", "mem KiB", "max KiB", "vcpus", "type"
    );
    for domain in &domains {
        println!(
            "{:<12} {:<36} {:<8} {:>10} {:>10} {:>5} {:<4}",
            domain.name,
            domain.uuid,
            domain.state.as_str(),
            domain.memory_kb,
            domain.max_memory_kb,
            domain.vcpus,
            domain.vm_type.map_or("-", |kind| kind.as_str())
        );
    }
    if domains.is_empty() {
        println!("(no domains besides Domain-0)");
    }
    Ok(())
}

fn act(dispatcher: &SshDispatcher, name: &str, action: Action) -> Result<(), DispatchError> {
    let started = Instant::now();
    dispatcher.act(DomainRef { uuid: "", name }, action)?;
    println!("ok ({} ms)", started.elapsed().as_millis());
    Ok(())
}

fn device(
    dispatcher: &SshDispatcher,
    name: &str,
    device: Device<'_>,
    attach: bool,
) -> Result<(), DispatchError> {
    let started = Instant::now();
    let domain = DomainRef { uuid: "", name };
    let applied = if attach {
        dispatcher.attach(domain, device)?
    } else {
        dispatcher.detach(domain, device)?
    };
    println!(
        "ok, applies {applied:?} ({} ms)",
        started.elapsed().as_millis()
    );
    Ok(())
}

fn wait_gone(dispatcher: &SshDispatcher, name: &str, limit: Duration) -> Result<(), DispatchError> {
    let started = Instant::now();
    loop {
        let domains = dispatcher.domains()?;
        match domains.iter().find(|domain| domain.name == name) {
            None => {
                println!(
                    "{name} left the list after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return list(dispatcher);
            }
            Some(domain) if started.elapsed() >= limit => {
                return Err(DispatchError::Failed(format!(
                    "{name} is still listed ({}) after {} s",
                    domain.state.as_str(),
                    limit.as_secs()
                )));
            }
            Some(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

fn repeat(dispatcher: &SshDispatcher, name: &str, count: u32) -> Result<(), DispatchError> {
    let started = Instant::now();
    for index in 0..count {
        let action = if index % 2 == 0 {
            Action::Power(PowerAction::Pause)
        } else {
            Action::Power(PowerAction::Unpause)
        };
        dispatcher.act(DomainRef { uuid: "", name }, action)?;
    }
    let elapsed = started.elapsed();
    println!(
        "{count} actions in {:.1} ms ({:.2} ms per action)",
        elapsed.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64() * 1000.0 / f64::from(count.max(1))
    );
    Ok(())
}
