//! The module call time limit: a module that does not answer in time costs its caller a
//! fault, not a server thread.
//!
//! There is no safe way to stop a thread inside foreign code, so the limit is where the
//! caller waits, not where the module runs:
//!
//! - A module method called directly runs in a task of its own on a thread that has left
//!   the async worker pool (`block_in_place`), and the endpoint waits for that task with
//!   a timeout ([`call_with_limit`]). When the limit passes, the client gets its fault at
//!   once and the runtime has already replaced the thread the module holds.
//! - Inside `system.multicall`, the module call runs on a thread of its own and the
//!   multicall waits for it up to the limit ([`Running::call_waiting`]).
//!
//! A method its module declares `quick` (it only computes) runs in its task on the async
//! worker itself, without leaving it: the thread hand-off `block_in_place` makes costs
//! about 30 µs here, against about 1 µs for the spawn. The caller still gets its fault
//! at the limit; but a quick call that takes longer than [`QUICK_MAX`] costs its module
//! the privilege (logged, and shown in `module.list`): from then on its calls leave the
//! worker like any other module's.
//!
//! A call past its limit keeps running until the module returns. [`Running`] counts those
//! calls, and a module with [`MAX_OVERDUE`] of them is not called again until some
//! return: a module stuck for good holds a handful of threads, not the server's pool.
//! The direct path hands the call to a thread that is already running (a spawned task),
//! which costs about a microsecond; starting a thread, as the multicall path does, costs
//! tens of microseconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dxr::{Fault, Value};
use zentific_module_api::CallerInfo;
use zentific_modules::{CallError, Instance};

use crate::App;
use crate::fault::{self, fault};

/// How many calls past their limit a module may have before it is not called again.
pub const MAX_OVERDUE: usize = 4;

/// The longest a `quick` call may take before its module loses the privilege: wall-clock
/// time, long enough that a worker the kernel merely preempted under load is not taken
/// for a module that blocks (reading the thread's CPU clock instead would cost more than
/// the whole call).
pub const QUICK_MAX: Duration = Duration::from_millis(100);

/// The limit until the store's option (`module_call_limit_secs`) is read.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(10);

/// A module instance and the calls running in it.
#[derive(Debug)]
pub(crate) struct Running {
    name: String,
    instance: Instance,
    /// Calls in progress: (id, start).
    calls: Mutex<Vec<(u64, Instant)>>,
    next: AtomicU64,
    /// Why its quick methods leave the async worker after all, once one was slow.
    not_quick: Mutex<Option<String>>,
}

impl Running {
    pub(crate) fn new(name: &str, instance: Instance) -> Running {
        Running {
            name: name.to_owned(),
            instance,
            calls: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
            not_quick: Mutex::new(None),
        }
    }

    /// Why this module's quick methods no longer run on the async worker, if they do not.
    pub(crate) fn not_quick(&self) -> Option<String> {
        self.not_quick
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Take the quick privilege away after a call to `method` took `took`.
    fn slow_quick_call(&self, method: &str, took: Duration) {
        let mut reason = self.not_quick.lock().unwrap_or_else(|e| e.into_inner());
        if reason.is_none() {
            tracing::warn!(
                module = self.name,
                method,
                milliseconds = took.as_millis() as u64,
                "a method declared quick was slow; this module's calls leave the async worker from now on"
            );
            *reason = Some(format!(
                "{method} is declared quick but took {} ms (more than {} ms); its calls now leave the async worker until a restart",
                took.as_millis(),
                QUICK_MAX.as_millis()
            ));
        }
    }

    /// Refuse a call while [`MAX_OVERDUE`] calls are past `limit`.
    pub(crate) fn admit(&self, limit: Duration) -> Result<(), Fault> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let overdue = calls.iter().filter(|(_, t)| t.elapsed() > limit).count();
        if overdue >= MAX_OVERDUE {
            return Err(fault(
                fault::INTERNAL,
                format!(
                    "module {} is not answering: {overdue} of its calls are still running past the {} s limit; it is not called until they return",
                    self.name,
                    limit.as_secs()
                ),
            ));
        }
        Ok(())
    }

    /// Call the module on this thread, counted while it runs.
    pub(crate) fn call(
        &self,
        caller: CallerInfo,
        method: &str,
        params: &[Value],
        limit: Duration,
    ) -> Result<Value, CallError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, started));
        let result = self.instance.call(caller, method, params);
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _)| *i != id);
        let took = started.elapsed();
        if took > limit {
            tracing::warn!(
                module = self.name,
                method,
                seconds = took.as_secs_f64(),
                "a module call returned after its caller stopped waiting"
            );
        }
        result
    }

    /// Call the module on a thread of its own and wait for it up to `limit`.
    pub(crate) fn call_waiting(
        self: &Arc<Self>,
        caller: CallerInfo,
        method: &str,
        params: &[Value],
        limit: Duration,
    ) -> Result<Value, Fault> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        let running = self.clone();
        let (method_owned, params) = (method.to_owned(), params.to_vec());
        std::thread::Builder::new()
            .name(format!("module {}", self.name))
            .spawn(move || {
                let _ = answer.send(running.call(caller, &method_owned, &params, limit));
            })
            .map_err(|e| fault::internal(&e))?;
        match answered.recv_timeout(limit) {
            Ok(result) => result.map_err(|e| call_fault(&self.name, e)),
            Err(_) => Err(too_slow(&format!("{}.{method}", self.name), limit)),
        }
    }
}

/// The fault a caller gets for what went wrong in a module.
pub(crate) fn call_fault(module: &str, error: CallError) -> Fault {
    match error {
        CallError::Fault { code, message } => fault(code, message),
        other => {
            tracing::warn!(module, "module call failed: {other}");
            fault(fault::INTERNAL, other.to_string())
        }
    }
}

fn too_slow(method: &str, limit: Duration) -> Fault {
    tracing::warn!(method, "a module call passed its time limit");
    fault(
        fault::INTERNAL,
        format!(
            "{method} did not answer within the module call limit of {} s (option module_call_limit_secs); it may still finish what it was doing",
            limit.as_secs()
        ),
    )
}

/// Run a module method called directly, waiting at most the module call time limit.
pub(crate) async fn call_with_limit(
    app: Arc<App>,
    name: String,
    params: Vec<Value>,
    origin: crate::registry::Origin,
) -> Result<Value, Fault> {
    let Some(host) = app.registry.modules() else {
        return app.registry.call_from(&app.store, &name, &params, origin);
    };
    let limit = host.call_limit();
    let quick = host.quick(&name);
    let method = name.clone();
    let task = tokio::spawn(async move {
        let call = || {
            let origin = crate::registry::Origin {
                timed_by_caller: true,
                ..origin
            };
            app.registry.call_from(&app.store, &name, &params, origin)
        };
        let Some(running) = quick else {
            return tokio::task::block_in_place(call);
        };
        let started = Instant::now();
        let result = call();
        let took = started.elapsed();
        if took > QUICK_MAX {
            running.slow_quick_call(&name, took);
        }
        result
    });
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(fault::internal(&join)),
        Err(_) => Err(too_slow(&method, limit)),
    }
}
