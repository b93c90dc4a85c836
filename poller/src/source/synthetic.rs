//! `synthetic:N`: N made-up domains for benchmarks and demos.
//!
//! Everything is a function of the domain's index and the number of readings taken, so two
//! runs produce the same figures. Counters advance as if `interval` seconds had passed
//! between readings (whatever the wall clock says), so the rates the backend derives stay
//! plausible: CPU between a tenth of a vCPU and all of them, tens of KiB/s of network,
//! a few disk requests per second. Every tenth domain is paused (its counters stand still)
//! and every tenth is idle.

use super::{Source, SourceError};
use crate::sample::{Domain, DomainState, Host, Reading, Vbd, Vif};

const KIB_PER_GIB: u64 = 1024 * 1024;

/// The synthetic source.
pub struct Synthetic {
    interval: u64,
    readings: u64,
    domains: Vec<Domain>,
    host: Host,
    base_free_kb: u64,
}

/// SplitMix64: a small, well-mixed hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic value in `[lo, hi)` for `(domain, reading, what)`.
fn pick(domain: u64, reading: u64, what: u64, lo: u64, hi: u64) -> u64 {
    lo + mix(domain << 40 ^ reading << 8 ^ what) % (hi - lo).max(1)
}

impl Synthetic {
    /// `n` domains, advancing `interval` seconds per reading.
    pub fn new(n: u32, interval: u32) -> Synthetic {
        let domains: Vec<Domain> = (0..u64::from(n)).map(initial_domain).collect();
        let used_kb: u64 = domains.iter().map(|d| d.mem_kb).sum::<u64>() + 4 * KIB_PER_GIB;
        let mem_total_kb = (used_kb + 8 * KIB_PER_GIB).max(64 * KIB_PER_GIB);
        let host = Host {
            cpus: 16,
            cpu_mhz: 2400,
            mem_total_kb,
            mem_free_kb: mem_total_kb - used_kb,
            hypervisor: "synthetic".into(),
            uptime_s: Some(3 * 86_400),
        };
        Synthetic {
            interval: u64::from(interval),
            readings: 0,
            base_free_kb: host.mem_free_kb,
            domains,
            host,
        }
    }

    fn advance(&mut self) {
        let secs = self.interval;
        let r = self.readings;
        for (i, d) in self.domains.iter_mut().enumerate() {
            let i = i as u64;
            let load_permille = match d.state {
                DomainState::Paused => continue,
                DomainState::Idle => pick(i, r, 1, 1, 20),
                _ => pick(i, 0, 1, 100, 1000) * pick(i, r, 2, 50, 150) / 100,
            };
            d.cpu_ns += secs * 1_000_000_000 * u64::from(d.vcpus) * load_permille / 1000;
            for vif in &mut d.vifs {
                let v = u64::from(vif.id) + 1;
                let rx = secs * pick(i, r, 10 * v, 1_000, 60_000);
                let tx = secs * pick(i, r, 10 * v + 1, 500, 40_000);
                vif.rx_bytes += rx;
                vif.tx_bytes += tx;
                vif.rx_packets += rx.div_ceil(700);
                vif.tx_packets += tx.div_ceil(900);
                vif.rx_drops += u64::from(pick(i, r, 10 * v + 2, 0, 1000) == 0);
                vif.tx_errors += u64::from(pick(i, r, 10 * v + 3, 0, 5000) == 0);
            }
            for vbd in &mut d.vbds {
                let v = u64::from(vbd.id);
                let rd = secs * pick(i, r, v, 0, 12);
                let wr = secs * pick(i, r, v + 1, 0, 20);
                vbd.rd_reqs += rd;
                vbd.wr_reqs += wr;
                vbd.rd_sectors += rd * pick(i, r, v + 2, 8, 256);
                vbd.wr_sectors += wr * pick(i, r, v + 3, 8, 128);
                vbd.oo_reqs += u64::from(pick(i, r, v + 4, 0, 500) == 0);
            }
        }
        if let Some(uptime) = &mut self.host.uptime_s {
            *uptime += secs;
        }
        // Free memory wanders within 64 MiB, as the hypervisor's own allocations come and go.
        self.host.mem_free_kb = self.base_free_kb - pick(u64::MAX, r, 0, 0, 64 * 1024);
    }
}

fn initial_domain(i: u64) -> Domain {
    let vcpus = 1 + (i % 4) as u32;
    let mem_kb = (1 + i % 8) * 512 * 1024;
    let state = match i % 10 {
        7 => DomainState::Paused,
        3 => DomainState::Idle,
        _ => DomainState::Running,
    };
    let mut vifs = vec![Vif {
        id: 0,
        ..Vif::default()
    }];
    if i.is_multiple_of(3) {
        vifs.push(Vif {
            id: 1,
            ..Vif::default()
        });
    }
    // Xen's device numbers: xvda is 202:0 = 51712, xvdb is 202:16 = 51728.
    let mut vbds = vec![Vbd {
        id: 51712,
        ..Vbd::default()
    }];
    if i.is_multiple_of(2) {
        vbds.push(Vbd {
            id: 51728,
            ..Vbd::default()
        });
    }
    // Start from a plausible history rather than from zero.
    let history = pick(i, 0, 99, 600, 86_400);
    for vif in &mut vifs {
        vif.rx_bytes = history * 20_000;
        vif.tx_bytes = history * 12_000;
        vif.rx_packets = vif.rx_bytes / 700;
        vif.tx_packets = vif.tx_bytes / 900;
    }
    for vbd in &mut vbds {
        vbd.rd_reqs = history * 3;
        vbd.wr_reqs = history * 5;
        vbd.rd_sectors = vbd.rd_reqs * 64;
        vbd.wr_sectors = vbd.wr_reqs * 32;
    }
    Domain {
        domid: (i + 1) as u32,
        uuid: Some(format!("5e7e71c0-0000-4000-8000-{:012x}", i + 1)),
        name: format!("synthetic-{:03}", i + 1),
        state,
        cpu_ns: history * 1_000_000_000 * u64::from(vcpus) / 4,
        vcpus,
        mem_kb,
        max_mem_kb: mem_kb + 512 * 1024,
        vifs,
        vbds,
    }
}

impl Source for Synthetic {
    fn read(&mut self) -> Result<Reading, SourceError> {
        if self.readings > 0 {
            self.advance();
        }
        self.readings += 1;
        Ok(Reading {
            host: self.host.clone(),
            domains: self.domains.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_growing() {
        let mut a = Synthetic::new(12, 5);
        let mut b = Synthetic::new(12, 5);
        let first = a.read().unwrap();
        assert_eq!(first, b.read().unwrap());
        assert_eq!(first.domains.len(), 12);
        let second = a.read().unwrap();
        assert_eq!(second, b.read().unwrap());
        for (d1, d2) in first.domains.iter().zip(&second.domains) {
            if d1.state == DomainState::Paused {
                assert_eq!(d1, d2);
                continue;
            }
            assert!(d2.cpu_ns > d1.cpu_ns, "{}", d1.name);
            // At most all vCPUs busy for the whole interval.
            assert!(d2.cpu_ns - d1.cpu_ns <= 5 * 1_000_000_000 * u64::from(d1.vcpus));
            assert!(d2.vifs[0].rx_bytes > d1.vifs[0].rx_bytes);
            assert!(d2.vbds[0].rd_reqs >= d1.vbds[0].rd_reqs);
        }
        assert_eq!(second.host.uptime_s, Some(3 * 86_400 + 5));
        assert!(second.host.mem_free_kb < second.host.mem_total_kb);
        let states: Vec<_> = first.domains.iter().map(|d| d.state).collect();
        assert!(states.contains(&DomainState::Paused) && states.contains(&DomainState::Idle));
    }
}
