//! Data: bytes of user files → validated numeric tables.
//!
//! A *table* is a row-major `f64` matrix plus one integer label per row. Features, and in
//! outputs-only mode the model's outputs, are both read as tables. Formats are detected from the
//! bytes: NPY (`\x93NUMPY`), NPZ (a zip, `PK\x03\x04`), otherwise CSV with a header.

mod csv;
pub use csv::{CellTable, read_cells, read_slice_file};
pub mod image;
mod npy;

use crate::error::{AuditError, Result};
use crate::limits;
use serde::{Deserialize, Serialize};

/// A user file: its name (for messages) and its bytes.
#[derive(Clone, Debug, Default)]
pub struct InputFile {
    /// The file name as the user picked it; used in every error message.
    pub name: String,
    /// The whole file.
    pub bytes: Vec<u8>,
}

impl InputFile {
    /// A named file from bytes.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self { name: name.into(), bytes }
    }
}

/// A data source: one CSV / NPZ file, an NPY feature array with an NPY label file, a zip of
/// class folders of images, or such a folder itself (`images`).
#[derive(Clone, Debug, Default)]
pub struct DataSource {
    /// The CSV, NPZ, NPY or zip file with the rows; for a folder, its name (and no bytes).
    pub file: InputFile,
    /// For NPY features only: a 1-D integer NPY with one label per row.
    pub labels: Option<InputFile>,
    /// An image folder's files, named by their paths inside it (`cat/001.png`).
    pub images: Vec<InputFile>,
}

impl DataSource {
    /// An image folder: its name and its files (paths relative to it, `/`-separated).
    pub fn folder(name: impl Into<String>, files: Vec<InputFile>) -> Self {
        Self { file: InputFile::new(name, Vec::new()), labels: None, images: files }
    }

    /// Whether this source is images (a folder, or a zip holding images and no NPY arrays).
    pub fn is_images(&self) -> bool {
        !self.images.is_empty()
            || (is_zip(&self.file.bytes)
                && zip_names(&self.file.bytes).is_some_and(|n| n.iter().any(|f| image::is_image_name(f)) && !n.iter().any(|f| f.ends_with(".npy"))))
    }
}

fn is_zip(b: &[u8]) -> bool {
    b.starts_with(b"PK\x03\x04") || b.starts_with(b"PK\x05\x06")
}

fn zip_names(bytes: &[u8]) -> Option<Vec<String>> {
    let z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    Some(z.file_names().map(str::to_string).collect())
}

pub use crate::limits::{MAX_IMAGE_FILE_BYTES, MAX_IMAGES};

/// How CSV files are read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TableOptions {
    /// Name of the label column in CSV files. Default: `"label"`.
    pub label_column: String,
    /// Name of a column to ignore (a record id). Default: none.
    pub id_column: Option<String>,
    /// Name of a column whose values group the records into slices (not a feature). Default: none.
    pub slice_column: Option<String>,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self { label_column: "label".into(), id_column: None, slice_column: None }
    }
}

/// A validated numeric table: `rows × cols` values (row-major) and one label per row.
///
/// # Shapes
/// `values.len() == rows * cols`, `labels.len() == rows`.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The file the table came from.
    pub file: String,
    /// Row-major values, all finite.
    pub values: Vec<f64>,
    /// Number of rows (records).
    pub rows: usize,
    /// Number of columns (features or classes).
    pub cols: usize,
    /// One non-negative integer label per row.
    pub labels: Vec<usize>,
    /// Each row's name (an image's path in its folder); empty for tables.
    pub ids: Vec<String>,
    /// Class names in label order (image folders).
    pub classes: Vec<String>,
    /// Each row's value of the slice column (CSV with a slice column); empty otherwise.
    pub groups: Vec<String>,
}

impl Table {
    /// One row's values.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// Apply `x * scale + shift` to every value.
    ///
    /// # Errors
    /// A non-finite `scale` or `shift`, or a result that overflows to infinity.
    pub fn scale_shift(&mut self, scale: f64, shift: f64) -> Result<()> {
        if !scale.is_finite() || !shift.is_finite() {
            return Err(AuditError::option("scale/shift", "must be finite numbers"));
        }
        if scale == 1.0 && shift == 0.0 {
            return Ok(());
        }
        for (k, v) in self.values.iter_mut().enumerate() {
            *v = *v * scale + shift;
            if !v.is_finite() {
                return Err(AuditError::BadCell {
                    file: self.file.clone(),
                    row: k / self.cols + 1,
                    column: format!("#{}", k % self.cols + 1),
                    message: "value overflows after scale/shift".into(),
                });
            }
        }
        Ok(())
    }

    /// Check that every value fits the f32 the model runs in (a finite f64 such as 1e40 becomes
    /// infinite on the device, and the error would then blame the model's output).
    ///
    /// # Errors
    /// [`AuditError::BadCell`] naming the first value beyond ±3.4e38.
    pub fn check_f32(&self) -> Result<()> {
        match self.values.iter().position(|v| v.abs() > limits::MAX_FEATURE) {
            Some(k) => Err(AuditError::BadCell {
                file: self.file.clone(),
                row: k / self.cols.max(1) + 1,
                column: format!("#{}", k % self.cols.max(1) + 1),
                message: format!("{:e} is beyond the ±3.4e38 range of the float32 the model runs in", self.values[k]),
            }),
            None => Ok(()),
        }
    }

    /// Check that every label is a class of a `classes`-way classifier.
    ///
    /// # Errors
    /// [`AuditError::LabelOutOfRange`] naming the first bad row (1-based data row).
    pub fn check_labels(&self, classes: usize) -> Result<()> {
        match self.labels.iter().position(|&l| l >= classes) {
            Some(i) => Err(AuditError::LabelOutOfRange { file: self.file.clone(), row: i + 1, label: self.labels[i] as i64, classes }),
            None => Ok(()),
        }
    }
}

/// Read a table from a data source, detecting the format from the bytes.
///
/// # Errors
/// Empty files, malformed CSV/NPY/NPZ, non-numeric or non-finite cells, a missing label column,
/// label counts that differ from row counts, negative or fractional labels.
pub fn read_table(src: &DataSource, opts: &TableOptions) -> Result<Table> {
    let f = &src.file;
    check_size(f)?;
    if let Some(l) = &src.labels {
        check_size(l)?;
    }
    let table = if npy::looks_like_broken_npy(&f.bytes) {
        return Err(AuditError::file(&f.name, "looks like an NPY file, but its magic string is damaged (expected the bytes \\x93NUMPY first)"));
    } else if f.bytes.starts_with(npy::NPY_MAGIC) {
        let x = npy::read_npy(&f.name, &f.bytes)?;
        let Some(lab) = &src.labels else {
            return Err(AuditError::file(&f.name, "an NPY feature array needs a separate 1-D NPY label file (or use one NPZ with arrays 'x' and 'y')"));
        };
        let y = npy::read_npy(&lab.name, &lab.bytes)?;
        npy::table_from_arrays(&f.name, x, &lab.name, y)?
    } else if f.bytes.starts_with(b"PK\x03\x04") || f.bytes.starts_with(b"PK\x05\x06") {
        npy::read_npz_table(&f.name, &f.bytes)?
    } else {
        if src.labels.is_some() {
            return Err(AuditError::file(&f.name, "a separate label file is only used with NPY feature arrays; CSV files carry their label column"));
        }
        csv::read_csv(&f.name, &f.bytes, opts)?
    };
    if table.rows == 0 {
        return Err(AuditError::file(&table.file, "the file has no data rows"));
    }
    if table.cols == 0 {
        return Err(AuditError::file(&table.file, "the file has no feature columns"));
    }
    if table.cols > limits::MAX_COLUMNS {
        return Err(AuditError::file(&table.file, format!("{} columns per record; at most {} are supported", table.cols, limits::MAX_COLUMNS)));
    }
    Ok(table)
}

/// Read an image data set (a folder, or a zip of one) as a table of model inputs: one record
/// per image, labelled by its class folder (sorted folder names, as torchvision's `ImageFolder`
/// and Keras' `image_dataset_from_directory`, or `opts.classes`), preprocessed by `opts` for
/// the model geometry `g`.
///
/// Files that are not PNG or JPEG by name (`.png`, `.jpg`, `.jpeg`, any case) are skipped and
/// counted, as `ImageFolder` skips them; files directly in the root are skipped too. A zip whose
/// entries all sit in one top folder holding the class folders is read from that folder.
///
/// # Errors
/// No image at all, an empty class folder, a class folder not in `opts.classes`, an image that
/// does not decode, sizes that do not fit the model, more than [`MAX_IMAGES`] files.
pub fn read_images(src: &DataSource, opts: &image::ImageOptions, g: &image::Geometry) -> Result<(Table, usize)> {
    let set = src.file.name.clone();
    let owned;
    let files: &[InputFile] = if src.images.is_empty() {
        check_size(&src.file)?;
        owned = unzip_images(&src.file)?;
        &owned
    } else {
        &src.images
    };
    if files.len() > MAX_IMAGES {
        return Err(AuditError::file(&set, format!("{} files; at most {MAX_IMAGES} are read", files.len())));
    }
    // (class folder, file) for every image; everything else is skipped.
    let mut entries: Vec<(&str, &InputFile)> = Vec::new();
    let mut skipped = 0;
    // Sets, not lists: a folder may hold a million files in a thousand classes.
    let mut folders: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for f in files {
        let path = f.name.trim_start_matches('/');
        // macOS zips carry `__MACOSX/` resource forks and `.DS_Store`s: neither are records
        // (nor counted as skipped, as the CLI does not list hidden files).
        if is_hidden(path) {
            continue;
        }
        match path.split_once('/') {
            Some((class, rest)) if !class.is_empty() && !rest.is_empty() => {
                folders.insert(class);
                if image::is_image_name(rest) {
                    entries.push((class, f));
                } else {
                    skipped += 1;
                }
            }
            _ => skipped += 1,
        }
    }
    let classes: Vec<String> = match &opts.classes {
        Some(c) => {
            if let Some(extra) = folders.iter().find(|f| !c.iter().any(|n| n == *f)) {
                return Err(AuditError::file(&set, format!("the folder '{}' is not one of the classes given in image.classes", limits::quote(extra))));
            }
            c.clone()
        }
        None => folders.iter().map(|s| s.to_string()).collect(),
    };
    if entries.is_empty() {
        return Err(AuditError::file(&set, "no PNG or JPEG images in class folders (expected <class>/<image>.png)"));
    }
    let with_images: std::collections::BTreeSet<&str> = entries.iter().map(|(c, _)| *c).collect();
    if let Some(empty) = folders.iter().find(|f| !with_images.contains(*f)) {
        return Err(AuditError::file(&set, format!("the class folder '{}' holds no PNG or JPEG image", limits::quote(empty))));
    }
    // Records in a stable order: by class, then by path (ImageFolder's order).
    entries.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    let per = g.channels * g.height * g.width;
    if entries.len().checked_mul(per).is_none_or(|n| n > limits::MAX_VALUES) {
        return Err(AuditError::file(&set, format!("{} images × {per} values are more than the {} values privaudit keeps", entries.len(), limits::MAX_VALUES)));
    }
    let index: std::collections::HashMap<&str, usize> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let mut values = Vec::with_capacity(entries.len() * per);
    let mut labels = Vec::with_capacity(entries.len());
    let mut ids = Vec::with_capacity(entries.len());
    for (class, f) in &entries {
        let name = format!("{set}/{}", f.name.trim_start_matches('/'));
        if f.bytes.len() > MAX_IMAGE_FILE_BYTES {
            return Err(AuditError::file(&name, format!("{} bytes; image files of at most {MAX_IMAGE_FILE_BYTES} bytes are read", f.bytes.len())));
        }
        let img = image::decode(&name, &f.bytes)?;
        values.extend(opts.tensor(&name, &img, g)?);
        labels.push(index.get(class).copied().unwrap_or(0));
        ids.push(f.name.trim_start_matches('/').to_string());
    }
    let rows = labels.len();
    Ok((Table { file: set, values, rows, cols: per, labels, ids, classes, groups: Vec::new() }, skipped))
}

/// At most this many images are asked of [`zip_images`] at once (the page shows 16).
pub const MAX_ZIP_IMAGES_ASKED: usize = 1000;

/// The bytes of the images named `ids` in an image zip, as the per-record scores name them (the
/// paths [`read_images`] gives the records, so after the same top-folder rule): what the page
/// shows as thumbnails of a zipped set. `None` for an id the zip does not hold.
///
/// # Errors
/// What [`read_images`] refuses of the zip itself (unreadable, too many entries, an entry that
/// unpacks past the bounds), or more than [`MAX_ZIP_IMAGES_ASKED`] ids.
pub fn zip_images(f: &InputFile, ids: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
    if ids.len() > MAX_ZIP_IMAGES_ASKED {
        return Err(AuditError::file(&f.name, format!("{} images asked for; at most {MAX_ZIP_IMAGES_ASKED} at once", ids.len())));
    }
    check_size(f)?;
    let files = unzip_images(f)?;
    let by_path: std::collections::HashMap<&str, &[u8]> =
        files.iter().filter(|x| !x.bytes.is_empty()).map(|x| (x.name.trim_start_matches('/'), x.bytes.as_slice())).collect();
    Ok(ids.iter().map(|id| by_path.get(id.as_str()).map(|b| b.to_vec())).collect())
}

/// A path with a hidden component (`.DS_Store`, `.git/…`) or macOS's `__MACOSX/` resource forks.
fn is_hidden(path: &str) -> bool {
    path.split('/').any(|c| c.starts_with('.') || c == "__MACOSX")
}

/// The files of an image zip, named by their paths inside it (from the one top folder when
/// every entry sits in one that holds the class folders).
fn unzip_images(f: &InputFile) -> Result<Vec<InputFile>> {
    use std::io::Read;
    let mut z =
        zip::ZipArchive::new(std::io::Cursor::new(f.bytes.as_slice())).map_err(|e| AuditError::file(&f.name, format!("not a readable zip archive: {e}")))?;
    if z.len() > MAX_IMAGES {
        return Err(AuditError::file(&f.name, format!("{} entries; at most {MAX_IMAGES} are read", z.len())));
    }
    let mut out = Vec::new();
    let mut total: usize = 0;
    for i in 0..z.len() {
        let mut e = z.by_index(i).map_err(|e| AuditError::file(&f.name, format!("zip entry {i}: {e}")))?;
        if e.is_dir() || !image::is_image_name(e.name()) {
            out.push(InputFile::new(e.name().to_string(), Vec::new()));
            continue;
        }
        let name = e.name().to_string();
        // The declared size may lie: read at most one byte more than an image may have.
        let mut buf = Vec::new();
        (&mut e)
            .take(MAX_IMAGE_FILE_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|err| AuditError::file(&f.name, format!("zip entry '{}': {err}", limits::quote(&name))))?;
        if buf.len() > MAX_IMAGE_FILE_BYTES {
            return Err(AuditError::file(
                &f.name,
                format!("zip entry '{}' unpacks to more than {MAX_IMAGE_FILE_BYTES} bytes, more than an image privaudit reads", limits::quote(&name)),
            ));
        }
        total += buf.len();
        if total > limits::MAX_FILE_BYTES {
            return Err(AuditError::file(&f.name, format!("the images unpack to more than {} bytes", limits::MAX_FILE_BYTES)));
        }
        out.push(InputFile::new(name, buf));
    }
    out.retain(|x| !is_hidden(&x.name));
    // One top folder around the class folders (a zipped `train/`): read from inside it.
    let top = |n: &str| n.split('/').next().unwrap_or("").to_string();
    let first = out.iter().find(|x| !x.bytes.is_empty()).map(|x| top(&x.name));
    if let Some(t) = first {
        let nested = out.iter().filter(|x| !x.bytes.is_empty()).all(|x| top(&x.name) == t && x.name.matches('/').count() >= 2);
        if nested {
            for x in &mut out {
                if let Some(rest) = x.name.strip_prefix(&format!("{t}/")) {
                    x.name = rest.to_string();
                }
            }
        }
    }
    out.retain(|x| !x.name.ends_with('/'));
    Ok(out)
}

/// An empty file or one over [`limits::MAX_FILE_BYTES`] is an error before any parsing.
pub(crate) fn check_size(f: &InputFile) -> Result<()> {
    if f.bytes.is_empty() {
        return Err(AuditError::file(&f.name, "the file is empty"));
    }
    if f.bytes.len() > limits::MAX_FILE_BYTES {
        return Err(AuditError::file(&f.name, format!("{} bytes; files of at most {} bytes are read", f.bytes.len(), limits::MAX_FILE_BYTES)));
    }
    Ok(())
}

/// Turn a label value read as a float into a class index.
pub(crate) fn label_from_f64(v: f64) -> std::result::Result<usize, String> {
    if !v.is_finite() || v.fract() != 0.0 {
        return Err(format!("label {v} is not an integer class index"));
    }
    if v < 0.0 {
        return Err(format!("label {v} is negative; labels are class indices 0, 1, …"));
    }
    if v > 1e9 {
        return Err(format!("label {v} is implausibly large for a class index"));
    }
    Ok(v as usize)
}

/// Read one NPY array as `(shape, values)` in C order, converted to f64.
///
/// # Errors
/// Not an NPY file, an unsupported dtype, truncated data.
pub fn read_npy(file: &InputFile) -> Result<(Vec<usize>, Vec<f64>)> {
    let a = npy::read_npy(&file.name, &file.bytes)?;
    Ok((a.shape, a.values))
}

/// Read one NPY array as `(shape, values)` in C order, as the f32 values a model reads (an
/// `<f4` array without a detour through f64).
///
/// # Errors
/// Not an NPY file, an unsupported dtype, truncated data.
pub fn read_npy_f32(file: &InputFile) -> Result<(Vec<usize>, Vec<f32>)> {
    npy::read_npy_f32(&file.name, &file.bytes)
}

/// Read a reference membership matrix: `rows × k` zeros and ones (1 = that reference trained on
/// that record), as a CSV with a header (one column per reference) or an NPY of shape `[rows, k]`.
/// Returns one column per reference.
///
/// # Errors
/// A wrong shape, a value other than 0 or 1, malformed CSV/NPY.
pub fn read_membership(file: &InputFile, rows: usize, k: usize) -> Result<Vec<Vec<bool>>> {
    let name = &file.name;
    check_size(file)?;
    let expected = format!("{rows} rows (members, then non-members, then population) × {k} columns (one per reference)");
    let (shape, values) = if file.bytes.starts_with(npy::NPY_MAGIC) {
        let a = npy::read_npy(name, &file.bytes)?;
        (a.shape, a.values)
    } else {
        let mut rdr = ::csv::ReaderBuilder::new().has_headers(true).from_reader(file.bytes.as_slice());
        let mut values = Vec::new();
        let mut n = 0;
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| AuditError::file(name, format!("CSV row {}: {e}", i + 2)))?;
            for (c, cell) in rec.iter().enumerate() {
                let v: f64 = cell.trim().parse().map_err(|_| AuditError::BadCell {
                    file: name.clone(),
                    row: i + 1,
                    column: format!("{}", c + 1),
                    message: format!("'{}' is not 0 or 1", limits::quote(cell)),
                })?;
                values.push(v);
            }
            if rec.len() != k {
                return Err(AuditError::ShapeMismatch {
                    file: name.clone(),
                    what: format!("columns in row {}", i + 1),
                    expected: k.to_string(),
                    actual: rec.len().to_string(),
                });
            }
            n += 1;
            if n > rows {
                return Err(AuditError::ShapeMismatch {
                    file: name.clone(),
                    what: "membership matrix rows".into(),
                    expected,
                    actual: format!("more than {rows}"),
                });
            }
        }
        (vec![n, k], values)
    };
    if shape != [rows, k] {
        return Err(AuditError::ShapeMismatch { file: name.clone(), what: "membership matrix shape".into(), expected, actual: format!("{shape:?}") });
    }
    let mut cols = vec![vec![false; rows]; k];
    for (i, &v) in values.iter().enumerate() {
        if v != 0.0 && v != 1.0 {
            return Err(AuditError::BadCell { file: name.clone(), row: i / k + 1, column: format!("{}", i % k + 1), message: format!("{v} is not 0 or 1") });
        }
        cols[i % k][i / k] = v == 1.0;
    }
    Ok(cols)
}
