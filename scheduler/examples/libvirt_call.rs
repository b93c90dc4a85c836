//! Benchmark baseline: the cost of the hypervisor call itself — pause and unpause through
//! the libvirt transport on the test driver, with nothing around it. `bench/scheduler.sh`
//! sets this beside the latency of the same actions through XML-RPC, job and scheduler.
//!
//! Usage: `cargo run --release -p zentific-scheduler --example libvirt_call [N] [URI]`

use std::time::Instant;
use zentific_sql::PowerAction;

use zentific_scheduler::dispatch::libvirt::LibvirtDispatcher;
use zentific_scheduler::dispatch::{Action, Dispatcher, DomainRef};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let uri = std::env::args().nth(2).unwrap_or_else(|| {
        format!(
            "test://{}/tests/fixtures/libvirt-node.xml",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let node = LibvirtDispatcher::connect(&uri)?;
    let web = DomainRef {
        uuid: "11111111-1111-4111-8111-111111111111",
        name: "web",
    };
    let mut micros = Vec::with_capacity(n);
    for i in 0..n {
        let action = if i % 2 == 0 {
            Action::Power(PowerAction::Pause)
        } else {
            Action::Power(PowerAction::Unpause)
        };
        let started = Instant::now();
        node.act(web, action)?;
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(f64::total_cmp);
    let pick = |q: f64| micros[((micros.len() as f64 - 1.0) * q).round() as usize];
    println!("{n} {:.1} {:.1}", pick(0.5), pick(0.99));
    Ok(())
}
