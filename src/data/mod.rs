//! Data: bytes of user files → validated numeric tables.
//!
//! A *table* is a row-major `f64` matrix plus one integer label per row. Features, and in
//! outputs-only mode the model's outputs, are both read as tables. Formats are detected from the
//! bytes: NPY (`\x93NUMPY`), NPZ (a zip, `PK\x03\x04`), otherwise CSV with a header.

mod csv;
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

/// A data source: one CSV / NPZ file, or an NPY feature array with an NPY label file.
#[derive(Clone, Debug, Default)]
pub struct DataSource {
    /// The CSV, NPZ or NPY file with the rows.
    pub file: InputFile,
    /// For NPY features only: a 1-D integer NPY with one label per row.
    pub labels: Option<InputFile>,
}

/// How CSV files are read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TableOptions {
    /// Name of the label column in CSV files. Default: `"label"`.
    pub label_column: String,
    /// Name of a column to ignore (a record id). Default: none.
    pub id_column: Option<String>,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self { label_column: "label".into(), id_column: None }
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
