//! Stage 6, per record: the most exposed members and the false positives beside them, the
//! metrics per slice, and how exposed duplicated members are next to unique ones.

use super::{plan::Plan, population::Split, target::Records, target::TargetOutputs};
use crate::attacks::ReferenceSet;
use crate::error::Result;
use crate::metrics::RocCurve;
use crate::report::DuplicateExposure;
use crate::report::format::num;
use crate::report::records::{self, ExposedRecord, Exposure, PREVIEW_VALUES, ReferenceView, Slice};
use crate::signals::Signals;

/// Everything the per-record sections read. Candidates are indexed `c` (members, then the
/// audited non-members); records globally `i = split.candidates[c]`.
pub(super) struct Inputs<'a> {
    pub plan: &'a Plan,
    pub records: &'a Records,
    pub target: &'a TargetOutputs,
    pub target_signals: &'a Signals,
    pub split: &'a Split,
    pub set: Option<&'a ReferenceSet>,
    pub columns: &'a [Vec<f64>],
    pub is_member: &'a [bool],
    pub names: Vec<&'a str>,
}

impl Inputs<'_> {
    /// The model's class for record `i`: the arg-max of its outputs, the first on ties.
    pub fn predicted(&self, i: usize) -> usize {
        let row = self.target.logits.row(i);
        (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b })
    }

    /// The `plan.opts.exposed` members the attack `a` scores highest, and as many non-members,
    /// from its [`records::ranking`] (`order`, `rank`).
    pub fn exposure(&self, a: usize, (order, rank): (&[usize], &[usize])) -> Exposure {
        let sorted_non: Vec<Vec<f64>> = self
            .columns
            .iter()
            .map(|col| {
                let mut v: Vec<f64> = col.iter().zip(self.is_member).filter(|(_, m)| !**m).map(|(s, _)| *s).collect();
                v.sort_by(f64::total_cmp);
                v
            })
            .collect();
        let top = self.plan.opts.exposed as usize;
        let pick = |member: bool| -> Vec<ExposedRecord> {
            order.iter().filter(|&&c| self.is_member[c] == member).take(top).map(|&c| self.record(c, rank[c], &sorted_non)).collect()
        };
        Exposure {
            attack: self.names[a].into(),
            members: pick(true),
            false_positives: pick(false),
            percentile_note: "each score's percentile among the audited non-members' scores of that attack: 100 × (number below + half the number equal) / N, as scipy.stats.percentileofscore(kind=\"mean\")".into(),
        }
    }

    fn record(&self, c: usize, rank: usize, sorted_non: &[Vec<f64>]) -> ExposedRecord {
        let i = self.split.candidates[c];
        let (t, r) = self.records.locate(i);
        let table = &self.records.tables[t];
        let preview = if self.records.images.is_some() || self.target.features.is_none() {
            Vec::new()
        } else {
            table.row(r).iter().take(PREVIEW_VALUES).copied().collect()
        };
        let references = self.set.filter(|s| !s.refs.is_empty()).map(|s| {
            let (mut inside, mut out) = (Vec::new(), Vec::new());
            for (k, m) in s.refs.iter().zip(&s.member) {
                if m[c] { inside.push(k.phi[c]) } else { out.push(k.phi[c]) }
            }
            ReferenceView { target: s.target.phi[c], inside, out }
        });
        ExposedRecord {
            set: if t == 0 { "members" } else { "nonmembers" }.into(),
            row: r + 1,
            id: table.ids.get(r).cloned(),
            rank,
            label: self.records.labels[i],
            predicted: self.predicted(i),
            correct: self.target_signals.correct[i],
            loss: self.target_signals.loss[i],
            scores: self.names.iter().zip(self.columns).map(|(n, col)| ((*n).to_string(), col[c])).collect(),
            percentiles: self
                .names
                .iter()
                .zip(self.columns)
                .zip(sorted_non)
                .map(|((n, col), s)| ((*n).to_string(), records::percentile_of(s, col[c])))
                .collect(),
            preview,
            references,
        }
    }

    /// Every attack's metrics per class, per correct or not, per loss quartile and per value
    /// of the slice column.
    ///
    /// # Errors
    /// None in practice: the scores were already checked by the full audit's metrics.
    pub fn slices(&self) -> Result<Vec<Slice>> {
        let cands = &self.split.candidates;
        let stats = &self.plan.opts.statistics;
        let seed = self.plan.opts.seed;
        let one = |kind: &str, name: String, keep: &dyn Fn(usize) -> bool| -> Result<Slice> {
            let rows: Vec<usize> = (0..cands.len()).filter(|&c| keep(cands[c])).collect();
            records::slice(kind, name, &rows, &self.names, self.columns, self.is_member, stats, seed)
        };
        let mut out = Vec::new();
        let mut classes: Vec<usize> = cands.iter().map(|&i| self.records.labels[i]).collect();
        classes.sort_unstable();
        classes.dedup();
        let class_names = self.records.images.as_ref().map(|m| &m.class_names);
        for k in classes {
            let name = match class_names.and_then(|n| n.get(k)) {
                Some(n) if n != &k.to_string() => format!("class {k} ({n})"),
                _ => format!("class {k}"),
            };
            out.push(one("class", name, &|i| self.records.labels[i] == k)?);
        }
        let correct = &self.target_signals.correct;
        out.push(one("correctness", "correctly classified".into(), &|i| correct[i])?);
        out.push(one("correctness", "misclassified".into(), &|i| !correct[i])?);
        let loss = &self.target_signals.loss;
        let mut sorted: Vec<f64> = cands.iter().map(|&i| loss[i]).collect();
        sorted.sort_by(f64::total_cmp);
        let cuts = [0.25, 0.5, 0.75].map(|q| crate::metrics::bootstrap::quantile(&sorted, q));
        let quartile = |v: f64| cuts.iter().filter(|&&t| v > t).count();
        for q in 0..4 {
            let range = match q {
                0 => format!("lowest, ≤ {}", num(cuts[0])),
                3 => format!("highest, > {}", num(cuts[2])),
                _ => format!("{} to {}", num(cuts[q - 1]), num(cuts[q])),
            };
            out.push(one("loss_quartile", format!("loss quartile {} ({range})", q + 1), &|i| quartile(loss[i]) == q)?);
        }
        if let Some(col) = &self.records.slice_name {
            let group = |i: usize| {
                let (t, r) = self.records.locate(i);
                self.records.tables[t].groups[r].as_str()
            };
            let mut values: Vec<&str> = cands.iter().map(|&i| group(i)).collect();
            values.sort_unstable();
            values.dedup();
            for v in values {
                out.push(one("column", format!("{col} = {v}"), &|i| group(i) == v)?);
            }
        }
        Ok(out)
    }

    /// The attack `a` on members with a copy vs members without, each against all audited
    /// non-members.
    pub fn duplicate_exposure(&self, a: usize, duplicated: &[bool]) -> DuplicateExposure {
        let col = &self.columns[a];
        let mut non: Vec<f64> = col.iter().zip(self.is_member).filter(|(_, m)| !**m).map(|(s, _)| *s).collect();
        non.sort_by(f64::total_cmp);
        let group = |dup: bool| -> (usize, Option<f64>, Option<f64>) {
            let members: Vec<usize> = (0..duplicated.len()).filter(|&c| duplicated[c] == dup).collect();
            if members.is_empty() || non.is_empty() {
                return (members.len(), None, None);
            }
            let scores: Vec<f64> = members.iter().map(|&c| col[c]).chain(non.iter().copied()).collect();
            let labels: Vec<bool> = members.iter().map(|_| true).chain(non.iter().map(|_| false)).collect();
            let auc = RocCurve::new(&scores, &labels).ok().map(|r| r.auc());
            let mean = members.iter().map(|&c| records::percentile_of(&non, col[c])).sum::<f64>() / members.len() as f64;
            (members.len(), auc, Some(mean))
        };
        let (d, auc_d, pct_d) = group(true);
        let (u, auc_u, pct_u) = group(false);
        DuplicateExposure {
            attack: self.names[a].into(),
            duplicated: d,
            unique: u,
            auc_duplicated: auc_d,
            auc_unique: auc_u,
            mean_percentile_duplicated: pct_d,
            mean_percentile_unique: pct_u,
        }
    }
}
