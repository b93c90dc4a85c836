//! The node's multiplexed SSH master connection and the commands run through it.
//!
//! `openssh` (process mux) starts one `ssh -M -f -N` master per node and runs each command
//! as a short `ssh -S <control socket>` that opens a channel on it: no TCP handshake, key
//! exchange or authentication per command. The master is checked before every command
//! (a connect to its control socket, which fails once it has exited) and started again,
//! once, if it is gone. Masters left behind by a killed process exit on their own after
//! [`MASTER_IDLE_LIMIT`] without commands.
//!
//! sshd allows `MaxSessions` (default 10) channels per connection and refuses the rest, so
//! at most [`MAX_CONCURRENT_COMMANDS`] commands run at once per node; further callers wait.
//!
//! `openssh` is async; the connection owns a current-thread tokio runtime and blocks on it.
//! Callers are plain threads: calling from inside a tokio runtime is refused with an error
//! instead of the panic `block_on` would raise.

use std::num::NonZeroUsize;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use openssh::{ControlPersist, Session, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, Semaphore};

use crate::dispatch::{ConsoleTarget, DispatchError};

/// How long an unused master stays up; the dispatcher reconnects after that.
pub const MASTER_IDLE_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Commands run at once over one master; sshd's default `MaxSessions` is 10.
pub const MAX_CONCURRENT_COMMANDS: usize = 8;

/// What to do when the master connection died while a command was running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfConnectionLost {
    /// Reconnect and run the command again: it only reads.
    RunAgain,
    /// Report the node unreachable: the command may have taken effect before the loss.
    Fail,
}

/// A command for the node, run without a shell of ours: the program and every argument
/// are shell-quoted by `openssh` before the node's login shell sees them.
pub struct RemoteCommand<'a> {
    /// Program name or path on the node.
    pub program: &'a str,
    /// Arguments, each passed as one word.
    pub args: Vec<String>,
    /// Bytes for the command's standard input.
    pub stdin: Option<&'a [u8]>,
    /// Whether it may run twice.
    pub if_connection_lost: IfConnectionLost,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct CommandOutput {
    /// Exit code.
    pub exit_code: i32,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

/// What a console reaches on the node.
#[derive(Clone, Copy, Debug)]
pub enum ConsoleReach<'a> {
    /// A program run on a terminal there (`xl console <domain>`).
    Terminal {
        /// Program name or path on the node.
        program: &'a str,
        /// Its arguments, each one word.
        args: &'a [&'a str],
    },
    /// A TCP port as the node sees it (a VNC server listening on its loopback).
    Port {
        /// Address on the node.
        host: &'a str,
        /// Port.
        port: u16,
    },
}

/// What runs the `xl` dispatcher's commands on a node: the SSH master connection, or a
/// module's transport (`transport:run`), which runs them where the module lives.
pub trait CommandRunner: Send + Sync {
    /// Run `command` and collect its output. Errors are transport-level only
    /// ([`DispatchError::Unreachable`], or [`DispatchError::Failed`] when the program does
    /// not exist); a non-zero exit is returned as output for the caller to judge.
    fn run(&self, command: &RemoteCommand<'_>) -> Result<CommandOutput, DispatchError>;

    /// A program of this machine whose standard input and output reach `reach` on the
    /// node, for a console. Runners that cannot keep the default.
    fn console(&self, reach: ConsoleReach<'_>) -> Result<ConsoleTarget, DispatchError> {
        let _ = reach;
        Err(DispatchError::Unsupported(
            "this transport cannot open consoles".into(),
        ))
    }
}

impl CommandRunner for MasterConnection {
    fn run(&self, command: &RemoteCommand<'_>) -> Result<CommandOutput, DispatchError> {
        MasterConnection::run(self, command)
    }

    fn console(&self, reach: ConsoleReach<'_>) -> Result<ConsoleTarget, DispatchError> {
        MasterConnection::console(self, reach)
    }
}

/// A word as the node's shell reads it literally.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// One node's master connection.
pub struct MasterConnection {
    runtime: Runtime,
    builder: SessionBuilder,
    destination: String,
    session: Mutex<Option<Arc<Session>>>,
    channels: Semaphore,
}

impl MasterConnection {
    /// Start the master connection to `destination` (a host name or address; user and port
    /// are in `builder`).
    pub fn open(mut builder: SessionBuilder, destination: String) -> Result<Self, DispatchError> {
        refuse_inside_async_runtime()?;
        let idle_seconds = NonZeroUsize::new(MASTER_IDLE_LIMIT.as_secs() as usize)
            .map_or(ControlPersist::Forever, ControlPersist::IdleFor);
        builder.control_persist(idle_seconds);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| {
                DispatchError::Failed(format!("cannot start the SSH transport's runtime: {error}"))
            })?;
        let connection = MasterConnection {
            runtime,
            builder,
            destination,
            session: Mutex::new(None),
            channels: Semaphore::new(MAX_CONCURRENT_COMMANDS),
        };
        connection.runtime.block_on(connection.live_session())?;
        Ok(connection)
    }

    /// Run `command` on the node and collect its output. Errors are SSH-level only
    /// ([`DispatchError::Unreachable`], or [`DispatchError::Failed`] when the program does not
    /// exist on the node); a non-zero exit is returned as output for the caller to judge.
    pub fn run(&self, command: &RemoteCommand<'_>) -> Result<CommandOutput, DispatchError> {
        refuse_inside_async_runtime()?;
        self.runtime.block_on(self.run_async(command))
    }

    /// `ssh -S <control socket>` through this master to `reach`: a terminal (`-tt`) for
    /// a program, a stdio forward (`-W`) for a port. The master must stay open meanwhile.
    pub fn console(&self, reach: ConsoleReach<'_>) -> Result<ConsoleTarget, DispatchError> {
        refuse_inside_async_runtime()?;
        let session = self.runtime.block_on(self.live_session())?;
        let mut args = vec![
            "-S".to_owned(),
            session.control_socket().display().to_string(),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
        ];
        match reach {
            ConsoleReach::Terminal {
                program,
                args: words,
            } => {
                args.extend(["-tt".to_owned(), self.destination.clone(), "--".to_owned()]);
                let line: Vec<String> = std::iter::once(program)
                    .chain(words.iter().copied())
                    .map(shell_quote)
                    .collect();
                args.push(line.join(" "));
            }
            ConsoleReach::Port { host, port } => {
                args.extend([
                    "-W".to_owned(),
                    format!("{host}:{port}"),
                    self.destination.clone(),
                ]);
            }
        }
        Ok(ConsoleTarget::Program {
            program: "ssh".to_owned(),
            args,
        })
    }

    async fn run_async(&self, command: &RemoteCommand<'_>) -> Result<CommandOutput, DispatchError> {
        // The semaphore is never closed, so acquiring only waits.
        let _channel =
            self.channels.acquire().await.map_err(|_| {
                DispatchError::Failed("the SSH transport is shutting down".to_owned())
            })?;
        let session = self.live_session().await?;
        let error = match execute(&session, command).await {
            Ok(output) => return Ok(output),
            Err(error) => error,
        };
        if let Some(failure) = program_missing(command.program, &error) {
            return Err(failure);
        }
        if session.check().await.is_ok() {
            // The master is fine: the command's own channel broke, or the remote command
            // exited 255, which ssh uses for its own failures too.
            return Err(DispatchError::Unreachable(format!(
                "{} on {}: {}",
                command.program,
                self.destination,
                describe(&error)
            )));
        }
        self.forget(&session).await;
        match command.if_connection_lost {
            IfConnectionLost::Fail => Err(DispatchError::Unreachable(format!(
                "connection to {} lost while running {}: {}",
                self.destination,
                command.program,
                describe(&error)
            ))),
            IfConnectionLost::RunAgain => {
                let session = self.live_session().await?;
                execute(&session, command).await.map_err(|error| {
                    program_missing(command.program, &error).unwrap_or_else(|| {
                        DispatchError::Unreachable(format!(
                            "{} on {}: {}",
                            command.program,
                            self.destination,
                            describe(&error)
                        ))
                    })
                })
            }
        }
    }

    /// The current session if its master still answers, else a new one.
    async fn live_session(&self) -> Result<Arc<Session>, DispatchError> {
        let mut slot = self.session.lock().await;
        if let Some(session) = slot.as_ref() {
            if UnixStream::connect(session.control_socket()).is_ok() {
                return Ok(Arc::clone(session));
            }
            tracing::info!(node = %self.destination, "SSH master connection is gone; reconnecting");
        }
        // Dropping the old session removes its control directory.
        *slot = None;
        let session = self
            .builder
            .connect(&self.destination)
            .await
            .map_err(|error| {
                DispatchError::Unreachable(format!(
                    "cannot connect to {}: {}",
                    self.destination,
                    describe(&error)
                ))
            })?;
        let session = Arc::new(session);
        *slot = Some(Arc::clone(&session));
        Ok(session)
    }

    /// Drop `session` if it is still the current one.
    async fn forget(&self, session: &Arc<Session>) {
        let mut slot = self.session.lock().await;
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, session))
        {
            *slot = None;
        }
    }
}

/// Run one command through `session`.
async fn execute(
    session: &Session,
    command: &RemoteCommand<'_>,
) -> Result<CommandOutput, openssh::Error> {
    let mut remote = session.command(command.program);
    remote.args(&command.args);
    let output = match command.stdin {
        None => remote.output().await?,
        Some(input) => {
            remote
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = remote.spawn().await?;
            if let Some(mut stdin) = child.stdin().take() {
                stdin
                    .write_all(input)
                    .await
                    .map_err(openssh::Error::ChildIo)?;
                stdin.shutdown().await.map_err(openssh::Error::ChildIo)?;
            }
            child.wait_with_output().await?
        }
    };
    let exit_code = output
        .status
        .code()
        .ok_or(openssh::Error::RemoteProcessTerminated)?;
    Ok(CommandOutput {
        exit_code,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// The error for a program the node's shell could not find (exit 127), which no reconnect
/// fixes.
fn program_missing(program: &str, error: &openssh::Error) -> Option<DispatchError> {
    match error {
        openssh::Error::Remote(io) if io.kind() == std::io::ErrorKind::NotFound => Some(
            DispatchError::Failed(format!("{program}: command not found on the node")),
        ),
        _ => None,
    }
}

/// An `openssh` error with its sources, which carry ssh's own message.
fn describe(error: &openssh::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(cause.to_string().trim());
        source = cause.source();
    }
    text
}

/// `block_on` panics inside a runtime; say so as an error instead.
fn refuse_inside_async_runtime() -> Result<(), DispatchError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(DispatchError::Failed(
            "the SSH dispatcher blocks: call it from a plain thread (e.g. spawn_blocking), \
             not from async code"
                .to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(super::shell_quote("web"), "'web'");
        assert_eq!(super::shell_quote("a'b; rm -rf /"), "'a'\\''b; rm -rf /'");
    }
}
