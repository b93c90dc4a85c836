//! The job engine: worker threads that claim jobs and dispatch them, a calendar thread
//! that fires schedules, and a housekeeping thread that reconciles inventories, fires
//! silence triggers and recovers jobs whose scheduler died.
//!
//! Everything the engine knows lives in the store, so any number of engines (one inside
//! `zentific serve`, more from `zentific scheduler`) can share one PostgreSQL database:
//! claims never overlap, and a job interrupted by a crash is resumed by whoever notices.
//! Inside one process a recorded job wakes a worker at once (see
//! [`zentific_sql::Store::jobs_recorded`]); across processes workers poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use zentific_sql::{
    Job, JobAction, JobSubject, JobTarget, Node, Outcome, Resize, Store, StoreError, Vm,
};

use crate::dispatch::{
    self, Action, Applied, Device, DispatchError, Dispatcher, DomainRef, DomainSpec,
};

/// Fault codes of the public API that job failures carry.
use zentific_sql::fault_code as fault;

/// How an engine runs.
#[derive(Clone)]
pub struct EngineSettings {
    /// Worker threads dispatching jobs.
    pub workers: usize,
    /// How often idle workers look for jobs recorded by other processes.
    pub poll_interval: Duration,
    /// How often every node's inventory is read again.
    pub reconcile_interval: Duration,
    /// How often running jobs are marked alive.
    pub heartbeat_interval: Duration,
    /// A running job not marked alive for this long was interrupted.
    pub orphan_after: Duration,
    /// First retry delay for an unreachable node; it doubles per attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Whether this engine fires schedules and triggers and reconciles inventories
    /// (all engines may; work is never done twice).
    pub housekeeping: bool,
    /// The transports of loaded modules, for nodes that name one.
    pub modules: Option<Arc<dyn crate::dispatch::modules::ModuleTransports>>,
    /// The job actions of loaded modules.
    pub module_actions: Option<Arc<dyn crate::dispatch::modules::ModuleActions>>,
    /// Whether this engine samples the statistics of nodes on libvirt's test driver
    /// itself (see [`crate::sampling`]; `serve --demo`).
    pub sample_test_driver: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            workers: 4,
            poll_interval: Duration::from_millis(500),
            reconcile_interval: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(5),
            orphan_after: Duration::from_secs(30),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            housekeeping: true,
            modules: None,
            module_actions: None,
            sample_test_driver: false,
        }
    }
}

/// The shared state of one engine.
struct Engine {
    /// This engine, for callbacks that must not keep it alive.
    me: std::sync::Weak<Engine>,
    store: Store,
    settings: EngineSettings,
    worker: String,
    stopping: AtomicBool,
    dispatchers: Mutex<HashMap<i32, Arc<dyn Dispatcher>>>,
    /// One lock per node around "read the hypervisor, record the inventory", so a slow
    /// reader can never record an older view over a newer one.
    sync_locks: Mutex<HashMap<i32, Arc<Mutex<()>>>>,
    /// Nodes whose hypervisor announced changes, for the event thread to read.
    changed_nodes: Mutex<std::collections::BTreeSet<i32>>,
    nodes_changed: std::sync::Condvar,
}

/// A running engine; [`EngineHandle::stop`] ends it.
pub struct EngineHandle {
    engine: Arc<Engine>,
    threads: Vec<JoinHandle<()>>,
}

impl EngineHandle {
    /// The name this engine's claims carry (`host:pid`).
    pub fn worker(&self) -> &str {
        &self.engine.worker
    }

    /// Stop taking jobs, let running ones finish, and wait for the threads.
    pub fn stop(self) {
        self.engine.stopping.store(true, Ordering::SeqCst);
        self.engine.store.jobs_recorded();
        self.engine.nodes_changed.notify_all();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Start an engine on `store`.
pub fn start(store: Store, settings: EngineSettings) -> std::io::Result<EngineHandle> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let worker = format!("{}:{}", host.trim(), std::process::id());
    let engine = Arc::new_cyclic(|me| Engine {
        me: me.clone(),
        store,
        settings,
        worker,
        stopping: AtomicBool::new(false),
        dispatchers: Mutex::new(HashMap::new()),
        sync_locks: Mutex::new(HashMap::new()),
        changed_nodes: Mutex::new(std::collections::BTreeSet::new()),
        nodes_changed: std::sync::Condvar::new(),
    });
    let mut threads = Vec::new();
    for n in 0..engine.settings.workers.max(1) {
        let engine = engine.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("job-worker-{n}"))
                .spawn(move || engine.work())?,
        );
    }
    let events = engine.clone();
    threads.push(
        std::thread::Builder::new()
            .name("domain-events".into())
            .spawn(move || events.follow_events())?,
    );
    let beating = engine.clone();
    threads.push(
        std::thread::Builder::new()
            .name("job-heartbeat".into())
            .spawn(move || beating.beat())?,
    );
    if engine.settings.housekeeping {
        let calendar = engine.clone();
        threads.push(
            std::thread::Builder::new()
                .name("schedules".into())
                .spawn(move || calendar.fire_schedules())?,
        );
        let keeper = engine.clone();
        threads.push(
            std::thread::Builder::new()
                .name("housekeeping".into())
                .spawn(move || keeper.keep_house())?,
        );
    }
    tracing::info!(worker = %engine.worker, workers = engine.settings.workers, "scheduler started");
    Ok(EngineHandle { engine, threads })
}

impl Engine {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleep up to `duration`, waking early when stopping.
    fn pause(&self, duration: Duration) {
        let seen = self.store.jobs_generation();
        if !self.stopping() {
            self.store.wait_for_jobs(seen, duration);
        }
    }

    /// A worker: claim, dispatch, record, repeat.
    fn work(&self) {
        while !self.stopping() {
            let seen = self.store.jobs_generation();
            match self.store.claim_job(&self.worker) {
                Ok(Some(job)) => self.run(job),
                Ok(None) => self.store.wait_for_jobs(seen, self.settings.poll_interval),
                Err(e) => {
                    tracing::warn!("cannot claim jobs: {e}");
                    std::thread::sleep(self.settings.poll_interval);
                }
            }
        }
    }

    fn run(&self, job: Job) {
        tracing::debug!(job = job.id, action = %job.action, "dispatching");
        let outcome = match self.store.job_target(&job) {
            Ok(JobTarget::Vm { vm, node }) => self.dispatch_vm(&job, &vm, &node),
            Ok(JobTarget::Node(node)) => self.dispatch_node(&job, &node),
            Err(StoreError::NotFound { kind, key }) => Outcome::Failed {
                fault: fault::NOT_FOUND,
                error: format!("the job's target is gone: no {kind} with {key}"),
            },
            Err(e) => Outcome::Retry {
                fault: fault::INTERNAL,
                error: e.to_string(),
                not_before: self.retry_at(&job),
            },
        };
        if let Outcome::Failed { error, .. } = &outcome {
            tracing::info!(job = job.id, action = %job.action, "job failed: {error}");
        }
        if let Err(e) = self.store.finish_job(job.id, &self.worker, &outcome) {
            tracing::error!(job = job.id, "cannot record the outcome of job: {e}");
        }
    }

    /// When to try a job again: `retry_base` doubled per attempt, at most `retry_max`.
    fn retry_at(&self, job: &Job) -> i64 {
        let doublings = u32::try_from(job.attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let delay = self
            .settings
            .retry_base
            .saturating_mul(1 << doublings)
            .min(self.settings.retry_max);
        zentific_sql::now() + i64::try_from(delay.as_secs().max(1)).unwrap_or(i64::MAX)
    }

    /// The outcome for a dispatch error; marks the node when it is unreachable.
    fn failure(&self, job: &Job, node: &Node, error: DispatchError) -> Outcome {
        match error {
            DispatchError::Unreachable(detail) => {
                self.forget(node.id);
                if let Err(e) = self.store.mark_node(node.id, false, &detail) {
                    tracing::warn!("cannot mark node {} unreachable: {e}", node.name);
                }
                Outcome::Retry {
                    fault: fault::UNREACHABLE,
                    error: format!("node '{}' is unreachable: {detail}", node.name),
                    not_before: self.retry_at(job),
                }
            }
            DispatchError::WrongState(words) => Outcome::Failed {
                fault: fault::WRONG_STATE,
                error: format!("wrong state: {words}"),
            },
            DispatchError::Refused(words) => Outcome::Failed {
                fault: fault::INVALID_VALUE,
                error: format!("refused: {words}"),
            },
            DispatchError::NoSuchDomain(words) => Outcome::Failed {
                fault: fault::NOT_FOUND,
                error: format!("the hypervisor does not know the domain: {words}"),
            },
            other => Outcome::Failed {
                fault: fault::INTERNAL,
                error: other.to_string(),
            },
        }
    }

    fn dispatch_vm(&self, job: &Job, vm: &Vm, node: &Node) -> Outcome {
        if let JobAction::Module(action) = job.action {
            return self.module_action(job, vm, node, action.as_str());
        }
        let dispatcher = match self.dispatcher(node) {
            Ok(d) => d,
            Err(e) => return self.failure(job, node, e),
        };
        let subject = match self.store.job_subject(job) {
            Ok(subject) => subject,
            Err(e) => return subject_gone(e),
        };
        let result = self.carry_out(dispatcher.as_ref(), job, vm, &subject);
        match result {
            Ok(applied) => {
                // The hypervisor's view of the result; events may have said it already.
                if let Err(e) = self.sync(node, dispatcher.as_ref()) {
                    tracing::warn!(
                        "cannot refresh node {} after job {}: {e}",
                        node.name,
                        job.id
                    );
                }
                match applied {
                    Applied::Now => Outcome::Succeeded,
                    Applied::NextBoot => Outcome::SucceededAtNextBoot,
                }
            }
            Err(e) => self.failure(job, node, e),
        }
    }

    /// Run a module's job action on a VM (no dispatcher: the module does the work).
    fn module_action(&self, job: &Job, vm: &Vm, node: &Node, action: &str) -> Outcome {
        let target = crate::dispatch::modules::ActionTarget {
            vm: vm.id,
            uuid: vm.uuid.clone(),
            name: vm.name.clone(),
            node: node.id,
            node_name: node.name.clone(),
        };
        let result = match &self.settings.module_actions {
            Some(actions) => actions.run_action(action, &target),
            None => Err(DispatchError::Unreachable(format!(
                "{action} is a module's action, and this scheduler loads no modules"
            ))),
        };
        match result {
            Ok(done) => {
                tracing::info!(job = job.id, action, "module action: {done}");
                Outcome::Succeeded
            }
            Err(DispatchError::Unreachable(why)) => Outcome::Retry {
                fault: fault::UNREACHABLE,
                error: why,
                not_before: self.retry_at(job),
            },
            Err(e) => Outcome::Failed {
                fault: fault::INTERNAL,
                error: format!("{action}: {e}"),
            },
        }
    }

    /// Carry a VM job's action out on its hypervisor.
    fn carry_out(
        &self,
        dispatcher: &dyn Dispatcher,
        job: &Job,
        vm: &Vm,
        subject: &JobSubject,
    ) -> Result<Applied, DispatchError> {
        let domain = DomainRef {
            uuid: &vm.uuid,
            name: &vm.name,
        };
        let mismatch = || {
            DispatchError::Failed(format!(
                "job {} ('{}') names no record it can act on",
                job.id, job.action
            ))
        };
        let applied = match (job.action, subject) {
            (JobAction::Power(power), _) => dispatcher.act(domain, Action::Power(power)),
            (JobAction::Define, _) => self.define(dispatcher, vm).map(|()| Applied::Now),
            (JobAction::DeleteVm, _) => dispatcher.undefine(domain).map(|()| Applied::Now),
            (JobAction::Resize(resize), _) => resize_actions(resize)
                .into_iter()
                .try_fold(Applied::Now, |applied, action| {
                    dispatcher.act(domain, action).map(|a| applied.and(a))
                }),
            (JobAction::AttachVif { .. }, JobSubject::Vif(vif)) => {
                dispatcher.attach(domain, Device::Vif(vif))
            }
            (JobAction::DetachVif { .. }, JobSubject::Vif(vif)) => {
                dispatcher.detach(domain, Device::Vif(vif))
            }
            (JobAction::AttachDisk { .. }, JobSubject::Disk(disk)) => {
                dispatcher.attach(domain, Device::Disk(disk))
            }
            (JobAction::DetachDisk { .. }, JobSubject::Disk(disk)) => {
                dispatcher.detach(domain, Device::Disk(disk))
            }
            (JobAction::Snapshot { .. }, JobSubject::Snapshot(snapshot)) => {
                dispatcher.snapshot(domain, &snapshot.name)?;
                expect_snapshot(dispatcher, domain, &snapshot.name, true)
            }
            (JobAction::Revert { .. }, JobSubject::Snapshot(snapshot)) => dispatcher
                .revert(domain, &snapshot.name)
                .map(|()| Applied::Now),
            (JobAction::DeleteSnapshot { .. }, JobSubject::Snapshot(snapshot)) => {
                dispatcher.delete_snapshot(domain, &snapshot.name)?;
                expect_snapshot(dispatcher, domain, &snapshot.name, false)
            }
            (
                JobAction::AttachVif { .. }
                | JobAction::DetachVif { .. }
                | JobAction::AttachDisk { .. }
                | JobAction::DetachDisk { .. }
                | JobAction::Snapshot { .. }
                | JobAction::Revert { .. }
                | JobAction::DeleteSnapshot { .. },
                _,
            ) => Err(mismatch()),
            (JobAction::Module(_), _) => Err(DispatchError::Failed(format!(
                "job {} ('{}') is a module's action, run without a dispatcher",
                job.id, job.action
            ))),
            (
                JobAction::Sync | JobAction::CreateVolume { .. } | JobAction::DeleteVolume { .. },
                _,
            ) => Err(DispatchError::Failed(format!(
                "'{}' acts on a node, but job {} names VM {}",
                job.action, job.id, job.target_id
            ))),
        }?;
        // The definition for the next boot, where the transport keeps one itself.
        self.keep_definition(dispatcher, vm, job.action, subject)?;
        Ok(applied)
    }

    fn dispatch_node(&self, job: &Job, node: &Node) -> Outcome {
        let dispatcher = match self.dispatcher(node) {
            Ok(d) => d,
            Err(e) => return self.failure(job, node, e),
        };
        let subject = match self.store.job_subject(job) {
            Ok(subject) => subject,
            Err(e) => return subject_gone(e),
        };
        let result = match (job.action, &subject) {
            (JobAction::Sync, _) => self.sync(node, dispatcher.as_ref()),
            (JobAction::CreateVolume { .. }, JobSubject::Volume { volume, pool }) => {
                dispatcher.create_volume(pool, volume)
            }
            (JobAction::DeleteVolume { .. }, JobSubject::Volume { volume, pool }) => {
                dispatcher.delete_volume(pool, volume)
            }
            (JobAction::CreateVolume { .. } | JobAction::DeleteVolume { .. }, _) => Err(
                DispatchError::Failed(format!("job {} ('{}') names no volume", job.id, job.action)),
            ),
            (
                JobAction::Power(_)
                | JobAction::Define
                | JobAction::DeleteVm
                | JobAction::Resize(_)
                | JobAction::AttachVif { .. }
                | JobAction::DetachVif { .. }
                | JobAction::AttachDisk { .. }
                | JobAction::DetachDisk { .. }
                | JobAction::Snapshot { .. }
                | JobAction::Revert { .. }
                | JobAction::DeleteSnapshot { .. }
                | JobAction::Module(_),
                _,
            ) => Err(DispatchError::Failed(format!(
                "'{}' acts on a VM, but job {} names node {}",
                job.action, job.id, node.id
            ))),
        };
        match result {
            Ok(()) => Outcome::Succeeded,
            Err(e) => self.failure(job, node, e),
        }
    }

    fn define(&self, dispatcher: &dyn Dispatcher, vm: &Vm) -> Result<(), DispatchError> {
        if let Some(uuid) = dispatcher.define(&self.spec_of(vm)?)?
            && !uuid.eq_ignore_ascii_case(&vm.uuid)
        {
            self.store
                .record_vm_uuid(vm.id, &uuid)
                .map_err(|e| DispatchError::Failed(format!("cannot record the VM's UUID: {e}")))?;
        }
        Ok(())
    }

    /// The VM as its definition describes it: its recorded sizes and present devices.
    fn spec_of(&self, vm: &Vm) -> Result<DomainSpec, DispatchError> {
        let (vifs, disks) = self
            .store
            .vm_devices(vm.id)
            .map_err(|e| DispatchError::Failed(e.to_string()))?;
        Ok(DomainSpec {
            uuid: vm.uuid.clone(),
            name: vm.name.clone(),
            vm_type: vm.vm_type,
            os: vm.os.clone(),
            memory_kb: vm.memory_kb,
            max_memory_kb: vm.max_memory_kb,
            vcpus: vm.vcpus,
            disks: disks
                .into_iter()
                .map(|d| (d.target, d.source, d.readonly))
                .collect(),
            vifs: vifs.into_iter().map(|v| (v.mac, v.bridge)).collect(),
        })
    }

    /// After a change made live (or to a stopped domain), the definition the transport
    /// keeps for the next boot: the VM's, with the change.
    fn keep_definition(
        &self,
        dispatcher: &dyn Dispatcher,
        vm: &Vm,
        action: JobAction,
        subject: &JobSubject,
    ) -> Result<(), DispatchError> {
        let changes_definition = matches!(
            action,
            JobAction::Resize(_)
                | JobAction::AttachVif { .. }
                | JobAction::DetachVif { .. }
                | JobAction::AttachDisk { .. }
                | JobAction::DetachDisk { .. }
        );
        if dispatcher.keeps_definitions_itself() || !changes_definition {
            return Ok(());
        }
        let mut spec = self.spec_of(vm)?;
        match (action, subject) {
            (JobAction::Resize(resize), _) => {
                spec.memory_kb = resize.memory_kb.unwrap_or(spec.memory_kb);
                spec.max_memory_kb = resize
                    .max_memory_kb
                    .unwrap_or(spec.max_memory_kb)
                    .max(spec.memory_kb);
                spec.vcpus = resize.vcpus.unwrap_or(spec.vcpus);
            }
            (JobAction::AttachVif { .. }, JobSubject::Vif(vif)) => {
                spec.vifs.push((vif.mac.clone(), vif.bridge.clone()));
            }
            (JobAction::DetachVif { .. }, JobSubject::Vif(vif)) => {
                spec.vifs
                    .retain(|(mac, _)| !mac.eq_ignore_ascii_case(&vif.mac));
            }
            (JobAction::AttachDisk { .. }, JobSubject::Disk(disk)) => {
                spec.disks
                    .push((disk.target.clone(), disk.source.clone(), disk.readonly));
            }
            (JobAction::DetachDisk { .. }, JobSubject::Disk(disk)) => {
                spec.disks.retain(|(target, ..)| *target != disk.target);
            }
            _ => return Ok(()),
        }
        dispatcher.keep_definition(&spec)
    }

    /// Read a node's domains into the inventory.
    fn sync(&self, node: &Node, dispatcher: &dyn Dispatcher) -> Result<(), DispatchError> {
        let lock = self
            .sync_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(node.id)
            .or_default()
            .clone();
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let domains = dispatcher.domains()?;
        self.store
            .apply_inventory(node.id, &domains, dispatcher.lists_stopped_domains())
            .map(|_| ())
            .map_err(|e| DispatchError::Failed(format!("cannot record the inventory: {e}")))
    }

    /// The node's dispatcher, connecting (and subscribing to its events) on first use.
    fn dispatcher(&self, node: &Node) -> Result<Arc<dyn Dispatcher>, DispatchError> {
        if let Some(found) = self
            .dispatchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&node.id)
        {
            return Ok(found.clone());
        }
        let node_user = self
            .store
            .global_options()
            .map(|o| o.node_user)
            .unwrap_or_else(|_| "root".into());
        let dispatcher: Arc<dyn Dispatcher> = Arc::from(dispatch::connect(
            node,
            &node_user,
            self.settings.modules.as_deref(),
        )?);
        // An event says that something changed, not what the state is by the time it is
        // handled (events can arrive late): the event thread reads the node again.
        let weak = self.me.clone();
        let node_id = node.id;
        let sink: dispatch::EventSink = Arc::new(move |_event| {
            if let Some(engine) = weak.upgrade() {
                engine
                    .changed_nodes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(node_id);
                engine.nodes_changed.notify_all();
            }
        });
        match dispatcher.subscribe(sink) {
            Ok(true) => tracing::debug!(node = %node.name, "receiving domain events"),
            Ok(false) => {}
            Err(e) => {
                tracing::info!(node = %node.name, "no domain events ({e}); relying on reconciliation")
            }
        }
        let mut cache = self.dispatchers.lock().unwrap_or_else(|e| e.into_inner());
        Ok(cache.entry(node.id).or_insert(dispatcher).clone())
    }

    /// Read the nodes whose hypervisors announced changes.
    fn follow_events(&self) {
        while !self.stopping() {
            let node_id = {
                let mut changed = self.changed_nodes.lock().unwrap_or_else(|e| e.into_inner());
                while changed.is_empty() && !self.stopping() {
                    changed = self
                        .nodes_changed
                        .wait(changed)
                        .unwrap_or_else(|e| e.into_inner());
                }
                changed.pop_first()
            };
            let Some(node_id) = node_id else { continue };
            let result = self
                .store
                .dispatch_node(node_id)
                .map_err(|e| DispatchError::Failed(e.to_string()))
                .and_then(|node| {
                    self.dispatcher(&node)
                        .and_then(|d| self.sync(&node, d.as_ref()))
                });
            if let Err(e) = result {
                tracing::info!(node = node_id, "cannot read the node after an event: {e}");
            }
        }
    }

    fn forget(&self, node_id: i32) {
        self.dispatchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&node_id);
    }

    fn beat(&self) {
        while !self.stopping() {
            if let Err(e) = self.store.heartbeat(&self.worker) {
                tracing::warn!("cannot mark running jobs alive: {e}");
            }
            self.pause(self.settings.heartbeat_interval);
        }
    }

    /// Fire due schedules, sleeping until the next one is due (at most a second, so
    /// schedules created meanwhile are seen).
    fn fire_schedules(&self) {
        while !self.stopping() {
            if let Err(e) = self.store.fire_due_schedules(zentific_sql::now()) {
                tracing::warn!("cannot fire schedules: {e}");
            }
            let now_ms = now_ms();
            let next_second = (now_ms / 1000 + 1) * 1000;
            std::thread::sleep(Duration::from_millis(
                u64::try_from(next_second - now_ms)
                    .unwrap_or(1000)
                    .clamp(1, 1000),
            ));
        }
    }

    /// Recover interrupted jobs, mark silent nodes, fire silence triggers, expire grants,
    /// roll statistics up, prune old events, reconcile inventories.
    fn keep_house(&self) {
        let mut last_reconcile: Option<std::time::Instant> = None;
        let mut last_rollup: Option<std::time::Instant> = None;
        let mut last_sample: Option<std::time::Instant> = None;
        while !self.stopping() {
            let now = zentific_sql::now();
            let orphan = i64::try_from(self.settings.orphan_after.as_secs()).unwrap_or(i64::MAX);
            match self.store.recover_interrupted(now.saturating_sub(orphan)) {
                Ok((0, 0)) => {}
                Ok((resumed, failed)) => tracing::warn!(
                    resumed,
                    failed,
                    "recovered jobs interrupted by a stopped scheduler"
                ),
                Err(e) => tracing::warn!("cannot recover interrupted jobs: {e}"),
            }
            if let Err(e) = self.store.mark_silent_nodes(now) {
                tracing::warn!("cannot mark silent nodes: {e}");
            }
            if let Err(e) = self.store.fire_silence_triggers(now) {
                tracing::warn!("cannot fire silence triggers: {e}");
            }
            match self.store.expire_grants(now) {
                Ok(0) => {}
                Ok(lapsed) => tracing::info!(lapsed, "VM grants lapsed"),
                Err(e) => tracing::warn!("cannot expire grants: {e}"),
            }
            if last_rollup.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                last_rollup = Some(std::time::Instant::now());
                if let Err(e) = self.store.roll_up_stats(now) {
                    tracing::warn!("cannot roll statistics up: {e}");
                }
                if let Err(e) = self.store.prune_events(now) {
                    tracing::warn!("cannot prune old events: {e}");
                }
            }
            if self.settings.sample_test_driver
                && last_sample.is_none_or(|t| t.elapsed() >= crate::sampling::INTERVAL)
            {
                last_sample = Some(std::time::Instant::now());
                self.sample_nodes();
            }
            if last_reconcile.is_none_or(|t| t.elapsed() >= self.settings.reconcile_interval) {
                last_reconcile = Some(std::time::Instant::now());
                self.reconcile();
            }
            self.pause(Duration::from_secs(1));
        }
    }

    /// Read and store the statistics of the nodes the scheduler samples itself.
    fn sample_nodes(&self) {
        let nodes = match self.store.dispatch_nodes() {
            Ok(nodes) => nodes,
            Err(e) => return tracing::warn!("cannot list nodes to sample: {e}"),
        };
        for node in nodes.iter().filter(|n| crate::sampling::samples_itself(n)) {
            let reading = self.dispatcher(node).and_then(|d| d.statistics());
            match reading {
                Ok(Some(reading)) => {
                    let sample = crate::sampling::sample_of(reading, now_ms());
                    if let Err(e) = self.store.push_sample(node.id, &sample) {
                        tracing::warn!(node = node.id, "cannot store the node's statistics: {e}");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(node = node.id, "cannot sample the node: {e}"),
            }
        }
    }

    fn reconcile(&self) {
        let nodes = match self.store.dispatch_nodes() {
            Ok(nodes) => nodes,
            Err(e) => return tracing::warn!("cannot list nodes: {e}"),
        };
        for node in nodes {
            if self.stopping() {
                return;
            }
            let result = self
                .dispatcher(&node)
                .and_then(|d| self.sync(&node, d.as_ref()));
            if let Err(error) = result {
                tracing::info!(node = %node.name, "reconciliation failed: {error}");
                if let DispatchError::Unreachable(detail) = &error {
                    self.forget(node.id);
                    let _ = self.store.mark_node(node.id, false, detail);
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The outcome of a job whose device, volume or snapshot record cannot be read.
fn subject_gone(error: StoreError) -> Outcome {
    Outcome::Failed {
        fault: error.fault_code(),
        error: format!("nothing was changed: {error}"),
    }
}

/// Check that a snapshot job left the hypervisor with (or without) the snapshot.
fn expect_snapshot(
    dispatcher: &dyn Dispatcher,
    domain: DomainRef<'_>,
    name: &str,
    present: bool,
) -> Result<Applied, DispatchError> {
    let names = dispatcher.snapshot_names(domain)?;
    if names.iter().any(|n| n == name) == present {
        Ok(Applied::Now)
    } else {
        Err(DispatchError::Failed(format!(
            "the hypervisor accepted the change, but {} {} a snapshot '{name}'",
            domain.name,
            if present {
                "does not list"
            } else {
                "still lists"
            }
        )))
    }
}

/// The dispatcher actions of a resize, the ceiling first, so that raising memory above
/// the old ceiling works.
fn resize_actions(resize: Resize) -> Vec<Action> {
    let mut actions = Vec::new();
    actions.extend(resize.max_memory_kb.map(Action::SetMaxMemory));
    actions.extend(resize.memory_kb.map(Action::SetMemory));
    actions.extend(resize.vcpus.map(Action::SetVcpus));
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizes_raise_the_ceiling_first() {
        let resize = Resize {
            memory_kb: Some(2048),
            max_memory_kb: Some(4096),
            vcpus: Some(2),
        };
        assert_eq!(
            resize_actions(resize),
            [
                Action::SetMaxMemory(4096),
                Action::SetMemory(2048),
                Action::SetVcpus(2)
            ]
        );
        let vcpus_only = Resize {
            vcpus: Some(4),
            ..Resize::default()
        };
        assert_eq!(resize_actions(vcpus_only), [Action::SetVcpus(4)]);
    }
}
