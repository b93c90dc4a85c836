//! Benchmark: how late do many recurring schedules fire?
//!
//! Creates SCHEDULES (default 10,000) schedules that fire every second (three times each)
//! on one VM, then does what the engine's calendar thread does — sleep to the next second
//! boundary, fire everything due — and reports, per occurrence, how long after the due
//! second the last of them was recorded (the worst drift) and how many fired.
//!
//! Usage: `cargo run --release -p zentific-scheduler --example schedule_drift [DATABASE_URL]`
//! (default: a fresh SQLite file in a temp dir).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zentific_sql::{
    MissedRuns, NewNode, NewSchedule, NewUser, NewVm, Role, Store, Transport, VmType,
};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::var("SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("zentific-drift-{}", std::process::id()));
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}/drift.db", dir.display()));
    let store = Store::open(&url)?;
    let admin = NewUser {
        username: "admin".into(),
        password: "drift-password".into(),
        email: String::new(),
        role: Role::Admin,
        language: None,
    };
    store.create_user(None, &admin)?;
    let (_, admin) = store.login("admin", "drift-password")?;
    let node = NewNode {
        name: "bench".into(),
        hostname: "localhost".into(),
        transport: Transport::Libvirt,
        uri: "test:///default".into(),
    };
    let node = store.register_node(&admin, &node)?.id;
    let vm = NewVm {
        name: "target".into(),
        vm_type: VmType::Pv,
        node,
        memory_kb: 65_536,
        max_memory_kb: None,
        vcpus: 1,
        os: String::new(),
        vifs: vec![],
        disks: vec![],
    };
    let (vm, _) = store.create_vm(&admin, &vm)?;
    let started = std::time::Instant::now();
    for n in 0..count {
        let schedule = NewSchedule {
            name: format!("every-second-{n}"),
            action: "reboot".into(),
            vm_id: vm,
            params: String::new(),
            cron: "* * * * * *".into(),
            timezone: "UTC".into(),
            missed: MissedRuns::Skip,
            ends_at: None,
            count: Some(3),
        };
        store.create_schedule(&admin, &schedule)?;
    }
    eprintln!(
        "created {count} schedules in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Their first runs are already due; let them fire once before measuring.
    store.fire_due_schedules(zentific_sql::now())?;
    println!("| occurrence | schedules fired | last one recorded after the due second |");
    println!("|---:|---:|---:|");
    let mut total = 0;
    for occurrence in 1..=2 {
        let next_second = (now_ms() / 1000 + 1) * 1000;
        std::thread::sleep(Duration::from_millis((next_second - now_ms()).max(0) as u64));
        let due = next_second / 1000;
        let fired = store.fire_due_schedules(due)?;
        let late = now_ms() - next_second;
        total += fired;
        println!("| {occurrence} | {fired} | {late} ms |");
    }
    eprintln!(
        "{total} jobs recorded by the measured occurrences on {}",
        zentific_sql::redact(&url)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
