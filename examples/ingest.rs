//! Ingest benchmark: simulated pollers push 50-VM samples to a running server over
//! XML-RPC (`stats.push`), as fast as the server takes them, and the run reports VM
//! samples stored per second and the push latency percentiles.
//!
//! Usage: `ingest URL ADMIN_PASSWORD [NODES] [VMS_PER_NODE] [SECONDS] [THREADS]`
//! (defaults 100 nodes × 50 VMs, 20 s, 8 threads). `bench/ingest.sh` runs it against
//! SQLite and PostgreSQL.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dxr::{MethodCall, MethodResponse, Value};

fn call(agent: &ureq::Agent, url: &str, name: &str, params: Vec<Value>) -> Value {
    let body = MethodCall {
        name: name.into(),
        params,
    }
    .to_xml()
    .expect("xml");
    let text = agent
        .post(url)
        .header("Content-Type", "text/xml")
        .send(body.as_bytes())
        .expect("post")
        .body_mut()
        .read_to_string()
        .expect("body");
    MethodResponse::from_xml(&text)
        .unwrap_or_else(|_| panic!("{name} failed: {text}"))
        .value
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn member<'a>(v: &'a Value, name: &str) -> &'a Value {
    match v {
        Value::Struct(m) => &m[name],
        _ => panic!("not a struct"),
    }
}

/// The XML of one sample: `vms` domains whose counters grow with `round`.
fn sample_xml(token: &str, node: usize, vms: usize, seq: i64, round: i64) -> String {
    let mut x = String::with_capacity(vms * 900 + 1024);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = time::OffsetDateTime::from_unix_timestamp(now).unwrap();
    let _ = write!(
        x,
        "<?xml version=\"1.0\"?><methodCall><methodName>stats.push</methodName><params><param><value><string>{token}</string></value></param><param><value><struct>\
         <member><name>seq</name><value><i8>{seq}</i8></value></member>\
         <member><name>time</name><value><dateTime.iso8601>{:04}{:02}{:02}T{:02}:{:02}:{:02}</dateTime.iso8601></value></member>\
         <member><name>interval</name><value><i4>5</i4></value></member>\
         <member><name>source</name><value><string>synthetic</string></value></member>\
         <member><name>host</name><value><struct><member><name>cpus</name><value><i4>16</i4></value></member><member><name>cpu_mhz</name><value><i4>2400</i4></value></member><member><name>mem_total_kb</name><value><i8>134217728</i8></value></member><member><name>mem_free_kb</name><value><i8>67108864</i8></value></member><member><name>hypervisor</name><value><string>synthetic</string></value></member></struct></value></member>\
         <member><name>domains</name><value><array><data>",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    for v in 0..vms {
        let grow = round * (v as i64 + 1);
        let _ = write!(
            x,
            "<value><struct><member><name>domid</name><value><i4>{}</i4></value></member><member><name>name</name><value><string>n{node}-vm{v}</string></value></member>\
             <member><name>state</name><value><string>running</string></value></member><member><name>cpu_ns</name><value><i8>{}</i8></value></member>\
             <member><name>vcpus</name><value><i4>2</i4></value></member><member><name>mem_kb</name><value><i8>1048576</i8></value></member><member><name>max_mem_kb</name><value><i8>2097152</i8></value></member>\
             <member><name>vifs</name><value><array><data><value><struct><member><name>id</name><value><i4>0</i4></value></member><member><name>rx_bytes</name><value><i8>{}</i8></value></member><member><name>tx_bytes</name><value><i8>{}</i8></value></member><member><name>rx_packets</name><value><i8>{}</i8></value></member><member><name>tx_packets</name><value><i8>{}</i8></value></member><member><name>rx_errors</name><value><i8>0</i8></value></member><member><name>tx_errors</name><value><i8>0</i8></value></member><member><name>rx_drops</name><value><i8>0</i8></value></member><member><name>tx_drops</name><value><i8>0</i8></value></member></struct></value></data></array></value></member>\
             <member><name>vbds</name><value><array><data><value><struct><member><name>id</name><value><i4>51712</i4></value></member><member><name>rd_reqs</name><value><i8>{}</i8></value></member><member><name>wr_reqs</name><value><i8>{}</i8></value></member><member><name>rd_sectors</name><value><i8>{}</i8></value></member><member><name>wr_sectors</name><value><i8>{}</i8></value></member><member><name>oo_reqs</name><value><i8>0</i8></value></member></struct></value></data></array></value></member></struct></value>",
            v + 1,
            grow * 1_000_000,
            grow * 1500,
            grow * 700,
            grow,
            grow / 2,
            grow * 3,
            grow * 2,
            grow * 24,
            grow * 16
        );
    }
    x.push_str("</data></array></value></member></struct></value></param></params></methodCall>");
    x
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("URL").clone();
    let password = args.get(2).expect("ADMIN_PASSWORD").clone();
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (nodes, vms, seconds, threads) = (arg(3, 100), arg(4, 50), arg(5, 20), arg(6, 8));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let Value::String(token) = call(
        &agent,
        &url,
        "session.login",
        vec![s("admin"), s(&password)],
    ) else {
        panic!()
    };

    // Seed: nodes and their VMs (recorded only: the server runs without workers).
    let mut tokens = Vec::new();
    for n in 0..nodes {
        let spec = Value::Struct(
            [
                ("name", s(&format!("n{n}"))),
                ("hostname", s("127.0.0.1")),
                ("transport", s("libvirt")),
                ("uri", s("test:///default")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let node = call(&agent, &url, "node.register", vec![s(&token), spec]);
        let Value::String(poller) = member(&node, "poller_token").clone() else {
            panic!()
        };
        let Value::Integer(id) = *member(&node, "id") else {
            panic!()
        };
        let calls: Vec<Value> = (0..vms)
            .map(|v| {
                let vm = Value::Struct(
                    [
                        ("name", s(&format!("n{n}-vm{v}"))),
                        ("type", s("PV")),
                        ("node", Value::Integer(id)),
                        ("memory_kb", Value::Integer(1_048_576)),
                        ("max_memory_kb", Value::Integer(2_097_152)),
                        ("vcpus", Value::Integer(2)),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                );
                Value::Struct(
                    [
                        ("methodName".to_string(), s("vm.create")),
                        ("params".to_string(), Value::Array(vec![s(&token), vm])),
                    ]
                    .into_iter()
                    .collect(),
                )
            })
            .collect();
        call(&agent, &url, "system.multicall", vec![Value::Array(calls)]);
        tokens.push(poller);
    }
    eprintln!("seeded {nodes} nodes × {vms} VMs");

    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let tokens = Arc::new(tokens);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (stop, latencies, tokens, url) =
                (stop.clone(), latencies.clone(), tokens.clone(), url.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut mine = Vec::new();
                let mut round = 1i64;
                'outer: loop {
                    for n in (t..tokens.len()).step_by(threads) {
                        if stop.load(Ordering::Relaxed) {
                            break 'outer;
                        }
                        let body = sample_xml(&tokens[n], n, vms, round, round);
                        let begun = Instant::now();
                        let text = agent
                            .post(&url)
                            .header("Content-Type", "text/xml")
                            .send(body.as_bytes())
                            .unwrap()
                            .body_mut()
                            .read_to_string()
                            .unwrap();
                        mine.push(begun.elapsed());
                        assert!(text.contains("stored"), "push failed: {text}");
                    }
                    round += 1;
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds as u64));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let pick = |q: f64| {
        latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    let pushes = latencies.len() as f64;
    println!(
        "{} {:.0} {:.0} {:.1} {:.1}",
        pushes,
        pushes / elapsed,
        pushes * vms as f64 / elapsed,
        pick(0.5),
        pick(0.99)
    );
}
