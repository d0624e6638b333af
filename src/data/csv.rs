//! CSV with a header row: a label column, an optional id column, every other column numeric.

use super::{Table, TableOptions, label_from_f64};
use crate::error::{AuditError, Result};
use crate::limits::{self, quote};

/// A CSV read as text: the feature columns' names and cells, each row's label cell and slice
/// value. Tabular pipelines read their string and numeric inputs from it by column name.
#[derive(Clone, Debug)]
pub struct CellTable {
    /// The file, for messages.
    pub file: String,
    /// The feature columns (every column but the label, id and slice columns), in file order.
    pub header: Vec<String>,
    /// Row-major cells of the feature columns (trimmed).
    pub cells: Vec<String>,
    /// Number of data rows.
    pub rows: usize,
    /// Each row's label cell.
    pub labels: Vec<String>,
    /// Each row's slice value (empty without a slice column).
    pub groups: Vec<String>,
    /// Each row's id (the id column's cell; empty without an id column): the records' names in
    /// the report and the scores CSV.
    pub ids: Vec<String>,
    /// Each row's 1-based data row in the file (blank lines are skipped).
    pub line: Vec<usize>,
    /// The label column's name.
    pub label_column: String,
    /// The slice column's name, when the file has it (its values are `groups`).
    pub slice_column: Option<String>,
}

impl CellTable {
    /// A cell error at data row `r` (0-based among the kept rows) of feature column `c`.
    pub fn bad_cell(&self, r: usize, c: usize, message: String) -> AuditError {
        AuditError::BadCell { file: self.file.clone(), row: self.line[r], column: quote(&self.header[c]), message }
    }

    /// A label error at data row `r`.
    pub fn bad_label(&self, r: usize, message: String) -> AuditError {
        AuditError::BadCell { file: self.file.clone(), row: self.line[r], column: quote(&self.label_column), message }
    }

    /// The columns `cols` as a `rows × cols.len()` tensor of a pipeline input of type `ty`
    /// ("float", "double", "int64" or "string"). An empty cell or NaN is a missing value in a
    /// float input (what an Imputer replaces).
    pub(crate) fn tensor(&self, cols: &[usize], ty: &str) -> Result<crate::model::pipeline::value::Tensor> {
        use crate::model::pipeline::value::{Data, Tensor};
        let w = self.header.len();
        let at = |r: usize, c: usize| self.cells[r * w + c].as_str();
        let shape = vec![self.rows, cols.len()];
        let mut cells = Vec::with_capacity(self.rows * cols.len());
        for r in 0..self.rows {
            for &c in cols {
                cells.push((r, c));
            }
        }
        let float = |r: usize, c: usize| -> Result<f64> {
            let s = at(r, c);
            if s.is_empty() || s.eq_ignore_ascii_case("nan") {
                return Ok(f64::NAN);
            }
            let v: f64 = s.parse().map_err(|_| self.bad_cell(r, c, format!("'{}' is not a number (this input is {ty})", quote(s))))?;
            if v.is_infinite() {
                return Err(self.bad_cell(r, c, format!("'{}' is not finite", quote(s))));
            }
            Ok(v)
        };
        let data = match ty {
            "string" => Data::Str(cells.iter().map(|&(r, c)| at(r, c).to_string()).collect()),
            "int64" => Data::I64(
                cells
                    .iter()
                    .map(|&(r, c)| {
                        let s = at(r, c);
                        s.parse::<i64>().map_err(|_| self.bad_cell(r, c, format!("'{}' is not a whole number (this input is int64)", quote(s))))
                    })
                    .collect::<Result<_>>()?,
            ),
            "double" => Data::F64(cells.iter().map(|&(r, c)| float(r, c)).collect::<Result<_>>()?),
            _ => Data::F32(cells.iter().map(|&(r, c)| float(r, c).map(|v| v as f32)).collect::<Result<_>>()?),
        };
        Ok(Tensor { data, shape })
    }
}

/// Read a CSV's header and cells as text.
pub fn read_cells(file: &str, bytes: &[u8], opts: &TableOptions) -> Result<CellTable> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(AuditError::file(file, "the text is UTF-16; save the CSV as UTF-8"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        AuditError::file(file, format!("not UTF-8 text (byte {}); expected a CSV file with a header row, an NPY or an NPZ file", e.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).trim(::csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> =
        reader.headers().map_err(|e| AuditError::file(file, format!("cannot read the CSV header: {e}")))?.iter().map(str::to_string).collect();
    if header.len() > limits::MAX_COLUMNS {
        return Err(AuditError::file(file, format!("the header has {} columns; at most {} are supported", header.len(), limits::MAX_COLUMNS)));
    }
    let mut sorted: Vec<&String> = header.iter().collect();
    sorted.sort();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(AuditError::file(file, format!("the header names column '{}' twice; every column needs its own name", quote(w[0]))));
    }
    let label_idx = header.iter().position(|h| h == &opts.label_column).ok_or_else(|| {
        AuditError::file(
            file,
            format!("no label column '{}' in the header (columns: {}); set the label column option", quote(&opts.label_column), limits::list(&header)),
        )
    })?;
    let id_idx = match &opts.id_column {
        Some(id) => Some(
            header
                .iter()
                .position(|h| h == id)
                .ok_or_else(|| AuditError::file(file, format!("no id column '{}' in the header (columns: {})", quote(id), limits::list(&header))))?,
        ),
        None => None,
    };
    let slice_idx = match &opts.slice_column {
        Some(s) if s == &opts.label_column => None, // slicing by the label: the label column stays the label
        // Missing, `groups` stays empty: the audit requires it of the members and non-members
        // only (a population file may lack it).
        Some(s) => header.iter().position(|h| h == s),
        None => None,
    };
    let feature_idx: Vec<usize> = (0..header.len()).filter(|&i| i != label_idx && Some(i) != id_idx && Some(i) != slice_idx).collect();
    let mut out = CellTable {
        file: file.into(),
        header: feature_idx.iter().map(|&i| header[i].clone()).collect(),
        cells: Vec::new(),
        rows: 0,
        labels: Vec::new(),
        groups: Vec::new(),
        ids: Vec::new(),
        line: Vec::new(),
        label_column: opts.label_column.clone(),
        slice_column: slice_idx.map(|i| header[i].clone()),
    };
    for (r, rec) in reader.records().enumerate() {
        let row = r + 1; // 1-based data row (the header is row 0)
        let rec = rec.map_err(|e| match e.kind() {
            ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => AuditError::ShapeMismatch {
                file: file.to_string(),
                what: format!("row {row}: number of columns"),
                expected: expected_len.to_string(),
                actual: len.to_string(),
            },
            _ => AuditError::file(file, format!("row {row}: {e}")),
        })?;
        if rec.len() == 1 && rec.get(0) == Some("") && header.len() > 1 {
            continue; // blank line
        }
        for &c in &feature_idx {
            out.cells.push(rec.get(c).unwrap_or("").to_string());
        }
        if out.cells.len() > limits::MAX_VALUES {
            return Err(AuditError::file(file, format!("more than {} values; split the data or use fewer records", limits::MAX_VALUES)));
        }
        out.labels.push(rec.get(label_idx).unwrap_or("").to_string());
        out.line.push(row);
        if let Some(c) = id_idx {
            let cell = rec.get(c).unwrap_or("");
            if cell.chars().count() > limits::MAX_SLICE_VALUE_CHARS {
                return Err(AuditError::BadCell {
                    file: file.into(),
                    row,
                    column: quote(&header[c]),
                    message: format!("an id of over {} characters; an id names a record", limits::MAX_SLICE_VALUE_CHARS),
                });
            }
            out.ids.push(cell.to_string());
        }
        if let Some(c) = slice_idx {
            let cell = rec.get(c).unwrap_or("");
            if cell.is_empty() {
                return Err(AuditError::BadCell {
                    file: file.into(),
                    row,
                    column: quote(&header[c]),
                    message: "empty cell; every record needs a slice value".into(),
                });
            }
            if cell.chars().count() > limits::MAX_SLICE_VALUE_CHARS {
                return Err(AuditError::BadCell {
                    file: file.into(),
                    row,
                    column: quote(&header[c]),
                    message: format!("a slice value of over {} characters; slices are groups such as a region or an age band", limits::MAX_SLICE_VALUE_CHARS),
                });
            }
            out.groups.push(cell.to_string());
        } else if opts.slice_column.as_ref() == Some(&opts.label_column) {
            out.groups.push(out.labels[out.labels.len() - 1].clone());
        }
        out.rows += 1;
    }
    Ok(out)
}

pub(super) fn read_csv(file: &str, bytes: &[u8], opts: &TableOptions) -> Result<Table> {
    let c = read_cells(file, bytes, opts)?;
    let cols = c.header.len();
    let mut values = Vec::with_capacity(c.cells.len());
    for (k, cell) in c.cells.iter().enumerate() {
        values.push(parse_num(cell).map_err(|m| c.bad_cell(k / cols.max(1), k % cols.max(1), m))?);
    }
    let mut labels = Vec::with_capacity(c.rows);
    for (r, cell) in c.labels.iter().enumerate() {
        labels.push(parse_num(cell).and_then(label_from_f64).map_err(|m| c.bad_label(r, m))?);
    }
    // Slicing by the label: its values as the label reads.
    let groups = if opts.slice_column.as_ref() == Some(&opts.label_column) { labels.iter().map(usize::to_string).collect() } else { c.groups };
    Ok(Table { file: file.into(), rows: c.rows, cols, values, labels, ids: c.ids, classes: Vec::new(), groups })
}

fn parse_num(cell: &str) -> std::result::Result<f64, String> {
    if cell.is_empty() {
        return Err("empty cell; expected a number".into());
    }
    let v: f64 = cell.parse().map_err(|_| format!("'{}' is not a number", quote(cell)))?;
    if !v.is_finite() {
        return Err(format!("'{}' is not finite; NaN and Inf are not allowed", quote(cell)));
    }
    Ok(v)
}

/// A sidecar file of slice values: a CSV with a header `set,row,<name>` or `set,id,<name>`,
/// one line per record (`set` is `members` or `nonmembers`; `row` the record's 1-based data row
/// in its file, `id` an image's path in its folder). Returns the slice's name and, per set, the
/// value of each of its `rows` records (by row, or by `ids` when the set has names).
///
/// # Errors
/// Not a CSV with that header; an unknown set, a row out of range, an id not in the set, a
/// record given twice or missing, an empty or overlong value.
pub fn read_slice_file(file: &str, bytes: &[u8], sets: [(&str, usize, &[String]); 2]) -> Result<(String, [Vec<String>; 2])> {
    let text = std::str::from_utf8(bytes).map_err(|e| AuditError::file(file, format!("not UTF-8 text (byte {}); expected a CSV file", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).trim(::csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> =
        reader.headers().map_err(|e| AuditError::file(file, format!("cannot read the CSV header: {e}")))?.iter().map(str::to_string).collect();
    let by_id = match header.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["set", "row", name] if !name.is_empty() => false,
        ["set", "id", name] if !name.is_empty() => true,
        _ => {
            return Err(AuditError::file(
                file,
                format!(
                    "the header is '{}'; a slice file has the columns set,row,<slice name> (tables) or set,id,<slice name> (images by path)",
                    quote(&header.join(","))
                ),
            ));
        }
    };
    let name = header[2].clone();
    let mut out: [Vec<Option<String>>; 2] = [vec![None; sets[0].1], vec![None; sets[1].1]];
    let index: [std::collections::HashMap<&str, usize>; 2] = [0, 1].map(|s| sets[s].2.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect());
    for (r, rec) in reader.records().enumerate() {
        let line = r + 1;
        let rec = rec.map_err(|e| AuditError::file(file, format!("row {line}: {e}")))?;
        let bad = |column: &str, message: String| AuditError::BadCell { file: file.into(), row: line, column: column.into(), message };
        let s = match rec.get(0).unwrap_or("") {
            "members" => 0,
            "nonmembers" => 1,
            other => return Err(bad("set", format!("'{}' is not members or nonmembers", quote(other)))),
        };
        let key = rec.get(1).unwrap_or("");
        let i = if by_id {
            *index[s].get(key).ok_or_else(|| bad("id", format!("'{}' is not a record of the {}", quote(key), sets[s].0)))?
        } else {
            let row: usize = key.parse().map_err(|_| bad("row", format!("'{}' is not a row number", quote(key))))?;
            if row == 0 || row > sets[s].1 {
                return Err(bad("row", format!("row {row} is outside the {} (rows 1 to {})", sets[s].0, sets[s].1)));
            }
            row - 1
        };
        let value = rec.get(2).unwrap_or("");
        if value.is_empty() {
            return Err(bad(&name, "empty cell; every record needs a slice value".into()));
        }
        if value.chars().count() > limits::MAX_SLICE_VALUE_CHARS {
            return Err(bad(&name, format!("a slice value of over {} characters", limits::MAX_SLICE_VALUE_CHARS)));
        }
        if out[s][i].replace(value.to_string()).is_some() {
            return Err(bad(if by_id { "id" } else { "row" }, format!("{} {} is given twice", sets[s].0, if by_id { quote(key) } else { key.to_string() })));
        }
    }
    let mut groups: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for s in 0..2 {
        for (i, v) in out[s].iter_mut().enumerate() {
            let Some(v) = v.take() else {
                let which = sets[s].2.get(i).map_or_else(|| format!("row {}", i + 1), |id| format!("'{}'", quote(id)));
                return Err(AuditError::file(file, format!("no slice value for the {} record {which}; give every audited record one", sets[s].0)));
            };
            groups[s].push(v);
        }
    }
    Ok((name, groups))
}
