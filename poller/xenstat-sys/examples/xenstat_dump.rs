//! Prints what libxenstat reports on this host, in units that line up with `xentop -b` and
//! `xl list`: two samples one second apart, the second one printed with the CPU share and
//! network rates computed from the difference.
//!
//! Run it as root in a Xen dom0: `cargo run --example xenstat_dump`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use xenstat_sys::{DomainSample, NodeSample, Xenstat};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xenstat_dump: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), xenstat_sys::XenstatError> {
    let mut xenstat = Xenstat::open()?;
    let first = xenstat.sample()?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let second = xenstat.sample()?;
    let elapsed = started.elapsed();

    print_node("first sample", &first);
    println!();
    print_node("second sample", &second);
    println!();
    println!("over {:.3} s between the samples:", elapsed.as_secs_f64());
    for domain in &second.domains {
        let Some(before) = first.domains.iter().find(|d| d.id == domain.id) else {
            continue;
        };
        print_rates(before, domain, elapsed);
    }
    Ok(())
}

fn print_node(title: &str, node: &NodeSample) {
    println!(
        "{title}: xen {} cpus={} cpu_hz={} ({} MHz) tot_mem={} B ({} KiB, {} MiB) \
         free_mem={} B ({} KiB, {} MiB) domains={}",
        node.xen_version,
        node.cpus,
        node.cpu_hz,
        node.cpu_hz / 1_000_000,
        node.tot_mem_bytes,
        node.tot_mem_bytes / KIB,
        node.tot_mem_bytes / MIB,
        node.free_mem_bytes,
        node.free_mem_bytes / KIB,
        node.free_mem_bytes / MIB,
        node.domains.len(),
    );
    for domain in &node.domains {
        let max_mem = if domain.max_mem_bytes == u64::MAX {
            "no limit (u64::MAX)".to_string()
        } else {
            format!(
                "{} B ({} KiB)",
                domain.max_mem_bytes,
                domain.max_mem_bytes / KIB
            )
        };
        println!(
            "  dom {:>3} {:<12} state={} cpu_ns={} ({:.1} s) vcpus_online={} \
             mem={} B ({} KiB, {} MiB) max_mem={max_mem}",
            domain.id,
            domain.name,
            domain.state_letters(),
            domain.cpu_ns,
            domain.cpu_ns as f64 / 1e9,
            domain.vcpus_online,
            domain.cur_mem_bytes,
            domain.cur_mem_bytes / KIB,
            domain.cur_mem_bytes / MIB,
        );
        for net in &domain.networks {
            println!(
                "    net{} (guest view) rx: {} B {} pkts {} err {} drop | \
                 tx: {} B {} pkts {} err {} drop",
                net.id,
                net.rx_bytes,
                net.rx_packets,
                net.rx_errors,
                net.rx_drops,
                net.tx_bytes,
                net.tx_packets,
                net.tx_errors,
                net.tx_drops,
            );
        }
        for vbd in &domain.vbds {
            println!(
                "    vbd {} rd: {} reqs {} sectors ({} B) | wr: {} reqs {} sectors ({} B) | oo: {}",
                vbd.dev,
                vbd.rd_reqs,
                vbd.rd_sectors,
                vbd.rd_bytes(),
                vbd.wr_reqs,
                vbd.wr_sectors,
                vbd.wr_bytes(),
                vbd.oo_reqs,
            );
        }
    }
}

fn print_rates(before: &DomainSample, after: &DomainSample, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let cpu_ns = after.cpu_ns.saturating_sub(before.cpu_ns);
    // xentop's CPU(%): CPU time over wall time, 100% per busy physical CPU.
    let cpu_percent = cpu_ns as f64 / (seconds * 1e9) * 100.0;
    println!(
        "  dom {:>3} {:<12} cpu {:.1}% ({} ns)",
        after.id, after.name, cpu_percent, cpu_ns
    );
    for net in &after.networks {
        let Some(old) = before.networks.iter().find(|n| n.id == net.id) else {
            continue;
        };
        println!(
            "    net{} rx {:.0} B/s tx {:.0} B/s",
            net.id,
            net.rx_bytes.saturating_sub(old.rx_bytes) as f64 / seconds,
            net.tx_bytes.saturating_sub(old.tx_bytes) as f64 / seconds,
        );
    }
}
