//! Consoles of XenAPI VMs. xapi lists a running VM's consoles as `console` records with a
//! protocol (`rfb` for the graphical one, `vt100` for a PV guest's text console) and a
//! `location` (`https://host/console?uuid=…`). A client opens one with `CONNECT` on the
//! location's path and query, the session in a `session_id` parameter and cookie; after
//! xapi's `200 OK` the connection carries the console's bytes. The console proxy does the
//! `CONNECT` ([`ConsoleTarget::HttpConnect`]); this module finds the record.

use dxr::Value;
use ureq::http::Uri;
use zentific_sql::ConsoleKind;

use super::rpc::{XapiError, as_text};
use super::{READ_TIMEOUT, XenApiDispatcher, dispatch_error};
use crate::dispatch::{ConsoleTarget, DispatchError, DomainRef};

/// xapi's protocol name for a kind of console.
fn protocol(kind: ConsoleKind) -> &'static str {
    match kind {
        ConsoleKind::Vnc => "rfb",
        ConsoleKind::Text => "vt100",
    }
}

impl XenApiDispatcher {
    /// The VM's console of `kind`, to be opened with the session.
    pub(super) fn console_target(
        &self,
        domain: DomainRef<'_>,
        kind: ConsoleKind,
    ) -> Result<ConsoleTarget, DispatchError> {
        let vm = self.vm_reference(domain).map_err(dispatch_error)?;
        let wanted = protocol(kind);
        let mut offered = Vec::new();
        for console in self.console_refs(&vm).map_err(dispatch_error)? {
            let record = self
                .session
                .call(
                    "console.get_record",
                    &[Value::String(console)],
                    READ_TIMEOUT,
                )
                .map_err(dispatch_error)?;
            let field = |name: &str| match &record {
                Value::Struct(fields) => fields.get(name).and_then(as_text),
                _ => None,
            };
            let found = field("protocol").unwrap_or_default();
            if found == wanted {
                let location = field("location").unwrap_or_default();
                return tunnel(&location, &self.session.current_reference());
            }
            offered.push(found);
        }
        let offered = if offered.is_empty() {
            "none (xapi lists consoles of running VMs only)".to_owned()
        } else {
            offered.join(", ")
        };
        Err(DispatchError::Unsupported(format!(
            "VM {} has no {wanted} console on this host; its consoles: {offered}",
            domain.name
        )))
    }

    fn console_refs(&self, vm: &str) -> Result<Vec<String>, XapiError> {
        match self.session.call(
            "VM.get_consoles",
            &[Value::String(vm.to_owned())],
            READ_TIMEOUT,
        )? {
            Value::Array(refs) => Ok(refs.iter().filter_map(as_text).collect()),
            _ => Err(XapiError::Malformed(
                "VM.get_consoles answered no list".to_owned(),
            )),
        }
    }
}

/// The tunnel to a console `location`, opened with `session`.
fn tunnel(location: &str, session: &str) -> Result<ConsoleTarget, DispatchError> {
    let malformed = || {
        DispatchError::Failed(format!(
            "xapi gave a console location that is not a URL: {location:?}"
        ))
    };
    let uri: Uri = location.parse().map_err(|_| malformed())?;
    let tls = match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => false,
        _ => return Err(malformed()),
    };
    let host = uri.host().ok_or_else(malformed)?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let separator = if path.contains('?') { '&' } else { '?' };
    Ok(ConsoleTarget::HttpConnect {
        host,
        port,
        tls,
        target: format!("{path}{separator}session_id={session}"),
        session: session.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_locations_carry_the_session() {
        let ConsoleTarget::HttpConnect {
            host,
            port,
            tls,
            target,
            session,
        } = tunnel("https://10.0.0.5/console?uuid=abc", "OpaqueRef:s").expect("a location")
        else {
            panic!("not a tunnel");
        };
        assert_eq!((host.as_str(), port, tls), ("10.0.0.5", 443, true));
        assert_eq!(target, "/console?uuid=abc&session_id=OpaqueRef:s");
        assert_eq!(session, "OpaqueRef:s");
    }

    #[test]
    fn ports_ipv6_and_plain_http() {
        let ConsoleTarget::HttpConnect {
            host,
            port,
            tls,
            target,
            ..
        } = tunnel("http://[fd00::1]:8080/console", "s").expect("a location")
        else {
            panic!("not a tunnel");
        };
        assert_eq!((host.as_str(), port, tls), ("fd00::1", 8080, false));
        assert_eq!(target, "/console?session_id=s");
    }

    #[test]
    fn other_locations_are_refused() {
        for location in ["", "ftp://host/console", "/console?uuid=1", "not a url"] {
            assert!(tunnel(location, "s").is_err(), "{location:?}");
        }
    }
}
