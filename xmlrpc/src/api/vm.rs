//! `vm.*`: the Virtual Machines pages — list, provision, resize, devices, notes, log and
//! the power actions, which return a job id for the scheduler to carry out.

use dxr::{Fault, Value};
use zentific_sql::{
    ConsoleKind, NewDisk, NewVif, NewVm, Permission, PowerAction, Resize, Role, Vm, VmFilter,
    VmState, VmType,
};

use crate::fault::{ApiFault, UNREACHABLE, WRONG_STATE, fault, from_store};
use crate::params::{Fields, Record, array, done, fields, int, string};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, optional, param};

/// A VM as `vm.list` shows it.
fn vm_record(vm: &Vm) -> Record {
    Record::new()
        .int("id", vm.id)
        .string("uuid", &vm.uuid)
        .string("name", &vm.name)
        .int("node", vm.node_id)
        .string("node_name", &vm.node_name)
        .string("type", vm.vm_type.as_str())
        .string("os", &vm.os)
        .string("state", vm.state.as_str())
        .long("memory_kb", vm.memory_kb)
        .long("max_memory_kb", vm.max_memory_kb)
        .int("vcpus", vm.vcpus)
        .opt_int("owner", vm.owner_id)
        .opt_time("started_at", vm.started_at)
}

fn read_vif(mut f: Fields<'_>) -> Result<NewVif, Fault> {
    let vif = NewVif {
        mac: f.opt_string("mac")?,
        bridge: f.opt_string("bridge")?.unwrap_or_else(|| "xenbr0".into()),
        model: f.opt_string("model")?.unwrap_or_default(),
    };
    f.finish()?;
    Ok(vif)
}

fn read_disk(mut f: Fields<'_>) -> Result<NewDisk, Fault> {
    let disk = NewDisk {
        target: f.string("target")?,
        source: f.opt_string("source")?.unwrap_or_default(),
        pool: f.opt_int("pool")?,
        volume: f.opt_string("volume")?,
        size_kb: f.opt_long("size_kb")?.unwrap_or(0),
        readonly: f.opt_bool("readonly")?.unwrap_or(false),
    };
    f.finish()?;
    Ok(disk)
}

const VM_ID: crate::registry::Param = param("id", Type::Int);
const ANY_USER: Access = Access::Session(Role::User);

macro_rules! power_method {
    ($name:literal, $handler:ident, $help:literal) => {
        Method {
            name: $name,
            help: $help,
            params: &[TOKEN, VM_ID],
            returns: Type::Int,
            access: ANY_USER,
            vm_param: Some((1, Permission::Power)),
            work: Work::Write,
            handler: $handler,
        }
    };
}

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "vm.list",
        help: "The VMs you may see, optionally filtered by {node?, state?, owner?}, as {id, uuid, name, node, node_name, type, os, state, memory_kb, max_memory_kb, vcpus, owner?, started_at?} structs (memory in KiB as i8).",
        params: &[TOKEN, optional("filter", Type::Struct)],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "vm.get",
        help: "One VM: the vm.list struct plus created, vifs [{id, mac, bridge, model}], disks [{id, target, source, size_kb, readonly}], your permissions on it, and pending [{job, action, params, state}]: its jobs not yet finished. Sizes and state are what the hypervisor last reported; a change shows in pending until its job succeeds and the hypervisor reports it. Needs view.",
        params: &[TOKEN, VM_ID],
        returns: Type::Struct,
        access: ANY_USER,
        vm_param: Some((1, Permission::View)),
        work: Work::Read,
        handler: get,
    },
    Method {
        name: "vm.create",
        help: "Provision a VM from {name, type (PV or HVM), node, memory_kb, max_memory_kb?, vcpus, os?, vifs?: [{bridge?, mac?, model?}], disks?: [{target, pool + volume or source, size_kb?, readonly?}]}: a disk is a volume of a storage pool on that node (pool id and volume name, or a source path inside the pool's folder); other paths only admins may give (fault 2). You become its owner. Returns the id of the create job; job.get's target is the new VM's id. Fault 6 over the per-VM limits (config) or your quota, 8 when the name is taken on the node.",
        params: &[TOKEN, param("vm", Type::Struct)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: create,
    },
    Method {
        name: "vm.update",
        help: "Change {memory_kb?, max_memory_kb?, vcpus?}: only what is given changes. On a running VM memory and vCPUs change live and in its definition; the memory ceiling changes in the definition (it applies at the next boot, where the hypervisor cannot change it live). Needs modify. Returns the id of the job that applies it; vm.get lists it under pending until then, and a failed job changes nothing. Fault 4 when the sizes contradict each other (memory over the ceiling), 6 over the per-VM limits or the owner's quota.",
        params: &[TOKEN, VM_ID, param("changes", Type::Struct)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: update,
    },
    power_method!(
        "vm.start",
        start,
        "Boot a stopped or crashed VM. Needs power. Returns a job id; fault 5 in any other state."
    ),
    power_method!(
        "vm.pause",
        pause,
        "Pause a running VM. Needs power. Returns a job id; fault 5 in any other state."
    ),
    power_method!(
        "vm.unpause",
        unpause,
        "Resume a paused VM. Needs power. Returns a job id; fault 5 in any other state."
    ),
    power_method!(
        "vm.shutdown",
        shutdown,
        "Ask a running VM's guest to shut down. Needs power. Returns a job id; fault 5 in any other state."
    ),
    power_method!(
        "vm.reboot",
        reboot,
        "Ask a running VM's guest to reboot. Needs power. Returns a job id; fault 5 in any other state."
    ),
    power_method!(
        "vm.destroy",
        destroy,
        "Stop a VM at once, as pulling the plug. Needs power. Returns a job id; fault 5 when it is already stopped."
    ),
    Method {
        name: "vm.addVif",
        help: "Add a network interface {bridge?, mac?, model?} (bridge defaults to xenbr0, the MAC is generated when absent). Needs modify. Returns {id, job}; the interface shows in vm.get once the job succeeds (a failed job removes it). On a running VM the device changes live where the hypervisor can hot-plug, else in its definition (the job's applies says \"next boot\"). Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, VM_ID, param("vif", Type::Struct)],
        returns: Type::Struct,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: add_vif,
    },
    Method {
        name: "vm.removeVif",
        help: "Remove a network interface by its id (fault 8 while another job already removes it). Needs modify. Returns a job id; the interface stays in vm.get until the job succeeds. On a running VM the device changes live where the hypervisor can hot-plug, else in its definition (the job's applies says \"next boot\"). Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, VM_ID, param("vif", Type::Int)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: remove_vif,
    },
    Method {
        name: "vm.addDisk",
        help: "Add a disk {target, pool + volume or source, size_kb?, readonly?} (sources as in vm.create: a pool volume, or a path inside a pool; other paths admins only, fault 2). Needs modify. Returns {id, job}. Fault 8 when the target is taken. The disk shows in vm.get once the job succeeds (a failed job removes it). On a running VM the device changes live where the hypervisor can hot-plug, else in its definition (the job's applies says \"next boot\"). Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, VM_ID, param("disk", Type::Struct)],
        returns: Type::Struct,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: add_disk,
    },
    Method {
        name: "vm.removeDisk",
        help: "Remove a disk by its id (fault 8 while another job already removes it). Needs modify. Returns a job id; the disk stays in vm.get until the job succeeds. On a running VM the device changes live where the hypervisor can hot-plug, else in its definition (the job's applies says \"next boot\"). Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, VM_ID, param("disk", Type::Int)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: remove_disk,
    },
    Method {
        name: "vm.console",
        help: "A one-time ticket for the VM's console: kind \"vnc\" (graphical, RFB) or \"text\" (a PV guest's serial console); without kind, the graphical console where the VM has one, else the text one. Returns {kind, ticket, path, expires}: open a websocket (binary frames; subprotocol binary if you like) at path + \"?ticket=\" + ticket on this server, from a page of this server (the Origin must be its own), within 30 s (expires); the ticket works once, for this session, this VM and this kind. The console closes when the session ends, the console permission is lost, the VM stops, or after console_idle_secs without traffic; each console session is audited (console.open, console.close with its bytes each way). Needs console; fault 5 unless the VM runs or is paused, 7 with the reason when its node's transport cannot reach such a console.",
        params: &[TOKEN, VM_ID, optional("kind", Type::String)],
        returns: Type::Struct,
        access: ANY_USER,
        vm_param: Some((1, Permission::Console)),
        work: Work::Write,
        handler: console,
    },
    Method {
        name: "vm.notes",
        help: "The VM's notes (free text, empty when none). Needs view.",
        params: &[TOKEN, VM_ID],
        returns: Type::String,
        access: ANY_USER,
        vm_param: Some((1, Permission::View)),
        work: Work::Read,
        handler: notes,
    },
    Method {
        name: "vm.delete",
        help: "Delete a stopped VM (fault 5 otherwise, and while its create job is still pending). Needs the admin permission on it. A VM its node never got (its create job failed or was cancelled) goes at once; any other is undefined on its node by the returned job, and its record, devices, grants, notes, statistics and schedules go when that job succeeds. Returns the job id. Only libvirt nodes undefine VMs so far (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, VM_ID],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Admin)),
        work: Work::Write,
        handler: delete,
    },
    Method {
        name: "vm.snapshot",
        help: "Take a snapshot of the VM named name (letters, digits, . _ -): of a running VM with its memory where the hypervisor can. Needs modify. Returns the job id; vm.snapshots lists it once the job succeeds. Fault 8 when the VM has (or is making) a snapshot of that name. Available on libvirt nodes (fault 5 on xl and XenAPI nodes, nothing recorded).",
        params: &[TOKEN, VM_ID, param("name", Type::String)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: snapshot,
    },
    Method {
        name: "vm.snapshots",
        help: "The VM's snapshots, oldest first, as [{id, name, created, state}]: state is the VM's state when it was taken. A schedule reverts to one with action revert and params snapshot=ID (the lab reset). Needs view.",
        params: &[TOKEN, VM_ID],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: Some((1, Permission::View)),
        work: Work::Read,
        handler: snapshots,
    },
    Method {
        name: "vm.revert",
        help: "Bring the VM back to its snapshot name: its disks (and, for a snapshot of a running VM, its memory and state) become what they were. What changed since is lost. Needs modify. Returns the job id. Fault 3 when there is no such snapshot, 8 while another revert to it waits.",
        params: &[TOKEN, VM_ID, param("name", Type::String)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: revert,
    },
    Method {
        name: "vm.deleteSnapshot",
        help: "Delete the VM's snapshot name; the VM itself is unchanged. Needs modify. Returns the job id; vm.snapshots lists it until the job succeeds. Fault 3 when there is no such snapshot.",
        params: &[TOKEN, VM_ID, param("name", Type::String)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: delete_snapshot,
    },
    Method {
        name: "vm.setNotes",
        help: "Replace the VM's notes (at most 64 KiB). Needs modify. Returns true.",
        params: &[TOKEN, VM_ID, param("text", Type::String)],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: Some((1, Permission::Modify)),
        work: Work::Write,
        handler: set_notes,
    },
    Method {
        name: "vm.log",
        help: "What happened to the VM, newest first: audit.list entries ({id, at, user, user_id?, action, target_kind, target?, detail}), at most limit (default 100, at most 1000). Needs view.",
        params: &[TOKEN, VM_ID, optional("limit", Type::Int)],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: Some((1, Permission::View)),
        work: Work::Read,
        handler: log,
    },
];

fn list(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "filter")?;
    let filter = VmFilter {
        node: f.opt_int("node")?,
        state: f
            .opt_string("state")?
            .map(|s| VmState::parse(&s, "filter.state").map_err(from_store))
            .transpose()?,
        owner: f.opt_int("owner")?,
    };
    f.finish()?;
    let vms = ctx.store.list_vms(ctx.caller()?, &filter)?;
    Ok(array(vms.iter().map(|vm| vm_record(vm).build())))
}

fn get(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let detail = ctx.store.get_vm(ctx.caller()?, int(params, 1, "id")?)?;
    let vifs = detail.vifs.iter().map(|v| {
        Record::new()
            .int("id", v.id)
            .string("mac", &v.mac)
            .string("bridge", &v.bridge)
            .string("model", &v.model)
            .build()
    });
    let disks = detail.disks.iter().map(|d| {
        Record::new()
            .int("id", d.id)
            .string("target", &d.target)
            .string("source", &d.source)
            .long("size_kb", d.size_kb)
            .bool("readonly", d.readonly)
            .build()
    });
    let permissions = detail
        .permissions
        .iter()
        .map(|p| Value::String(p.as_str().into()));
    let pending = detail.pending.iter().map(|job| {
        Record::new()
            .int("job", job.id)
            .string("action", job.action.name())
            .string("params", job.action.params())
            .string("state", job.state.as_str())
            .build()
    });
    Ok(vm_record(&detail.vm)
        .time("created", detail.vm.created_at)
        .value("vifs", array(vifs))
        .value("disks", array(disks))
        .value("permissions", array(permissions))
        .value("pending", array(pending))
        .build())
}

fn delete(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let job = ctx.store.delete_vm(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(Value::Integer(job))
}

fn snapshot(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let job = ctx.store.snapshot_vm(
        ctx.caller()?,
        int(params, 1, "id")?,
        string(params, 2, "name")?,
    )?;
    Ok(Value::Integer(job))
}

fn console(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let caller = ctx.caller()?;
    let vm = ctx.store.get_vm(caller, int(params, 1, "id")?)?.vm;
    let asked = match params.get(2) {
        None => None,
        Some(_) => Some(ConsoleKind::parse(string(params, 2, "kind")?, "kind")?),
    };
    if !vm.state.is_active() {
        return Err(fault(
            WRONG_STATE,
            format!(
                "VM {} is {}: a console needs a running or paused VM",
                vm.id, vm.state
            ),
        )
        .into());
    }
    let node = ctx.store.dispatch_node(vm.node_id)?;
    let locate = |kind| {
        let console = crate::console::ConsoleOf {
            store: ctx.store,
            modules: ctx.registry.module_host(),
            node: &node,
            vm: &vm,
            kind,
        };
        console
            .probe()
            .map(|()| kind)
            .map_err(|e| format!("the {kind} console cannot be reached: {e}"))
    };
    // Without a kind: the graphical console where there is one, else the text console.
    let kind = match asked {
        Some(kind) => locate(kind),
        None => locate(ConsoleKind::Vnc)
            .or_else(|vnc| locate(ConsoleKind::Text).map_err(|text| format!("{vnc}; {text}"))),
    }
    .map_err(|reason| {
        let why = crate::console::why_unavailable(&vm.node_name)
            .map(|why| format!("; {why}"))
            .unwrap_or_default();
        fault(UNREACHABLE, format!("VM {}: {reason}{why}", vm.id))
    })?;
    let ticket = ctx
        .store
        .console_ticket(caller, string(params, 0, "token")?, vm.id, kind)?;
    Ok(Record::new()
        .string("kind", kind.as_str())
        .string("ticket", &ticket.ticket)
        .string("path", format!("/console/{}/{kind}", vm.id))
        .time("expires", ticket.expires_at)
        .build())
}

fn snapshots(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let list = ctx.store.snapshots(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(array(list.iter().map(|snapshot| {
        Record::new()
            .int("id", snapshot.id)
            .string("name", &snapshot.name)
            .time("created", snapshot.created_at)
            .string("state", &snapshot.vm_state)
            .build()
    })))
}

fn revert(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let job = ctx.store.revert_vm(
        ctx.caller()?,
        int(params, 1, "id")?,
        string(params, 2, "name")?,
    )?;
    Ok(Value::Integer(job))
}

fn delete_snapshot(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let job = ctx.store.delete_snapshot(
        ctx.caller()?,
        int(params, 1, "id")?,
        string(params, 2, "name")?,
    )?;
    Ok(Value::Integer(job))
}

fn create(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "vm")?;
    let new = NewVm {
        name: f.string("name")?,
        vm_type: VmType::parse(&f.string("type")?, "type")?,
        node: f.int("node")?,
        memory_kb: f.long("memory_kb")?,
        max_memory_kb: f.opt_long("max_memory_kb")?,
        vcpus: f.int("vcpus")?,
        os: f.opt_string("os")?.unwrap_or_default(),
        vifs: f.opt_array("vifs", read_vif)?,
        disks: f.opt_array("disks", read_disk)?,
    };
    f.finish()?;
    let (_vm, job) = ctx.store.create_vm(ctx.caller()?, &new)?;
    Ok(Value::Integer(job))
}

fn update(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let id = int(params, 1, "id")?;
    let mut f = fields(params, 2, "changes")?;
    let changes = Resize {
        memory_kb: f.opt_long("memory_kb")?,
        max_memory_kb: f.opt_long("max_memory_kb")?,
        vcpus: f.opt_int("vcpus")?,
    };
    f.finish()?;
    Ok(Value::Integer(ctx.store.update_vm(
        ctx.caller()?,
        id,
        &changes,
    )?))
}

fn power(ctx: &Ctx<'_>, params: &[Value], action: PowerAction) -> Result<Value, ApiFault> {
    let job = ctx
        .store
        .power_vm(ctx.caller()?, int(params, 1, "id")?, action)?;
    Ok(Value::Integer(job))
}

fn start(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    power(ctx, params, PowerAction::Start)
}
fn pause(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    power(ctx, params, PowerAction::Pause)
}
fn unpause(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    power(ctx, params, PowerAction::Unpause)
}
fn shutdown(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    power(ctx, params, PowerAction::Shutdown)
}
fn reboot(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    power(ctx, params, PowerAction::Reboot)
}
fn destroy(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    power(ctx, params, PowerAction::Destroy)
}

fn add_vif(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let vm = int(params, 1, "id")?;
    let vif = read_vif(fields(params, 2, "vif")?)?;
    let (id, job) = ctx.store.add_vif(ctx.caller()?, vm, &vif)?;
    Ok(Record::new().int("id", id).int("job", job).build())
}

fn remove_vif(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (vm, vif) = (int(params, 1, "id")?, int(params, 2, "vif")?);
    Ok(Value::Integer(ctx.store.remove_vif(
        ctx.caller()?,
        vm,
        vif,
    )?))
}

fn add_disk(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let vm = int(params, 1, "id")?;
    let disk = read_disk(fields(params, 2, "disk")?)?;
    let (id, job) = ctx.store.add_disk(ctx.caller()?, vm, &disk)?;
    Ok(Record::new().int("id", id).int("job", job).build())
}

fn remove_disk(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (vm, disk) = (int(params, 1, "id")?, int(params, 2, "disk")?);
    Ok(Value::Integer(ctx.store.remove_disk(
        ctx.caller()?,
        vm,
        disk,
    )?))
}

fn notes(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    Ok(Value::String(
        ctx.store.vm_notes(ctx.caller()?, int(params, 1, "id")?)?,
    ))
}

fn set_notes(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let vm = int(params, 1, "id")?;
    ctx.store
        .set_vm_notes(ctx.caller()?, vm, string(params, 2, "text")?)?;
    Ok(done())
}

fn log(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let vm = int(params, 1, "id")?;
    let limit = if params.len() > 2 {
        int(params, 2, "limit")?
    } else {
        100
    };
    if !(1..=1000).contains(&limit) {
        return Err(crate::fault::invalid_value(
            "limit",
            format!("must be between 1 and 1000; got {limit}"),
        )
        .into());
    }
    let entries = ctx.store.vm_log(ctx.caller()?, vm, i64::from(limit))?;
    Ok(array(entries.iter().map(super::audit::entry_record)))
}
