//! Lifecycle events from libvirt: the one place the transport calls libvirt's C API
//! directly, because the `virt` crate has no safe wrapper for
//! `virConnectDomainEventRegisterAny`.
//!
//! libvirt delivers events from its default event loop, which must be registered before
//! the first connection is opened and run by a thread: [`ensure_event_loop`] does both,
//! once per process. Each [`Subscription`] owns a boxed [`EventSink`] that libvirt hands
//! back to [`on_lifecycle`]; libvirt frees it through [`free_sink`] when the callback is
//! deregistered (on drop).

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::Once;

use virt::connect::Connect;
use virt_sys as sys;
use zentific_sql::VmState;

use crate::dispatch::{DispatchError, DomainEvent, EventSink};

/// Register libvirt's default event loop and start the thread that runs it (once).
pub(super) fn ensure_event_loop() {
    static START: Once = Once::new();
    START.call_once(|| {
        // libvirt prints every error to stderr besides returning it; the dispatcher
        // reports the errors it gets, so the printing is only noise in the server's log.
        virt::error::clear_error_callback();
        if virt::event::event_register_default_impl().is_err() {
            tracing::warn!(
                "libvirt's event loop could not be registered; relying on reconciliation"
            );
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| {
                loop {
                    if let Err(e) = virt::event::event_run_default_impl() {
                        tracing::warn!("libvirt event loop: {e}");
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the libvirt event thread: {e}");
        }
    });
}

/// A registered lifecycle callback; deregistered on drop.
pub(super) struct Subscription {
    connection: Connect,
    callback_id: c_int,
}

impl Subscription {
    /// Ask libvirt to send this connection's lifecycle events to `sink`.
    pub(super) fn register(
        connection: &Connect,
        sink: EventSink,
    ) -> Result<Subscription, DispatchError> {
        let opaque = Box::into_raw(Box::new(sink)).cast::<c_void>();
        // SAFETY: libvirt's lifecycle callback has the signature of `on_lifecycle`; the API
        // takes it as the generic callback type and calls it with the lifecycle arguments
        // (this is what libvirt's own VIR_DOMAIN_EVENT_CALLBACK cast does).
        let callback: sys::virConnectDomainEventGenericCallback = unsafe {
            Some(std::mem::transmute::<
                unsafe extern "C" fn(
                    sys::virConnectPtr,
                    sys::virDomainPtr,
                    c_int,
                    c_int,
                    *mut c_void,
                ),
                unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void),
            >(on_lifecycle))
        };
        // SAFETY: the connection pointer is valid while `connection` lives (we keep a clone
        // in the subscription); `opaque` is a leaked box that libvirt owns from here on and
        // releases through `free_sink`.
        let callback_id = unsafe {
            sys::virConnectDomainEventRegisterAny(
                connection.as_ptr(),
                std::ptr::null_mut(),
                sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
                callback,
                opaque,
                Some(free_sink),
            )
        };
        if callback_id < 0 {
            // SAFETY: registration failed, so libvirt did not take ownership of `opaque`.
            drop(unsafe { Box::from_raw(opaque.cast::<EventSink>()) });
            return Err(DispatchError::Unsupported(
                "this libvirt driver does not deliver domain events".into(),
            ));
        }
        Ok(Subscription {
            connection: connection.clone(),
            callback_id,
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // SAFETY: the id came from a successful registration on this connection.
        unsafe {
            sys::virConnectDomainEventDeregisterAny(self.connection.as_ptr(), self.callback_id);
        }
    }
}

/// Zentific's state after a lifecycle event, where the event says it.
fn state_after(event: c_int) -> Option<VmState> {
    match event as u32 {
        sys::VIR_DOMAIN_EVENT_STARTED | sys::VIR_DOMAIN_EVENT_RESUMED => Some(VmState::Running),
        sys::VIR_DOMAIN_EVENT_SUSPENDED | sys::VIR_DOMAIN_EVENT_PMSUSPENDED => {
            Some(VmState::Paused)
        }
        sys::VIR_DOMAIN_EVENT_STOPPED | sys::VIR_DOMAIN_EVENT_SHUTDOWN => Some(VmState::Stopped),
        sys::VIR_DOMAIN_EVENT_CRASHED => Some(VmState::Crashed),
        _ => None,
    }
}

/// Called by libvirt's event thread for each lifecycle event.
unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    _detail: c_int,
    opaque: *mut c_void,
) {
    let Some(state) = state_after(event) else {
        return;
    };
    let mut buffer = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    // SAFETY: libvirt passes a valid domain for the duration of the callback; the buffer
    // has the length libvirt documents for UUID strings.
    if unsafe { sys::virDomainGetUUIDString(dom, buffer.as_mut_ptr()) } < 0 {
        return;
    }
    // SAFETY: on success libvirt wrote a NUL-terminated string into the buffer.
    let uuid = unsafe { CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: `opaque` is the `EventSink` box registered in `Subscription::register`,
    // alive until libvirt calls `free_sink`.
    let sink = unsafe { &*opaque.cast::<EventSink>() };
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sink(DomainEvent { uuid, state })
    }));
}

/// Called by libvirt when a registration ends: frees the sink.
unsafe extern "C" fn free_sink(opaque: *mut c_void) {
    if !opaque.is_null() {
        // SAFETY: `opaque` is the box leaked in `Subscription::register`, freed only here.
        drop(unsafe { Box::from_raw(opaque.cast::<EventSink>()) });
    }
}
