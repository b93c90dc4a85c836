//! Three `zentific scheduler` processes share one PostgreSQL database and 2,000 jobs:
//! every job is dispatched exactly once. The node is the XenAPI simulator, which counts
//! the power calls it receives, so a job dispatched twice would show in its count.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use dxr::{MethodCall, MethodResponse, Value};
use zentific_sql::{
    Caller, JobFilter, JobState, NewNode, NewUser, PowerAction, Role, Store, Transport, VmFilter,
};

const JOBS: usize = 2000;
const GUESTS: usize = 20;

/// `sim.stats().power_calls` of the simulator at `url`.
trait PowerCalls {
    fn power_calls(&self) -> BTreeMap<String, i32>;
}

impl PowerCalls for XapiSimulator {
    /// `sim.stats().power_calls`.
    fn power_calls(&self) -> BTreeMap<String, i32> {
        let body = MethodCall {
            name: "sim.stats".into(),
            params: vec![],
        }
        .to_xml()
        .unwrap();
        let text = ureq::post(&self.url)
            .header("Content-Type", "text/xml")
            .send(body.as_bytes())
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let Value::Struct(mut envelope) = MethodResponse::from_xml(&text).unwrap().value else {
            panic!("{text}")
        };
        let Some(Value::Struct(stats)) = envelope.remove("Value") else {
            panic!("{text}")
        };
        let Some(Value::Struct(calls)) = stats.get("power_calls").cloned() else {
            return BTreeMap::new();
        };
        calls
            .into_iter()
            .map(|(op, n)| {
                (
                    op,
                    if let Value::Integer(n) = n {
                        n
                    } else {
                        panic!()
                    },
                )
            })
            .collect()
    }
}

#[test]
fn three_workers_dispatch_two_thousand_jobs_exactly_once() {
    let simulator = XapiSimulator::start(GUESTS);
    let database = fresh_postgres_database();
    let store = Store::open(&database).unwrap();
    let new = NewUser {
        username: "admin".into(),
        password: ADMIN_PASSWORD.into(),
        email: String::new(),
        role: Role::Admin,
        language: None,
    };
    store.create_user(None, &new).unwrap();
    let (_, admin): (String, Caller) = store.login("admin", ADMIN_PASSWORD).unwrap();
    let uri = simulator.url.replace("http://", "http://root:xapi-sim@");
    let node = NewNode {
        name: "xcp".into(),
        hostname: "127.0.0.1".into(),
        transport: Transport::Xenapi,
        uri,
    };
    store.register_node(&admin, &node).unwrap();

    let workers: Vec<SchedulerProcess> = (0..3)
        .map(|_| {
            SchedulerProcess::start(&database, &["--workers", "4", "--reconcile-secs", "3600"])
        })
        .collect();
    let guests = wait_until(Duration::from_secs(60), "the inventory", || {
        let vms = store.list_vms(&admin, &VmFilter::default()).unwrap();
        let guests: Vec<i32> = vms
            .iter()
            .filter(|v| v.name.starts_with("load-"))
            .map(|v| v.id)
            .collect();
        (guests.len() == GUESTS).then_some(guests)
    });

    let mut jobs = Vec::with_capacity(JOBS);
    for n in 0..JOBS {
        jobs.push(
            store
                .power_vm(&admin, guests[n % GUESTS], PowerAction::Reboot)
                .unwrap(),
        );
    }
    wait_until(Duration::from_secs(600), "every job to end", || {
        let open = |state| {
            store
                .list_jobs(
                    &admin,
                    &JobFilter {
                        state: Some(state),
                        limit: Some(1),
                        ..Default::default()
                    },
                )
                .unwrap()
        };
        (open(JobState::Pending).is_empty() && open(JobState::Running).is_empty()).then_some(())
    });

    let calls = simulator.power_calls();
    assert_eq!(
        calls.get("clean_reboot"),
        Some(&(JOBS as i32)),
        "the hypervisor saw {calls:?}"
    );
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    for id in &jobs {
        let job = store.get_job(&admin, *id).unwrap();
        assert_eq!(
            (job.state, job.attempts),
            (JobState::Succeeded, 1),
            "job {id}: {job:?}"
        );
        *by_worker.entry(job.worker).or_default() += 1;
    }
    assert_eq!(
        by_worker.len(),
        3,
        "each process should have taken jobs: {by_worker:?}"
    );
    for worker in workers {
        assert!(worker.stop());
    }
}
