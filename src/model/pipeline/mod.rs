//! Tabular pipelines as scikit-learn, LightGBM and XGBoost exporters write them (skl2onnx,
//! onnxmltools): `ai.onnx.ml` operators, string inputs, one input per column, several outputs
//! (`label` beside `probabilities`, a `ZipMap` of them).
//!
//! A pipeline is split where its estimator starts: the *preprocessing* (Scaler, Imputer,
//! OneHotEncoder, a ColumnTransformer's Concat …) turns the records into the estimator's input
//! matrix on the CPU, once, exactly as onnxruntime would ([`ops`]); the *estimator* maps that
//! matrix to the class scores privaudit reads. When the estimator is a network (MLPClassifier,
//! LogisticRegression's LinearClassifier, a Keras dense net), it is re-encoded as a standard
//! ONNX graph (a LinearClassifier as the Gemm it computes) and runs, and trains as references,
//! like any other model on the GPU or CPU: reference models then keep the preprocessing
//! constants as the file has them, since those never reach the trainer. Tree ensembles run on
//! the CPU and cannot be trained by gradient.
//!
//! What is read: the class-score output (or the one the user names), traced back through
//! ZipMap, Cast and Identity to the values before any final Softmax or Sigmoid (logits), or a
//! classifier's raw scores before its `post_transform`; a binary model with one output unit is
//! read as its positive class's logit.

pub(crate) mod graph;
mod ops;
mod trees;
pub(crate) mod value;

pub use ops::PIPELINE_OPS;

use crate::data::{self, DataSource, InputFile, Table, TableOptions};
use crate::error::{AuditError, Result};
use graph::{Decl, HostGraph, HostNode};
use std::collections::{HashMap, HashSet};
use value::{Data, Tensor};

/// How the values read from a pipeline are to be understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadKind {
    /// One column per class, before a softmax.
    Logits,
    /// One column: the positive class's logit of a binary model.
    SingleLogit,
    /// Class probabilities (checked; a row that is not one is an error).
    Probabilities,
}

/// What the estimator is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// A network (or a linear model), re-encoded as a standard graph: trainable.
    Network,
    /// A tree ensemble, run on the CPU: not trainable.
    Trees,
    /// Anything else run on the CPU (a one-vs-rest linear model's normalised probabilities …),
    /// with the reason it cannot be trained.
    Host(String),
}

/// A parsed pipeline.
pub struct Pipeline {
    file: String,
    graph: HostGraph,
    /// The value read, and how.
    readout: String,
    /// A column of `readout` to read (a two-row binary LinearClassifier's positive row).
    column: Option<usize>,
    /// How the read values are understood.
    pub kind: ReadKind,
    /// The graph output the user (or privaudit) chose.
    pub output: String,
    /// A sentence for the report: which value was read and how.
    pub reading: String,
    /// The estimator's input (the preprocessing's result).
    cut: String,
    /// Its width.
    pub width: usize,
    /// What the estimator is.
    pub estimator: Estimator,
    /// Its operator, for the report ("MatMul", "ai.onnx.ml.TreeEnsembleClassifier" …).
    pub estimator_op: String,
    /// The network part as a standard ONNX model (for [`Estimator::Network`]).
    pub network: Option<Vec<u8>>,
    /// Class labels as the model has them (labels in the data are matched against these).
    labels: Option<Data>,
    /// Operators of the preprocessing, for the report.
    pub preprocessing: Vec<String>,
    /// SHA-256 (hex) of the preprocessing: its nodes and constants, and the estimator's input.
    /// Reference models trained on the estimator's input are only valid for this preprocessing.
    pub preprocessing_digest: String,
}

/// Whether an ONNX file must be read as a pipeline: an `ai.onnx.ml` operator, a string input,
/// several data inputs, or an output that is not a tensor.
pub fn is_pipeline(bytes: &[u8]) -> bool {
    let Some(top) = crate::model::proto::fields(bytes) else { return false };
    use crate::model::proto::{Wire, fields};
    for f in &top {
        let (7, Wire::Bytes(g)) = (f.num, f.value) else { continue };
        let Some(gf) = fields(g) else { return false };
        let init_names: Vec<&[u8]> = gf
            .iter()
            .filter(|x| x.num == 5)
            .filter_map(|x| if let Wire::Bytes(t) = x.value { fields(t) } else { None })
            .filter_map(|tf| tf.iter().find_map(|y| if let (8, Wire::Bytes(n)) = (y.num, y.value) { Some(n) } else { None }))
            .collect();
        let mut data_inputs = 0;
        for x in &gf {
            match (x.num, x.value) {
                (1, Wire::Bytes(n)) => {
                    if fields(n).is_some_and(|nf| nf.iter().any(|y| matches!((y.num, y.value), (7, Wire::Bytes(d)) if d == b"ai.onnx.ml"))) {
                        return true;
                    }
                }
                (11 | 12, Wire::Bytes(vi)) => {
                    let Ok(d) = graph_decl(vi) else { continue };
                    if d.non_tensor || d.elem == Some(graph::STRING) {
                        return true;
                    }
                    if x.num == 11 && !init_names.contains(&d.name.as_bytes()) {
                        data_inputs += 1;
                    }
                }
                _ => {}
            }
        }
        return data_inputs > 1;
    }
    false
}

fn graph_decl(vi: &[u8]) -> Result<Decl> {
    // A tiny graph around one value info, decoded by the same reader.
    let mut g = Vec::new();
    crate::model::proto::put_bytes(&mut g, 11, vi);
    let mut m = Vec::new();
    crate::model::proto::put_bytes(&mut m, 7, &g);
    let hg = graph::decode("", &m)?;
    hg.inputs.into_iter().next().ok_or_else(|| AuditError::model("", "no input"))
}

fn producer_map(g: &HostGraph) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        for o in &n.outputs {
            if !o.is_empty() {
                m.insert(o.clone(), i);
            }
        }
        if let (true, Some(s)) = (is_classifier(n), n.outputs.get(1)) {
            m.insert(raw_name(s), i);
        }
    }
    m
}

fn is_classifier(n: &HostNode) -> bool {
    n.domain == "ai.onnx.ml" && (n.op == "LinearClassifier" || n.op == "TreeEnsembleClassifier")
}

/// The virtual value holding a classifier's scores before `post_transform`.
fn raw_name(scores: &str) -> String {
    format!("{scores}#raw")
}

/// The nodes needed to compute `wanted` when `known` values are given, in file order.
fn needed(g: &HostGraph, producers: &HashMap<String, usize>, wanted: &[&str], known: &HashSet<String>) -> Vec<usize> {
    let mut need = HashSet::new();
    let mut stack: Vec<String> = wanted.iter().map(|s| (*s).to_string()).collect();
    while let Some(v) = stack.pop() {
        if known.contains(&v) || g.inits.contains_key(&v) {
            continue;
        }
        if let Some(&p) = producers.get(&v) {
            if need.insert(p) {
                stack.extend(g.nodes[p].inputs.iter().filter(|i| !i.is_empty()).cloned());
            }
        }
    }
    let mut v: Vec<usize> = need.into_iter().collect();
    v.sort_unstable();
    v
}

impl Pipeline {
    /// Parse a pipeline from the model's bytes (external data already inlined); `output` names
    /// the graph output to read (default: the class-score output).
    ///
    /// # Errors
    /// Malformed protobuf; no class-score output, or an ambiguous one without `output`; an
    /// output name that is not one; an unsupported operator on the path to it.
    pub fn parse(file: &str, bytes: &[u8], output: Option<&str>) -> Result<Self> {
        crate::model::proto::facts(file, bytes)?;
        let graph = graph::decode(file, bytes)?;
        let bad = |m: String| AuditError::model(file, m);
        if graph.inputs.is_empty() {
            return Err(bad("the graph has no data input".into()));
        }
        let outs: Vec<String> = graph.outputs.iter().map(|o| o.name.clone()).collect();
        let chosen = match output {
            Some(name) => graph
                .outputs
                .iter()
                .find(|o| o.name == name)
                .ok_or_else(|| bad(format!("no output '{}'; the model's outputs are {}", crate::limits::quote(name), crate::limits::list(&outs))))?,
            None => {
                // Labels (int64 or string tensors) are not scores.
                let scores: Vec<&Decl> = graph.outputs.iter().filter(|o| o.non_tensor || matches!(o.elem, Some(graph::FLOAT | graph::DOUBLE) | None)).collect();
                match scores.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(bad(format!(
                            "none of the outputs ({}) holds class scores (they are labels); name one with the option ‘output’",
                            crate::limits::list(&outs)
                        )));
                    }
                    many => {
                        let prob: Vec<&&Decl> = many.iter().filter(|o| o.name.to_lowercase().contains("prob")).collect();
                        match prob.as_slice() {
                            [one] => **one,
                            _ => {
                                return Err(bad(format!(
                                    "several outputs could hold the class scores ({}); name one with the option ‘output’",
                                    crate::limits::list(&many.iter().map(|o| o.name.clone()).collect::<Vec<_>>())
                                )));
                            }
                        }
                    }
                }
            }
        };
        if !chosen.non_tensor && matches!(chosen.elem, Some(graph::INT64 | graph::STRING | graph::INT32 | graph::BOOL)) {
            return Err(bad(format!(
                "output '{}' holds labels, not class scores; name the probabilities or scores output",
                crate::limits::quote(&chosen.name)
            )));
        }
        // intercepts is optional in the spec, but onnxruntime refuses a LinearClassifier without
        // it (skl2onnx always writes it): so does privaudit, naming the node.
        if let Some(n) = graph.nodes.iter().find(|n| n.domain == "ai.onnx.ml" && n.op == "LinearClassifier" && n.floats("intercepts").is_none()) {
            return Err(bad(format!(
                "node '{}' (LinearClassifier) has no intercepts attribute, which onnxruntime requires; export the model with its intercepts",
                crate::limits::quote(&n.name)
            )));
        }
        let producers = producer_map(&graph);
        // Trace back to the values before the final transform.
        let mut v = chosen.name.clone();
        let mut through = Vec::new();
        let (readout, column, kind, how) = loop {
            let Some(&p) = producers.get(&v) else {
                break (v.clone(), None, ReadKind::Probabilities, "the graph input itself".to_string());
            };
            let n = &graph.nodes[p];
            let first = n.inputs.first().cloned().unwrap_or_default();
            match (n.domain.as_str(), n.op.as_str()) {
                ("ai.onnx.ml", "ZipMap") | ("", "Identity") => {
                    through.push(n.op.clone());
                    v = first;
                }
                ("", "Cast") if matches!(n.int("to", 0) as u64, graph::FLOAT | graph::DOUBLE) => {
                    through.push(n.op.clone());
                    v = first;
                }
                // skl2onnx's multinomial LogisticRegression: an L1 Normalizer over SOFTMAX
                // probabilities, which already sum to 1 (a no-op but for rounding).
                ("ai.onnx.ml", "Normalizer")
                    if n.string("norm") == Some("L1")
                        && producers.get(&first).map(|&i| &graph.nodes[i]).is_some_and(|q| {
                            (is_classifier(q) && q.string("post_transform") == Some("SOFTMAX")) || (q.domain.is_empty() && q.op == "Softmax")
                        }) =>
                {
                    through.push(n.op.clone());
                    v = first;
                }
                ("", "Softmax") => break (first, None, ReadKind::Logits, "the input of the final Softmax (logits)".into()),
                ("", "Sigmoid") => break (first, None, ReadKind::SingleLogit, "the input of the final Sigmoid (one logit)".into()),
                ("", "Concat") if n.inputs.len() == 2 => {
                    // skl2onnx's binary probabilities: Concat(1 − σ(z), σ(z)).
                    let sig = producers.get(&n.inputs[1]).map(|&i| &graph.nodes[i]).filter(|s| s.op == "Sigmoid" && s.domain.is_empty());
                    let sub = producers.get(&n.inputs[0]).map(|&i| &graph.nodes[i]).filter(|s| s.op == "Sub" && s.domain.is_empty());
                    match (sig, sub) {
                        (Some(s), Some(d)) if d.inputs.get(1) == Some(&n.inputs[1]) && is_one(&graph, d.inputs.first()) => {
                            break (s.inputs[0].clone(), None, ReadKind::SingleLogit, "the logit under (1 − σ(z), σ(z)) (one output unit)".into());
                        }
                        _ => break (v.clone(), None, ReadKind::Probabilities, "the output as it is".into()),
                    }
                }
                ("ai.onnx.ml", "LinearClassifier") if n.outputs.get(1) == Some(&v) => {
                    let post = n.string("post_transform").unwrap_or("NONE");
                    let coef = n.floats("coefficients").unwrap_or_default();
                    let icp = n.floats("intercepts").unwrap_or_default();
                    let labels = ops::class_labels(n).map_or(0, |l| l.len());
                    let targets = if icp.is_empty() { labels.max(1) } else { icp.len() };
                    let negated = targets == 2 && labels == 2 && coef.len() % 2 == 0 && {
                        let h = coef.len() / 2;
                        (0..h).all(|k| coef[k] == -coef[h + k]) && icp[0] == -icp[1]
                    };
                    match (post, targets) {
                        ("SOFTMAX", t) if t > 1 => {
                            break (raw_name(&v), None, ReadKind::Logits, "the LinearClassifier's scores before its SOFTMAX (logits)".into());
                        }
                        (_, 1) if labels == 2 => {
                            break (raw_name(&v), None, ReadKind::SingleLogit, format!("the LinearClassifier's one score before its {post} (one logit)"));
                        }
                        ("LOGISTIC", 2) if negated => {
                            break (
                                raw_name(&v),
                                Some(1),
                                ReadKind::SingleLogit,
                                "the LinearClassifier's positive-class score before its LOGISTIC (one logit)".into(),
                            );
                        }
                        _ => {
                            break (
                                v.clone(),
                                None,
                                ReadKind::Probabilities,
                                format!("the LinearClassifier's scores (post_transform {post}), read as probabilities"),
                            );
                        }
                    }
                }
                ("ai.onnx.ml", "TreeEnsembleClassifier") if n.outputs.get(1) == Some(&v) => {
                    let post = n.string("post_transform").unwrap_or("NONE");
                    let classes = ops::class_labels(n).map_or(0, |l| l.len());
                    let ids = n.ints("class_ids").unwrap_or_default();
                    let binary = classes == 2 && ids.iter().all(|&i| Some(&i) == ids.first());
                    match post {
                        "SOFTMAX" if !binary => break (raw_name(&v), None, ReadKind::Logits, "the trees' summed scores before their SOFTMAX (logits)".into()),
                        "LOGISTIC" if binary => {
                            break (raw_name(&v), None, ReadKind::SingleLogit, "the trees' summed score before their LOGISTIC (one logit)".into());
                        }
                        _ => {
                            break (
                                v.clone(),
                                None,
                                ReadKind::Probabilities,
                                format!("the trees' class scores (post_transform {post}), read as probabilities"),
                            );
                        }
                    }
                }
                _ => break (v.clone(), None, ReadKind::Probabilities, "the output as it is".into()),
            }
        };
        let reading = format!("output '{}': {how}", chosen.name);
        // The estimator: the first classifier, or matrix product with a constant weight, that
        // the read value depends on.
        let path = needed(&graph, &producers, &[readout.as_str()], &HashSet::new());
        for &i in &path {
            let n = &graph.nodes[i];
            if !PIPELINE_OPS.contains(&n.op_name().as_str()) {
                return Err(AuditError::UnsupportedOp {
                    file: file.into(),
                    node: n.name.clone(),
                    op: n.op_name(),
                    detail: format!("supported in pipelines: {}", PIPELINE_OPS.join(", ")),
                });
            }
        }
        let est = path.iter().copied().find(|&i| {
            let n = &graph.nodes[i];
            is_classifier(n) || (n.domain.is_empty() && (n.op == "MatMul" || n.op == "Gemm") && n.inputs.get(1).is_some_and(|w| graph.inits.contains_key(w)))
        });
        let Some(est) = est else {
            return Err(bad(format!("no estimator (a LinearClassifier, TreeEnsembleClassifier or a MatMul/Gemm with constant weights) computes {}", reading)));
        };
        let en = &graph.nodes[est];
        let cut = en.inputs.first().cloned().unwrap_or_default();
        let known: HashSet<String> = std::iter::once(cut.clone()).collect();
        let after = needed(&graph, &producers, &[readout.as_str()], &known);
        // Nothing after the cut may read the graph inputs again.
        let input_names: Vec<&str> = graph.inputs.iter().map(|d| d.name.as_str()).collect();
        if let Some(n) = after.iter().map(|&i| &graph.nodes[i]).find(|n| n.inputs.iter().any(|i| input_names.contains(&i.as_str()) && *i != cut)) {
            return Err(bad(format!(
                "node '{}' ({}) reads a graph input after the estimator has started; privaudit splits pipelines into preprocessing and an estimator",
                n.name,
                n.op_name()
            )));
        }
        let before = needed(&graph, &producers, &[cut.as_str()], &HashSet::new());
        let width =
            estimator_width(&graph, en).ok_or_else(|| bad(format!("cannot tell the width of the estimator's input '{cut}' from node '{}'", en.name)))?;
        let estimator_op = en.op_name();
        let (estimator, network) = if en.op == "TreeEnsembleClassifier" {
            (Estimator::Trees, None)
        } else {
            let standard = after.iter().all(|&i| {
                let n = &graph.nodes[i];
                (n.domain.is_empty() && crate::model::interp::OPS.iter().any(|o| o.name == n.op)) || i == est
            });
            let raw_of_est = en.op != "LinearClassifier" || en.outputs.get(1).map(|s| raw_name(s)) == Some(readout.clone());
            if kind == ReadKind::Probabilities {
                (Estimator::Host("its probabilities are read after a transform that has no logits (a one-vs-rest or normalised output)".into()), None)
            } else if !standard || !raw_of_est {
                (Estimator::Host("its estimator uses operators the trainer does not differentiate".into()), None)
            } else {
                (Estimator::Network, Some(network_bytes(&graph, &after, est, &cut, width, &readout, column)?))
            }
        };
        let labels = graph.nodes.iter().find_map(|n| match (n.domain.as_str(), n.op.as_str()) {
            ("ai.onnx.ml", "ZipMap") => {
                n.ints("classlabels_int64s").map(|v| Data::I64(v.to_vec())).or_else(|| n.strings("classlabels_strings").map(|v| Data::Str(v.to_vec())))
            }
            _ if is_classifier(n) => ops::class_labels(n),
            _ => None,
        });
        let preprocessing = before.iter().map(|&i| graph.nodes[i].op_name()).collect();
        let preprocessing_digest = {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            let mut part = |b: &[u8]| {
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            };
            part(cut.as_bytes());
            for &i in &before {
                let n = &graph.nodes[i];
                part(&n.raw);
                for inp in &n.inputs {
                    if let Some((_, raw)) = graph.inits.get(inp) {
                        part(raw);
                    }
                }
            }
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        };
        let output = chosen.name.clone();
        Ok(Self {
            file: file.into(),
            graph,
            readout,
            column,
            kind,
            output,
            reading,
            cut,
            width,
            estimator,
            estimator_op,
            network,
            labels,
            preprocessing,
            preprocessing_digest,
        })
    }

    /// The model file's name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Default-domain opset.
    pub fn opset(&self) -> Option<i64> {
        self.graph.opset
    }

    /// Values in the initializers and tensor attributes.
    pub fn parameters(&self) -> u64 {
        self.graph.parameters
    }

    /// The class names, as the model's labels are written (for the report).
    pub fn class_names(&self) -> Option<Vec<String>> {
        self.labels.as_ref().map(|l| match l {
            Data::I64(v) => v.iter().map(i64::to_string).collect(),
            Data::Str(v) => v.clone(),
            _ => Vec::new(),
        })
    }

    /// The graph's data inputs: name, element type and per-record width (`None`: unknown).
    pub fn inputs(&self) -> Vec<(String, &'static str, Option<usize>)> {
        self.graph
            .inputs
            .iter()
            .map(|d| {
                let ty = match d.elem {
                    Some(graph::STRING) => "string",
                    Some(graph::INT64 | graph::INT32) => "int64",
                    Some(graph::DOUBLE) => "double",
                    _ => "float",
                };
                (d.name.clone(), ty, d.dims.as_ref().and_then(|s| if s.len() >= 2 { s[1..].iter().try_fold(1usize, |p, d| d.map(|d| p * d)) } else { Some(1) }))
            })
            .collect()
    }

    /// Read a data source into the estimator's input: a table of `width` values per record
    /// (the preprocessing run as onnxruntime would), labels matched to the model's classes.
    ///
    /// A CSV's columns are matched to the graph inputs by name when there are several inputs
    /// (a ColumnTransformer export) or the one input is a single column; one input of several
    /// columns takes every feature column in order, as a plain model does. NPY and NPZ files
    /// feed a single numeric input.
    ///
    /// # Errors
    /// A missing or extra column, a cell that is not of its input's type, a label that is not
    /// one of the model's classes, any preprocessing error.
    pub fn features(&self, src: &DataSource, opts: &TableOptions) -> Result<Table> {
        let f = &src.file;
        data::check_size(f)?;
        let csv = !(f.bytes.starts_with(b"\x93NUMPY") || f.bytes.starts_with(b"PK\x03\x04") || f.bytes.starts_with(b"PK\x05\x06") || src.labels.is_some());
        let (seeds, rows, labels, groups, ids) = if csv {
            let c = data::read_cells(&f.name, &f.bytes, opts)?;
            let seeds = self.seeds_from_cells(&c)?;
            let labels = (0..c.rows).map(|r| self.class_of(&c.labels[r]).map_err(|m| c.bad_label(r, m))).collect::<Result<Vec<_>>>()?;
            (seeds, c.rows, labels, c.groups, c.ids)
        } else {
            let t = data::read_table(src, opts)?;
            let [(name, ty, w)] = self.inputs().try_into().map_err(|_| {
                AuditError::file(&t.file, format!("{} has {} inputs; give its data as a CSV file with a column per input", self.file, self.graph.inputs.len()))
            })?;
            if w.is_some_and(|w| w != t.cols) {
                return Err(AuditError::ShapeMismatch {
                    file: t.file.clone(),
                    what: "number of feature columns".into(),
                    expected: format!("{} (the input '{name}' of {})", w.unwrap_or(0), self.file),
                    actual: t.cols.to_string(),
                });
            }
            let data = match ty {
                "double" => Data::F64(t.values.clone()),
                "int64" => Data::I64(t.values.iter().map(|&v| v as i64).collect()),
                "string" => return Err(AuditError::file(&t.file, format!("the input '{name}' holds strings; give the data as CSV"))),
                _ => Data::F32(t.values.iter().map(|&v| v as f32).collect()),
            };
            let labels = t
                .labels
                .iter()
                .enumerate()
                .map(|(r, &l)| {
                    self.class_of(&l.to_string()).map_err(|m| AuditError::BadCell { file: t.file.clone(), row: r + 1, column: "label".into(), message: m })
                })
                .collect::<Result<Vec<_>>>()?;
            (HashMap::from([(name, Tensor { data, shape: vec![t.rows, t.cols] })]), t.rows, labels, t.groups, t.ids)
        };
        let env = self.run(seeds, &[self.cut.as_str()])?;
        let x = env.get(&self.cut).ok_or_else(|| AuditError::model(&self.file, "internal: the preprocessing did not compute the estimator's input"))?;
        let (r, w) = x.matrix_dims();
        if r != rows || w != self.width {
            return Err(AuditError::model(
                &self.file,
                format!("the preprocessing made {r} × {w} values of '{}' from {rows} records; the estimator takes {} per record", self.cut, self.width),
            ));
        }
        let values: Vec<f64> = match &x.data {
            Data::F64(v) => v.clone(),
            d => d.as_f32().ok_or_else(|| AuditError::model(&self.file, "the estimator's input holds strings"))?.into_iter().map(f64::from).collect(),
        };
        Ok(Table { file: f.name.clone(), values, rows, cols: w, labels, ids, classes: Vec::new(), groups })
    }

    /// The class index of a label as the data writes it.
    fn class_of(&self, cell: &str) -> std::result::Result<usize, String> {
        let as_int = || -> std::result::Result<i64, String> {
            let v: f64 = cell.trim().parse().map_err(|_| format!("'{}' is not a class of the model", crate::limits::quote(cell)))?;
            if v.fract() != 0.0 || !v.is_finite() {
                return Err(format!("'{}' is not a whole-number label", crate::limits::quote(cell)));
            }
            Ok(v as i64)
        };
        match &self.labels {
            Some(Data::I64(l)) => {
                let v = as_int()?;
                l.iter().position(|&c| c == v).ok_or_else(|| {
                    format!("label {v} is not one of the model's classes ({})", crate::limits::list(&l.iter().map(i64::to_string).collect::<Vec<_>>()))
                })
            }
            Some(Data::Str(l)) => l
                .iter()
                .position(|c| c == cell.trim())
                .ok_or_else(|| format!("label '{}' is not one of the model's classes ({})", crate::limits::quote(cell), crate::limits::list(l))),
            _ => usize::try_from(as_int()?).map_err(|_| format!("label '{}' is negative", crate::limits::quote(cell))),
        }
    }

    fn seeds_from_cells(&self, c: &data::CellTable) -> Result<HashMap<String, Tensor>> {
        let inputs = self.inputs();
        let mut seeds = HashMap::new();
        let by_column = inputs.len() > 1 || inputs.iter().all(|(_, _, w)| *w == Some(1));
        if !by_column {
            let (name, ty, w) = &inputs[0];
            if w.is_some_and(|w| w != c.header.len()) {
                return Err(AuditError::ShapeMismatch {
                    file: c.file.clone(),
                    what: "number of feature columns".into(),
                    expected: format!("{} (the input '{name}' of {})", w.unwrap_or(0), self.file),
                    actual: c.header.len().to_string(),
                });
            }
            let cols: Vec<usize> = (0..c.header.len()).collect();
            seeds.insert(name.clone(), c.tensor(&cols, ty)?);
            return Ok(seeds);
        }
        let names: Vec<&str> = inputs.iter().map(|(n, _, _)| n.as_str()).collect();
        if let Some(extra) = c.header.iter().find(|h| !names.contains(&h.as_str())) {
            return Err(AuditError::file(
                &c.file,
                format!(
                    "column '{}' is not an input of {} (its inputs: {}); remove it, or set it as the id or slice column",
                    crate::limits::quote(extra),
                    self.file,
                    crate::limits::list(&inputs.iter().map(|i| i.0.clone()).collect::<Vec<_>>())
                ),
            ));
        }
        for (name, ty, w) in &inputs {
            if w.is_some_and(|w| w != 1) {
                return Err(AuditError::model(
                    &self.file,
                    format!("input '{name}' takes {} values per record; with several inputs each must be one column", w.unwrap_or(0)),
                ));
            }
            if let Some(k) = c.header.iter().position(|h| h == name) {
                seeds.insert(name.clone(), c.tensor(&[k], ty)?);
            } else if c.slice_column.as_ref() == Some(name) {
                // Slicing by one of the model's inputs: the column is both.
                let column = data::CellTable { header: vec![name.clone()], cells: c.groups.clone(), ..c.clone() };
                seeds.insert(name.clone(), column.tensor(&[0], ty)?);
            } else {
                return Err(AuditError::file(
                    &c.file,
                    format!("no column '{}' for the model's input of that name (columns: {})", crate::limits::quote(name), crate::limits::list(&c.header)),
                ));
            }
        }
        Ok(seeds)
    }

    /// Evaluate the nodes that compute `wanted` from `seeds`.
    fn run(&self, mut env: HashMap<String, Tensor>, wanted: &[&str]) -> Result<HashMap<String, Tensor>> {
        let producers = producer_map(&self.graph);
        let known: HashSet<String> = env.keys().cloned().collect();
        let order = needed(&self.graph, &producers, wanted, &known);
        let opset = self.graph.opset.unwrap_or(13);
        for i in order {
            let n = &self.graph.nodes[i];
            let bad = |m: String| AuditError::model(&self.file, format!("node '{}' ({}): {m}", crate::limits::quote(&n.name), n.op_name()));
            let ins = n
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        return Ok(None);
                    }
                    env.get(name)
                        .or_else(|| self.graph.inits.get(name).map(|(t, _)| t))
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| bad(format!("input '{name}' has no value (is a graph input missing?)")))
                })
                .collect::<Result<Vec<_>>>()?;
            let outs = ops::eval(n, ins, opset, &bad)?;
            let k = outs.len();
            for (j, t) in outs.into_iter().enumerate() {
                let name = if j == 2 && k == 3 && is_classifier(n) { n.outputs.get(1).map(|s| raw_name(s)) } else { n.outputs.get(j).cloned() };
                if let Some(name) = name.filter(|s| !s.is_empty()) {
                    env.insert(name, t);
                }
            }
        }
        Ok(env)
    }

    /// The estimator's outputs on `rows` records of the estimator's input (row-major), on the
    /// CPU: the read values (`rows × k`).
    ///
    /// # Errors
    /// Any operator error; a one-logit read of more than one column.
    pub fn host_outputs(&self, values: &[f64], rows: usize) -> Result<(Vec<f64>, usize)> {
        let x = Tensor::f32(values.iter().map(|&v| v as f32).collect(), vec![rows, self.width]);
        let env = self.run(HashMap::from([(self.cut.clone(), x)]), &[self.readout.as_str()])?;
        let y = env.get(&self.readout).ok_or_else(|| AuditError::model(&self.file, "internal: the read value was not computed"))?;
        let (r, w) = y.matrix_dims();
        let v = y.data.as_f32().ok_or_else(|| AuditError::model(&self.file, "the read output holds strings"))?;
        if r != rows {
            return Err(AuditError::model(&self.file, format!("the output has {r} rows for {rows} records")));
        }
        let (v, w) = match self.column {
            Some(c) if c < w => (v.chunks(w).map(|row| row[c]).collect(), 1),
            _ => (v, w),
        };
        if self.kind == ReadKind::SingleLogit && w != 1 {
            return Err(AuditError::model(&self.file, format!("{}: expected one column, found {w}", self.reading)));
        }
        // Probabilities summed from f32 leaf weights may leave [0, 1] by a rounding (1 − s with
        // s = 1.0000001): clamped when within 1e-5 of it; further out they are not probabilities.
        let v = v.into_iter().map(f64::from);
        Ok((
            if self.kind == ReadKind::Probabilities {
                v.map(|p| {
                    if (-1e-5..0.0).contains(&p) {
                        0.0
                    } else if p > 1.0 && p <= 1.0 + 1e-5 {
                        1.0
                    } else {
                        p
                    }
                })
                .collect()
            } else {
                v.collect()
            },
            w,
        ))
    }
}

fn is_one(g: &HostGraph, name: Option<&String>) -> bool {
    name.and_then(|n| g.inits.get(n)).and_then(|(t, _)| t.data.as_f32()).is_some_and(|v| v.len() == 1 && v[0] == 1.0)
}

/// The per-record width of the estimator's input, from its weights.
fn estimator_width(g: &HostGraph, n: &HostNode) -> Option<usize> {
    match (n.domain.as_str(), n.op.as_str()) {
        ("", "MatMul") => g.inits.get(n.inputs.get(1)?).and_then(|(t, _)| (t.shape.len() == 2).then(|| t.shape[0])),
        ("", "Gemm") => {
            g.inits.get(n.inputs.get(1)?).and_then(|(t, _)| (t.shape.len() == 2).then(|| if n.int("transB", 0) != 0 { t.shape[1] } else { t.shape[0] }))
        }
        ("ai.onnx.ml", "LinearClassifier") => {
            let coef = n.floats("coefficients")?.len();
            let icp = n.floats("intercepts").map_or(0, |v| v.len());
            let targets = if icp > 0 { icp } else { ops::class_labels(n).map_or(1, |l| if l.len() == 2 { 1 } else { l.len() }) };
            (targets > 0 && coef % targets == 0).then_some(coef / targets)
        }
        ("ai.onnx.ml", "TreeEnsembleClassifier") => {
            let f = n.ints("nodes_featureids")?;
            let modes = n.strings("nodes_modes")?;
            let used = f.iter().zip(modes).filter(|(_, m)| *m != "LEAF").map(|(&v, _)| v).max().unwrap_or(0);
            // The trees may not read the last columns: the preprocessing's width wins when known.
            let declared =
                g.inputs.first().filter(|d| g.inputs.len() == 1 && n.inputs.first() == Some(&d.name)).and_then(|d| d.dims.as_ref()?.get(1).copied().flatten());
            Some(declared.unwrap_or(usize::try_from(used).ok()? + 1))
        }
        _ => None,
    }
}

/// The network part (`nodes` after the cut, the estimator `est` among them) as a standard ONNX
/// model: input `cut` of `width` floats per record, output `readout` (a LinearClassifier
/// becomes the Gemm it computes; for a two-row binary one, only its positive row).
fn network_bytes(g: &HostGraph, nodes: &[usize], est: usize, cut: &str, width: usize, readout: &str, column: Option<usize>) -> Result<Vec<u8>> {
    use crate::model::proto::{put_bytes, put_varint};
    let mut graph = Vec::new();
    let mut inits_used: Vec<&str> = Vec::new();
    let tensor = |name: &str, dims: &[usize], v: &[f32]| -> Vec<u8> {
        let mut t = Vec::new();
        for &d in dims {
            put_varint(&mut t, 1 << 3);
            put_varint(&mut t, d as u64);
        }
        put_varint(&mut t, 2 << 3);
        put_varint(&mut t, 1);
        put_bytes(&mut t, 8, name.as_bytes());
        let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        put_bytes(&mut t, 9, &raw);
        t
    };
    let mut extra_inits = Vec::new();
    let mut output = readout.to_string();
    for &i in nodes {
        let n = &g.nodes[i];
        if i == est && n.op == "LinearClassifier" {
            let bad = |m: String| AuditError::model(&g.file, m);
            let coef = n.floats("coefficients").ok_or_else(|| bad("no coefficients".into()))?;
            let targets = coef.len() / width.max(1);
            let icp = n.floats("intercepts").unwrap_or_else(|| vec![0.0; targets]);
            let (w, b): (Vec<f32>, Vec<f32>) = match column {
                Some(c) => (coef[c * width..(c + 1) * width].to_vec(), vec![icp.get(c).copied().unwrap_or(0.0)]),
                None => (coef.clone(), icp.clone()),
            };
            let rows = b.len();
            let (wn, bn) = (format!("{}#coefficients", n.name), format!("{}#intercepts", n.name));
            extra_inits.push(tensor(&wn, &[rows, width], &w));
            extra_inits.push(tensor(&bn, &[rows], &b));
            output = format!("{}#logits", n.name);
            let mut node = Vec::new();
            for s in [cut, wn.as_str(), bn.as_str()] {
                put_bytes(&mut node, 1, s.as_bytes());
            }
            put_bytes(&mut node, 2, output.as_bytes());
            put_bytes(&mut node, 3, format!("{}_as_gemm", n.name).as_bytes());
            put_bytes(&mut node, 4, b"Gemm");
            let mut attr = Vec::new();
            put_bytes(&mut attr, 1, b"transB");
            put_varint(&mut attr, 3 << 3);
            put_varint(&mut attr, 1);
            put_varint(&mut attr, 20 << 3);
            put_varint(&mut attr, 2);
            put_bytes(&mut node, 5, &attr);
            put_bytes(&mut graph, 1, &node);
            continue;
        }
        put_bytes(&mut graph, 1, &n.raw);
        for inp in &n.inputs {
            if g.inits.contains_key(inp) && !inits_used.contains(&inp.as_str()) {
                inits_used.push(inp);
            }
        }
    }
    put_bytes(&mut graph, 2, b"privaudit-network");
    for name in inits_used {
        put_bytes(&mut graph, 5, &g.inits[name].1);
    }
    for t in extra_inits {
        put_bytes(&mut graph, 5, &t);
    }
    let value_info = |name: &str, dims: &[Option<usize>]| -> Vec<u8> {
        let mut shape = Vec::new();
        for (k, d) in dims.iter().enumerate() {
            let mut dim = Vec::new();
            match d {
                Some(v) => {
                    put_varint(&mut dim, 1 << 3);
                    put_varint(&mut dim, *v as u64);
                }
                None => put_bytes(&mut dim, 2, if k == 0 { b"N" } else { b"C" }),
            }
            put_bytes(&mut shape, 1, &dim);
        }
        let mut tt = Vec::new();
        put_varint(&mut tt, 1 << 3);
        put_varint(&mut tt, 1);
        put_bytes(&mut tt, 2, &shape);
        let mut ty = Vec::new();
        put_bytes(&mut ty, 1, &tt);
        let mut vi = Vec::new();
        put_bytes(&mut vi, 1, name.as_bytes());
        put_bytes(&mut vi, 2, &ty);
        vi
    };
    put_bytes(&mut graph, 11, &value_info(cut, &[None, Some(width)]));
    put_bytes(&mut graph, 12, &value_info(&output, &[None, None]));
    let mut model = Vec::new();
    put_varint(&mut model, 1 << 3);
    put_varint(&mut model, 8); // ir_version
    let mut opset = Vec::new();
    put_bytes(&mut opset, 1, b"");
    put_varint(&mut opset, 2 << 3);
    put_varint(&mut opset, g.opset.unwrap_or(13).max(7) as u64);
    put_bytes(&mut model, 8, &opset);
    put_bytes(&mut model, 7, &graph);
    Ok(model)
}

/// The model bytes of a network pipeline's estimator, as an input file named after the model.
pub fn network_file(p: &Pipeline) -> Option<InputFile> {
    p.network.as_ref().map(|b| InputFile::new(p.file.clone(), b.clone()))
}
