//! `job.*`: following and cancelling the jobs that hypervisor actions become.

use dxr::Value;
use zentific_sql::{Job, JobFilter, JobState, Role};

use crate::fault::{ApiFault, from_store};
use crate::params::{Record, array, done, fields, int};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, optional, param};

fn job_record(job: &Job) -> Value {
    Record::new()
        .int("id", job.id)
        .string("state", job.state.as_str())
        .string("action", job.action.name())
        .string("target_kind", &job.target_kind)
        .int("target", job.target_id)
        .string("params", job.action.params())
        .int("attempts", job.attempts)
        .string("error", &job.error)
        .opt_int("created_by", job.created_by)
        .time("created", job.created_at)
        .opt_time("started", job.started_at)
        .opt_time("finished", job.finished_at)
        .string("kind", job.kind.as_str())
        .opt_int("origin", job.origin_id)
        .opt_time("not_before", (job.not_before > 0).then_some(job.not_before))
        .int("fault", job.fault)
        .string("worker", &job.worker)
        .string("applies", &job.applies)
        .build()
}

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "job.get",
        help: "One job: {id, state, action, target_kind, target, params, attempts, error, fault, kind, worker (the scheduler that ran it), origin?, created_by?, created, started?, finished?, not_before?, applies (\"now\" or \"next boot\" once a change succeeded, else empty)}; state is pending, running, succeeded, failed or cancelled; kind is user, recurring (origin: the schedule) or event (origin: the trigger); a failed job's fault is the API fault code of its failure (7 node unreachable after retries, 5 wrong state — error keeps the hypervisor's words, 3 unknown domain, -32603 other). You see your own jobs and jobs on VMs you may view.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Struct,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: get,
    },
    Method {
        name: "job.list",
        help: "Jobs you may see, newest first, filtered by {state?, vm?, limit?} (limit 1-1000, default 100).",
        params: &[TOKEN, optional("filter", Type::Struct)],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "job.cancel",
        help: "Cancel a pending job (fault 5 once it runs or ended). Users cancel their own jobs; operators and admins any. Returns true.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Bool,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Write,
        handler: cancel,
    },
];

fn get(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    Ok(job_record(
        &ctx.store.get_job(ctx.caller()?, int(params, 1, "id")?)?,
    ))
}

fn list(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "filter")?;
    let filter = JobFilter {
        state: f
            .opt_string("state")?
            .map(|s| JobState::parse(&s, "filter.state").map_err(from_store))
            .transpose()?,
        vm: f.opt_int("vm")?,
        limit: f.opt_int("limit")?.map(i64::from),
    };
    f.finish()?;
    Ok(array(
        ctx.store
            .list_jobs(ctx.caller()?, &filter)?
            .iter()
            .map(job_record),
    ))
}

fn cancel(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store.cancel_job(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(done())
}
