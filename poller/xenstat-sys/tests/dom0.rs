//! Sampling a real Xen dom0. Ignored by default because it needs one: run it inside dom0
//! (for example with the xenlab harness) as `./dom0-<hash> --ignored`.

use std::time::Duration;

use xenstat_sys::Xenstat;

#[test]
#[ignore = "needs a Xen dom0 (root)"]
fn samples_describe_the_host_and_dom0() {
    let mut xenstat = Xenstat::open().expect("open libxenstat in dom0");
    let first = xenstat.sample().expect("first sample");
    std::thread::sleep(Duration::from_millis(200));
    let second = xenstat.sample().expect("second sample");

    for node in [&first, &second] {
        assert!(node.cpus >= 1, "{node:?}");
        assert!(node.tot_mem_bytes > 0 && node.free_mem_bytes <= node.tot_mem_bytes);
        assert!(
            node.xen_version.starts_with(|c: char| c.is_ascii_digit()),
            "{:?}",
            node.xen_version
        );
        let dom0 = node.domains.first().expect("at least dom0");
        assert_eq!((dom0.id, dom0.name.as_str()), (0, "Domain-0"));
        for domain in &node.domains {
            assert!(domain.vcpus_online >= 1, "{domain:?}");
            assert!(domain.cur_mem_bytes > 0, "{domain:?}");
            // Whole pages.
            assert_eq!(domain.cur_mem_bytes % 4096, 0, "{domain:?}");
            assert!(domain.cur_mem_bytes <= domain.max_mem_bytes, "{domain:?}");
        }
        let ids: Vec<u32> = node.domains.iter().map(|domain| domain.id).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    }
    // Counters only grow.
    for domain in &second.domains {
        if let Some(before) = first.domains.iter().find(|d| d.id == domain.id) {
            assert!(domain.cpu_ns >= before.cpu_ns, "{before:?} -> {domain:?}");
        }
    }
    // This process runs in dom0, so dom0 used CPU time between the samples.
    assert!(second.domains[0].cpu_ns > first.domains[0].cpu_ns);
}
