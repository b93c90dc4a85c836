//! Diesel table definitions, written to match both migration flavours in `migrations/`.
//! The columns are described in the migrations.
#![allow(missing_docs)]

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        password_hash -> Text,
        email -> Text,
        role -> Text,
        language -> Text,
        disabled -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        created_at -> BigInt,
        expires_at -> BigInt,
        last_used_at -> BigInt,
        idle_secs -> BigInt,
    }
}

diesel::table! {
    quotas (user_id) {
        user_id -> Integer,
        max_vms -> Nullable<Integer>,
        max_memory_kb -> Nullable<BigInt>,
        max_vcpus -> Nullable<Integer>,
    }
}

diesel::table! {
    nodes (id) {
        id -> Integer,
        name -> Text,
        hostname -> Text,
        transport -> Text,
        uri -> Text,
        credentials -> Nullable<Text>,
        poller_token_hash -> Text,
        last_seen -> Nullable<BigInt>,
        created_at -> BigInt,
        reachable -> Bool,
        status_detail -> Text,
        synced_at -> Nullable<BigInt>,
        poll_interval -> Nullable<Integer>,
        last_seq -> Nullable<BigInt>,
        clock_skew -> Nullable<BigInt>,
        silent_since -> Nullable<BigInt>,
    }
}

diesel::table! {
    vms (id) {
        id -> Integer,
        uuid -> Text,
        name -> Text,
        node_id -> Integer,
        vm_type -> Text,
        os -> Text,
        state -> Text,
        memory_kb -> BigInt,
        max_memory_kb -> BigInt,
        vcpus -> Integer,
        started_at -> Nullable<BigInt>,
        owner_id -> Nullable<Integer>,
        created_at -> BigInt,
        vanished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    vm_grants (user_id, vm_id, permission) {
        user_id -> Integer,
        vm_id -> Integer,
        permission -> Text,
        granted_by -> Nullable<Integer>,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    vifs (id) {
        id -> Integer,
        vm_id -> Integer,
        mac -> Text,
        bridge -> Text,
        model -> Text,
        state -> Text,
    }
}

diesel::table! {
    disks (id) {
        id -> Integer,
        vm_id -> Integer,
        target -> Text,
        source -> Text,
        size_kb -> BigInt,
        readonly -> Bool,
        state -> Text,
    }
}

diesel::table! {
    storage_pools (id) {
        id -> Integer,
        node_id -> Integer,
        name -> Text,
        kind -> Text,
        path -> Text,
        capacity_kb -> BigInt,
        allocation_kb -> BigInt,
    }
}

diesel::table! {
    storage_volumes (id) {
        id -> Integer,
        pool_id -> Integer,
        name -> Text,
        path -> Text,
        capacity_kb -> BigInt,
        allocation_kb -> BigInt,
        state -> Text,
    }
}

diesel::table! {
    options (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    modules (name) {
        name -> Text,
        description -> Text,
        layers -> Text,
        enabled -> Bool,
        builtin -> Bool,
        version -> Text,
        config -> Text,
    }
}

diesel::table! {
    notes (vm_id) {
        vm_id -> Integer,
        body -> Text,
        updated_by -> Nullable<Integer>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    jobs (id) {
        id -> Integer,
        action -> Text,
        target_kind -> Text,
        target_id -> Integer,
        params -> Text,
        state -> Text,
        attempts -> Integer,
        error -> Text,
        created_by -> Nullable<Integer>,
        created_at -> BigInt,
        started_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        kind -> Text,
        origin_id -> Nullable<Integer>,
        not_before -> BigInt,
        max_attempts -> Integer,
        worker -> Text,
        heartbeat -> Nullable<BigInt>,
        fault -> Integer,
        applies -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> BigInt,
        user_id -> Nullable<Integer>,
        username -> Text,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<Integer>,
        detail -> Text,
    }
}

diesel::table! {
    schedules (id) {
        id -> Integer,
        name -> Text,
        action -> Text,
        target_kind -> Text,
        target_id -> Integer,
        params -> Text,
        cron -> Text,
        timezone -> Text,
        missed -> Text,
        ends_at -> Nullable<BigInt>,
        remaining -> Nullable<Integer>,
        next_run -> Nullable<BigInt>,
        last_run -> Nullable<BigInt>,
        enabled -> Bool,
        created_by -> Nullable<Integer>,
        created_at -> BigInt,
    }
}

diesel::table! {
    triggers (id) {
        id -> Integer,
        name -> Text,
        event -> Text,
        vm_id -> Nullable<Integer>,
        node_id -> Nullable<Integer>,
        state -> Nullable<Text>,
        silent_secs -> Nullable<Integer>,
        metric -> Nullable<Text>,
        threshold -> Nullable<Double>,
        for_secs -> Nullable<Integer>,
        action -> Text,
        target_kind -> Text,
        target_id -> Integer,
        params -> Text,
        enabled -> Bool,
        fired_at -> Nullable<BigInt>,
        created_by -> Nullable<Integer>,
        created_at -> BigInt,
    }
}

diesel::table! {
    stat_pushes (node_id, seq) {
        node_id -> Integer,
        seq -> BigInt,
        sampled_at -> BigInt,
        received_at -> BigInt,
    }
}

diesel::table! {
    node_extras (node_id, metric, at) {
        node_id -> Integer,
        metric -> Text,
        at -> BigInt,
        value -> Double,
    }
}

diesel::table! {
    node_stats (node_id, at) {
        node_id -> Integer,
        at -> BigInt,
        cpus -> Integer,
        cpu_pct -> Double,
        mem_total_kb -> BigInt,
        mem_free_kb -> BigInt,
        domains -> Integer,
    }
}

diesel::table! {
    vm_stats (vm_id, at) {
        vm_id -> Integer,
        at -> BigInt,
        cpu_pct -> Double,
        mem_kb -> BigInt,
        vcpus -> Integer,
        net_rx_bps -> Double,
        net_tx_bps -> Double,
        disk_rd_bps -> Double,
        disk_wr_bps -> Double,
        disk_rd_iops -> Double,
        disk_wr_iops -> Double,
    }
}

diesel::table! {
    vm_counters (vm_id) {
        vm_id -> Integer,
        domid -> Integer,
        at -> BigInt,
        cpu_ns -> BigInt,
        rx_bytes -> BigInt,
        tx_bytes -> BigInt,
        rd_sectors -> BigInt,
        wr_sectors -> BigInt,
        rd_reqs -> BigInt,
        wr_reqs -> BigInt,
    }
}

diesel::table! {
    stat_rollups (series, kind, object_id, metric, bucket) {
        series -> Text,
        kind -> Text,
        object_id -> Integer,
        metric -> Text,
        bucket -> BigInt,
        samples -> Integer,
        avg_value -> Double,
        max_value -> Double,
    }
}

diesel::table! {
    stat_watermarks (series) {
        series -> Text,
        rolled_until -> BigInt,
    }
}

diesel::table! {
    console_tickets (ticket_hash) {
        ticket_hash -> Text,
        session_hash -> Text,
        user_id -> Integer,
        vm_id -> Integer,
        kind -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(quotas -> users (user_id));
diesel::joinable!(vms -> nodes (node_id));
diesel::joinable!(vm_grants -> vms (vm_id));
diesel::joinable!(vifs -> vms (vm_id));
diesel::joinable!(snapshots -> vms (vm_id));
diesel::joinable!(disks -> vms (vm_id));
diesel::joinable!(storage_pools -> nodes (node_id));
diesel::joinable!(storage_volumes -> storage_pools (pool_id));
diesel::joinable!(notes -> vms (vm_id));

diesel::table! {
    events (seq) {
        seq -> BigInt,
        at -> BigInt,
        kind -> Text,
        target_kind -> Text,
        target_id -> Nullable<Integer>,
        owner_id -> Nullable<Integer>,
        state -> Nullable<Text>,
        job_id -> Nullable<Integer>,
        actor -> Text,
        detail -> Text,
    }
}

diesel::table! {
    snapshots (id) {
        id -> Integer,
        vm_id -> Integer,
        name -> Text,
        created_at -> BigInt,
        vm_state -> Text,
        state -> Text,
    }
}

diesel::table! {
    event_horizon (id) {
        id -> Integer,
        pruned_through -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    quotas,
    nodes,
    vms,
    vm_grants,
    vifs,
    disks,
    storage_pools,
    storage_volumes,
    options,
    modules,
    notes,
    jobs,
    audit_log,
    schedules,
    triggers,
    stat_pushes,
    node_extras,
    node_stats,
    vm_stats,
    vm_counters,
    stat_rollups,
    stat_watermarks,
    events,
    event_horizon,
    snapshots,
    console_tickets,
);
