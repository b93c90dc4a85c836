//! Module transports on the host side: the scheduler's [`ModuleTransports`] over the
//! loaded modules. A command the `xl` dispatcher wants run becomes a call of the module's
//! reserved entry `transport:run` — a name no XML-RPC caller can reach, since module
//! method names have no `:` — with `[transport, node URI, {program, args, stdin?}]`, and
//! the module answers `{exit_code, stdout, stderr}`.
//!
//! Each command checks again that the module is enabled: disabling it makes its nodes
//! unreachable (the engine retries with backoff) until it is enabled again.

use std::sync::Arc;

use dxr::Value;
use zentific_module_api::CallerInfo;
use zentific_modules::CallError;
use zentific_scheduler::dispatch::DispatchError;
use zentific_scheduler::dispatch::modules::ModuleTransports;
use zentific_scheduler::dispatch::ssh::{CommandOutput, CommandRunner, RemoteCommand};

use super::ModuleHost;

/// The reserved entry a module transport's commands are sent to.
pub const RUN: &str = "transport:run";

/// The scheduler's view of a host's module transports.
pub(crate) struct HostTransports(pub(crate) Arc<ModuleHost>);

impl ModuleTransports for HostTransports {
    fn runner(&self, name: &str, uri: &str) -> Result<Box<dyn CommandRunner>, DispatchError> {
        let module = self
            .0
            .transport_module(name)
            .map_err(DispatchError::Unreachable)?;
        Ok(Box::new(ModuleRunner {
            host: self.0.clone(),
            module,
            transport: name.to_owned(),
            uri: uri.to_owned(),
        }))
    }
}

struct ModuleRunner {
    host: Arc<ModuleHost>,
    module: String,
    transport: String,
    uri: String,
}

impl CommandRunner for ModuleRunner {
    fn run(&self, command: &RemoteCommand<'_>) -> Result<CommandOutput, DispatchError> {
        let running = self
            .host
            .transport_module(&self.transport)
            .and_then(|module| {
                self.host
                    .instance(&module)
                    .ok_or_else(|| format!("module {module} is not running"))
            })
            .map_err(DispatchError::Unreachable)?;
        let mut spec = crate::params::Record::new()
            .string("program", command.program)
            .value(
                "args",
                crate::params::array(command.args.iter().map(|a| Value::String(a.clone()))),
            );
        if let Some(stdin) = command.stdin {
            spec = spec.value("stdin", Value::Base64(stdin.to_vec()));
        }
        let params = [
            Value::String(self.transport.clone()),
            Value::String(self.uri.clone()),
            spec.build(),
        ];
        let system = CallerInfo {
            user_id: 0,
            role: 0,
        };
        // No call time limit here: these run on the scheduler's own threads, and an
        // `xl create` or a disk copy may rightly take minutes.
        let answer = running
            .call(system, RUN, &params, std::time::Duration::MAX)
            .map_err(|e| match e {
                CallError::Fault { code, message }
                    if code == zentific_sql::fault_code::UNREACHABLE =>
                {
                    DispatchError::Unreachable(message)
                }
                CallError::Fault { message, .. } => DispatchError::Failed(message),
                other => DispatchError::Failed(other.to_string()),
            })?;
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
