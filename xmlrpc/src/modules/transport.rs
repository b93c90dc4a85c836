//! Module transports on the host side: the scheduler's [`ModuleTransports`] over the
//! loaded modules. A command the `xl` dispatcher wants run becomes a call of the module's
//! reserved entry `transport:run` — a name no XML-RPC caller can reach, since module
//! method names have no `:` — with `[transport, node URI, {program, args, stdin?}]`, and
//! the module answers `{exit_code, stdout, stderr}`.
//!
//! Each command checks again that the module is enabled: disabling it makes its nodes
//! unreachable (the engine retries with backoff) until it is enabled again.
//!
//! Job actions (`<module>.<action>`) go the same way, to the reserved entry
//! `action:<action>` with `[{vm, uuid, name, node, node_name}]`; the module answers what
//! it did (any value; a string is logged) or a fault, which fails the job with its words.

use std::sync::Arc;

use dxr::Value;
use zentific_module_api::CallerInfo;
use zentific_modules::CallError;
use zentific_scheduler::dispatch::ConsoleTarget;
use zentific_scheduler::dispatch::DispatchError;
use zentific_scheduler::dispatch::modules::{ActionTarget, ModuleActions, ModuleTransports};
use zentific_scheduler::dispatch::ssh::{
    CommandOutput, CommandRunner, ConsoleReach, RemoteCommand,
};

use super::ModuleHost;

/// The reserved entry a module transport's commands are sent to.
pub const RUN: &str = "transport:run";

/// The reserved entry that says how the host reaches a console on a module transport's
/// node: `[transport, node URI, {terminal: {program, args}} or {port: {host, port}}]`,
/// answered `{program, args}` (run by the host; its standard input and output are the
/// console) or `{host, port}` (a TCP endpoint the host connects to). A module without it
/// has no consoles.
pub const CONSOLE: &str = "transport:console";

/// The scheduler's view of a host's module transports.
pub(crate) struct HostTransports(pub(crate) Arc<ModuleHost>);

impl ModuleTransports for HostTransports {
    fn runner(&self, name: &str, uri: &str) -> Result<Box<dyn CommandRunner>, DispatchError> {
        let module = self
            .0
            .transport_module(name)
            .map_err(DispatchError::Unreachable)?
            .module;
        Ok(Box::new(ModuleRunner {
            host: self.0.clone(),
            module,
            transport: name.to_owned(),
            uri: uri.to_owned(),
        }))
    }
}

impl ModuleActions for HostTransports {
    fn run_action(&self, action: &str, target: &ActionTarget) -> Result<String, DispatchError> {
        let running = self
            .0
            .action_module(action)
            .map_err(DispatchError::Unreachable)?
            .running;
        let short = action.split_once('.').map_or(action, |(_, a)| a);
        let facts = crate::params::Record::new()
            .int("vm", target.vm)
            .string("uuid", &target.uuid)
            .string("name", &target.name)
            .int("node", target.node)
            .string("node_name", &target.node_name)
            .build();
        let system = CallerInfo {
            user_id: 0,
            role: 0,
        };
        // On the scheduler's threads, without the call time limit: an action (a backup,
        // say) may rightly take long.
        match running.call(
            system,
            &format!("action:{short}"),
            &[facts],
            std::time::Duration::MAX,
        ) {
            Ok(Value::String(done)) => Ok(done),
            Ok(_) => Ok("done".to_owned()),
            Err(CallError::Fault { message, .. }) => Err(DispatchError::Failed(message)),
            Err(other) => Err(DispatchError::Failed(other.to_string())),
        }
    }
}

struct ModuleRunner {
    host: Arc<ModuleHost>,
    module: String,
    transport: String,
    uri: String,
}

impl ModuleRunner {
    /// Call the module's reserved `entry` with `[transport, uri, spec]` as the host.
    fn call(&self, entry: &str, spec: Value) -> Result<Value, DispatchError> {
        let running = self
            .host
            .transport_module(&self.transport)
            .map_err(DispatchError::Unreachable)?
            .running;
        let params = [
            Value::String(self.transport.clone()),
            Value::String(self.uri.clone()),
            spec,
        ];
        let system = CallerInfo {
            user_id: 0,
            role: 0,
        };
        // No call time limit here: these run on the scheduler's own threads, and an
        // `xl create` or a disk copy may rightly take minutes.
        running
            .call(system, entry, &params, std::time::Duration::MAX)
            .map_err(|e| match e {
                CallError::Fault { code, message }
                    if code == zentific_sql::fault_code::UNREACHABLE =>
                {
                    DispatchError::Unreachable(message)
                }
                CallError::Fault { code: -32601, .. } => {
                    DispatchError::Unsupported(format!("module {} has no {entry}", self.module))
                }
                CallError::Fault { message, .. } => DispatchError::Failed(message),
                other => DispatchError::Failed(other.to_string()),
            })
    }
}

impl CommandRunner for ModuleRunner {
    fn console(&self, reach: ConsoleReach<'_>) -> Result<ConsoleTarget, DispatchError> {
        let strings = |words: &[&str]| {
            crate::params::array(words.iter().map(|w| Value::String((*w).to_owned())))
        };
        let spec = match reach {
            ConsoleReach::Terminal { program, args } => crate::params::Record::new().value(
                "terminal",
                crate::params::Record::new()
                    .string("program", program)
                    .value("args", strings(args))
                    .build(),
            ),
            ConsoleReach::Port { host, port } => crate::params::Record::new().value(
                "port",
                crate::params::Record::new()
                    .string("host", host)
                    .int("port", i32::from(port))
                    .build(),
            ),
        };
        let answer = self.call(CONSOLE, spec.build())?;
        let bad = || {
            DispatchError::Failed(format!(
                "module {} answered {CONSOLE} with neither {{program, args}} nor {{host, port}}",
                self.module
            ))
        };
        let Value::Struct(members) = answer else {
            return Err(bad());
        };
        match (
            members.get("program"),
            members.get("args"),
            members.get("host"),
            members.get("port"),
        ) {
            (Some(Value::String(program)), Some(Value::Array(args)), None, None) => {
                let args = args
                    .iter()
                    .map(|a| match a {
                        Value::String(a) => Ok(a.clone()),
                        _ => Err(bad()),
                    })
                    .collect::<Result<_, _>>()?;
                Ok(ConsoleTarget::Program {
                    program: program.clone(),
                    args,
                })
            }
            (None, None, Some(Value::String(host)), Some(Value::Integer(port))) => {
                Ok(ConsoleTarget::Tcp {
                    host: host.clone(),
                    port: u16::try_from(*port).map_err(|_| bad())?,
                })
            }
            _ => Err(bad()),
        }
    }

    fn run(&self, command: &RemoteCommand<'_>) -> Result<CommandOutput, DispatchError> {
        let mut spec = crate::params::Record::new()
            .string("program", command.program)
            .value(
                "args",
                crate::params::array(command.args.iter().map(|a| Value::String(a.clone()))),
            );
        if let Some(stdin) = command.stdin {
            spec = spec.value("stdin", Value::Base64(stdin.to_vec()));
        }
        let answer = self.call(RUN, spec.build())?;
        let field = |name: &str| match &answer {
            Value::Struct(members) => members.get(name).cloned(),
            _ => None,
        };
        let text = |name: &str| match field(name) {
            Some(Value::String(text)) => Ok(text),
            Some(Value::Base64(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            _ => Err(DispatchError::Failed(format!(
                "module {} answered transport:run without {name}",
                self.module
            ))),
        };
        let Some(Value::Integer(exit_code)) = field("exit_code") else {
            return Err(DispatchError::Failed(format!(
                "module {} answered transport:run without exit_code",
                self.module
            )));
        };
        Ok(CommandOutput {
            exit_code,
            stdout: text("stdout")?,
            stderr: text("stderr")?,
        })
    }
}
