//! `storage.*`: storage pools and volumes per node.

use dxr::Value;
use zentific_sql::{NewPool, NewVolume, Pool, Role, Volume};

use crate::fault::ApiFault;
use crate::params::{Record, array, done, fields, int};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, optional, param};

fn pool_record(pool: &Pool) -> Value {
    Record::new()
        .int("id", pool.id)
        .int("node", pool.node_id)
        .string("name", &pool.name)
        .string("kind", &pool.kind)
        .string("path", &pool.path)
        .long("capacity_kb", pool.capacity_kb)
        .long("allocation_kb", pool.allocation_kb)
        .build()
}

fn volume_record(volume: &Volume) -> Value {
    Record::new()
        .int("id", volume.id)
        .int("pool", volume.pool_id)
        .string("name", &volume.name)
        .string("path", &volume.path)
        .long("capacity_kb", volume.capacity_kb)
        .long("allocation_kb", volume.allocation_kb)
        .string("state", &volume.state)
        .build()
}

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "storage.list",
        help: "Storage pools, optionally of one node {node?}, as {id, node, name, kind, path, capacity_kb, allocation_kb}.",
        params: &[TOKEN, optional("filter", Type::Struct)],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "storage.volumes",
        help: "The volumes of a pool as {id, pool, name, path, capacity_kb, allocation_kb, state}; state is present, or adding while the job that creates it runs (its space is held meanwhile; a failed job removes it). Fault 3 when there is no such pool.",
        params: &[TOKEN, param("pool", Type::Int)],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: volumes,
    },
    Method {
        name: "storage.definePool",
        help: "Record a pool that exists on a node: {node, name, kind, path, capacity_kb}. Returns its id. Fault 8 when the name is taken on the node.",
        params: &[TOKEN, param("pool", Type::Struct)],
        returns: Type::Int,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: define_pool,
    },
    Method {
        name: "storage.removePool",
        help: "Forget a pool and its volume records (nothing is deleted on the node). Returns true.",
        params: &[TOKEN, param("pool", Type::Int)],
        returns: Type::Bool,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: remove_pool,
    },
    Method {
        name: "storage.createVolume",
        help: "Create a volume {name, capacity_kb} in a pool. Returns {id, job}. Fault 6 when the pool lacks room (volumes being made hold their room), 8 when the name is taken. The volume is made in the node's libvirt pool of the same name (a dir pool the node lacks is defined at the pool's path); storage.volumes shows it as adding until its job succeeds, and the pool's allocation grows then. Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[
            TOKEN,
            param("pool", Type::Int),
            param("volume", Type::Struct),
        ],
        returns: Type::Struct,
        access: Access::Session(Role::Operator),
        vm_param: None,
        work: Work::Write,
        handler: create_volume,
    },
    Method {
        name: "storage.deleteVolume",
        help: "Delete a volume (fault 5 while it is a VM's disk). Returns the job id; the volume and its allocation go when the job succeeds. Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, param("volume", Type::Int)],
        returns: Type::Int,
        access: Access::Session(Role::Operator),
        vm_param: None,
        work: Work::Write,
        handler: delete_volume,
    },
];

fn list(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "filter")?;
    let node = f.opt_int("node")?;
    f.finish()?;
    Ok(array(
        ctx.store
            .list_pools(ctx.caller()?, node)?
            .iter()
            .map(pool_record),
    ))
}

fn volumes(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    Ok(array(
        ctx.store
            .list_volumes(ctx.caller()?, int(params, 1, "pool")?)?
            .iter()
            .map(volume_record),
    ))
}

fn define_pool(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "pool")?;
    let pool = NewPool {
        node: f.int("node")?,
        name: f.string("name")?,
        kind: f.string("kind")?,
        path: f.string("path")?,
        capacity_kb: f.long("capacity_kb")?,
    };
    f.finish()?;
    Ok(Value::Integer(ctx.store.define_pool(ctx.caller()?, &pool)?))
}

fn remove_pool(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store
        .remove_pool(ctx.caller()?, int(params, 1, "pool")?)?;
    Ok(done())
}

fn create_volume(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let pool = int(params, 1, "pool")?;
    let mut f = fields(params, 2, "volume")?;
    let volume = NewVolume {
        name: f.string("name")?,
        capacity_kb: f.long("capacity_kb")?,
    };
    f.finish()?;
    let (id, job) = ctx.store.create_volume(ctx.caller()?, pool, &volume)?;
    Ok(Record::new().int("id", id).int("job", job).build())
}

fn delete_volume(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    Ok(Value::Integer(
        ctx.store
            .delete_volume(ctx.caller()?, int(params, 1, "volume")?)?,
    ))
}
