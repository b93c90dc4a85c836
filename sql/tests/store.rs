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
    store.register_node(actor, &new).unwrap().id
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
        assert_eq!(store.options().unwrap().len(), OPTION_DEFS.len());
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
        assert!(matches!(store.update_user(&admin, admin.user_id, &demote), Err(StoreError::Conflict(_))));
        // A user may change their own language, not their role.
        store.update_user(&op, op.user_id, &UserUpdate { language: Some("fr".into()), ..Default::default() }).unwrap();
        let promote = UserUpdate { role: Some(Role::Admin), ..Default::default() };
        assert!(matches!(store.update_user(&op, op.user_id, &promote), Err(StoreError::NotPermitted(_))));
        assert_eq!(store.get_user(&admin, op.user_id).unwrap().language, "fr");
    }

    fn disabling_ends_sessions(store: &Store) {
        let admin = admin(store);
        let bob = user(store, &admin, "bob", Role::User);
        let (token, _) = store.login("bob", "user-password").unwrap();
        store.update_user(&admin, bob.user_id, &UserUpdate { disabled: Some(true), ..Default::default() }).unwrap();
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
        assert!(matches!(store.get_vm(&bob, vm), Err(StoreError::NotPermitted(_))));
        assert!(matches!(store.power_vm(&bob, vm, PowerAction::Start), Err(StoreError::NotPermitted(_))));
        store.grant(&alice, bob.user_id, vm, &[Permission::View]).unwrap();
        assert_eq!(store.list_vms(&bob, &VmFilter::default()).unwrap().len(), 1);
        assert!(matches!(store.power_vm(&bob, vm, PowerAction::Start), Err(StoreError::NotPermitted(_))));
        store.grant(&alice, bob.user_id, vm, &[Permission::Power]).unwrap();
        let job = store.power_vm(&bob, vm, PowerAction::Start).unwrap();
        assert_eq!(store.get_job(&bob, job).unwrap().state, JobState::Pending);
        store.revoke(&alice, bob.user_id, vm, &[Permission::View, Permission::Power]).unwrap();
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
        assert_eq!((job.action.as_str(), job.target_id), ("create", vm));
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
        assert!(store.list_jobs(&admin, &JobFilter::default()).unwrap().is_empty());
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
        store.set_quota(&admin, alice.user_id, &Quota { vms: Some(2), memory_kb: Some(600_000), vcpus: None }).unwrap();
        store.create_vm(&alice, &new_vm("second", n)).unwrap();
        assert!(matches!(store.create_vm(&alice, &new_vm("third", n)), Err(StoreError::OverLimit(_))));
        let vms = store.list_vms(&alice, &VmFilter::default()).unwrap();
        let update = VmUpdate { memory_kb: Some(400_000), max_memory_kb: Some(400_000), vcpus: None };
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
        assert_eq!(store.node_for_poller_token(&registered.poller_token).unwrap().id, registered.id);
        store.create_vm(&admin, &new_vm("web", n)).unwrap();
        assert!(matches!(store.remove_node(&admin, n), Err(StoreError::Conflict(_))));
        store.remove_node(&admin, registered.id).unwrap();
        assert_eq!(store.list_nodes().unwrap().len(), 1);
    }

    fn storage_pools_and_volumes(store: &Store) {
        let admin = admin(store);
        let n = node(store, &admin, "n1");
        let pool = store.define_pool(&admin, &NewPool { node: n, name: "default".into(), kind: "dir".into(), path: "/var/lib/xen/images".into(), capacity_kb: 1000 }).unwrap();
        store.create_volume(&admin, pool, &NewVolume { name: "a.img".into(), capacity_kb: 600 }).unwrap();
        assert!(matches!(store.create_volume(&admin, pool, &NewVolume { name: "b.img".into(), capacity_kb: 600 }), Err(StoreError::OverLimit(_))));
        let volumes = store.list_volumes(pool).unwrap();
        assert_eq!(volumes[0].path, "/var/lib/xen/images/a.img");
        assert_eq!(store.list_pools(Some(n)).unwrap()[0].allocation_kb, 600);
    }
}
