//! The report's per-record sections: the most exposed records (ranks, percentiles, losses and
//! predictions against scipy/numpy in `tests/fixtures/make_records_fixtures.py`), slices (each
//! slice's metrics equal an audit of that slice alone), and duplicates (planted exact and near
//! copies found, none missed, no false ones; dropping them).

use crate::common;
use common::*;
use privaudit::data::{DataSource, InputFile};
use privaudit::report::{AuditReport, Slice};
use privaudit::{AuditInput, AuditOptions, run_audit};

fn audit(input: AuditInput, opts: &AuditOptions) -> privaudit::AuditOutput {
    pollster::block_on(run_audit(input, opts, &mut |_| {})).unwrap()
}

fn csv_source(name: &str, text: String) -> DataSource {
    DataSource { file: InputFile::new(name, text.into_bytes()), labels: None, images: Vec::new() }
}

/// The demo's logits CSVs as (header, rows).
fn logits(name: &str) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let mut lines = text.lines().map(str::to_string);
    (lines.next().unwrap(), lines.filter(|l| !l.is_empty()).collect())
}

fn opts() -> AuditOptions {
    let statistics = privaudit::metrics::StatisticsSettings { bootstrap: 200, ..Default::default() };
    AuditOptions { attacks: vec!["loss".into(), "confidence".into()], statistics, ..Default::default() }
}

#[test]
fn the_most_exposed_records_equal_scipys_ranks_and_percentiles() {
    // Oracle: scipy 1.17 (rankdata, percentileofscore kind="mean", logsumexp) and numpy 2.4.
    let want = json("records_cases.json");
    let input = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
    let o = AuditOptions { attacks: vec!["loss".into()], ..Default::default() };
    let out = audit(input, &o);
    let e = &out.report.exposure;
    assert_eq!(e.attack, "loss");
    for (list, key) in [(&e.members, "members"), (&e.false_positives, "false_positives")] {
        let w = want[key].as_array().unwrap();
        assert_eq!(list.len(), w.len(), "{key}: the default lists 20");
        for (got, w) in list.iter().zip(w) {
            assert_eq!(got.set, w["set"].as_str().unwrap());
            assert_eq!(got.row as u64, w["row"].as_u64().unwrap(), "{key}: the order");
            assert_eq!(got.rank as u64, w["rank"].as_u64().unwrap());
            assert_eq!(got.label as u64, w["label"].as_u64().unwrap());
            assert_eq!(got.predicted as u64, w["predicted"].as_u64().unwrap());
            assert_eq!(got.correct, got.label == got.predicted);
            assert!(close(got.loss, w["loss"].as_f64().unwrap(), 1e-9), "{key} row {}: loss {} vs {}", got.row, got.loss, w["loss"]);
            assert!(close(got.scores["loss"], w["score"].as_f64().unwrap(), 1e-9));
            assert!((got.percentiles["loss"] - w["percentile"].as_f64().unwrap()).abs() < 1e-9, "{key} row {}: percentile", got.row);
            assert!(got.preview.is_empty(), "outputs-only mode has no features to preview");
            assert!(got.references.is_none());
        }
    }
    // The full ranking is in the scores CSV, with the model's loss and prediction.
    let ranks: Vec<u64> = want["rank"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(out.scores.rows.iter().map(|r| r.rank as u64).collect::<Vec<_>>(), ranks);
    let csv = privaudit::report::scores_csv(&out.scores);
    assert!(csv.lines().next().unwrap().ends_with(",loss,model_loss,model_predicted,model_correct,rank"), "{csv:.200}");
    // Configurable length; 0 lists none.
    let few = audit(
        AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))),
        &AuditOptions { exposed: 3, ..o.clone() },
    );
    assert_eq!((few.report.exposure.members.len(), few.report.exposure.false_positives.len()), (3, 3));
    assert_eq!(few.report.exposure.members[..], e.members[..3]);
}

#[test]
fn a_tabular_record_shows_its_first_features_and_an_image_its_path() {
    let m = file(root().join("www/demo/digits_mlp.onnx"));
    let input = AuditInput::model(m, None, source(root().join("www/demo/digits_members.csv")), source(root().join("www/demo/digits_nonmembers.csv")));
    let o = AuditOptions { scale: 1.0 / 16.0, exposed: 2, slices: false, ..Default::default() };
    let out = audit(input, &o);
    let first = &out.report.exposure.members[0];
    let csv = std::fs::read_to_string(root().join("www/demo/digits_members.csv")).unwrap();
    let row: Vec<f64> = csv.lines().nth(first.row).unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let label = header.iter().position(|h| *h == "label").unwrap();
    let features: Vec<f64> = row.iter().enumerate().filter(|(i, _)| *i != label).map(|(_, v)| *v / 16.0).take(8).collect();
    assert_eq!(first.preview, features, "the first 8 feature values as the model received them (after the scale)");
    assert!(out.report.slices.is_empty(), "slices: false");
}

/// The CSV id column names the records: in the exposure tables, the scores CSV (an `id` column)
/// and a slice file by id; it is not a feature. The model's output is shown by the name the file
/// gives it (`logits`, which onnx-ir renames) and the output option takes that name.
#[test]
fn the_id_column_names_the_records_and_the_files_output_name_is_kept() {
    let with_id = |name: &str, prefix: &str| {
        let text = std::fs::read_to_string(root().join("www/demo").join(name)).unwrap();
        let mut lines = text.lines().filter(|l| !l.is_empty());
        let mut out = format!("patient,{}\n", lines.next().unwrap());
        for (i, l) in lines.enumerate() {
            out.push_str(&format!("{prefix}-{:03},{l}\n", i + 1));
        }
        csv_source(name, out)
    };
    let m = file(root().join("www/demo/digits_mlp.onnx"));
    let input = AuditInput::model(m, None, with_id("digits_members.csv", "m"), with_id("digits_nonmembers.csv", "n"));
    let o = AuditOptions { scale: 1.0 / 16.0, id_column: Some("patient".into()), output: Some("logits".into()), ..opts() };
    let out = audit(input, &o);
    let r = &out.report;
    let first = &r.exposure.members[0];
    assert_eq!(first.id.as_deref(), Some(format!("m-{:03}", first.row).as_str()), "the id of that row");
    assert!(r.exposure.false_positives.iter().all(|x| x.id.as_deref().is_some_and(|id| id.starts_with("n-"))));
    let csv = privaudit::report::scores_csv(&out.scores);
    assert!(csv.starts_with("set,row,id,label,member,"), "{:.80}", csv);
    assert!(csv.lines().nth(1).unwrap().starts_with("members,1,m-001,"), "{:.200}", csv);
    assert!(privaudit::report::html(r).contains(&format!("<th scope=\"row\">m-{:03}", first.row)), "the HTML names the record by its id");
    // The same numbers as without the id column (it is not a feature).
    let plain = AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        source(root().join("www/demo/digits_members.csv")),
        source(root().join("www/demo/digits_nonmembers.csv")),
    );
    let base = audit(plain, &AuditOptions { scale: 1.0 / 16.0, ..opts() });
    assert_eq!(base.report.attacks[0].metrics.auc, r.attacks[0].metrics.auc);
    // The file's output name, shown and accepted (and onnx-ir's, as older reports showed it).
    assert_eq!(r.model.reading.as_deref(), Some("output 'logits': the output as logits"));
    let bad = pollster::block_on(run_audit(
        AuditInput::model(
            file(root().join("www/demo/digits_mlp.onnx")),
            None,
            source(root().join("www/demo/digits_members.csv")),
            source(root().join("www/demo/digits_nonmembers.csv")),
        ),
        &AuditOptions { output: Some("scores".into()), ..opts() },
        &mut |_| {},
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(bad.contains("no output 'scores'; the model's outputs are logits"), "{bad}");
}

/// The rows of `(header, rows)` whose index passes `keep`, as a CSV.
fn subset(h: &str, rows: &[String], keep: impl Fn(usize) -> bool) -> String {
    let mut s = format!("{h}\n");
    for (_, r) in rows.iter().enumerate().filter(|(i, _)| keep(*i)) {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn same_slice(s: &Slice, alone: &AuditReport) {
    assert_eq!((s.members, s.nonmembers), (alone.data.members, alone.data.nonmembers), "{}", s.name);
    assert_eq!(s.attacks.len(), alone.attacks.len());
    for (a, b) in s.attacks.iter().zip(&alone.attacks) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.auc, b.metrics.auc, "{} {}", s.name, a.name);
        assert_eq!(a.tpr_at_fpr, b.metrics.tpr_at_fpr);
        assert_eq!(a.advantage, b.metrics.advantage);
        assert_eq!(a.ppv, b.metrics.ppv);
        assert_eq!(a.ci, b.metrics.ci, "{}: the same resamples as an audit of the slice alone", s.name);
        assert_eq!(a.epsilon, b.metrics.epsilon.roc.epsilon);
    }
}

#[test]
fn every_slice_equals_an_audit_of_that_slice_alone() {
    let (h, mem) = logits("digits_members_logits.csv");
    let (_, non) = logits("digits_nonmembers_logits.csv");
    // A slice column, as a user would add one: "group", a for even rows, b for odd ones.
    let with_group = |rows: &[String]| -> String {
        let mut s = format!("{h},group\n");
        for (i, r) in rows.iter().enumerate() {
            s.push_str(&format!("{r},{}\n", if i.is_multiple_of(3) { "a" } else { "b" }));
        }
        s
    };
    let o = AuditOptions { slice_column: Some("group".into()), ..opts() };
    let out = audit(AuditInput::outputs(csv_source("m.csv", with_group(&mem)), csv_source("n.csv", with_group(&non))), &o);
    let r = &out.report;
    // Without the slice column the whole audit is the same (the column is not a feature).
    let plain = audit(AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))), &opts());
    assert_eq!(plain.report.attacks, r.attacks);
    let want = json("records_cases.json");
    let label = h.split(',').position(|c| c == "label").unwrap();
    let label_of = |row: &String| row.split(',').nth(label).unwrap().parse::<usize>().unwrap();
    let alone = |keep_m: &dyn Fn(usize) -> bool, keep_n: &dyn Fn(usize) -> bool| {
        audit(AuditInput::outputs(csv_source("m.csv", subset(&h, &mem, keep_m)), csv_source("n.csv", subset(&h, &non, keep_n))), &opts()).report
    };
    let mut checked = 0;
    for s in &r.slices {
        match s.kind.as_str() {
            "class" => {
                let k: usize = s.name.strip_prefix("class ").unwrap().parse().unwrap();
                let counts = &want["class_counts"][k];
                assert_eq!((s.members as u64, s.nonmembers as u64), (counts[0].as_u64().unwrap(), counts[1].as_u64().unwrap()));
                same_slice(s, &alone(&|i| label_of(&mem[i]) == k, &|i| label_of(&non[i]) == k));
                checked += 1;
            }
            "column" => {
                let g = s.name.strip_prefix("group = ").unwrap();
                let keep = |i: usize| i.is_multiple_of(3) == (g == "a");
                same_slice(s, &alone(&keep, &keep));
                checked += 1;
            }
            "correctness" | "loss_quartile" => {
                // Which rows: the scores CSV's own columns, checked against numpy's cuts below.
                let pick = |member: bool| -> Vec<bool> {
                    out.scores
                        .rows
                        .iter()
                        .filter(|row| row.member == member)
                        .map(|row| match s.kind.as_str() {
                            "correctness" => row.correct == (s.name == "correctly classified"),
                            _ => {
                                let q = s.name.chars().nth("loss quartile ".len()).unwrap().to_digit(10).unwrap() as usize - 1;
                                let cuts = f64s(&want["loss_cuts"]);
                                let mine = cuts.iter().filter(|&&c| row.loss > c).count();
                                mine == q
                            }
                        })
                        .collect()
                };
                let (pm, pn) = (pick(true), pick(false));
                if s.kind == "loss_quartile" {
                    let q = s.name.chars().nth("loss quartile ".len()).unwrap().to_digit(10).unwrap() as usize - 1;
                    let c = &want["quartile_counts"][q];
                    assert_eq!((s.members as u64, s.nonmembers as u64), (c[0].as_u64().unwrap(), c[1].as_u64().unwrap()), "{}: numpy's quartiles", s.name);
                }
                if s.members == 0 || s.nonmembers == 0 {
                    assert!(s.attacks.is_empty() && s.note.is_some(), "{}: no metrics without both sides", s.name);
                } else {
                    same_slice(s, &alone(&|i| pm[i], &|i| pn[i]));
                }
                checked += 1;
            }
            other => panic!("unknown slice kind {other}"),
        }
        assert_eq!(s.small, s.members < 50 || s.nonmembers < 50, "{}", s.name);
    }
    assert_eq!(checked, 10 + 2 + 4 + 2, "10 classes, 2 correctness, 4 quartiles, 2 groups");
}

#[test]
fn slice_columns_refuse_what_they_cannot_read() {
    let (h, mem) = logits("digits_members_logits.csv");
    let (_, non) = logits("digits_nonmembers_logits.csv");
    let plain = |rows: &[String]| subset(&h, rows, |_| true);
    let o = AuditOptions { slice_column: Some("group".into()), ..opts() };
    let e = pollster::block_on(run_audit(AuditInput::outputs(csv_source("m.csv", plain(&mem)), csv_source("n.csv", plain(&non))), &o, &mut |_| {}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("m.csv") && e.contains("no slice column 'group'"), "{e}");
    // A value per record is an id, not a group.
    let ids = |rows: &[String], p: &str| {
        let mut s = format!("{h},group\n");
        for (i, r) in rows.iter().enumerate() {
            s.push_str(&format!("{r},{p}{i}\n"));
        }
        s
    };
    let e = pollster::block_on(run_audit(AuditInput::outputs(csv_source("m.csv", ids(&mem, "m")), csv_source("n.csv", ids(&non, "n"))), &o, &mut |_| {}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("sliceColumn") && e.contains("600 distinct values"), "{e}");
    // An empty cell names its place.
    let mut m = ids(&mem, "x");
    m = m.replacen(",x0\n", ",\n", 1);
    let e = pollster::block_on(run_audit(AuditInput::outputs(csv_source("m.csv", m), csv_source("n.csv", ids(&non, "x"))), &o, &mut |_| {}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("m.csv") && e.contains("row 1") && e.contains("group"), "{e}");
    // Image folders have no columns.
    let cnn = file(root().join("www/demo/digits_cnn.onnx"));
    let dir = |n: &str| folder(root().join(format!("www/demo/digits_images/{n}")));
    let e = pollster::block_on(run_audit(AuditInput::model(cnn, None, dir("members"), dir("nonmembers")), &o, &mut |_| {})).unwrap_err().to_string();
    assert!(e.contains("no slice column") && e.contains("CSV"), "{e}");
    for (bad, key) in [(AuditOptions { exposed: 1001, ..opts() }, "exposed"), (AuditOptions { slice_column: Some(String::new()), ..opts() }, "sliceColumn")] {
        let e = pollster::block_on(run_audit(
            AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))),
            &bad,
            &mut |_| {},
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains(key), "{e}");
    }
}

/// The demo's image folder as (path, bytes).
fn images(set: &str) -> Vec<InputFile> {
    folder(root().join(format!("www/demo/digits_images/{set}"))).images
}

/// `bytes` (a grayscale or RGB PNG) with its first pixel's first channel raised by `by`.
fn nudge(bytes: &[u8], by: u8) -> Vec<u8> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; dec.output_buffer_size().unwrap()];
    let info = dec.next_frame(&mut buf).unwrap();
    buf[0] = buf[0].saturating_add(by);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, info.width, info.height);
    enc.set_color(info.color_type);
    enc.set_depth(info.bit_depth);
    enc.write_header().unwrap().write_image_data(&buf[..info.buffer_size()]).unwrap();
    out
}

#[test]
fn planted_duplicates_are_found_none_missed_no_false_ones_and_can_be_dropped() {
    let cnn = file(root().join("www/demo/digits_cnn.onnx"));
    let members = images("members");
    let mut non = images("nonmembers");
    let base = |o: &AuditOptions, m: Vec<InputFile>, n: Vec<InputFile>| {
        audit(AuditInput::model(cnn.clone(), None, DataSource::folder("members", m), DataSource::folder("nonmembers", n)), o)
    };
    let o = AuditOptions {
        attacks: vec!["loss".into()],
        statistics: privaudit::metrics::StatisticsSettings { bootstrap: 0, ..Default::default() },
        ..Default::default()
    };
    let clean = base(&o, members.clone(), non.clone());
    let d0 = clean.report.duplicates.clone().expect("model mode looks for duplicates");
    assert_eq!(
        (d0.exact_within_members, d0.exact_members_in_nonmembers, d0.near_within_members, d0.near_members_in_nonmembers),
        (0, 0, Some(0), Some(0)),
        "the demo's digits have no copies: {:?}",
        d0.examples
    );
    // Plant: 3 exact and 2 near copies of members among the non-members, and 2 exact copies
    // among the members (named apart: the copies' paths differ).
    let mut m2 = members.clone();
    for k in [0, 7] {
        let f = &members[k];
        m2.push(InputFile::new(f.name.replace(".png", "_copy.png"), f.bytes.clone()));
    }
    for k in [1, 2, 3] {
        let f = &members[k];
        non.push(InputFile::new(f.name.replace(".png", "_exact.png"), f.bytes.clone()));
    }
    for k in [4, 5] {
        let f = &members[k];
        non.push(InputFile::new(f.name.replace(".png", "_near.png"), nudge(&f.bytes, 9)));
    }
    let out = base(&o, m2.clone(), non.clone());
    let d = out.report.duplicates.clone().unwrap();
    assert_eq!(d.exact_within_members, 4, "2 members and their 2 copies");
    assert_eq!(d.exact_members_in_nonmembers, 3);
    assert_eq!(d.near_within_members, Some(0));
    assert_eq!(d.near_members_in_nonmembers, Some(2));
    assert_eq!(d.examples.len(), 7);
    for ex in &d.examples {
        let b = ex.b.id.as_deref().unwrap();
        let a = ex.a.id.as_deref().unwrap();
        let planted = b.replace("_copy", "").replace("_exact", "").replace("_near", "");
        assert_eq!(a, planted, "{ex:?}: each pair is a planted copy and its original");
        assert_eq!(ex.kind, if b.contains("_near") { "near" } else { "exact" });
        assert_eq!(ex.hash_distance.is_some(), ex.kind == "near");
    }
    assert!(out.report.warnings.iter().any(|w| w.contains("5 non-members copy a member")), "{:?}", out.report.warnings);
    let x = d.exposure.as_ref().unwrap();
    assert_eq!((x.duplicated, x.unique), (9, m2.len() - 9), "members 0-5 and 7, and the 2 copies");
    // Dropping them: the audit of the clean non-members, with the planted members kept.
    let dropped = base(&AuditOptions { drop_duplicates: true, ..o.clone() }, m2.clone(), non);
    let dd = dropped.report.duplicates.as_ref().unwrap();
    assert_eq!(dd.dropped_nonmembers, 5);
    let in_file = |r: &privaudit::report::AuditReport| r.provenance.inputs.iter().find(|d| d.role == "nonmembers").and_then(|d| d.records);
    assert_eq!(in_file(&dropped.report), Some(clean.report.data.nonmembers + 5), "provenance counts the file's records, dropped ones included");
    assert_eq!(dropped.report.data.nonmembers, clean.report.data.nonmembers);
    let same = base(&o, m2, images("nonmembers"));
    assert_eq!(dropped.report.attacks, same.report.attacks, "dropping the copies = auditing without them");
}

#[test]
fn tabular_exact_copies_are_found_and_outputs_mode_refuses_dropping() {
    let m = file(root().join("www/demo/digits_mlp.onnx"));
    let mem = std::fs::read_to_string(root().join("www/demo/digits_members.csv")).unwrap();
    let non = std::fs::read_to_string(root().join("www/demo/digits_nonmembers.csv")).unwrap();
    let rows: Vec<&str> = mem.lines().skip(1).collect();
    // Rows 3 and 10 of the members, planted among the non-members, and row 3 twice more among
    // the members.
    let planted = format!("{non}{}\n{}\n", rows[2], rows[9]);
    let m2 = format!("{mem}{}\n", rows[2]);
    let o = AuditOptions { scale: 1.0 / 16.0, attacks: vec!["loss".into()], slices: false, ..Default::default() };
    let run =
        |a: String, b: String, o: &AuditOptions| audit(AuditInput::model(m.clone(), None, csv_source("members.csv", a), csv_source("nonmembers.csv", b)), o);
    let clean = run(mem.clone(), non.clone(), &o).report.duplicates.unwrap();
    let d = run(m2.clone(), planted.clone(), &o).report.duplicates.unwrap();
    // The digits data itself holds exact copies of some images: count them from the files.
    let mut all: Vec<&str> = mem.lines().skip(1).map(|l| l.rsplit_once(',').map_or(l, |(x, _)| x)).collect();
    let before = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(clean.exact_within_members > 0, all.len() < before, "{clean:?}");
    assert_eq!(d.exact_members_in_nonmembers, clean.exact_members_in_nonmembers + 2);
    assert!(d.near_within_members.is_none() && d.near_members_in_nonmembers.is_none(), "tables: exact only");
    assert!(d.exact_within_members >= clean.exact_within_members + 2);
    let e = pollster::block_on(run_audit(
        AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))),
        &AuditOptions { drop_duplicates: true, ..Default::default() },
        &mut |_| {},
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("dropDuplicates"), "{e}");
    let outputs = audit(AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))), &opts());
    assert!(outputs.report.duplicates.is_none());
    // Non-members that all copy members: dropping them would leave none, said with the file and
    // the drop (not an empty-set error that names neither).
    let copies = format!("{}\n{}\n{}\n", mem.lines().next().unwrap(), rows[2], rows[9]);
    let e = pollster::block_on(run_audit(
        AuditInput::model(m.clone(), None, csv_source("members.csv", mem.clone()), csv_source("copies.csv", copies)),
        &AuditOptions { drop_duplicates: true, ..o.clone() },
        &mut |_| {},
    ))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("copies.csv: every one of its 2 non-members copies a member") && e.contains("the option ‘dropDuplicates’ would leave none"), "{e}");
}

/// φ = z_y − log Σ_{i≠y} e^{z_i} of one CSV row of logits, label last.
fn phi(row: &str) -> f64 {
    let v: Vec<f64> = row.split(',').map(|x| x.parse().unwrap()).collect();
    let (z, y) = (&v[..v.len() - 1], v[v.len() - 1] as usize);
    let others: Vec<f64> = z.iter().enumerate().filter(|(i, _)| *i != y).map(|(_, x)| *x).collect();
    let m = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    z[y] - (m + others.iter().map(|x| (x - m).exp()).sum::<f64>().ln())
}

#[test]
fn an_exposed_record_shows_where_the_target_falls_among_its_references() {
    // The fixture's 4 torch-trained references, each record in 2 of them (membership.csv).
    let mut i = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")))
        .with_population(source(fixture("digits_population_logits.csv")));
    i.references.outputs = (0..4).map(|k| source(fixture(&format!("refs/ref{k}_logits.csv")))).collect();
    i.references.membership = Some(file(fixture("refs/membership.csv")));
    let o = AuditOptions { attacks: vec!["lira_online".into()], mode: privaudit::ReferenceMode::Online, exposed: 5, ..opts() };
    let out = audit(i, &o);
    let membership: Vec<Vec<bool>> =
        std::fs::read_to_string(fixture("refs/membership.csv")).unwrap().lines().skip(1).map(|l| l.split(',').map(|v| v == "1").collect()).collect();
    let rows = |f: &str| std::fs::read_to_string(fixture(f)).unwrap().lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    let target: Vec<String> = rows("digits_members_logits.csv").into_iter().chain(rows("digits_nonmembers_logits.csv")).collect();
    let refs: Vec<Vec<String>> = (0..4).map(|k| rows(&format!("refs/ref{k}_logits.csv"))).collect();
    let e = &out.report.exposure;
    for r in e.members.iter().chain(&e.false_positives) {
        let g = if r.set == "members" { r.row - 1 } else { 100 + r.row - 1 };
        let v = r.references.as_ref().expect("references give a view");
        assert!(close(v.target, phi(&target[g]), 1e-9));
        let want_in: Vec<f64> = (0..4).filter(|&k| membership[g][k]).map(|k| phi(&refs[k][g])).collect();
        let want_out: Vec<f64> = (0..4).filter(|&k| !membership[g][k]).map(|k| phi(&refs[k][g])).collect();
        assert_eq!((v.inside.len(), v.out.len()), (2, 2));
        for (a, b) in v.inside.iter().zip(&want_in).chain(v.out.iter().zip(&want_out)) {
            assert!(close(*a, *b, 1e-9), "row {g}: {a} vs {b}");
        }
    }
}

#[test]
fn a_slice_file_gives_the_slices_a_column_gives() {
    let (h, mem) = logits("digits_members_logits.csv");
    let (_, non) = logits("digits_nonmembers_logits.csv");
    let group = |i: usize| if i.is_multiple_of(3) { "a" } else { "b" };
    let with_group = |rows: &[String]| -> String {
        let mut s = format!("{h},group\n");
        for (i, r) in rows.iter().enumerate() {
            s.push_str(&format!("{r},{}\n", group(i)));
        }
        s
    };
    let by_column = audit(
        AuditInput::outputs(csv_source("m.csv", with_group(&mem)), csv_source("n.csv", with_group(&non))),
        &AuditOptions { slice_column: Some("group".into()), ..opts() },
    );
    // The same groups from a sidecar, lines in another order.
    let mut side = String::from("set,row,group\n");
    for (set, n) in [("nonmembers", non.len()), ("members", mem.len())] {
        for i in (0..n).rev() {
            side.push_str(&format!("{set},{},{}\n", i + 1, group(i)));
        }
    }
    let mut input = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
    input.slice_file = Some(InputFile::new("groups.csv", side.clone().into_bytes()));
    let by_file = audit(input, &opts());
    assert_eq!(by_file.report.slices, by_column.report.slices);
    assert!(by_file.report.provenance.inputs.iter().any(|d| d.role == "slices" && d.name == "groups.csv"));
    // Hostile sidecars: each a clear error naming the file and the place.
    let run_with = |text: &str| {
        let mut i = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
        i.slice_file = Some(InputFile::new("groups.csv", text.as_bytes().to_vec()));
        pollster::block_on(run_audit(i, &opts(), &mut |_| {})).unwrap_err().to_string()
    };
    let first_line = side.lines().nth(1).unwrap().to_string();
    for (text, want) in [
        ("set,record,group\n".to_string(), "set,row,<slice name>"),
        ("set,row,group\ntrain,1,a\n".to_string(), "'train' is not members or nonmembers"),
        ("set,row,group\nmembers,101,a\n".to_string(), "row 101 is outside the members (rows 1 to 100)"),
        ("set,row,group\nmembers,x,a\n".to_string(), "'x' is not a row number"),
        ("set,row,group\nmembers,1,\n".to_string(), "empty cell"),
        (format!("{side}{first_line}\n"), "is given twice"),
        (side.replacen(&format!("\n{first_line}"), "", 1), "no slice value for the nonmembers record row 500"),
        ("set,id,group\nmembers,a.png,x\n".to_string(), "'a.png' is not a record of the members"),
    ] {
        let e = run_with(&text);
        assert!(e.contains("groups.csv") && e.contains(want), "{want}: {e}");
    }
    // Not both.
    let mut i = AuditInput::outputs(csv_source("m.csv", with_group(&mem)), csv_source("n.csv", with_group(&non)));
    i.slice_file = Some(InputFile::new("groups.csv", side.into_bytes()));
    let e = pollster::block_on(run_audit(i, &AuditOptions { slice_column: Some("group".into()), ..opts() }, &mut |_| {})).unwrap_err().to_string();
    assert!(e.contains("not both"), "{e}");
}

#[test]
fn image_slices_come_from_a_file_by_path() {
    let cnn = file(root().join("www/demo/digits_cnn.onnx"));
    let dir = |n: &str| folder(root().join(format!("www/demo/digits_images/{n}")));
    let (m, n) = (dir("members"), dir("nonmembers"));
    // Group by the digit's parity, named by each image's path.
    let mut side = String::from("set,id,parity\n");
    for (set, s) in [("members", &m), ("nonmembers", &n)] {
        for f in s.images.iter().filter(|f| f.name.ends_with(".png")) {
            let digit: u32 = f.name.split('/').next().unwrap().parse().unwrap();
            side.push_str(&format!("{set},{},{}\n", f.name, if digit.is_multiple_of(2) { "even" } else { "odd" }));
        }
    }
    let mut input = AuditInput::model(cnn, None, m, n);
    input.slice_file = Some(InputFile::new("parity.csv", side.into_bytes()));
    let o = AuditOptions {
        attacks: vec!["loss".into()],
        statistics: privaudit::metrics::StatisticsSettings { bootstrap: 0, ..Default::default() },
        ..Default::default()
    };
    let out = audit(input, &o);
    let col: Vec<&Slice> = out.report.slices.iter().filter(|s| s.kind == "column").collect();
    assert_eq!(col.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["parity = even", "parity = odd"]);
    // Each equals the class slices it is made of, counted.
    let classes = |even: bool| {
        out.report
            .slices
            .iter()
            .filter(|s| s.kind == "class" && s.name[6..].parse::<u32>().unwrap() % 2 == u32::from(!even))
            .map(|s| (s.members, s.nonmembers))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    assert_eq!((col[0].members, col[0].nonmembers), classes(true));
    assert_eq!((col[1].members, col[1].nonmembers), classes(false));
}

/// Outputs whose every value is in [0, 1] but whose rows do not sum to 1 (a sigmoid per class)
/// are read as logits by `auto`, and the report says so with the file and the row; true
/// probabilities and logits give no such warning.
#[test]
fn probability_like_outputs_that_do_not_sum_to_one_are_said() {
    let sigmoid = |name: &str| {
        let (h, rows) = logits(name);
        let body: Vec<String> = rows
            .iter()
            .map(|r| {
                let v: Vec<&str> = r.split(',').collect();
                let (z, y) = v.split_at(v.len() - 1);
                let p: Vec<String> = z.iter().map(|x| (1.0 / (1.0 + (-x.parse::<f64>().unwrap()).exp())).to_string()).collect();
                format!("{},{}", p.join(","), y[0])
            })
            .collect();
        csv_source(name, format!("{h}\n{}\n", body.join("\n")))
    };
    let out = audit(AuditInput::outputs(sigmoid("digits_members_logits.csv"), sigmoid("digits_nonmembers_logits.csv")), &opts());
    let w = out.report.warnings.iter().find(|w| w.contains("every value lies in [0, 1]")).unwrap_or_else(|| panic!("{:?}", out.report.warnings));
    assert!(w.starts_with("digits_members_logits.csv: every value lies in [0, 1], as probabilities do, but row 1 sums to ") && w.contains("read as logits"), "{w}");
    assert_eq!(out.report.model.outputs, "logits");
    let plain = audit(AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))), &opts());
    assert!(!plain.report.warnings.iter().any(|w| w.contains("every value lies in [0, 1]")));
}
