//! The store's behaviour, run on both backends: every test below exists once for SQLite
//! and once for a real PostgreSQL server started by the harness.

use zentific_sql::testing::{fresh_postgres_database, fresh_sqlite_database};
use zentific_sql::*;

/// Define each test twice, as `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($(fn $name:ident($store:ident: &Store) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(#[test] fn $name() { let $store = &Store::open(&fresh_sqlite_database()).unwrap(); $body })*
        }
        mod postgres {
            use super::*;
            $(#[test] fn $name() { let $store = &Store::open(&fresh_postgres_database()).unwrap(); $body })*
        }
    };
}

fn admin(store: &Store) -> Caller {
    let new = NewUser {
        username: "admin".into(),
        password: "admin-password".into(),
        email: String::new(),
        role: Role::Admin,
        language: None,
    };
    store.create_user(None, &new).unwrap();
    store.login("admin", "admin-password").unwrap().1
}

fn user(store: &Store, actor: &Caller, name: &str, role: Role) -> Caller {
    let new = NewUser {
        username: name.into(),
        password: "user-password".into(),
        email: format!("{name}@example.org"),
        role,
        language: Some("de".into()),
    };
    store.create_user(Some(actor), &new).unwrap();
    store.login(name, "user-password").unwrap().1
}

fn node(store: &Store, actor: &Caller, name: &str) -> i32 {
    let new = NewNode {
        name: name.into(),
        hostname: "127.0.0.1".into(),
        transport: Transport::Libvirt,
        uri: "test:///default".into(),
    };
    let id = store.register_node(actor, &new).unwrap().id;
    let pool = NewPool {
        node: id,
        name: "images".into(),
        kind: "dir".into(),
        path: "/var/lib/xen".into(),
        capacity_kb: 1 << 30,
    };
    store.define_pool(actor, &pool).unwrap();
    id
}

fn new_vm(name: &str, node: i32) -> NewVm {
    NewVm {
        name: name.into(),
        vm_type: VmType::Pv,
        node,
        memory_kb: 262_144,
        max_memory_kb: None,
        vcpus: 1,
        os: "linux".into(),
        vifs: vec![NewVif {
            mac: None,
            bridge: "xenbr0".into(),
            model: String::new(),
        }],
        disks: vec![NewDisk {
            target: "xvda".into(),
            source: "/var/lib/xen/a.img".into(),
            pool: None,
            volume: None,
            size_kb: 1_048_576,
            readonly: false,
        }],
    }
}

on_both_backends! {
    fn defaults_are_seeded(store: &Store) {
        let options = store.global_options().unwrap();
        assert_eq!(options.vm_max_vcpus, 8);
        assert_eq!(options.node_user, "root");
        // Opening again applies no migration twice and keeps the data.
        assert_eq!(store.options(&Caller::system()).unwrap().len(), OPTION_DEFS.len());
    }

    fn login_checks_password_and_tokens_expire_with_logout(store: &Store) {
        let admin = admin(store);
        assert!(matches!(store.login("admin", "wrong-password"), Err(StoreError::NotAuthenticated(_))));
        assert!(matches!(store.login("nobody", "whatever-pw"), Err(StoreError::NotAuthenticated(_))));
        let (token, caller) = store.login("admin", "admin-password").unwrap();
        assert_eq!(caller, admin);
        assert_eq!(store.caller_for_token(&token).unwrap(), admin);
        store.logout(&token).unwrap();
        assert!(matches!(store.caller_for_token(&token), Err(StoreError::NotAuthenticated(_))));
    }

    fn user_names_are_unique_and_validated(store: &Store) {
        let admin = admin(store);
        let dup = NewUser { username: "admin".into(), password: "another-pass".into(), email: String::new(), role: Role::User, language: None };
        assert!(matches!(store.create_user(Some(&admin), &dup), Err(StoreError::Conflict(_))));
        let bad = NewUser { username: "bad name".into(), ..dup.clone() };
        assert!(matches!(store.create_user(Some(&admin), &bad), Err(StoreError::Invalid { field, .. }) if field == "username"));
        let short = NewUser { username: "fresh".into(), password: "short".into(), ..dup };
        assert!(matches!(store.create_user(Some(&admin), &short), Err(StoreError::Invalid { field, .. }) if field == "password"));
        assert_eq!(store.user_count().unwrap(), 1);
    }

    fn the_last_admin_stays(store: &Store) {
        let admin = admin(store);
        let op = user(store, &admin, "op", Role::Operator);
        let demote = UserUpdate { role: Some(Role::User), ..Default::default() };
        assert!(matches!(store.update_user(&admin, admin.user_id(), &demote), Err(StoreError::Conflict(_))));
        // A user may change their own language, not their role.
        store.update_user(&op, op.user_id(), &UserUpdate { language: Some("fr".into()), ..Default::default() }).unwrap();
        let promote = UserUpdate { role: Some(Role::Admin), ..Default::default() };
        assert!(matches!(store.update_user(&op, op.user_id(), &promote), Err(StoreError::NotPermitted(_))));
        assert_eq!(store.get_user(&admin, op.user_id()).unwrap().language, "fr");
    }

    fn disabling_ends_sessions(store: &Store) {
        let admin = admin(store);
        let bob = user(store, &admin, "bob", Role::User);
        let (token, _) = store.login("bob", "user-password").unwrap();
        store.update_user(&admin, bob.user_id(), &UserUpdate { disabled: Some(true), ..Default::default() }).unwrap();
        assert!(store.caller_for_token(&token).is_err());
        assert!(store.login("bob", "user-password").is_err());
    }

    fn users_see_only_their_vms(store: &Store) {
        let admin = admin(store);
        let alice = user(store, &admin, "alice", Role::User);
        let bob = user(store, &admin, "bob", Role::User);
        let n = node(store, &admin, "n1");
        let (vm, _) = store.create_vm(&alice, &new_vm("web", n)).unwrap();
        assert_eq!(store.list_vms(&alice, &VmFilter::default()).unwrap().len(), 1);
        assert!(store.list_vms(&bob, &VmFilter::default()).unwrap().is_empty());
        assert!(matches!(store.get_vm(&bob, vm), Err(StoreError::NotFound { .. })));
        assert!(matches!(store.power_vm(&bob, vm, PowerAction::Start), Err(StoreError::NotFound { .. })));
        store.grant(&alice, bob.user_id(), vm, &[Permission::View], None).unwrap();
        assert_eq!(store.list_vms(&bob, &VmFilter::default()).unwrap().len(), 1);
        assert!(matches!(store.power_vm(&bob, vm, PowerAction::Start), Err(StoreError::NotPermitted(_))));
        store.grant(&alice, bob.user_id(), vm, &[Permission::Power], None).unwrap();
        let job = store.power_vm(&bob, vm, PowerAction::Start).unwrap();
        assert_eq!(store.get_job(&bob, job).unwrap().state, JobState::Pending);
        store.revoke(&alice, bob.user_id(), vm, &[Permission::View, Permission::Power]).unwrap();
        assert!(store.list_vms(&bob, &VmFilter::default()).unwrap().is_empty());
    }

    fn vm_create_records_devices_and_a_job(store: &Store) {
        let admin = admin(store);
        let n = node(store, &admin, "n1");
        let (vm, job) = store.create_vm(&admin, &new_vm("db", n)).unwrap();
        let detail = store.get_vm(&admin, vm).unwrap();
        assert_eq!(detail.vm.state, VmState::Stopped);
        assert_eq!(detail.vm.max_memory_kb, 262_144);
        assert_eq!(detail.vifs.len(), 1);
        assert!(detail.vifs[0].mac.starts_with("00:16:3e:"));
        assert_eq!(detail.disks[0].target, "xvda");
        let job = store.get_job(&admin, job).unwrap();
        assert_eq!((job.action, job.target_id), (JobAction::Define, vm));
        assert!(store.vm_log(&admin, vm, 10).unwrap().iter().any(|e| e.action == "vm.create"));
        assert!(matches!(store.create_vm(&admin, &new_vm("db", n)), Err(StoreError::Conflict(_))));
    }

    fn a_failed_create_leaves_nothing(store: &Store) {
        let admin = admin(store);
        let n = node(store, &admin, "n1");
        let mut vm = new_vm("twice", n);
        // The second disk clashes with the first: the VM row and the first disk must vanish too.
        vm.disks.push(vm.disks[0].clone());
        assert!(matches!(store.create_vm(&admin, &vm), Err(StoreError::Conflict(_))));
        assert!(store.list_vms(&admin, &VmFilter::default()).unwrap().is_empty());
        assert!(store.list_jobs(&admin, &JobFilter::default()).unwrap().iter().all(|j| j.target_kind == "node"));
    }

    fn limits_and_quotas_are_enforced(store: &Store) {
        let admin = admin(store);
        let alice = user(store, &admin, "alice", Role::User);
        let n = node(store, &admin, "n1");
        let mut big = new_vm("big", n);
        big.vcpus = 9;
        assert!(matches!(store.create_vm(&alice, &big), Err(StoreError::OverLimit(_))));
        store.set_options(&admin, &[("vm_max_vcpus".into(), OptionValue::Int(16))]).unwrap();
        store.create_vm(&alice, &big).unwrap();
        store.set_quota(&admin, alice.user_id(), &Quota { vms: Some(2), memory_kb: Some(600_000), vcpus: None }).unwrap();
        store.create_vm(&alice, &new_vm("second", n)).unwrap();
        assert!(matches!(store.create_vm(&alice, &new_vm("third", n)), Err(StoreError::OverLimit(_))));
        let vms = store.list_vms(&alice, &VmFilter::default()).unwrap();
        let update = Resize { memory_kb: Some(400_000), max_memory_kb: Some(400_000), vcpus: None };
        assert!(matches!(store.update_vm(&alice, vms[0].id, &update), Err(StoreError::OverLimit(_))));
    }

    fn options_are_validated_all_or_nothing(store: &Store) {
        let admin = admin(store);
        let values = [("stat_retention_days".to_string(), OptionValue::Int(30)), ("vm_max_vcpus".into(), OptionValue::Int(0))];
        assert!(matches!(store.set_options(&admin, &values), Err(StoreError::Invalid { field, .. }) if field == "vm_max_vcpus"));
        assert_eq!(store.global_options().unwrap().stat_retention_days, 7);
        assert!(store.set_options(&admin, &[("nope".into(), OptionValue::Int(1))]).is_err());
        store.set_options(&admin, &[("default_language".into(), OptionValue::Text("pt-BR".into()))]).unwrap();
        assert_eq!(store.global_options().unwrap().default_language, "pt-BR");
    }

    fn power_actions_check_state(store: &Store) {
        let admin = admin(store);
        let n = node(store, &admin, "n1");
        let (vm, _) = store.create_vm(&admin, &new_vm("web", n)).unwrap();
        assert!(matches!(store.power_vm(&admin, vm, PowerAction::Pause), Err(StoreError::WrongState(_))));
        let job = store.power_vm(&admin, vm, PowerAction::Start).unwrap();
        store.cancel_job(&admin, job).unwrap();
        assert_eq!(store.get_job(&admin, job).unwrap().state, JobState::Cancelled);
        assert!(matches!(store.cancel_job(&admin, job), Err(StoreError::WrongState(_))));
    }

    fn nodes_with_vms_stay(store: &Store) {
        let admin = admin(store);
        let n = node(store, &admin, "n1");
        let registered = store.register_node(&admin, &NewNode { name: "n2".into(), hostname: "h".into(), transport: Transport::Ssh, uri: "ssh://h".into() }).unwrap();
        assert_eq!(store.node_for_poller_token(&registered.poller_token).unwrap(), registered.id);
        store.create_vm(&admin, &new_vm("web", n)).unwrap();
        assert!(matches!(store.remove_node(&admin, n), Err(StoreError::Conflict(_))));
        store.remove_node(&admin, registered.id).unwrap();
        assert_eq!(store.list_nodes(&Caller::system()).unwrap().len(), 1);
    }

    fn storage_pools_and_volumes(store: &Store) {
        let admin = admin(store);
        let n = node(store, &admin, "n1");
        let pool = store.define_pool(&admin, &NewPool { node: n, name: "default".into(), kind: "dir".into(), path: "/var/lib/xen/images".into(), capacity_kb: 1000 }).unwrap();
        let allocation = || store.list_pools(&Caller::system(), Some(n)).unwrap().iter().find(|p| p.id == pool).unwrap().allocation_kb;
        assert!(matches!(store.create_volume(&admin, pool, &NewVolume { name: "b.img".into(), capacity_kb: 6000 }), Err(StoreError::OverLimit(_))));
        // Recorded as adding: its room is held, the pool's allocation waits for the job.
        let (a, _) = store.create_volume(&admin, pool, &NewVolume { name: "a.img".into(), capacity_kb: 600 }).unwrap();
        assert!(matches!(store.create_volume(&admin, pool, &NewVolume { name: "c.img".into(), capacity_kb: 500 }), Err(StoreError::OverLimit(_))));
        assert_eq!(store.list_volumes(&Caller::system(), pool).unwrap()[0].state, "adding");
        assert_eq!(allocation(), 0);
        // The node's first sync comes first.
        let sync = store.claim_job("w").unwrap().expect("the sync job");
        assert_eq!(sync.action, JobAction::Sync);
        store.finish_job(sync.id, "w", &Outcome::Succeeded).unwrap();
        let job = store.claim_job("w").unwrap().expect("the create-volume job");
        assert_eq!(job.action, JobAction::CreateVolume { volume: a });
        store.finish_job(job.id, "w", &Outcome::Succeeded).unwrap();
        assert_eq!(store.list_volumes(&Caller::system(), pool).unwrap()[0].state, "present");
        assert_eq!(allocation(), 600);
        // A failed job leaves nothing: no volume, no allocation.
        store.create_volume(&admin, pool, &NewVolume { name: "c.img".into(), capacity_kb: 300 }).unwrap();
        let job = store.claim_job("w").unwrap().expect("the second job");
        store.finish_job(job.id, "w", &Outcome::Failed { fault: 7, error: "gone".into() }).unwrap();
        let volumes = store.list_volumes(&Caller::system(), pool).unwrap();
        assert_eq!(volumes.iter().map(|v| v.id).collect::<Vec<_>>(), [a]);
        assert_eq!(allocation(), 600);
    }
}

fn observed(uuid: &str, name: &str, state: VmState) -> Domain {
    Domain {
        uuid: uuid.into(),
        name: name.into(),
        state,
        memory_kb: 262_144,
        max_memory_kb: 524_288,
        vcpus: 1,
        vm_type: None,
    }
}

mod scheduling {
    use super::*;

    on_both_backends! {
        fn claims_take_jobs_in_order_one_per_vm(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            while let Some(sync) = store.claim_job("w").unwrap() {
                store.finish_job(sync.id, "w", &Outcome::Succeeded).unwrap();
            }
            let (a, create_a) = store.create_vm(&admin, &new_vm("a", n)).unwrap();
            let (_b, create_b) = store.create_vm(&admin, &new_vm("b", n)).unwrap();
            store.cancel_job(&admin, create_a).unwrap();
            // Two more jobs on VM a: they must run one at a time, in order.
            store.apply_inventory(n, &[observed(&store.get_vm(&admin, a).unwrap().vm.uuid, "a", VmState::Running)], true).unwrap();
            let pause = store.power_vm(&admin, a, PowerAction::Pause).unwrap();
            let reboot = store.power_vm(&admin, a, PowerAction::Reboot).unwrap();
            let first = store.claim_job("w1").unwrap().unwrap();
            assert_eq!(first.id, create_b);
            let second = store.claim_job("w2").unwrap().unwrap();
            assert_eq!((second.id, second.state, second.attempts), (pause, JobState::Running, 1));
            assert!(store.claim_job("w3").unwrap().is_none(), "the reboot must wait for the pause");
            store.finish_job(pause, "w2", &Outcome::Succeeded).unwrap();
            assert_eq!(store.claim_job("w3").unwrap().unwrap().id, reboot);
            // A finish from a worker that does not hold the job changes nothing.
            store.finish_job(reboot, "w2", &Outcome::Succeeded).unwrap();
            assert_eq!(store.get_job(&admin, reboot).unwrap().state, JobState::Running);
        }

        fn retries_back_off_then_fail_with_the_fault(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            while let Some(sync) = store.claim_job("w").unwrap() {
                store.finish_job(sync.id, "w", &Outcome::Succeeded).unwrap();
            }
            let (_, job) = store.create_vm(&admin, &new_vm("a", n)).unwrap();
            for attempt in 1..=5 {
                let claimed = store.claim_job("w").unwrap().expect("due");
                assert_eq!((claimed.id, claimed.attempts), (job, attempt));
                // Due at once, so the loop does not wait.
                let retry = Outcome::Retry { fault: 7, error: "node 'n1' is unreachable: refused".into(), not_before: 0 };
                store.finish_job(job, "w", &retry).unwrap();
            }
            let failed = store.get_job(&admin, job).unwrap();
            assert_eq!((failed.state, failed.fault), (JobState::Failed, 7));
            assert!(failed.error.contains("gave up after 5 attempts"), "{}", failed.error);
            // Backoff: a retry in the future is not claimed before its time.
            let (_, later) = store.create_vm(&admin, &new_vm("b", n)).unwrap();
            store.claim_job("w").unwrap().unwrap();
            let backoff = Outcome::Retry { fault: 7, error: "x".into(), not_before: zentific_sql::now() + 3600 };
            store.finish_job(later, "w", &backoff).unwrap();
            assert!(store.claim_job("w").unwrap().is_none());
        }

        fn interrupted_jobs_are_resumed_or_failed(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            let sync = store.claim_job("dead").unwrap().unwrap();
            assert_eq!(sync.action, JobAction::Sync);
            // The dead worker's heartbeat is older than the cut-off: resumed.
            assert_eq!(store.recover_interrupted(zentific_sql::now() + 1).unwrap(), (1, 0));
            let resumed = store.get_job(&admin, sync.id).unwrap();
            assert_eq!(resumed.state, JobState::Pending);
            assert!(resumed.error.contains("interrupted"));
            assert_eq!(store.claim_job("alive").unwrap().unwrap().attempts, 2);
            store.heartbeat("alive").unwrap();
            assert_eq!(store.recover_interrupted(zentific_sql::now() - 60).unwrap(), (0, 0), "a beating worker keeps its job");
            let _ = n;
        }

        fn inventory_records_changes_and_marks_the_missing(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            let changes = store.apply_inventory(n, &[observed("AAAA-1", "a", VmState::Running), observed("bbbb-2", "b", VmState::Stopped)], true).unwrap();
            assert!(changes.is_empty(), "new VMs are recorded, not changed: {changes:?}");
            let vms = store.list_vms(&admin, &VmFilter::default()).unwrap();
            assert_eq!(vms.iter().map(|v| (v.uuid.as_str(), v.state)).collect::<Vec<_>>(), [("aaaa-1", VmState::Running), ("bbbb-2", VmState::Stopped)]);
            assert!(vms[0].started_at.is_some());
            let changes = store.apply_inventory(n, &[observed("aaaa-1", "a", VmState::Paused)], true).unwrap();
            assert_eq!(changes.iter().map(|c| (c.from, c.to)).collect::<Vec<_>>(), [(VmState::Running, VmState::Paused), (VmState::Stopped, VmState::Unknown)]);
            // A transport that lists only running domains: missing means stopped.
            store.apply_inventory(n, &[], false).unwrap();
            let states: Vec<VmState> = store.list_vms(&admin, &VmFilter::default()).unwrap().iter().map(|v| v.state).collect();
            assert_eq!(states, [VmState::Stopped, VmState::Stopped]);
            assert!(store.get_node(&Caller::system(), n).unwrap().synced_at.is_some());
            store.mark_node(n, false, "connection refused").unwrap();
            let node = store.get_node(&Caller::system(), n).unwrap();
            assert_eq!((node.reachable, node.status_detail.as_str()), (false, "connection refused"));
        }

        fn schedules_fire_once_per_occurrence(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            let (vm, _) = store.create_vm(&admin, &new_vm("a", n)).unwrap();
            let new = NewSchedule {
                name: "nightly".into(),
                action: "update".into(),
                vm_id: vm,
                params: "vcpus=2".into(),
                cron: "0 3 * * *".into(),
                timezone: "Europe/Berlin".into(),
                missed: MissedRuns::Skip,
                ends_at: None,
                count: Some(2),
            };
            let bad = NewSchedule { cron: "0 25 * * *".into(), name: "bad".into(), ..new.clone() };
            assert!(matches!(store.create_schedule(&admin, &bad), Err(StoreError::Invalid { field, .. }) if field == "cron"));
            let id = store.create_schedule(&admin, &new).unwrap();
            let next = store.list_schedules(&admin).unwrap()[0].next_run.unwrap();
            assert_eq!(store.fire_due_schedules(next - 1).unwrap(), 0);
            assert_eq!(store.fire_due_schedules(next).unwrap(), 1);
            assert_eq!(store.fire_due_schedules(next).unwrap(), 0, "an occurrence fires once");
            let after = store.list_schedules(&admin).unwrap().remove(0);
            assert_eq!((after.remaining, after.next_run), (Some(1), Some(next + 86_400)));
            // Missed by a day with policy skip: no job, but the calendar moves on.
            assert_eq!(store.fire_due_schedules(next + 2 * 86_400 - 10).unwrap(), 0);
            let jobs = store.list_jobs(&admin, &JobFilter { vm: Some(vm), ..Default::default() }).unwrap();
            let recurring: Vec<&Job> = jobs.iter().filter(|j| j.kind == JobKind::Recurring).collect();
            assert_eq!(recurring.len(), 1);
            assert_eq!((recurring[0].action, recurring[0].origin_id), (JobAction::Resize(Resize { vcpus: Some(2), ..Resize::default() }), Some(id)));
            // run_once catches up with one job; the count then runs out.
            store.update_schedule(&admin, id, &ScheduleUpdate { missed: Some(MissedRuns::RunOnce), ..Default::default() }).unwrap();
            let due = store.list_schedules(&admin).unwrap()[0].next_run.unwrap();
            assert_eq!(store.fire_due_schedules(due + 3 * 86_400).unwrap(), 1);
            let done = store.list_schedules(&admin).unwrap().remove(0);
            assert_eq!((done.remaining, done.next_run), (Some(0), None));
        }

        fn state_and_silence_triggers_fire(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            store.apply_inventory(n, &[observed("aaaa-1", "a", VmState::Running), observed("bbbb-2", "b", VmState::Running)], true).unwrap();
            let vms = store.list_vms(&admin, &VmFilter::default()).unwrap();
            let (a, b) = (vms[0].id, vms[1].id);
            let on_crash = NewTrigger {
                name: "restart-a".into(),
                event: TriggerEvent::VmState,
                vm_id: Some(a),
                node_id: None,
                state: Some(VmState::Crashed),
                silent_secs: None,
                metric: None,
                threshold: None,
                for_secs: None,
                action: "pause".into(),
                target_vm: b,
                params: String::new(),
            };
            store.create_trigger(&admin, &on_crash).unwrap();
            let bad = NewTrigger { name: "bad".into(), vm_id: None, ..on_crash.clone() };
            assert!(matches!(store.create_trigger(&admin, &bad), Err(StoreError::Invalid { .. })));
            store.apply_domain_state(n, "aaaa-1", VmState::Paused).unwrap();
            assert!(store.list_jobs(&admin, &JobFilter::default()).unwrap().iter().all(|j| j.kind != JobKind::Event));
            store.apply_domain_state(n, "AAAA-1", VmState::Crashed).unwrap();
            let fired: Vec<Job> = store.list_jobs(&admin, &JobFilter::default()).unwrap().into_iter().filter(|j| j.kind == JobKind::Event).collect();
            assert_eq!(fired.len(), 1);
            assert_eq!((fired[0].action, fired[0].target_id), (JobAction::Power(PowerAction::Pause), b));
            let silence = NewTrigger {
                name: "n1-silent".into(),
                event: TriggerEvent::NodeSilent,
                vm_id: None,
                node_id: Some(n),
                state: None,
                silent_secs: Some(60),
                metric: None,
                threshold: None,
                for_secs: None,
                action: "shutdown".into(),
                target_vm: b,
                params: String::new(),
            };
            store.create_trigger(&admin, &silence).unwrap();
            let now = zentific_sql::now();
            assert_eq!(store.fire_silence_triggers(now).unwrap(), 0);
            assert_eq!(store.fire_silence_triggers(now + 61).unwrap(), 1);
            assert_eq!(store.fire_silence_triggers(now + 120).unwrap(), 0, "once per silence");
        }
    }
}

fn sample(seq: i64, time: i64, cpu_ns: i64, rx: i64) -> Sample {
    Sample {
        seq,
        time,
        interval: 10,
        source: "synthetic".into(),
        host: HostSample {
            cpus: 4,
            cpu_mhz: 2000,
            mem_total_kb: 8_000_000,
            mem_free_kb: 4_000_000,
            hypervisor: "xen-4.17".into(),
            uptime_s: Some(100),
        },
        domains: vec![
            DomainSample {
                domid: 0,
                uuid: None,
                name: "Domain-0".into(),
                state: "running".into(),
                cpu_ns: 1,
                vcpus: 1,
                mem_kb: 1,
                max_mem_kb: 1,
                vifs: vec![],
                vbds: vec![],
            },
            DomainSample {
                domid: 7,
                uuid: Some("AAAA-1".into()),
                name: "a".into(),
                state: "running".into(),
                cpu_ns,
                vcpus: 2,
                mem_kb: 262_144,
                max_mem_kb: 524_288,
                vifs: vec![VifCounters {
                    id: 0,
                    rx_bytes: rx,
                    tx_bytes: rx / 2,
                    ..Default::default()
                }],
                vbds: vec![VbdCounters {
                    id: 51712,
                    rd_reqs: 10,
                    wr_reqs: 5,
                    rd_sectors: 80,
                    wr_sectors: 40,
                    oo_reqs: 0,
                }],
            },
        ],
        extra: vec![],
    }
}

mod statistics {
    use super::*;

    on_both_backends! {
        fn pushes_become_rates_once(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            store.apply_inventory(n, &[observed("aaaa-1", "a", VmState::Running)], true).unwrap();
            let vm = store.list_vms(&admin, &VmFilter::default()).unwrap()[0].id;
            let t0 = zentific_sql::now() - 100;
            assert!(store.push_sample(n, &sample(1, t0, 0, 0)).unwrap().stored);
            // 5 s of CPU in 10 s is 50 %; 10 MB in 10 s is 1 MB/s.
            assert!(store.push_sample(n, &sample(2, t0 + 10, 5_000_000_000, 10_000_000)).unwrap().stored);
            let again = store.push_sample(n, &sample(2, t0 + 10, 9, 9)).unwrap();
            assert!(!again.stored, "a replayed seq is acknowledged and ignored");
            let cpu = store.vm_series(&admin, vm, "cpu_pct", t0 - 60, t0 + 60, 1).unwrap();
            assert_eq!(cpu.len(), 1, "the first sample only sets the baseline: {cpu:?}");
            assert!((cpu[0].avg - 50.0).abs() < 1e-9, "{cpu:?}");
            let rx = store.vm_series(&admin, vm, "net_rx_bps", t0 - 60, t0 + 60, 60).unwrap();
            assert!((rx[0].avg - 1_000_000.0).abs() < 1e-6, "{rx:?}");
            // A restart (counters went down) sets a new baseline, no negative rate.
            store.push_sample(n, &sample(3, t0 + 20, 1_000, 10)).unwrap();
            assert_eq!(store.vm_series(&admin, vm, "cpu_pct", t0 - 60, t0 + 60, 1).unwrap().len(), 1);
            store.push_sample(n, &sample(4, t0 + 30, 1_000_001_000, 10)).unwrap();
            let cpu = store.vm_series(&admin, vm, "cpu_pct", t0 - 60, t0 + 60, 1).unwrap();
            assert!((cpu[1].avg - 10.0).abs() < 1e-9, "{cpu:?}");
            let node_cpu = store.node_series(&Caller::system(), n, "cpu_pct", t0 - 60, t0 + 60, 1).unwrap();
            assert_eq!(node_cpu.len(), 4);
            assert!(store.get_node(&Caller::system(), n).unwrap().last_seen.is_some());
        }

        fn malformed_samples_store_nothing_and_skew_is_noted(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            let mut bad = sample(1, zentific_sql::now(), 1, 1);
            bad.domains[1].state = "sleepy".into();
            assert!(matches!(store.push_sample(n, &bad), Err(StoreError::Invalid { field, .. }) if field == "sample.domains[1].state"));
            bad.domains[1].state = "running".into();
            bad.domains[1].vifs[0].rx_bytes = -1;
            assert!(matches!(store.push_sample(n, &bad), Err(StoreError::Invalid { field, .. }) if field == "sample.domains[1].vifs[0].rx_bytes"));
            // A clock a day ahead: stored at its own time, the skew noted on the node.
            let ahead = zentific_sql::now() + 86_400;
            assert!(store.push_sample(n, &sample(1, ahead, 1, 1)).unwrap().stored);
            let points = store.node_series(&Caller::system(), n, "domains", ahead - 60, ahead + 60, 1).unwrap();
            assert_eq!(points.len(), 1, "{points:?}");
            let skew = store.get_node(&Caller::system(), n).unwrap().clock_skew.unwrap();
            assert!((-86_400 - 5..=-86_400 + 5).contains(&skew), "{skew}");
        }

        fn thresholds_fire_after_the_whole_window(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            store.apply_inventory(n, &[observed("aaaa-1", "a", VmState::Running)], true).unwrap();
            let vm = store.list_vms(&admin, &VmFilter::default()).unwrap()[0].id;
            let hot = NewTrigger {
                name: "hot".into(),
                event: TriggerEvent::StatThreshold,
                vm_id: Some(vm),
                node_id: None,
                state: None,
                silent_secs: None,
                metric: Some("cpu_pct".into()),
                threshold: Some(90.0),
                for_secs: Some(60),
                action: "reboot".into(),
                target_vm: vm,
                params: String::new(),
            };
            store.create_trigger(&admin, &hot).unwrap();
            let t0 = zentific_sql::now() - 200;
            // 95 % of one CPU: 9.5 s of CPU per 10 s.
            for k in 0..=8 {
                store.push_sample(n, &sample(k + 1, t0 + 10 * k, 9_500_000_000 * k, 0)).unwrap();
                let fired = store.list_jobs(&admin, &JobFilter::default()).unwrap().into_iter().filter(|j| j.kind == JobKind::Event).count();
                // Rates start at the second sample (t0+10); the window of 60 s is covered at t0+70.
                assert_eq!(fired, usize::from(k >= 7), "after sample {k}");
            }
        }

        fn rollups_answer_old_windows(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            store.apply_inventory(n, &[observed("aaaa-1", "a", VmState::Running)], true).unwrap();
            let vm = store.list_vms(&admin, &VmFilter::default()).unwrap()[0].id;
            let now = zentific_sql::now();
            // Samples from three days ago (a long spool replay): 20 % CPU for two minutes.
            let t0 = now - now.rem_euclid(3600) - 3 * 86_400;
            for k in 0..13 {
                store.push_sample(n, &sample(k + 1, t0 + 10 * k, 2_000_000_000 * k, 0)).unwrap();
            }
            let raw = store.vm_series(&admin, vm, "cpu_pct", t0, t0 + 130, 60).unwrap();
            assert_eq!(raw.len(), 3, "{raw:?}");
            // Raw samples are kept one day: rolled up, then dropped; the window is now
            // answered from the 1-minute roll-up, with the same figures.
            store.set_options(&admin, &[("stat_retention_days".into(), OptionValue::Int(1))]).unwrap();
            store.roll_up_stats(now).unwrap();
            let rolled = store.vm_series(&admin, vm, "cpu_pct", t0, t0 + 130, 60).unwrap();
            assert_eq!(rolled.len(), 3, "{rolled:?}");
            assert!(rolled.iter().all(|p| (p.avg - 20.0).abs() < 1e-9), "{rolled:?}");
            let hourly = store.vm_series(&admin, vm, "cpu_pct", t0, t0 + 3600, 3600).unwrap();
            assert_eq!(hourly.len(), 1);
            assert!((hourly[0].avg - 20.0).abs() < 1e-9, "{hourly:?}");
        }

        fn events_follow_commits_and_old_cursors_are_refused(store: &Store) {
            let admin = admin(store);
            let start = store.events_after(&admin, "").unwrap();
            assert!(start.events.is_empty());
            let bob = user(store, &admin, "bob", Role::User);
            // A refused change commits nothing, so it sends nothing either.
            let again = NewUser {
                username: "bob".into(),
                password: "another-password".into(),
                email: String::new(),
                role: Role::User,
                language: None,
            };
            assert!(store.create_user(Some(&admin), &again).is_err());
            let after = store.events_after(&admin, &start.cursor).unwrap();
            let kinds: Vec<&str> = after.events.iter().map(|e| e.kind.as_str()).collect();
            assert_eq!(kinds, ["user.create", "session.login"], "{after:?}");
            // Bob sees only what is about him (his account, his login).
            let bobs = store.events_after(&bob, &start.cursor).unwrap();
            assert!(bobs.events.iter().all(|e| e.target_id == Some(bob.user_id())), "{bobs:?}");
            assert_eq!(bobs.cursor, after.cursor);
            // Past the retention window the events go, and so does the old cursor.
            let later = zentific_sql::now() + 400 * 86_400;
            assert!(store.prune_events(later).unwrap() >= 2);
            let refused = store.events_after(&admin, &start.cursor).unwrap_err();
            assert_eq!(refused.fault_code(), fault_code::WRONG_STATE, "{refused}");
            // The newest cursor is still good, and "" starts at it.
            assert!(store.events_after(&admin, &after.cursor).unwrap().events.is_empty());
            assert_eq!(store.events_after(&admin, "").unwrap().cursor, after.cursor);
            assert_eq!(
                store.events_after(&admin, "12x").unwrap_err().fault_code(),
                fault_code::INVALID_VALUE
            );
        }

        fn a_silent_poller_is_an_event_once_and_its_return_another(store: &Store) {
            let admin = admin(store);
            let n = node(store, &admin, "n1");
            let now = zentific_sql::now();
            store.push_sample(n, &sample(1, now, 0, 0)).unwrap();
            let cursor = store.events_after(&admin, "").unwrap().cursor;
            assert_eq!(store.mark_silent_nodes(now + 10).unwrap(), 0);
            assert_eq!(store.mark_silent_nodes(now + 3600).unwrap(), 1);
            assert_eq!(store.mark_silent_nodes(now + 7200).unwrap(), 0);
            store.push_sample(n, &sample(2, now + 7200, 0, 0)).unwrap();
            store.mark_silent_nodes(zentific_sql::now()).unwrap();
            let states: Vec<Option<String>> = store
                .events_after(&admin, &cursor)
                .unwrap()
                .events
                .into_iter()
                .filter(|e| e.kind == "node.status")
                .map(|e| e.state)
                .collect();
            assert_eq!(states, [Some("silent".to_string()), Some("pushing".to_string())]);
        }
    }
}
