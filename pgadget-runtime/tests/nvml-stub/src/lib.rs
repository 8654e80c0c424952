//! A stand-in for NVIDIA's NVML, exporting only the functions pgadget calls.
//!
//! nvml-wrapper (through nvml-wrapper-sys) opens the library with libloading and looks every
//! symbol up once, keeping each lookup as a `Result`: a missing symbol only fails the call that
//! needs it. So this library exports just `nvmlInit_v2`, `nvmlShutdown` (called on drop, where a
//! missing symbol would panic), `nvmlErrorString`, `nvmlSystemGetDriverVersion`,
//! `nvmlDeviceGetCount_v2`, `nvmlDeviceGetHandleByIndex_v2`, `nvmlDeviceGetName`,
//! `nvmlDeviceGetTotalEnergyConsumption` and `nvmlDeviceGetPowerUsage`.
//!
//! The GPUs it plays are chosen when `nvmlInit_v2` runs, from the variable
//! `PGADGET_NVML_STUB_GPUS`, else from a file next to the library named `<library>.gpus` (so
//! tests running in threads of one process can each load their own copy without touching the
//! environment). The list is comma-separated; each entry is `KIND` or `KIND:MILLIWATTS`:
//!
//! - `volta` (default 150000 mW): has the energy counter, which advances at that power from
//!   a clock started by `nvmlInit_v2`;
//! - `pascal` (default 100000 mW): no energy counter (`NOT_SUPPORTED`, as before Volta), only
//!   the power reading;
//! - `blind`: neither (both calls return `NOT_SUPPORTED`);
//! - `lost` (default 150000 mW): a `volta` that falls off the bus after answering two energy
//!   calls: later ones return `GPU_IS_LOST`, as NVML does for a GPU that stopped responding.
//!
//! The special lists `none` (no GPU) and `driver-not-loaded` (`nvmlInit_v2` fails) play the
//! corresponding machines.
//!
//! Return codes are NVML's (`nvml.h`: `NVML_SUCCESS` 0, `NVML_ERROR_UNINITIALIZED` 1,
//! `NVML_ERROR_INVALID_ARGUMENT` 2, `NVML_ERROR_NOT_SUPPORTED` 3, `NVML_ERROR_NOT_FOUND` 6,
//! `NVML_ERROR_INSUFFICIENT_SIZE` 7, `NVML_ERROR_DRIVER_NOT_LOADED` 9, `NVML_ERROR_GPU_IS_LOST`
//! 15).

use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr};
use std::sync::Mutex;
use std::time::Instant;

type NvmlReturn = c_int;
const SUCCESS: NvmlReturn = 0;
const ERROR_UNINITIALIZED: NvmlReturn = 1;
const ERROR_INVALID_ARGUMENT: NvmlReturn = 2;
const ERROR_NOT_SUPPORTED: NvmlReturn = 3;
const ERROR_NOT_FOUND: NvmlReturn = 6;
const ERROR_INSUFFICIENT_SIZE: NvmlReturn = 7;
const ERROR_DRIVER_NOT_LOADED: NvmlReturn = 9;
const ERROR_GPU_IS_LOST: NvmlReturn = 15;

/// The energy counter's value at `nvmlInit_v2`, so readers must take differences.
const ENERGY_ORIGIN_MJ: u64 = 7_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Volta,
    Pascal,
    Blind,
    Lost,
}

#[derive(Clone, Copy, Debug)]
struct Gpu {
    kind: Kind,
    milliwatts: u64,
    /// Energy calls answered so far.
    energy_calls: u32,
}

struct State {
    gpus: Vec<Gpu>,
    started: Instant,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Reads the GPU list: the variable, else `<this library>.gpus`, else one Volta GPU.
fn gpu_list() -> String {
    if let Ok(list) = std::env::var("PGADGET_NVML_STUB_GPUS") {
        return list;
    }
    own_path()
        .and_then(|lib| std::fs::read_to_string(format!("{lib}.gpus")).ok())
        .unwrap_or_else(|| "volta".to_string())
}

#[repr(C)]
struct DlInfo {
    dli_fname: *const c_char,
    dli_fbase: *mut c_void,
    dli_sname: *const c_char,
    dli_saddr: *mut c_void,
}

extern "C" {
    fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
}

/// The path this library was loaded from.
fn own_path() -> Option<String> {
    let mut info = DlInfo {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: dladdr only reads the address (a function of this library) and fills `info`.
    let found = unsafe { dladdr(nvmlInit_v2 as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path that lives as long as the library.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    name.to_str().ok().map(str::to_string)
}

enum Parsed {
    Gpus(Vec<Gpu>),
    DriverNotLoaded,
}

fn parse(list: &str) -> Parsed {
    let list = list.trim();
    if list == "driver-not-loaded" {
        return Parsed::DriverNotLoaded;
    }
    if list == "none" || list.is_empty() {
        return Parsed::Gpus(Vec::new());
    }
    let gpus = list
        .split(',')
        .map(|entry| {
            let (kind, power) = match entry.trim().split_once(':') {
                Some((k, p)) => (k, p.trim().parse::<u64>().ok()),
                None => (entry.trim(), None),
            };
            let (kind, default_mw) = match kind {
                "pascal" => (Kind::Pascal, 100_000),
                "blind" => (Kind::Blind, 0),
                "lost" => (Kind::Lost, 150_000),
                _ => (Kind::Volta, 150_000),
            };
            Gpu {
                kind,
                milliwatts: power.unwrap_or(default_mw),
                energy_calls: 0,
            }
        })
        .collect();
    Parsed::Gpus(gpus)
}

/// Runs `f` on the GPU behind `device`, or returns the NVML error for a bad handle.
fn with_gpu(device: *mut c_void, f: impl FnOnce(&mut Gpu, Instant) -> NvmlReturn) -> NvmlReturn {
    let mut guard = match STATE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let Some(state) = guard.as_mut() else {
        return ERROR_UNINITIALIZED;
    };
    let started = state.started;
    // Handles are index + 1, so that no handle is NULL.
    let index = (device as usize).wrapping_sub(1);
    match state.gpus.get_mut(index) {
        Some(gpu) => f(gpu, started),
        None => ERROR_INVALID_ARGUMENT,
    }
}

/// Copies `text` and a NUL into `buf` of `len` bytes.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
unsafe fn write_c_string(text: &str, buf: *mut c_char, len: c_uint) -> NvmlReturn {
    if buf.is_null() {
        return ERROR_INVALID_ARGUMENT;
    }
    let bytes = text.as_bytes();
    if bytes.len() + 1 > len as usize {
        return ERROR_INSUFFICIENT_SIZE;
    }
    std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, bytes.len());
    *buf.add(bytes.len()) = 0;
    SUCCESS
}

#[no_mangle]
pub extern "C" fn nvmlInit_v2() -> NvmlReturn {
    let gpus = match parse(&gpu_list()) {
        Parsed::DriverNotLoaded => return ERROR_DRIVER_NOT_LOADED,
        Parsed::Gpus(gpus) => gpus,
    };
    let mut guard = match STATE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    *guard = Some(State {
        gpus,
        started: Instant::now(),
    });
    SUCCESS
}

#[no_mangle]
pub extern "C" fn nvmlShutdown() -> NvmlReturn {
    let mut guard = match STATE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    match guard.take() {
        Some(_) => SUCCESS,
        None => ERROR_UNINITIALIZED,
    }
}

#[no_mangle]
pub extern "C" fn nvmlErrorString(result: NvmlReturn) -> *const c_char {
    let text: &'static CStr = match result {
        SUCCESS => c"Success",
        ERROR_UNINITIALIZED => c"Uninitialized",
        ERROR_INVALID_ARGUMENT => c"Invalid Argument",
        ERROR_NOT_SUPPORTED => c"Not Supported",
        ERROR_NOT_FOUND => c"Not Found",
        ERROR_INSUFFICIENT_SIZE => c"Insufficient Size",
        ERROR_DRIVER_NOT_LOADED => c"Driver Not Loaded",
        ERROR_GPU_IS_LOST => c"GPU is lost",
        _ => c"Unknown Error",
    };
    text.as_ptr()
}

/// # Safety
/// `version` must point to `length` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn nvmlSystemGetDriverVersion(
    version: *mut c_char,
    length: c_uint,
) -> NvmlReturn {
    write_c_string("550.54.15", version, length)
}

/// # Safety
/// `count` must point to a writable `unsigned int`.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCount_v2(count: *mut c_uint) -> NvmlReturn {
    if count.is_null() {
        return ERROR_INVALID_ARGUMENT;
    }
    let guard = match STATE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    match guard.as_ref() {
        Some(state) => {
            *count = state.gpus.len() as c_uint;
            SUCCESS
        }
        None => ERROR_UNINITIALIZED,
    }
}

/// # Safety
/// `device` must point to a writable handle.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex_v2(
    index: c_uint,
    device: *mut *mut c_void,
) -> NvmlReturn {
    if device.is_null() {
        return ERROR_INVALID_ARGUMENT;
    }
    let guard = match STATE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    match guard.as_ref() {
        None => ERROR_UNINITIALIZED,
        Some(state) if (index as usize) < state.gpus.len() => {
            *device = (index as usize + 1) as *mut c_void;
            SUCCESS
        }
        Some(_) => ERROR_INVALID_ARGUMENT,
    }
}

/// # Safety
/// `name` must point to `length` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetName(
    device: *mut c_void,
    name: *mut c_char,
    length: c_uint,
) -> NvmlReturn {
    with_gpu(device, |gpu, _| {
        let text = match gpu.kind {
            Kind::Volta | Kind::Lost => "Tesla V100-SXM2-16GB (stub)",
            Kind::Pascal => "Tesla P100-PCIE-16GB (stub)",
            Kind::Blind => "GeForce GT 710 (stub)",
        };
        write_c_string(text, name, length)
    })
}

/// # Safety
/// `energy` must point to a writable `unsigned long long`.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetTotalEnergyConsumption(
    device: *mut c_void,
    energy: *mut c_ulonglong,
) -> NvmlReturn {
    if energy.is_null() {
        return ERROR_INVALID_ARGUMENT;
    }
    with_gpu(device, |gpu, started| {
        gpu.energy_calls += 1;
        match gpu.kind {
            Kind::Volta => {}
            Kind::Lost if gpu.energy_calls <= 2 => {}
            Kind::Lost => return ERROR_GPU_IS_LOST,
            Kind::Pascal | Kind::Blind => return ERROR_NOT_SUPPORTED,
        }
        // mW x s = mJ.
        let elapsed = started.elapsed().as_secs_f64();
        *energy = ENERGY_ORIGIN_MJ + (gpu.milliwatts as f64 * elapsed) as u64;
        SUCCESS
    })
}

/// # Safety
/// `power` must point to a writable `unsigned int`.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerUsage(
    device: *mut c_void,
    power: *mut c_uint,
) -> NvmlReturn {
    if power.is_null() {
        return ERROR_INVALID_ARGUMENT;
    }
    with_gpu(device, |gpu, _| {
        if gpu.kind == Kind::Blind {
            return ERROR_NOT_SUPPORTED;
        }
        *power = gpu.milliwatts as c_uint;
        SUCCESS
    })
}
