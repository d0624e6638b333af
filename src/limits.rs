//! Every bound on what a user's files and options may ask of the engine, in one place. Each is
//! checked before the work or the allocation it guards, and each gives an error that names the
//! file or option, the limit and what was found (never a panic, an abort or an unbounded wait).
//! The README's "Limits" section lists the same numbers.

/// Largest input file (model, data, weights, membership matrix, cache blob), in bytes: 2 GiB,
/// half of what a wasm32 page can address at all.
pub const MAX_FILE_BYTES: usize = 2 << 30;

/// Largest uncompressed NPZ entry, in bytes (a zip declares sizes it need not honour, so the
/// read itself is bounded too).
pub const MAX_NPZ_ENTRY_BYTES: u64 = 1 << 30;

/// Most values (rows × columns) in one data file: 2^27 = 134 M, 1 GiB of f64.
pub const MAX_VALUES: usize = 1 << 27;

/// Most columns in a CSV file or features per record.
pub const MAX_COLUMNS: usize = 1 << 24;

/// Most classes a model's output may have.
pub const MAX_CLASSES: usize = 100_000;

/// Most dimensions of an array or tensor.
pub const MAX_RANK: usize = 8;

/// Most nodes in an ONNX graph (ResNet-152 has ~500, large vision transformers a few thousand).
pub const MAX_NODES: usize = 20_000;

/// Most reference models (trained or given).
pub const MAX_REFERENCES: usize = 256;

/// Most bootstrap resamples behind the report's intervals (each costs one pass over every
/// attack's scores).
pub const MAX_BOOTSTRAP: usize = 100_000;

/// Most models in one comparison.
pub const MAX_COMPARED: usize = 16;

/// Most records listed in the report's most-exposed table (and as many false positives).
pub const MAX_EXPOSED: usize = 1000;

/// Most distinct values of a slice column (more is an id, not a group).
pub const MAX_SLICE_GROUPS: usize = 200;

/// Longest value of a slice column, in characters.
pub const MAX_SLICE_VALUE_CHARS: usize = 200;

/// Most training epochs of a reference model.
pub const MAX_EPOCHS: usize = 100_000;

/// Largest training batch.
pub const MAX_BATCH: usize = 1 << 16;

/// Largest magnitude of a model output (logit) we accept: beyond it a softmax in f64 is no
/// longer meaningful (e^(z − max) underflows for every other class whatever the value).
pub const MAX_LOGIT: f64 = 1e30;

/// Largest magnitude of a feature value fed to the model, which runs in f32.
pub const MAX_FEATURE: f64 = f32::MAX as f64;

/// How much of a user's cell or name an error message quotes, in characters.
pub const QUOTE_CHARS: usize = 40;

/// How many names (columns, arrays) an error message lists before "… and N more".
pub const LIST_NAMES: usize = 12;

/// `s`, cut to [`QUOTE_CHARS`] characters with "…" when longer: error messages quote user
/// text, and a 10 MB cell must not become a 10 MB message.
pub fn quote(s: &str) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(QUOTE_CHARS).collect();
    if it.next().is_some() { format!("{head}…") } else { head }
}

/// The largest width or height of an image decoded.
pub const MAX_IMAGE_SIDE: usize = 8192;

/// The most pixels one image may have (8192 × 8192 / 4).
pub const MAX_IMAGE_PIXELS: usize = 1 << 24;

/// The most files an image folder or zip may hold.
pub const MAX_IMAGES: usize = 1 << 20;

/// The largest image file read (a zip entry is read no further, whatever its header declares).
pub const MAX_IMAGE_FILE_BYTES: usize = 64 << 20;

/// The largest convolution or pooling kernel size, stride, dilation, group or pad.
pub const MAX_WINDOW: usize = 65_536;

/// The most places in one convolution or pooling kernel (kH · kW): each is one strided slice.
pub const MAX_KERNEL_PLACES: usize = 1 << 14;

/// The first [`LIST_NAMES`] names, quoted and comma-separated, then how many more there are.
pub fn list<S: AsRef<str>>(names: &[S]) -> String {
    let shown: Vec<String> = names.iter().take(LIST_NAMES).map(|n| quote(n.as_ref())).collect();
    let rest = names.len().saturating_sub(LIST_NAMES);
    if rest > 0 { format!("{} … and {rest} more", shown.join(", ")) } else { shown.join(", ") }
}

/// The product of `dims`, or `None` when it overflows `usize`.
pub fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_lists_are_bounded() {
        assert_eq!(quote("abc"), "abc");
        let long = "x".repeat(10_000);
        assert_eq!(quote(&long).chars().count(), QUOTE_CHARS + 1);
        let names: Vec<String> = (0..1000).map(|i| format!("c{i}")).collect();
        let l = list(&names);
        assert!(l.ends_with("… and 988 more") && l.len() < 200, "{l}");
        assert_eq!(product(&[usize::MAX, 2]), None);
        assert_eq!(product(&[3, 4]), Some(12));
    }
}
