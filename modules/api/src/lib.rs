//! The C ABI between Zentific and its modules (`libzentific_module_<name>.so`).
//!
//! A module exports two symbols:
//!
//! - [`ABI_VERSION_SYMBOL`] (`zentific_module_abi_version`): a `u32`, read before anything
//!   else; the host refuses a module whose version it does not speak.
//! - [`DESCRIPTOR_SYMBOL`] (`zentific_module_descriptor`): a function returning a pointer to
//!   a [`Descriptor`] that lives as long as the library.
//!
//! Everything that crosses the boundary is plain C: integers, pointers to bytes with their
//! lengths ([`Bytes`]), buffers the module allocated and the host hands back to
//! [`Descriptor::free`] ([`Buffer`]), and function pointers. Values travel as XML-RPC
//! `<value>` documents, the API's own encoding, so a module sees every type a caller can
//! send (`double`, `base64`, `dateTime.iso8601`, `nil` included). No Rust type crosses.
//!
//! The descriptor is append-only: fields are only ever added at the end, and
//! [`Descriptor::size`] says how much of it the module filled, so a host reads the prefix
//! it knows of a newer module and refuses an older one that lacks what it needs.
//!
//! Every entry point the [`declare_module!`] macro writes catches panics and answers
//! [`Status::Panicked`] instead: since Rust 1.81 a panic that reaches an `extern "C"`
//! boundary aborts the process. A module written with the macro is safe Rust; C authors
//! follow `zentific_module.h`, which a test checks against these definitions.

use std::ffi::c_void;

pub use dxr;
pub use zentific_value;

/// The ABI this crate describes.
pub const ABI_VERSION: u32 = 1;

/// The exported `u32` holding the module's ABI version.
pub const ABI_VERSION_SYMBOL: &str = "zentific_module_abi_version";

/// The exported `extern "C" fn() -> *const Descriptor`.
pub const DESCRIPTOR_SYMBOL: &str = "zentific_module_descriptor";

/// Layers a module extends ([`Descriptor::layers`] is their bitwise or).
pub mod layer {
    /// Pages of the web frontend.
    pub const FRONTEND: u32 = 1;
    /// XML-RPC methods under the module's namespace.
    pub const XMLRPC: u32 = 2;
    /// Scheduler transports and job actions.
    pub const SCHEDULER: u32 = 4;
    /// Poller collectors.
    pub const POLLER: u32 = 8;
    /// Every layer this ABI version knows.
    pub const ALL: u32 = FRONTEND | XMLRPC | SCHEDULER | POLLER;
}

/// How an entry point ended.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done; the answer buffer holds the result.
    Ok = 0,
    /// The module refused: the answer buffer holds a fault value
    /// (`<value><struct>` with `faultCode` and `faultString`).
    Fault = 1,
    /// The module panicked; the answer buffer holds the panic message, if any.
    Panicked = 2,
    /// The input was not what the module can read (not UTF-8, not a `<value>`).
    BadInput = 3,
}

impl Status {
    /// The status for a raw code; unknown codes are `None`.
    pub fn from_code(code: i32) -> Option<Status> {
        match code {
            0 => Some(Status::Ok),
            1 => Some(Status::Fault),
            2 => Some(Status::Panicked),
            3 => Some(Status::BadInput),
            _ => None,
        }
    }
}

/// Bytes the caller owns, valid for the duration of the call (UTF-8 where text).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Bytes {
    /// First byte (may dangle when `len` is 0).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl Bytes {
    /// Borrow a static string (for descriptor fields).
    pub const fn from_static(text: &'static str) -> Bytes {
        Bytes {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// Borrow a slice for a call.
    pub fn from_slice(bytes: &[u8]) -> Bytes {
        Bytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes.
    ///
    /// # Safety
    ///
    /// `ptr` must point to `len` readable bytes that outlive the returned slice.
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `len` readable bytes at `ptr`.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// Bytes the module allocated for an answer; the host gives them back to
/// [`Descriptor::free`] and never frees them itself.
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    /// First byte (null for an empty buffer).
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// Allocated capacity, for the module's own deallocation.
    pub cap: usize,
}

impl Buffer {
    /// An empty buffer, as the host passes it in.
    pub const fn empty() -> Buffer {
        Buffer {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }

    /// Hand a vector over (module side).
    pub fn from_vec(bytes: Vec<u8>) -> Buffer {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        Buffer {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
        }
    }

    /// Take a buffer made by [`Buffer::from_vec`] back (module side, in `free`).
    ///
    /// # Safety
    ///
    /// The buffer must come from [`Buffer::from_vec`] in this same library, once.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: ptr, len and cap are those of a Vec this library leaked.
            unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
        }
    }
}

/// Who is calling, as the host checked it: a module never sees a token.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallerInfo {
    /// The user's id; 0 for a call that needs no session (a public method) or the system.
    pub user_id: i32,
    /// The user's role: 0 none, 1 user, 2 operator, 3 admin.
    pub role: u32,
}

/// `create(config, instance_out, error_out)`: make an instance from the module's
/// configuration (a JSON object the host validated against the schema).
pub type CreateFn =
    unsafe extern "C" fn(config: Bytes, instance: *mut *mut c_void, error: *mut Buffer) -> i32;

/// `call(instance, caller, method, params, answer_out)`: run a method. `params` is an
/// XML-RPC `<value><array>` of the call's parameters; on [`Status::Ok`] the answer is a
/// `<value>`, on [`Status::Fault`] a fault struct `<value>`.
pub type CallFn = unsafe extern "C" fn(
    instance: *mut c_void,
    caller: CallerInfo,
    method: Bytes,
    params: Bytes,
    answer: *mut Buffer,
) -> i32;

/// `free(buffer)`: give back a buffer the module allocated.
pub type FreeFn = unsafe extern "C" fn(buffer: Buffer);

/// `destroy(instance)`: drop an instance (the library itself stays loaded).
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// What a module is and does. Append-only: new fields go at the end.
#[repr(C)]
#[derive(Debug)]
pub struct Descriptor {
    /// `size_of::<Descriptor>()` as the module was built.
    pub size: usize,
    /// The module's name: its namespace, 1–32 of `a-z 0-9 _`, starting with a letter.
    pub name: Bytes,
    /// Its version, free text (e.g. `1.2.0`).
    pub version: Bytes,
    /// One sentence for the module list.
    pub description: Bytes,
    /// The [`layer`]s it extends.
    pub layers: u32,
    /// Its configuration options as JSON:
    /// `{"option": {"type": "string|integer|boolean", "required"?, "enum"?, "min"?, "max"?, "default"?, "help"?}}`.
    pub config_schema: Bytes,
    /// Its XML-RPC methods as JSON: `[{"name", "help", "params": [{"name", "type",
    /// "optional"?}], "returns", "access": "public" | "user" | "operator" | "admin" |
    /// "vm:<permission>", "quick"?: bool}]`, names without the namespace. A quick method only computes, and
    /// runs on the server's async worker (see `docs/modules.md`).
    pub methods: Bytes,
    /// See [`CreateFn`].
    pub create: CreateFn,
    /// See [`CallFn`].
    pub call: CallFn,
    /// See [`FreeFn`].
    pub free: FreeFn,
    /// See [`DestroyFn`].
    pub destroy: DestroyFn,
    // Appended fields: a module built before one existed has a smaller `size`; the host
    // reads only what `size` covers (see [`DESCRIPTOR_MIN_SIZE`]).
    /// What the module provides to layers other than XML-RPC, as JSON (empty for nothing):
    /// `{"transports": [{"name", "kind": "xl", "help"}], "collectors": [{"name",
    /// "help", "metrics": [{"name", "unit", "help"}]}], "pages": [{"label", "path",
    /// "order", "script"}], "actions": [{"name", "help", "target": "vm"}]}`. See
    /// `docs/modules.md`.
    pub provides: Bytes,
}

/// The size of the fields every module of this ABI version has (through `destroy`).
pub const DESCRIPTOR_MIN_SIZE: usize =
    std::mem::offset_of!(Descriptor, destroy) + std::mem::size_of::<DestroyFn>();

// SAFETY: a descriptor is immutable data with 'static pointers into the library.
unsafe impl Sync for Descriptor {}

/// A fault a module answers with.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The API fault code (4 invalid value, 3 not found, …).
    pub code: i32,
    /// What went wrong, for the caller.
    pub message: String,
}

impl Fault {
    /// A fault with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
        }
    }
}

/// What a module written in Rust implements; [`declare_module!`] turns it into the ABI.
pub trait Module: Send + Sync + Sized + 'static {
    /// Make an instance from the validated configuration (JSON text).
    fn create(config: &str) -> Result<Self, String>;

    /// Run `method` (without the namespace) with `params`.
    fn call(
        &self,
        caller: CallerInfo,
        method: &str,
        params: Vec<dxr::Value>,
    ) -> Result<dxr::Value, Fault>;
}

/// How deep a value crossing the boundary may nest (as the server's request limit).
pub const MAX_DEPTH: usize = 64;

/// The `<value>` document of a value.
pub fn encode_value(value: &dxr::Value) -> Vec<u8> {
    zentific_value::to_xml(value).into_bytes()
}

/// The `<value><array>` document of a call's parameters.
pub fn encode_params(params: &[dxr::Value]) -> Vec<u8> {
    let size: usize = params.iter().map(zentific_value::size_hint).sum();
    let mut out = String::with_capacity(48 + size);
    out.push_str("<value><array><data>");
    for param in params {
        zentific_value::write_value(&mut out, param);
    }
    out.push_str("</data></array></value>");
    out.into_bytes()
}

/// A value from its `<value>` document.
pub fn decode_value(bytes: &[u8]) -> Result<dxr::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    zentific_value::read_value(text, MAX_DEPTH).map_err(|e| e.message)
}

/// The fault struct value of a fault.
pub fn fault_value(fault: &Fault) -> dxr::Value {
    let mut members = std::collections::BTreeMap::new();
    members.insert("faultCode".to_owned(), dxr::Value::Integer(fault.code));
    members.insert(
        "faultString".to_owned(),
        dxr::Value::String(fault.message.clone()),
    );
    dxr::Value::Struct(members)
}

/// The entry points of a [`Module`] type; [`declare_module!`] exports them. Public only
/// for the macro.
#[doc(hidden)]
pub mod entry {
    use super::*;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the module panicked".to_owned())
    }

    /// # Safety
    ///
    /// The ABI's `create` contract: valid `config` bytes and out-pointers.
    pub unsafe fn create<M: Module>(
        config: Bytes,
        instance: *mut *mut c_void,
        error: *mut Buffer,
    ) -> i32 {
        let result = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the host passes valid bytes for the call.
            let bytes = unsafe { config.as_slice() };
            let text =
                std::str::from_utf8(bytes).map_err(|e| format!("config is not UTF-8: {e}"))?;
            M::create(text)
        }));
        let (status, message) = match result {
            Ok(Ok(module)) => {
                // SAFETY: the host passes a valid out-pointer.
                unsafe { *instance = Box::into_raw(Box::new(module)).cast() };
                return Status::Ok as i32;
            }
            Ok(Err(message)) => (Status::Fault, message),
            Err(payload) => (Status::Panicked, panic_text(&*payload)),
        };
        if !error.is_null() {
            // SAFETY: checked non-null; the host passes a valid out-pointer.
            unsafe { *error = Buffer::from_vec(message.into_bytes()) };
        }
        status as i32
    }

    /// # Safety
    ///
    /// The ABI's `call` contract: an instance from `create`, valid bytes and out-pointer.
    pub unsafe fn call<M: Module>(
        instance: *mut c_void,
        caller: CallerInfo,
        method: Bytes,
        params: Bytes,
        answer: *mut Buffer,
    ) -> i32 {
        let result = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `instance` came from `create::<M>`.
            let module = unsafe { &*(instance as *const M) };
            // SAFETY: the host passes valid bytes for the call.
            let (method, params) = unsafe { (method.as_slice(), params.as_slice()) };
            let Ok(method) = std::str::from_utf8(method) else {
                return (Status::BadInput, b"the method name is not UTF-8".to_vec());
            };
            let params = match decode_value(params) {
                Ok(dxr::Value::Array(items)) => items,
                Ok(_) => return (Status::BadInput, b"params are not an array".to_vec()),
                Err(message) => return (Status::BadInput, message.into_bytes()),
            };
            match module.call(caller, method, params) {
                Ok(value) => (Status::Ok, encode_value(&value)),
                Err(fault) => (Status::Fault, encode_value(&fault_value(&fault))),
            }
        }));
        let (status, bytes) =
            result.unwrap_or_else(|payload| (Status::Panicked, panic_text(&*payload).into_bytes()));
        if !answer.is_null() {
            // SAFETY: checked non-null; the host passes a valid out-pointer.
            unsafe { *answer = Buffer::from_vec(bytes) };
        }
        status as i32
    }

    /// # Safety
    ///
    /// A buffer this library made, given back once.
    pub unsafe fn free(buffer: Buffer) {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the host hands back a buffer from `Buffer::from_vec`, once.
            let bytes = unsafe { buffer.into_vec() };
            drop(bytes)
        }));
    }

    /// # Safety
    ///
    /// An instance from `create::<M>`, destroyed once.
    pub unsafe fn destroy<M: Module>(instance: *mut c_void) {
        if instance.is_null() {
            return;
        }
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `instance` came from `create::<M>` and is destroyed once.
            let module = unsafe { Box::from_raw(instance as *mut M) };
            drop(module)
        }));
    }
}

/// Export a [`Module`] type as a Zentific module:
///
/// ```ignore
/// zentific_module_api::declare_module! {
///     module: Echo,
///     name: "echo",
///     version: env!("CARGO_PKG_VERSION"),
///     description: "Answers what it is sent",
///     layers: zentific_module_api::layer::XMLRPC,
///     config_schema: "{}",
///     methods: r#"[{"name": "say", "help": "Echo", "params": [{"name": "text", "type": "string"}], "returns": "string", "access": "user"}]"#,
/// }
/// ```
#[macro_export]
macro_rules! declare_module {
    (
        module: $module:ty,
        name: $name:expr,
        version: $version:expr,
        description: $description:expr,
        layers: $layers:expr,
        config_schema: $schema:expr,
        methods: $methods:expr $(,)?
    ) => {
        $crate::declare_module! {
            module: $module,
            name: $name,
            version: $version,
            description: $description,
            layers: $layers,
            config_schema: $schema,
            methods: $methods,
            provides: "",
        }
    };
    (
        module: $module:ty,
        name: $name:expr,
        version: $version:expr,
        description: $description:expr,
        layers: $layers:expr,
        config_schema: $schema:expr,
        methods: $methods:expr,
        provides: $provides:expr $(,)?
    ) => {
        /// The ABI version this module speaks, read by the host first.
        #[unsafe(no_mangle)]
        #[allow(non_upper_case_globals)]
        pub static zentific_module_abi_version: u32 = $crate::ABI_VERSION;

        unsafe extern "C" fn __zentific_create(
            config: $crate::Bytes,
            instance: *mut *mut ::std::ffi::c_void,
            error: *mut $crate::Buffer,
        ) -> i32 {
            // SAFETY: forwarded under the ABI's contract.
            unsafe { $crate::entry::create::<$module>(config, instance, error) }
        }

        unsafe extern "C" fn __zentific_call(
            instance: *mut ::std::ffi::c_void,
            caller: $crate::CallerInfo,
            method: $crate::Bytes,
            params: $crate::Bytes,
            answer: *mut $crate::Buffer,
        ) -> i32 {
            // SAFETY: forwarded under the ABI's contract.
            unsafe { $crate::entry::call::<$module>(instance, caller, method, params, answer) }
        }

        unsafe extern "C" fn __zentific_free(buffer: $crate::Buffer) {
            // SAFETY: forwarded under the ABI's contract.
            unsafe { $crate::entry::free(buffer) }
        }

        unsafe extern "C" fn __zentific_destroy(instance: *mut ::std::ffi::c_void) {
            // SAFETY: forwarded under the ABI's contract.
            unsafe { $crate::entry::destroy::<$module>(instance) }
        }

        static __ZENTIFIC_DESCRIPTOR: $crate::Descriptor = $crate::Descriptor {
            size: ::std::mem::size_of::<$crate::Descriptor>(),
            name: $crate::Bytes::from_static($name),
            version: $crate::Bytes::from_static($version),
            description: $crate::Bytes::from_static($description),
            layers: $layers,
            config_schema: $crate::Bytes::from_static($schema),
            methods: $crate::Bytes::from_static($methods),
            create: __zentific_create,
            call: __zentific_call,
            free: __zentific_free,
            destroy: __zentific_destroy,
            provides: $crate::Bytes::from_static($provides),
        };

        /// What this module is and does, for the host.
        #[unsafe(no_mangle)]
        pub extern "C" fn zentific_module_descriptor() -> *const $crate::Descriptor {
            &__ZENTIFIC_DESCRIPTOR
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fragile;

    impl Module for Fragile {
        fn create(config: &str) -> Result<Self, String> {
            match config {
                "panic" => panic!("create fell over"),
                "refuse" => Err("no such database".into()),
                _ => Ok(Fragile),
            }
        }

        fn call(
            &self,
            _: CallerInfo,
            method: &str,
            params: Vec<dxr::Value>,
        ) -> Result<dxr::Value, Fault> {
            match method {
                "panic" => panic!("index out of bounds: {}", params.len()),
                "fault" => Err(Fault::new(4, "bad colour")),
                _ => Ok(dxr::Value::Array(params)),
            }
        }
    }

    fn create(config: &str) -> (i32, *mut c_void, String) {
        let mut instance = std::ptr::null_mut();
        let mut error = Buffer::empty();
        // SAFETY: valid bytes and out-pointers for the call.
        let code = unsafe {
            entry::create::<Fragile>(
                Bytes::from_slice(config.as_bytes()),
                &mut instance,
                &mut error,
            )
        };
        // SAFETY: the buffer came from this library's from_vec.
        let message = String::from_utf8(unsafe { error.into_vec() }).unwrap();
        (code, instance, message)
    }

    fn call(instance: *mut c_void, method: &str, params: &[u8]) -> (i32, String) {
        let mut answer = Buffer::empty();
        let caller = CallerInfo {
            user_id: 1,
            role: 3,
        };
        // SAFETY: an instance from create, valid bytes and out-pointer.
        let code = unsafe {
            entry::call::<Fragile>(
                instance,
                caller,
                Bytes::from_slice(method.as_bytes()),
                Bytes::from_slice(params),
                &mut answer,
            )
        };
        // SAFETY: the buffer came from this library's from_vec.
        (
            code,
            String::from_utf8(unsafe { answer.into_vec() }).unwrap(),
        )
    }

    #[test]
    fn panics_and_refusals_stop_at_the_boundary() {
        let (code, _, message) = create("panic");
        assert_eq!(
            (code, message.as_str()),
            (Status::Panicked as i32, "create fell over")
        );
        let (code, _, message) = create("refuse");
        assert_eq!(
            (code, message.as_str()),
            (Status::Fault as i32, "no such database")
        );
        let (code, instance, _) = create("{}");
        assert_eq!(code, Status::Ok as i32);

        let params = encode_value(&dxr::Value::Array(vec![
            dxr::Value::Double(1.5),
            dxr::Value::Base64(vec![0, 255]),
        ]));
        let (code, answer) = call(instance, "echo", &params);
        assert_eq!(code, Status::Ok as i32);
        assert_eq!(
            decode_value(answer.as_bytes()).unwrap(),
            decode_value(&params).unwrap()
        );
        let (code, answer) = call(instance, "panic", &params);
        assert_eq!(
            (code, answer.as_str()),
            (Status::Panicked as i32, "index out of bounds: 2")
        );
        let (code, answer) = call(instance, "fault", &params);
        assert_eq!(code, Status::Fault as i32);
        assert_eq!(
            decode_value(answer.as_bytes()).unwrap(),
            fault_value(&Fault::new(4, "bad colour"))
        );
        let (code, _) = call(instance, "echo", b"<value><int>1");
        assert_eq!(code, Status::BadInput as i32);
        // SAFETY: the instance from create, destroyed once.
        unsafe { entry::destroy::<Fragile>(instance) };
    }
}
