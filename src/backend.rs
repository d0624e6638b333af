//! Device selection: WebGPU in the browser, wgpu natively, burn's `flex` CPU backend as the
//! fallback. The device is created once and reused.

use crate::error::{AuditError, Result};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// Which backend the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The GPU if one initialises, else the CPU (and the report says why).
    #[default]
    Auto,
    /// The GPU or an error.
    Gpu,
    /// The CPU (burn `flex`).
    Cpu,
}

/// A ready device and how to name it in the report.
#[derive(Clone, Debug)]
pub struct Backend {
    /// The burn device.
    pub device: Device,
    /// "webgpu", "wgpu" or "cpu".
    pub name: &'static str,
    /// Why the CPU runs although a GPU was wanted.
    pub note: Option<String>,
    /// The most bytes one tensor may span on this device: for a GPU, its storage-binding limit
    /// as the device reports it (`maxStorageBufferBindingSize`, and at most `maxBufferSize`),
    /// queried when it is created; for the CPU, [`CPU_BINDING_BYTES`]. Batches are sized from it.
    pub max_binding_bytes: u64,
}

/// The CPU's stand-in for a binding limit: WebGPU's default 128 MiB, so that the CPU runs the
/// batches a default WebGPU device runs (and a batch's working set stays bounded).
pub const CPU_BINDING_BYTES: u64 = 128 * 1024 * 1024;

impl Backend {
    /// The CPU backend.
    pub fn cpu() -> Self {
        Backend { device: Device::flex(), name: "cpu", note: None, max_binding_bytes: CPU_BINDING_BYTES }
    }
}

/// The limit [`Backend::max_binding_bytes`] reads off a wgpu device.
#[cfg(any(target_family = "wasm", feature = "gpu"))]
fn binding_bytes(setup: &burn::tensor::wgpu::WgpuSetup) -> u64 {
    let l = setup.device.limits();
    let (binding, buffer): (u64, u64) = (l.max_storage_buffer_binding_size, l.max_buffer_size);
    binding.min(buffer)
}

type Gpu = std::result::Result<(Device, u64), String>;

/// Name of the GPU backend on this platform.
pub const GPU_NAME: &str = if cfg!(target_family = "wasm") { "webgpu" } else { "wgpu" };

/// The browser's GPU device, created once per thread (the worker has one).
#[cfg(target_family = "wasm")]
async fn gpu_device() -> Gpu {
    thread_local! {
        static GPU: std::cell::RefCell<Option<Gpu>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(d) = GPU.with(|g| g.borrow().clone()) {
        return d;
    }
    let made = Device::wgpu_options().init_with_setup_async().await.map(|(d, setup)| (d, binding_bytes(&setup))).map_err(|e| format!("{e}"));
    GPU.with(|g| *g.borrow_mut() = Some(made.clone()));
    made
}

/// The native GPU device, created once per process: wgpu's runtime can be registered only once,
/// so threads (the test harness runs tests on several) share it.
#[cfg(all(not(target_family = "wasm"), feature = "gpu"))]
async fn gpu_device() -> Gpu {
    static GPU: std::sync::Mutex<Option<Gpu>> = std::sync::Mutex::new(None);
    let mut g = GPU.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    g.get_or_insert_with(|| Device::wgpu_options().init_with_setup().map(|(d, setup)| (d, binding_bytes(&setup))).map_err(|e| format!("{e}"))).clone()
}

#[cfg(not(any(target_family = "wasm", feature = "gpu")))]
async fn gpu_device() -> Gpu {
    Err("this build has no GPU support (built without the `gpu` feature)".into())
}

/// Pick and initialise a backend.
///
/// # Errors
/// `Gpu` was asked for and no GPU adapter could be initialised.
pub async fn select(choice: BackendChoice) -> Result<Backend> {
    match choice {
        BackendChoice::Cpu => Ok(Backend::cpu()),
        BackendChoice::Gpu => gpu_device()
            .await
            .map(|(device, max_binding_bytes)| Backend { device, name: GPU_NAME, note: None, max_binding_bytes })
            .map_err(|e| AuditError::Device { backend: GPU_NAME.into(), message: format!("no usable GPU: {e}") }),
        BackendChoice::Auto => Ok(match gpu_device().await {
            Ok((device, max_binding_bytes)) => Backend { device, name: GPU_NAME, note: None, max_binding_bytes },
            Err(e) => Backend { note: Some(format!("GPU unavailable ({e}); ran on the CPU")), ..Backend::cpu() },
        }),
    }
}
