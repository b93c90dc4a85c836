//! `xl-local`: a scheduler transport that runs `xl` on the machine Zentific runs on,
//! without SSH — Zentific installed on dom0 for a single user.
//!
//! A node on it has `transport` `xl-local` and a URI `xl-local:`, optionally with the
//! `ssh` transport's `?xl=PROGRAM&config_dir=DIR`. Zentific's own `xl` toolstack logic
//! (the `ssh` transport's: the commands, the configuration files, the error sorting)
//! drives the node; this module only runs the commands it is handed, through the
//! reserved entry `transport:run`, as the server's own user (xl needs root).
//!
//! Consoles (`transport:console`): a text console is the program on a terminal of its own
//! (`script`, from util-linux, which every Debian has), a port is reached directly; the
//! host runs the one and connects to the other.
//!
//! Commands are run from an argument vector, never through a shell of this module's, with
//! the server's environment. A program that cannot be started is fault 4 with the
//! system's reason; its exit code, stdout and stderr are answered as they are, for the
//! host to judge. The entry refuses any caller but the host itself (user 0, no role),
//! and no XML-RPC caller can name it (module method names have no `:`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use zentific_module_api::dxr::Value;
use zentific_module_api::{CallerInfo, Fault, Module, declare_module, layer};

/// The module: it keeps nothing between calls.
pub struct XlLocal;

/// Fault code for a value the host should not have sent (the API's "invalid value").
const INVALID: i32 = 4;

impl Module for XlLocal {
    fn create(_config: &str) -> Result<Self, String> {
        Ok(XlLocal)
    }

    fn call(&self, caller: CallerInfo, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        if method != "transport:run" && method != "transport:console" {
            return Err(Fault::new(
                -32601,
                format!("xl_local has no method {method}"),
            ));
        }
        if caller.user_id != 0 || caller.role != 0 {
            return Err(Fault::new(2, format!("{method} is for the host only")));
        }
        let [
            Value::String(_transport),
            Value::String(_uri),
            Value::Struct(spec),
        ] = params.as_slice()
        else {
            return Err(Fault::new(
                -32602,
                format!("{method} takes (transport, uri, struct)"),
            ));
        };
        if method == "transport:console" {
            console(spec)
        } else {
            run(spec)
        }
    }
}

/// A word as `sh -c` reads it literally.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// How the host reaches a console here: `{terminal: {program, args}}` becomes
/// `script -qfec '<program> <args>' /dev/null` (the program on a terminal of its own, its
/// output passed on at once); `{port: {host, port}}` is answered as it is.
fn console(spec: &BTreeMap<String, Value>) -> Result<Value, Fault> {
    let mut answer = BTreeMap::new();
    match (spec.get("terminal"), spec.get("port")) {
        (Some(Value::Struct(terminal)), None) => {
            let Some(Value::String(program)) = terminal.get("program") else {
                return Err(Fault::new(INVALID, "the terminal has no program"));
            };
            let mut line = vec![shell_quote(program)];
            if let Some(Value::Array(args)) = terminal.get("args") {
                for arg in args {
                    let Value::String(arg) = arg else {
                        return Err(Fault::new(INVALID, "terminal arguments must be strings"));
                    };
                    line.push(shell_quote(arg));
                }
            }
            let args = ["-qfec", &line.join(" "), "/dev/null"];
            answer.insert("program".to_owned(), Value::String("script".into()));
            answer.insert(
                "args".to_owned(),
                Value::Array(
                    args.iter()
                        .map(|a| Value::String((*a).to_owned()))
                        .collect(),
                ),
            );
        }
        (None, Some(Value::Struct(port))) => {
            for key in ["host", "port"] {
                let value = port
                    .get(key)
                    .cloned()
                    .ok_or_else(|| Fault::new(INVALID, format!("the port has no {key}")))?;
                answer.insert(key.to_owned(), value);
            }
        }
        _ => return Err(Fault::new(INVALID, "a console is {terminal} or {port}")),
    }
    Ok(Value::Struct(answer))
}

/// Run one command as `command` describes it.
fn run(command: &BTreeMap<String, Value>) -> Result<Value, Fault> {
    let Some(Value::String(program)) = command.get("program") else {
        return Err(Fault::new(INVALID, "the command has no program"));
    };
    let args: Vec<&str> = match command.get("args") {
        Some(Value::Array(args)) => args
            .iter()
            .map(|a| match a {
                Value::String(a) => Ok(a.as_str()),
                _ => Err(Fault::new(INVALID, "command arguments must be strings")),
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
        Some(_) => return Err(Fault::new(INVALID, "args must be an array")),
    };
    let stdin = match command.get("stdin") {
        Some(Value::Base64(bytes)) => Some(bytes.as_slice()),
        None => None,
        Some(_) => return Err(Fault::new(INVALID, "stdin must be base64")),
    };
    if program.is_empty() {
        return Err(Fault::new(INVALID, "the program is empty"));
    }
    let mut child = Command::new(program)
        .args(&args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Fault::new(INVALID, format!("cannot run {program}: {e}")))?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A program that exits without reading all of it is judged by its exit code.
        let _ = pipe.write_all(bytes);
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Fault::new(INVALID, format!("cannot wait for {program}: {e}")))?;
    let exit_code = output.status.code().unwrap_or_else(|| {
        // Killed by a signal: the shell's convention, 128 + the signal.
        use std::os::unix::process::ExitStatusExt;
        128 + output.status.signal().unwrap_or(0)
    });
    let mut answer = BTreeMap::new();
    answer.insert("exit_code".to_owned(), Value::Integer(exit_code));
    answer.insert(
        "stdout".to_owned(),
        Value::String(String::from_utf8_lossy(&output.stdout).into_owned()),
    );
    answer.insert(
        "stderr".to_owned(),
        Value::String(String::from_utf8_lossy(&output.stderr).into_owned()),
    );
    Ok(Value::Struct(answer))
}

declare_module! {
    module: XlLocal,
    name: "xl_local",
    version: env!("CARGO_PKG_VERSION"),
    description: "The xl-local transport: xl run on this machine, without SSH (Zentific on dom0)",
    layers: layer::SCHEDULER,
    config_schema: "{}",
    methods: "[]",
    provides: r#"{"transports": [{"name": "xl-local", "kind": "xl", "help": "xl on the machine Zentific runs on (run Zentific as root on dom0); URI xl-local: with ?xl=PROGRAM and ?config_dir=DIR as for ssh"}]}"#,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> CallerInfo {
        CallerInfo {
            user_id: 0,
            role: 0,
        }
    }

    fn command(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<Value> {
        let mut spec = BTreeMap::new();
        spec.insert("program".to_owned(), Value::String(program.into()));
        spec.insert(
            "args".to_owned(),
            Value::Array(args.iter().map(|a| Value::String((*a).into())).collect()),
        );
        if let Some(bytes) = stdin {
            spec.insert("stdin".to_owned(), Value::Base64(bytes.to_vec()));
        }
        vec![
            Value::String("xl-local".into()),
            Value::String("xl-local:".into()),
            Value::Struct(spec),
        ]
    }

    #[test]
    fn a_text_console_is_the_program_on_a_terminal_of_its_own() {
        let mut terminal = BTreeMap::new();
        terminal.insert("program".to_owned(), Value::String("sh".into()));
        let args = ["-c", "test -t 0 && echo \"on a terminal: $1\"", "x", "it's"];
        terminal.insert(
            "args".to_owned(),
            Value::Array(args.iter().map(|a| Value::String((*a).into())).collect()),
        );
        let mut spec = BTreeMap::new();
        spec.insert("terminal".to_owned(), Value::Struct(terminal));
        let params = vec![
            Value::String("xl-local".into()),
            Value::String("xl-local:".into()),
            Value::Struct(spec),
        ];
        let Value::Struct(answer) = XlLocal
            .call(host(), "transport:console", params.clone())
            .unwrap()
        else {
            panic!("not a struct");
        };
        let Some(Value::String(program)) = answer.get("program") else {
            panic!("no program")
        };
        let Some(Value::Array(args)) = answer.get("args") else {
            panic!("no args")
        };
        let args: Vec<String> = args
            .iter()
            .map(|a| match a {
                Value::String(a) => a.clone(),
                _ => panic!(),
            })
            .collect();
        // Run what the host would run: the program sees a terminal, its words intact.
        let output = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("on a terminal: it's"),
            "{output:?}"
        );
        let refused = XlLocal
            .call(
                CallerInfo {
                    user_id: 3,
                    role: 1,
                },
                "transport:console",
                params,
            )
            .unwrap_err();
        assert_eq!(refused.code, 2);
    }

    #[test]
    fn runs_commands_as_argument_vectors_and_answers_what_they_printed() {
        let answer = XlLocal
            .call(
                host(),
                "transport:run",
                command(
                    "sh",
                    &["-c", "cat; echo \"$1\" >&2; exit 3", "x", "a b; rm -rf /"],
                    Some(b"in"),
                ),
            )
            .unwrap();
        let Value::Struct(answer) = answer else {
            panic!()
        };
        assert_eq!(answer["exit_code"], Value::Integer(3));
        assert_eq!(answer["stdout"], Value::String("in".into()));
        assert_eq!(answer["stderr"], Value::String("a b; rm -rf /\n".into()));
    }

    #[test]
    fn refuses_other_callers_and_programs_that_do_not_exist() {
        let user = CallerInfo {
            user_id: 7,
            role: 3,
        };
        assert_eq!(
            XlLocal
                .call(user, "transport:run", command("true", &[], None))
                .unwrap_err()
                .code,
            2
        );
        let missing = XlLocal
            .call(
                host(),
                "transport:run",
                command("/nonexistent/xl", &[], None),
            )
            .unwrap_err();
        assert_eq!(missing.code, 4);
        assert!(missing.message.contains("cannot run /nonexistent/xl"));
        assert_eq!(
            XlLocal.call(host(), "say", vec![]).unwrap_err().code,
            -32601
        );
    }
}
