//! `ai.onnx.ml.TreeEnsembleClassifier`, evaluated as onnxruntime's CPU kernel does: each tree
//! walked from its root (a node's first appearance in the file) by its branch modes, the leaf
//! weights of every tree summed per class in f32, `base_values` added, then the binary case
//! (one class id among two classes: the single score is the positive class's) and the
//! `post_transform`. Random forests (skl2onnx averages by dividing the weights), gradient
//! boosting (skl2onnx, and LightGBM/XGBoost through onnxmltools) all arrive as this operator.
//!
//! The walk is bounded by the tree's node count: a file whose child ids loop, or point at a
//! node that does not exist, is an error, never a hang.

use super::graph::HostNode;
use super::ops::{Bad, class_labels, post_transform};
use super::value::Data;
use crate::error::Result;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

struct Node {
    mode: Mode,
    feature: usize,
    value: f32,
    yes: usize,
    no: usize,
    missing_yes: bool,
    /// (class, weight) of a leaf.
    weights: Vec<(usize, f32)>,
}

/// A parsed ensemble.
pub(crate) struct TreeEnsemble {
    nodes: Vec<Node>,
    /// Root node and node count of each tree.
    roots: Vec<(usize, usize)>,
    pub labels: Data,
    base: Vec<f32>,
    post: String,
    /// Two classes, one class id in the weights.
    pub binary: bool,
    /// Every weight ≥ 0 (onnxruntime then writes (1 − s, s) rather than (−s, s) in the binary case).
    positive: bool,
    /// The widest feature index + 1.
    pub features: usize,
}

impl TreeEnsemble {
    pub(crate) fn from_node(node: &HostNode, bad: Bad<'_>) -> Result<Self> {
        let ints = |k: &str| node.ints(k).map(<[i64]>::to_vec).ok_or_else(|| bad(format!("attribute {k} is missing")));
        let tree = ints("nodes_treeids")?;
        let ids = ints("nodes_nodeids")?;
        let feat = ints("nodes_featureids")?;
        let yes = ints("nodes_truenodeids")?;
        let no = ints("nodes_falsenodeids")?;
        let modes = node.strings("nodes_modes").ok_or_else(|| bad("attribute nodes_modes is missing".into()))?;
        let values = node.floats_or_tensor("nodes_values").unwrap_or_else(|| vec![0.0; tree.len()]);
        let missing = node.ints("nodes_missing_value_tracks_true").map(<[i64]>::to_vec).unwrap_or_else(|| vec![0; tree.len()]);
        let n = tree.len();
        for (k, len) in [
            ("nodes_nodeids", ids.len()),
            ("nodes_featureids", feat.len()),
            ("nodes_truenodeids", yes.len()),
            ("nodes_falsenodeids", no.len()),
            ("nodes_modes", modes.len()),
            ("nodes_values", values.len()),
            ("nodes_missing_value_tracks_true", missing.len()),
        ] {
            if len != n {
                return Err(bad(format!("{k} has {len} entries but nodes_treeids has {n}")));
            }
        }
        let labels = class_labels(node).ok_or_else(|| bad("no classlabels_int64s or classlabels_strings".into()))?;
        let classes = labels.len();
        if classes == 0 {
            return Err(bad("no classes".into()));
        }
        // (tree, node id) → position, sorted for binary search.
        let mut sorted: Vec<((i64, i64), usize)> = (0..n).map(|k| ((tree[k], ids[k]), k)).collect();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(bad(format!("tree {} has two nodes with id {}", w[0].0.0, w[0].0.1)));
        }
        let find = |t: i64, id: i64| sorted.binary_search_by_key(&(t, id), |e| e.0).ok().map(|i| sorted[i].1);
        let mut features = 0;
        let mut nodes = Vec::with_capacity(n);
        for k in 0..n {
            let mode = match modes[k].as_str() {
                "BRANCH_LEQ" => Mode::Leq,
                "BRANCH_LT" => Mode::Lt,
                "BRANCH_GTE" => Mode::Gte,
                "BRANCH_GT" => Mode::Gt,
                "BRANCH_EQ" => Mode::Eq,
                "BRANCH_NEQ" => Mode::Neq,
                "LEAF" => Mode::Leaf,
                other => return Err(bad(format!("node mode '{}' is not a branch mode or LEAF", crate::limits::quote(other)))),
            };
            let child = |c: i64| -> Result<usize> {
                if mode == Mode::Leaf {
                    return Ok(0);
                }
                find(tree[k], c).ok_or_else(|| bad(format!("tree {}: node {} points to node {c}, which does not exist", tree[k], ids[k])))
            };
            let feature = if mode == Mode::Leaf {
                0
            } else {
                usize::try_from(feat[k])
                    .ok()
                    .filter(|&f| f < crate::limits::MAX_COLUMNS)
                    .ok_or_else(|| bad(format!("feature id {} is out of range", feat[k])))?
            };
            if mode != Mode::Leaf {
                features = features.max(feature + 1);
            }
            nodes.push(Node { mode, feature, value: values[k], yes: child(yes[k])?, no: child(no[k])?, missing_yes: missing[k] != 0, weights: Vec::new() });
        }
        let ct = ints("class_treeids")?;
        let cn = ints("class_nodeids")?;
        let ci = ints("class_ids")?;
        let cw = node.floats_or_tensor("class_weights").ok_or_else(|| bad("attribute class_weights is missing".into()))?;
        if cn.len() != ct.len() || ci.len() != ct.len() || cw.len() != ct.len() {
            return Err(bad("class_treeids, class_nodeids, class_ids and class_weights differ in length".into()));
        }
        let mut used = vec![false; classes];
        for k in 0..ct.len() {
            let leaf = find(ct[k], cn[k]).ok_or_else(|| bad(format!("a class weight names node {} of tree {}, which does not exist", cn[k], ct[k])))?;
            let class =
                usize::try_from(ci[k]).ok().filter(|&c| c < classes).ok_or_else(|| bad(format!("class id {} is outside the {classes} classes", ci[k])))?;
            used[class] = true;
            nodes[leaf].weights.push((class, cw[k]));
        }
        let mut roots: Vec<(usize, usize)> = Vec::new();
        // Each tree's first node in the file is its root; `seen` lists the trees' ids in the
        // order of their roots.
        let mut seen: Vec<i64> = Vec::new();
        for k in 0..n {
            match seen.iter().position(|&t| t == tree[k]) {
                Some(r) => roots[r].1 += 1,
                None => {
                    seen.push(tree[k]);
                    roots.push((k, 1));
                }
            }
        }
        // A loop anywhere in a tree is refused up front, whether or not a record reaches it:
        // colour depth-first search from each root (0 unvisited, 1 on the path, 2 done).
        let mut colour = vec![0u8; n];
        for &(root, _) in &roots {
            if colour[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, false)];
            while let Some((k, leaving)) = stack.pop() {
                if leaving {
                    colour[k] = 2;
                    continue;
                }
                if colour[k] == 2 {
                    continue;
                }
                colour[k] = 1;
                stack.push((k, true));
                if nodes[k].mode != Mode::Leaf {
                    for c in [nodes[k].yes, nodes[k].no] {
                        match colour[c] {
                            1 => return Err(bad(format!("a tree's branches loop: node {} of tree {} is its own descendant", ids[c], tree[c]))),
                            0 => stack.push((c, false)),
                            _ => {}
                        }
                    }
                }
            }
        }
        let base = node.floats_or_tensor("base_values").unwrap_or_default();
        let binary = classes == 2 && used.iter().filter(|&&u| u).count() == 1;
        let width = if binary { 1 } else { classes };
        if !base.is_empty() && base.len() != width && !(binary && base.len() == 2) {
            return Err(bad(format!("{} base values for {width} scores", base.len())));
        }
        Ok(Self {
            nodes,
            roots,
            labels,
            base,
            post: node.string("post_transform").unwrap_or("NONE").to_string(),
            binary,
            positive: cw.iter().all(|&w| w >= 0.0),
            features,
        })
    }

    /// Columns of [`Self::raw_scores`]: 1 in the binary case, else one per class.
    pub(crate) fn raw_width(&self) -> usize {
        if self.binary { 1 } else { self.labels.len() }
    }

    /// Per record: the summed leaf weights plus base values, before `post_transform`.
    pub(crate) fn raw_scores(&self, x: &[f32], rows: usize, d: usize, bad: Bad<'_>) -> Result<Vec<f32>> {
        if self.features > d {
            return Err(bad(format!("the trees read feature {} but the input has {d}", self.features - 1)));
        }
        let width = self.raw_width();
        let classes = self.labels.len();
        let mut out = vec![0f32; rows * width];
        let mut acc = vec![0f32; classes];
        for r in 0..rows {
            let row = &x[r * d..(r + 1) * d];
            acc.iter_mut().for_each(|a| *a = 0.0);
            for &(root, size) in &self.roots {
                let mut k = root;
                let mut steps = 0;
                loop {
                    let nd = &self.nodes[k];
                    if nd.mode == Mode::Leaf {
                        for &(c, w) in &nd.weights {
                            acc[c] += w;
                        }
                        break;
                    }
                    steps += 1;
                    if steps > size {
                        return Err(bad("a tree's branches loop (a node is its own descendant)".into()));
                    }
                    let v = row[nd.feature];
                    let yes = if v.is_nan() && nd.missing_yes {
                        true
                    } else {
                        match nd.mode {
                            Mode::Leq => v <= nd.value,
                            Mode::Lt => v < nd.value,
                            Mode::Gte => v >= nd.value,
                            Mode::Gt => v > nd.value,
                            Mode::Eq => v == nd.value,
                            Mode::Neq => v != nd.value,
                            Mode::Leaf => false,
                        }
                    };
                    k = if yes { nd.yes } else { nd.no };
                }
            }
            if self.binary {
                let s: f32 = acc.iter().sum::<f32>() + self.base.last().copied().unwrap_or(0.0);
                out[r] = s;
            } else {
                for c in 0..classes {
                    out[r * classes + c] = acc[c] + self.base.get(c).copied().unwrap_or(0.0);
                }
            }
        }
        Ok(out)
    }

    /// The scores output: the binary case widened to two classes, then `post_transform`.
    pub(crate) fn transformed(&self, raw: &[f32], bad: Bad<'_>) -> Result<(Vec<f32>, usize)> {
        if self.binary {
            let mut t = raw.to_vec();
            post_transform(&mut t, 1, &self.post, bad)?;
            let pair = raw
                .iter()
                .zip(&t)
                .flat_map(|(&s, &p)| match (self.post.as_str(), self.positive) {
                    ("LOGISTIC", _) => [1.0 - p, p],
                    (_, true) => [1.0 - s, s],
                    _ => [-s, s],
                })
                .collect();
            return Ok((pair, 2));
        }
        let mut s = raw.to_vec();
        let w = self.labels.len();
        post_transform(&mut s, w, &self.post, bad)?;
        Ok((s, w))
    }
}
