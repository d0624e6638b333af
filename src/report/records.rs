//! What the report says about single records and groups of them: the most exposed members
//! and the false positives beside them, the metrics per slice, and duplicate records.

use crate::metrics::{AttackMetrics, Intervals, StatisticsSettings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The records the strongest attack is most sure are members.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Exposure {
    /// The attack that ranks them: the verdict's strongest.
    pub attack: String,
    /// The members it scores highest, most exposed first.
    pub members: Vec<ExposedRecord>,
    /// The non-members it scores highest (false positives: they look like members).
    pub false_positives: Vec<ExposedRecord>,
    /// How a percentile is computed.
    pub percentile_note: String,
}

/// One record in the exposure tables.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExposedRecord {
    /// "members" or "nonmembers".
    pub set: String,
    /// 1-based data row in that set.
    pub row: usize,
    /// Its name (an image's path), if it has one.
    pub id: Option<String>,
    /// Rank by the ranking attack's score among every audited record: 1 + the number of
    /// records scoring strictly higher (ties share a rank).
    pub rank: usize,
    /// Its label.
    pub label: usize,
    /// The model's predicted class (arg-max of its outputs; the first on ties).
    pub predicted: usize,
    /// Whether the prediction equals the label.
    pub correct: bool,
    /// The model's cross-entropy loss on it, −log p(label).
    pub loss: f64,
    /// Every attack's score.
    pub scores: BTreeMap<String, f64>,
    /// Every attack's score as a percentile of the non-members' scores (0–100).
    pub percentiles: BTreeMap<String, f64>,
    /// The first feature values as the model received them, after `scale` and `shift`
    /// (tables; at most [`PREVIEW_VALUES`]); empty for images, which are shown by their `id`.
    pub preview: Vec<f64>,
    /// With reference models: where the target's φ falls among the references' φ.
    pub references: Option<ReferenceView>,
}

/// The target's LiRA signal φ on one record beside the reference models' φ.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReferenceView {
    /// The target's φ = log p_y − log Σ_{i≠y} p_i.
    pub target: f64,
    /// φ of the references that trained on it (online mode; empty offline).
    #[serde(rename = "in")]
    pub inside: Vec<f64>,
    /// φ of the references that did not.
    pub out: Vec<f64>,
}

/// Feature values shown per tabular record.
pub const PREVIEW_VALUES: usize = 8;

/// Score percentile against the non-members, as `scipy.stats.percentileofscore(non, s,
/// kind="mean")`: 100 × (#below + #equal / 2) / N.
pub fn percentile_of(sorted_non: &[f64], s: f64) -> f64 {
    let below = sorted_non.partition_point(|&v| v < s);
    let upto = sorted_non.partition_point(|&v| v <= s);
    100.0 * (below as f64 + (upto - below) as f64 / 2.0) / sorted_non.len().max(1) as f64
}

/// Candidates in ranking order by `scores` (highest first; ties in candidate order) and each
/// one's competition rank.
pub fn ranking(scores: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut rank = vec![0; scores.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i] = if pos > 0 && scores[order[pos - 1]] == scores[i] { rank[order[pos - 1]] } else { pos + 1 };
    }
    (order, rank)
}

/// Metrics of one group of records.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Slice {
    /// "class", "correctness", "loss_quartile" or "column".
    pub kind: String,
    /// What the records share, e.g. "class 3 (cat)", "misclassified", "loss quartile 4 (highest)", "region = north".
    pub name: String,
    /// Members in the slice.
    pub members: usize,
    /// Non-members in the slice.
    pub nonmembers: usize,
    /// Fewer than [`SMALL_SLICE`] members or non-members: its metrics are very noisy.
    pub small: bool,
    /// Every attack's metrics on the slice alone (empty when it has no members or no
    /// non-members, and `note` says so).
    pub attacks: Vec<SliceAttack>,
    /// Why there are no metrics, if there are none.
    pub note: Option<String>,
}

/// One attack's metrics on a slice: the same numbers as an audit of that slice alone.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SliceAttack {
    /// The attack.
    pub name: String,
    /// AUC.
    pub auc: f64,
    /// TPR at each FPR level.
    pub tpr_at_fpr: BTreeMap<String, f64>,
    /// max(TPR − FPR).
    pub advantage: f64,
    /// Precision at the best-advantage threshold.
    pub ppv: Option<f64>,
    /// Bootstrap intervals, drawn as an audit of the slice alone would draw them.
    pub ci: Option<Intervals>,
    /// The ROC ε lower bound (heuristic unless membership was randomised).
    pub epsilon: f64,
}

/// A slice with fewer members or non-members than this is flagged small.
pub const SMALL_SLICE: usize = 50;

/// The metrics of one slice: `rows` indexes the candidates (`columns[a][c]`, `is_member[c]`).
#[allow(clippy::too_many_arguments)]
///
/// # Errors
/// A non-finite score (cannot happen after the full audit's metrics succeeded).
pub fn slice(
    kind: &str,
    name: String,
    rows: &[usize],
    names: &[&str],
    columns: &[Vec<f64>],
    is_member: &[bool],
    stats: &StatisticsSettings,
    seed: u64,
) -> crate::Result<Slice> {
    let members = rows.iter().filter(|&&c| is_member[c]).count();
    let nonmembers = rows.len() - members;
    let mut s =
        Slice { kind: kind.into(), name, members, nonmembers, small: members < SMALL_SLICE || nonmembers < SMALL_SLICE, attacks: Vec::new(), note: None };
    if members == 0 || nonmembers == 0 {
        s.note = Some(format!("no metrics: the slice has {members} members and {nonmembers} non-members; an attack needs both"));
        return Ok(s);
    }
    let sub: Vec<Vec<f64>> = columns.iter().map(|col| rows.iter().map(|&c| col[c]).collect()).collect();
    let m: Vec<bool> = rows.iter().map(|&c| is_member[c]).collect();
    let metrics = AttackMetrics::compute_all(names, &sub, &m, stats, seed)?;
    s.attacks = names
        .iter()
        .zip(metrics)
        .map(|(n, a)| SliceAttack {
            name: (*n).into(),
            auc: a.auc,
            tpr_at_fpr: a.tpr_at_fpr,
            advantage: a.advantage,
            ppv: a.ppv,
            ci: a.ci,
            epsilon: a.epsilon.roc.epsilon,
        })
        .collect();
    Ok(s)
}

/// Duplicate records among the members and between members and non-members.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DuplicateInfo {
    /// How they were found, with the thresholds.
    pub method: String,
    /// Members with an exact copy among the other members.
    pub exact_within_members: usize,
    /// Non-members identical to a member.
    pub exact_members_in_nonmembers: usize,
    /// Members with a near copy among the other members (images; null for tables).
    pub near_within_members: Option<usize>,
    /// Non-members nearly identical to a member (images; null for tables).
    pub near_members_in_nonmembers: Option<usize>,
    /// Hash buckets too large to compare pair by pair (each record was compared with its
    /// 64 nearest by hash): a near duplicate inside one can be missed.
    pub capped_buckets: usize,
    /// Up to 10 pairs found.
    pub examples: Vec<DuplicateExample>,
    /// Non-members dropped because they copy a member (`dropDuplicates`).
    pub dropped_nonmembers: usize,
    /// The strongest attack on duplicated vs unique members.
    pub exposure: Option<DuplicateExposure>,
    /// Wall time of the search, in seconds.
    pub seconds: f64,
}

/// One duplicate pair.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DuplicateExample {
    /// "exact" or "near".
    pub kind: String,
    /// The member.
    pub a: RecordRef,
    /// Its copy (a member or a non-member).
    pub b: RecordRef,
    /// The difference hashes' distance in bits (near pairs).
    pub hash_distance: Option<u32>,
}

/// A record by its place in its set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordRef {
    /// "members" or "nonmembers".
    pub set: String,
    /// 1-based data row.
    pub row: usize,
    /// Its name (an image's path), if it has one.
    pub id: Option<String>,
}

/// How exposed duplicated members are next to unique ones, by the strongest attack: each
/// group of members against all audited non-members.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DuplicateExposure {
    /// The attack.
    pub attack: String,
    /// Members with a copy.
    pub duplicated: usize,
    /// Members without one.
    pub unique: usize,
    /// AUC of the duplicated members against the non-members (null with none).
    pub auc_duplicated: Option<f64>,
    /// AUC of the unique members against the non-members (null with none).
    pub auc_unique: Option<f64>,
    /// Mean score percentile (against the non-members) of the duplicated members.
    pub mean_percentile_duplicated: Option<f64>,
    /// Mean score percentile of the unique members.
    pub mean_percentile_unique: Option<f64>,
}

/// A record's name in text: its path, or its set and row.
fn who(set: &str, row: usize, id: Option<&String>) -> String {
    id.cloned().unwrap_or_else(|| format!("{} row {row}", if set == "members" { "member" } else { "non-member" }))
}

/// The exposure, slices and duplicates as text for terminals.
pub fn records_text(r: &super::AuditReport) -> String {
    let mut s = String::new();
    let e = &r.exposure;
    let show = e.members.len().min(5);
    if show > 0 {
        s.push_str(&format!("\nmost exposed members ({}; {} of {} listed in the report):\n", e.attack, show, e.members.len()));
        for x in &e.members[..show] {
            s.push_str(&format!(
                "  #{:<5} {:<40} score {:>11}  percentile {:>6.2}  label {} predicted {}  loss {}\n",
                x.rank,
                who(&x.set, x.row, x.id.as_ref()),
                super::format::num(x.scores.get(&e.attack).copied().unwrap_or(f64::NAN)),
                x.percentiles.get(&e.attack).copied().unwrap_or(f64::NAN),
                x.label,
                x.predicted,
                super::format::num(x.loss)
            ));
        }
        if let Some(fp) = e.false_positives.first() {
            s.push_str(&format!("  the non-member it takes most for a member: {} (rank {})\n", who(&fp.set, fp.row, fp.id.as_ref()), fp.rank));
        }
    }
    if !r.slices.is_empty() {
        s.push_str(&format!("\nslices ({}; * small):\n", e.attack));
        for sl in &r.slices {
            let m = sl.attacks.iter().find(|a| a.name == e.attack).map_or_else(
                || sl.note.clone().unwrap_or_default(),
                |a| {
                    let ci = a.ci.as_ref().map(|c| format!(" [{:.3}, {:.3}]", c.auc[0], c.auc[1])).unwrap_or_default();
                    format!("AUC {:.3}{ci}  TPR@1% {:.3}", a.auc, a.tpr_at_fpr.get("0.01").copied().unwrap_or(0.0))
                },
            );
            s.push_str(&format!("  {:<46}{:>6} / {:<6} {m}\n", format!("{}{}", sl.name, if sl.small { " *" } else { "" }), sl.members, sl.nonmembers));
        }
    }
    if let Some(d) = &r.duplicates {
        s.push_str(&format!("\n{}\n", duplicates_line(d)));
    }
    s
}

/// One sentence on the duplicates.
pub fn duplicates_line(d: &DuplicateInfo) -> String {
    let near = |v: Option<usize>| v.map(|n| format!(", {n} nearly")).unwrap_or_default();
    let mut s = format!(
        "duplicates: {} members copied among the members{}; {} non-members copy a member{}",
        d.exact_within_members,
        near(d.near_within_members),
        d.exact_members_in_nonmembers,
        near(d.near_members_in_nonmembers)
    );
    if d.dropped_nonmembers > 0 {
        s.push_str(&format!(" ({} dropped)", d.dropped_nonmembers));
    }
    if let Some(x) = d.exposure.as_ref().filter(|x| x.duplicated > 0) {
        let f = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.3}"));
        s.push_str(&format!(
            "; {}: AUC {} on the {} duplicated members vs {} on the {} unique",
            x.attack,
            f(x.auc_duplicated),
            x.duplicated,
            f(x.auc_unique),
            x.unique
        ));
    }
    s
}

/// The exposure tables, the slices table and chart, and the duplicates, as HTML sections.
pub fn records_html(r: &super::AuditReport) -> String {
    use super::escape;
    let e = &r.exposure;
    let names: Vec<&String> = r.attacks.iter().map(|a| &a.name).collect();
    let num = super::format::num;
    let table = |caption: &str, list: &[ExposedRecord]| {
        let head: String = names.iter().map(|n| format!("<th scope=\"col\">score: {}</th>", escape(n))).collect();
        let rows: String = list
            .iter()
            .map(|x| {
                let preview = if x.preview.is_empty() {
                    String::new()
                } else {
                    format!("<br><small>{}</small>", x.preview.iter().map(|v| num(*v)).collect::<Vec<_>>().join(", "))
                };
                let cells: String = names
                    .iter()
                    .map(|n| {
                        format!(
                            "<td>{}<br><small>{:.1} %</small></td>",
                            num(x.scores.get(*n).copied().unwrap_or(f64::NAN)),
                            x.percentiles.get(*n).copied().unwrap_or(f64::NAN)
                        )
                    })
                    .collect();
                format!(
                    "<tr><td>{}</td><th scope=\"row\">{}{preview}</th><td>{}</td><td>{}{}</td><td>{}</td>{cells}</tr>",
                    x.rank,
                    escape(&who(&x.set, x.row, x.id.as_ref())),
                    x.label,
                    x.predicted,
                    if x.correct { "" } else { " ✗" },
                    num(x.loss)
                )
            })
            .collect();
        format!(
            "<table class=\"records\"><caption>{}</caption><thead><tr><th scope=\"col\">rank</th><th scope=\"col\">record</th><th scope=\"col\">label</th><th scope=\"col\">predicted</th><th scope=\"col\">model's loss</th>{head}</tr></thead><tbody>{rows}</tbody></table>",
            escape(caption)
        )
    };
    let mut s = String::new();
    if !e.members.is_empty() {
        s.push_str(&format!(
            "<section><h2>The most exposed records</h2>{}{}<p><small>{}</small></p></section>",
            table(
                &format!(
                    "The {} members {} scores highest. Rank: position among all {} audited records by {}'s score (1 = most likely a member; tied scores share a rank, so ranks can jump). Rows count from 1 in each file, without its header. Model's loss: −log p(label). Then each attack's score (higher = more likely a member) and its percentile among the non-members' scores.",
                    e.members.len(),
                    e.attack,
                    r.data.members + r.data.nonmembers,
                    e.attack
                ),
                &e.members
            ),
            table(
                &format!("False positives: the {} non-members {} scores highest (they look like members).", e.false_positives.len(), e.attack),
                &e.false_positives
            ),
            escape(&e.percentile_note)
        ));
    }
    if !r.slices.is_empty() {
        let head: String =
            ["slice", "members", "non-members", "AUC", "TPR@1%", "TPR@0.1%", "advantage", "ε (ROC)"].iter().map(|h| format!("<th>{h}</th>")).collect();
        let iv =
            |v: f64, ci: Option<super::Interval>| format!("{v:.3}{}", ci.map(|c| format!("<br><small>{:.3}–{:.3}</small>", c[0], c[1])).unwrap_or_default());
        let rows: String = r
            .slices
            .iter()
            .map(|sl| {
                let cells = sl.attacks.iter().find(|a| a.name == e.attack).map_or_else(
                    || format!("<td colspan=\"5\">{}</td>", escape(sl.note.as_deref().unwrap_or(""))),
                    |a| {
                        let t = |k: &str| iv(a.tpr_at_fpr.get(k).copied().unwrap_or(0.0), a.ci.as_ref().and_then(|c| c.tpr_at_fpr.get(k).copied()));
                        format!(
                            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td>",
                            iv(a.auc, a.ci.as_ref().map(|c| c.auc)),
                            t("0.01"),
                            t("0.001"),
                            iv(a.advantage, a.ci.as_ref().map(|c| c.advantage)),
                            a.epsilon
                        )
                    },
                );
                format!(
                    "<tr{}><th scope=\"row\">{}{}</th><td>{}</td><td>{}</td>{cells}</tr>",
                    if sl.small { " class=\"small\"" } else { "" },
                    escape(&sl.name),
                    if sl.small { " (small)" } else { "" },
                    sl.members,
                    sl.nonmembers
                )
            })
            .collect();
        s.push_str(&format!(
            "<section><h2>Slices</h2><table class=\"slices\"><caption>{} on each slice alone, with its interval; small: fewer than {SMALL_SLICE} members or non-members. Every attack's numbers per slice are in the JSON.</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{}</section>",
            escape(&e.attack),
            super::slices_svg(r)
        ));
    }
    if let Some(d) = &r.duplicates {
        let ex: String = d
            .examples
            .iter()
            .map(|p| {
                format!(
                    "<li>{}: {} and {}{}</li>",
                    p.kind,
                    escape(&who(&p.a.set, p.a.row, p.a.id.as_ref())),
                    escape(&who(&p.b.set, p.b.row, p.b.id.as_ref())),
                    p.hash_distance.map(|h| format!(" ({h} bits apart)")).unwrap_or_default()
                )
            })
            .collect();
        s.push_str(&format!(
            "<section><h2>Duplicates</h2><p>{}</p><ul>{ex}</ul><p><small>{}</small></p></section>",
            escape(&duplicates_line(d)),
            escape(&d.method)
        ));
    }
    s
}
