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
    /// Why the CPU runs although a GPU was wanted and could not be used (a warning).
    pub note: Option<String>,
    /// What ran the model, in words, and why it was chosen (the report's `device`).
    pub detail: String,
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
        Backend { device: Device::flex(), name: "cpu", note: None, detail: "the CPU, as asked".into(), max_binding_bytes: CPU_BINDING_BYTES }
    }
}

/// What is known of a GPU adapter: its name as the platform gives it, and whether it is a
/// software renderer (SwiftShader, lavapipe, llvmpipe, WARP: it runs on the CPU, much slower
/// than the CPU fallback's own loops, measured 10× for inference and 57× for training with
/// SwiftShader in Chromium).
#[derive(Clone, Debug, Default)]
pub struct Adapter {
    /// "SwiftShader (google, swiftshader)", "NVIDIA GeForce RTX 4070 (DiscreteGpu, Vulkan)".
    pub name: String,
    /// A software renderer.
    pub software: bool,
}

/// Names that give a software adapter away where the platform does not flag it.
const SOFTWARE_NAMES: [&str; 6] = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "microsoft basic render", "warp"];

fn looks_software(name: &str) -> bool {
    let n = name.to_lowercase();
    SOFTWARE_NAMES.iter().any(|s| n.contains(s))
}

/// The limit [`Backend::max_binding_bytes`] reads off a wgpu device.
#[cfg(any(target_family = "wasm", feature = "gpu"))]
fn binding_bytes(setup: &burn::tensor::wgpu::WgpuSetup) -> u64 {
    let l = setup.device.limits();
    let (binding, buffer): (u64, u64) = (l.max_storage_buffer_binding_size, l.max_buffer_size);
    binding.min(buffer)
}

type Gpu = std::result::Result<(Device, u64, Adapter), String>;

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
    let made = match Device::wgpu_options().init_with_setup_async().await {
        Ok((d, setup)) => Ok((d, binding_bytes(&setup), browser_adapter().await)),
        Err(e) => Err(format!("{e}")),
    };
    GPU.with(|g| *g.borrow_mut() = Some(made.clone()));
    made
}

/// The browser's adapter as WebGPU describes it (`GPUAdapterInfo`: vendor, architecture,
/// description, `isFallbackAdapter`); wgpu's web backend does not pass these on.
#[cfg(target_family = "wasm")]
async fn browser_adapter() -> Adapter {
    use js_sys::Reflect;
    use wasm_bindgen::JsCast;
    async fn info() -> Option<wasm_bindgen::JsValue> {
        let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let gpu = Reflect::get(&navigator, &"gpu".into()).ok().filter(|g| g.is_object())?;
        let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into()).ok()?.dyn_into().ok()?;
        let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
        let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok().filter(|a| a.is_object())?;
        Reflect::get(&adapter, &"info".into()).ok().filter(|i| i.is_object())
    }
    let Some(info) = info().await else { return Adapter { name: "a WebGPU adapter".into(), software: false } };
    let get = |k: &str| Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let fallback = Reflect::get(&info, &"isFallbackAdapter".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    let (vendor, arch, description, device) = (get("vendor"), get("architecture"), get("description"), get("device"));
    let what: Vec<&str> = [vendor.as_str(), arch.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
    let head = [description.as_str(), device.as_str()].into_iter().find(|s| !s.is_empty()).unwrap_or("WebGPU adapter");
    let name = if what.is_empty() { head.to_string() } else { format!("{head} ({})", what.join(", ")) };
    let software = fallback || looks_software(&name);
    Adapter { name, software }
}

/// The native GPU device, created once per process: wgpu's runtime can be registered only once,
/// so threads (the test harness runs tests on several) share it.
#[cfg(all(not(target_family = "wasm"), feature = "gpu"))]
async fn gpu_device() -> Gpu {
    static GPU: std::sync::Mutex<Option<Gpu>> = std::sync::Mutex::new(None);
    let mut g = GPU.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    g.get_or_insert_with(|| {
        Device::wgpu_options()
            .init_with_setup()
            .map(|(d, setup)| {
                let info = setup.adapter.get_info();
                // wgpu's `DeviceType::Cpu`: lavapipe, llvmpipe, WARP.
                let kind = format!("{:?}", info.device_type);
                let name = format!("{} ({kind}, {:?})", info.name, info.backend);
                let software = kind == "Cpu" || looks_software(&name);
                (d, binding_bytes(&setup), Adapter { name, software })
            })
            .map_err(|e| format!("{e}"))
    })
    .clone()
}

#[cfg(not(any(target_family = "wasm", feature = "gpu")))]
async fn gpu_device() -> Gpu {
    Err("this build has no GPU support (built without the `gpu` feature)".into())
}

/// Pick and initialise a backend. `Auto` takes the GPU unless its adapter is a software
/// renderer, which runs on the CPU far slower than the CPU fallback: then the CPU, and the
/// report's `device` says so (choose `Gpu` to use such an adapter anyway).
///
/// # Errors
/// `Gpu` was asked for and no GPU adapter could be initialised.
pub async fn select(choice: BackendChoice) -> Result<Backend> {
    let gpu = |device, max_binding_bytes, detail| Backend { device, name: GPU_NAME, note: None, detail, max_binding_bytes };
    match choice {
        BackendChoice::Cpu => Ok(Backend::cpu()),
        BackendChoice::Gpu => gpu_device()
            .await
            .map(|(device, bytes, a)| {
                gpu(
                    device,
                    bytes,
                    format!("the GPU adapter {}, as asked{}", a.name, if a.software { " (a software renderer, running on the CPU)" } else { "" }),
                )
            })
            .map_err(|e| AuditError::Device { backend: GPU_NAME.into(), message: format!("no usable GPU: {e}") }),
        BackendChoice::Auto => Ok(match gpu_device().await {
            Ok((_, _, a)) if a.software => Backend {
                detail: format!(
                    "the CPU: auto chose it over the GPU adapter {}, a software renderer that runs on the CPU and is slower than the CPU fallback (choose the GPU backend to use it anyway)",
                    a.name
                ),
                ..Backend::cpu()
            },
            Ok((device, bytes, a)) => gpu(device, bytes, format!("the GPU adapter {} (auto: a hardware GPU)", a.name)),
            Err(e) => {
                Backend { note: Some(format!("GPU unavailable ({e}); ran on the CPU")), detail: "the CPU: auto found no usable GPU".into(), ..Backend::cpu() }
            }
        }),
    }
}
