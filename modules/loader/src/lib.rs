//! The module loader: which files are modules, whether they may be loaded, and what they
//! say about themselves.
//!
//! [`scan`] looks at `libzentific_module_<name>.so` files in one directory. Each is
//! refused with a reason (the process goes on) when the directory or the file is writable
//! by group or others, or owned by someone other than root or this process's user (as
//! sshd's StrictModes); when its ABI version symbol is missing or names another version;
//! when its descriptor is too short, not UTF-8, names an unknown layer, or its name is not
//! the file's. A loaded library is never unloaded: unloading Rust code that may have
//! thread-locals or running threads is unsound, so [`Library`](libloading::Library)s are
//! leaked on purpose and live as long as the process.
//!
//! [`Module::instantiate`] runs the module's `create`; [`Instance::call`] its `call`, with
//! values as XML-RPC `<value>` documents. A module's panics stop at its own entry points
//! (the ABI crate's macro catches them) and come back here as [`CallError::Panicked`].

mod provides;

pub use zentific_module_api;

pub use provides::{
    ActionDecl, BUILTIN_TRANSPORTS, CollectorDecl, MetricDecl, PageDecl, Provides, TransportDecl,
    is_asset_path, is_metric_name,
};

use std::ffi::c_void;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use zentific_module_api::dxr::Value;
use zentific_module_api::{
    ABI_VERSION, ABI_VERSION_SYMBOL, Buffer, Bytes, CallerInfo, DESCRIPTOR_MIN_SIZE,
    DESCRIPTOR_SYMBOL, Descriptor, Status, layer,
};

/// The prefix and suffix of a module file's name.
pub const FILE_PREFIX: &str = "libzentific_module_";
/// See [`FILE_PREFIX`].
pub const FILE_SUFFIX: &str = ".so";

/// A layer a module extends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Web pages.
    Frontend,
    /// XML-RPC methods.
    Xmlrpc,
    /// Transports and job actions.
    Scheduler,
    /// Poller collectors.
    Poller,
}

impl Layer {
    /// Its name in `module.list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Frontend => "frontend",
            Layer::Xmlrpc => "xmlrpc",
            Layer::Scheduler => "scheduler",
            Layer::Poller => "poller",
        }
    }

    fn from_bits(bits: u32) -> Vec<Layer> {
        [
            (layer::FRONTEND, Layer::Frontend),
            (layer::XMLRPC, Layer::Xmlrpc),
            (layer::SCHEDULER, Layer::Scheduler),
            (layer::POLLER, Layer::Poller),
        ]
        .into_iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, layer)| layer)
        .collect()
    }
}

/// A module file that was not loaded, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The file.
    pub path: PathBuf,
    /// The module name its file name gives.
    pub name: String,
    /// Why, in words for the admin.
    pub reason: String,
}

/// A loaded module: its library (never unloaded) and what its descriptor says. Cloning
/// copies the description; the library is the same.
#[derive(Clone, Debug)]
pub struct Module {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name (its namespace).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its description.
    pub description: String,
    /// The layers it extends.
    pub layers: Vec<Layer>,
    /// Its configuration schema (JSON).
    pub config_schema: serde_json::Value,
    /// Its XML-RPC methods as declared (JSON).
    pub methods: serde_json::Value,
    /// What it provides to the scheduler, the poller and the frontend.
    pub provides: Provides,
    entry: Entry,
}

/// A module's entry points, copied out of its descriptor.
#[derive(Clone, Copy, Debug)]
struct Entry {
    create: zentific_module_api::CreateFn,
    call: zentific_module_api::CallFn,
    free: zentific_module_api::FreeFn,
    destroy: zentific_module_api::DestroyFn,
}

/// What went wrong in a call into a module.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CallError {
    /// The module answered with a fault.
    #[error("{message}")]
    Fault {
        /// Its code.
        code: i32,
        /// Its words.
        message: String,
    },
    /// The module panicked (caught at its boundary).
    #[error("module {module} failed: {message}")]
    Panicked {
        /// The module.
        module: String,
        /// Its panic message.
        message: String,
    },
    /// The module answered something that is not an XML-RPC value, or an unknown status.
    #[error("module {module} answered malformed bytes: {detail}")]
    Malformed {
        /// The module.
        module: String,
        /// What was wrong.
        detail: String,
    },
}

/// The module name in a file name, if it is a module file's name.
pub fn module_name(file_name: &str) -> Option<&str> {
    let name = file_name
        .strip_prefix(FILE_PREFIX)?
        .strip_suffix(FILE_SUFFIX)?;
    is_module_name(name).then_some(name)
}

/// 1–32 of `a-z 0-9 _`, starting with a letter.
pub fn is_module_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Refuse a path that others than its owner may change, or that someone other than root
/// or this process's user owns.
fn check_ownership(path: &Path, what: &str) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != 0 && meta.uid() != me {
        return Err(format!(
            "{what} {} is owned by uid {}, not by root or this server's user (uid {me})",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{what} {} is writable by group or others (mode {:o}); chmod go-w it",
            path.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Every module file in `dir`, loaded or refused, sorted by name. Files already loaded
/// (`known`) are left alone: a library is never opened twice.
pub fn scan(dir: &Path, known: &[PathBuf]) -> (Vec<Module>, Vec<Refused>) {
    let mut loaded = Vec::new();
    let mut refused = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (loaded, refused),
        Err(e) => {
            refused.push(Refused {
                path: dir.to_owned(),
                name: String::new(),
                reason: format!("cannot read the modules directory {}: {e}", dir.display()),
            });
            return (loaded, refused);
        }
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file_name = entry.file_name().into_string().ok()?;
            let name = module_name(&file_name)?.to_owned();
            Some((name, entry.path()))
        })
        .filter(|(_, path)| !known.contains(path))
        .collect();
    files.sort();
    if files.is_empty() {
        return (loaded, refused);
    }
    if let Err(reason) = check_ownership(dir, "the modules directory") {
        for (name, path) in files {
            refused.push(Refused {
                path,
                name,
                reason: reason.clone(),
            });
        }
        return (loaded, refused);
    }
    for (name, path) in files {
        match load(&path, &name) {
            Ok(module) => loaded.push(module),
            Err(reason) => {
                tracing::warn!(module = name, "module refused: {reason}");
                refused.push(Refused { path, name, reason });
            }
        }
    }
    (loaded, refused)
}

/// Load one module file whose name says `name`.
pub fn load(path: &Path, name: &str) -> Result<Module, String> {
    check_ownership(path, "module file")?;
    // SAFETY: loading a library runs its initializers. The file passed the ownership and
    // mode checks: only root or this server's user could have put it there.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    // Never unloaded (see the module notes).
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    let version_symbol = format!("{ABI_VERSION_SYMBOL}\0");
    // SAFETY: the symbol is declared as a u32 by the ABI.
    let version: u32 = unsafe {
        let symbol = library
            .get::<*const u32>(version_symbol.as_bytes())
            .map_err(|_| format!("no {ABI_VERSION_SYMBOL} symbol: not a Zentific module"))?;
        **symbol
    };
    if version != ABI_VERSION {
        return Err(format!(
            "module ABI version {version}; this server speaks version {ABI_VERSION}"
        ));
    }
    let descriptor_symbol = format!("{DESCRIPTOR_SYMBOL}\0");
    // SAFETY: the ABI declares the symbol as `extern "C" fn() -> *const Descriptor`.
    let descriptor: *const Descriptor = unsafe {
        let get = library
            .get::<unsafe extern "C" fn() -> *const Descriptor>(descriptor_symbol.as_bytes())
            .map_err(|_| format!("no {DESCRIPTOR_SYMBOL} symbol"))?;
        get()
    };
    if descriptor.is_null() {
        return Err("its descriptor is null".into());
    }
    // Only the size is read before it is checked: a shorter descriptor is not read past.
    // SAFETY: a non-null descriptor starts with its size (the ABI's first field).
    let size = unsafe { *(descriptor as *const usize) };
    if size < DESCRIPTOR_MIN_SIZE {
        return Err(format!(
            "its descriptor is {size} bytes; ABI version {ABI_VERSION} needs at least {DESCRIPTOR_MIN_SIZE}"
        ));
    }
    // Fields are read one by one through the raw pointer, never as a whole struct (which
    // a module built before the last appended field does not fill), and only where
    // `size` covers them.
    // SAFETY: the module says the descriptor is at least DESCRIPTOR_MIN_SIZE bytes, which
    // holds every field read here before `provides`; it lives as long as the library,
    // which is never unloaded.
    let (name_bytes, version, description, layers, config_schema, methods, entry) = unsafe {
        (
            std::ptr::addr_of!((*descriptor).name).read(),
            std::ptr::addr_of!((*descriptor).version).read(),
            std::ptr::addr_of!((*descriptor).description).read(),
            std::ptr::addr_of!((*descriptor).layers).read(),
            std::ptr::addr_of!((*descriptor).config_schema).read(),
            std::ptr::addr_of!((*descriptor).methods).read(),
            Entry {
                create: std::ptr::addr_of!((*descriptor).create).read(),
                call: std::ptr::addr_of!((*descriptor).call).read(),
                free: std::ptr::addr_of!((*descriptor).free).read(),
                destroy: std::ptr::addr_of!((*descriptor).destroy).read(),
            },
        )
    };
    let text = |field: &str, bytes: Bytes| -> Result<String, String> {
        if bytes.len > 1 << 20 || (bytes.ptr.is_null() && bytes.len > 0) {
            return Err(format!("its descriptor's {field} is not usable text"));
        }
        // SAFETY: the descriptor's text lives in the library; length checked above.
        let slice = unsafe { bytes.as_slice() };
        String::from_utf8(slice.to_vec())
            .map_err(|_| format!("its descriptor's {field} is not UTF-8"))
    };
    let declared = text("name", name_bytes)?;
    if declared != name {
        return Err(format!(
            "it calls itself {declared:?}, but its file says {name:?}"
        ));
    }
    if layers & !layer::ALL != 0 || layers == 0 {
        return Err(format!(
            "its layers ({layers:#x}) name none or unknown ones"
        ));
    }
    let json = |field: &str, bytes: Bytes| -> Result<serde_json::Value, String> {
        serde_json::from_str(&text(field, bytes)?)
            .map_err(|e| format!("its descriptor's {field} is not JSON: {e}"))
    };
    let provides_end = std::mem::offset_of!(Descriptor, provides) + std::mem::size_of::<Bytes>();
    let provides = if size >= provides_end {
        // SAFETY: `size` covers this field.
        let bytes = unsafe { std::ptr::addr_of!((*descriptor).provides).read() };
        Provides::read(&text("provides", bytes)?, layers)?
    } else {
        Provides::default()
    };
    Ok(Module {
        path: path.to_owned(),
        name: declared,
        version: text("version", version)?,
        description: text("description", description)?,
        layers: Layer::from_bits(layers),
        config_schema: json("config schema", config_schema)?,
        methods: json("methods", methods)?,
        provides,
        entry,
    })
}

/// An instance of a module (its `create` ran); `destroy` runs when it is dropped.
#[derive(Debug)]
pub struct Instance {
    name: String,
    entry: Entry,
    handle: *mut c_void,
}

// SAFETY: the ABI requires module instances to accept calls from any thread, concurrently
// (the Rust macro requires `Module: Send + Sync`).
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

impl Module {
    /// Run the module's `create` with its configuration (JSON text).
    pub fn instantiate(&self, config: &str) -> Result<Instance, String> {
        let mut handle: *mut c_void = std::ptr::null_mut();
        let mut error = Buffer::empty();
        // SAFETY: the ABI's create contract: bytes valid for the call, valid out-pointers.
        let code = unsafe {
            (self.entry.create)(
                Bytes::from_slice(config.as_bytes()),
                &mut handle,
                &mut error,
            )
        };
        let message = self.take(error);
        match Status::from_code(code) {
            Some(Status::Ok) if !handle.is_null() => Ok(Instance {
                name: self.name.clone(),
                entry: self.entry,
                handle,
            }),
            Some(Status::Ok) => Err("its create returned no instance".into()),
            Some(Status::Panicked) => Err(format!("its create panicked: {message}")),
            _ => Err(format!("its create refused: {message}")),
        }
    }

    fn take(&self, buffer: Buffer) -> String {
        take(self.entry, buffer)
    }
}

/// Read a module's buffer with `read`, then hand it back to the module's `free`.
fn with_bytes<T>(entry: Entry, buffer: Buffer, read: impl FnOnce(&[u8]) -> T) -> T {
    if buffer.ptr.is_null() {
        return read(&[]);
    }
    // SAFETY: the module filled the buffer with `len` bytes at `ptr`.
    let result = read(unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) });
    // SAFETY: given back to the library that made it, once.
    unsafe { (entry.free)(buffer) };
    result
}

/// A module's buffer as text (lossy), handed back.
fn take(entry: Entry, buffer: Buffer) -> String {
    with_bytes(entry, buffer, |bytes| {
        String::from_utf8_lossy(bytes).into_owned()
    })
}

impl Instance {
    /// Call `method` (without the namespace) with `params` for `caller`.
    pub fn call(
        &self,
        caller: CallerInfo,
        method: &str,
        params: &[Value],
    ) -> Result<Value, CallError> {
        let encoded = zentific_module_api::encode_params(params);
        let mut answer = Buffer::empty();
        // SAFETY: the ABI's call contract: an instance from create, bytes valid for the
        // call, a valid out-pointer.
        let code = unsafe {
            (self.entry.call)(
                self.handle,
                caller,
                Bytes::from_slice(method.as_bytes()),
                Bytes::from_slice(&encoded),
                &mut answer,
            )
        };
        // Read in the module's own buffer, which is then handed back.
        with_bytes(self.entry, answer, |bytes| self.answer(code, bytes))
    }

    fn answer(&self, code: i32, bytes: &[u8]) -> Result<Value, CallError> {
        let malformed = |detail: String| CallError::Malformed {
            module: self.name.clone(),
            detail,
        };
        let text = || String::from_utf8_lossy(bytes).into_owned();
        match Status::from_code(code) {
            Some(Status::Ok) => zentific_module_api::decode_value(bytes).map_err(malformed),
            Some(Status::Fault) => match zentific_module_api::decode_value(bytes) {
                Ok(Value::Struct(members)) => {
                    match (members.get("faultCode"), members.get("faultString")) {
                        (Some(Value::Integer(code)), Some(Value::String(message))) => {
                            Err(CallError::Fault {
                                code: *code,
                                message: message.clone(),
                            })
                        }
                        _ => Err(malformed(
                            "a fault without faultCode and faultString".into(),
                        )),
                    }
                }
                Ok(_) => Err(malformed("a fault that is not a struct".into())),
                Err(detail) => Err(malformed(detail)),
            },
            Some(Status::Panicked) => Err(CallError::Panicked {
                module: self.name.clone(),
                message: text(),
            }),
            Some(Status::BadInput) => {
                Err(malformed(format!("it could not read the call: {}", text())))
            }
            None => Err(malformed(format!("unknown status {code}"))),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: an instance from this module's create, destroyed once.
        unsafe { (self.entry.destroy)(self.handle) };
    }
}
