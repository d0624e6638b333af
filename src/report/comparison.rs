//! Renderers of a comparison of several models: a text table, a scatter plot of utility
//! (accuracy on the non-members) against privacy (the highest AUC, with its interval), and a
//! self-contained HTML page with the table, the plot and each model's report.

use super::escape;
use crate::audit::Comparison;

fn iv(v: f64, ci: Option<super::Interval>) -> String {
    match ci {
        Some([lo, hi]) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        None => format!("{v:.3}"),
    }
}

fn level_text(level: &str) -> String {
    match level {
        "0" => "0".into(),
        l => format!("{} %", l.parse::<f64>().map_or(0.0, |v| v * 100.0)),
    }
}

/// The comparison as a terminal table.
pub fn comparison_text(c: &Comparison) -> String {
    let lvl = level_text(&c.fpr_level);
    let mut s = format!(
        "{:<20}{:>10}{:>10}{:>26}{:>26}{:>16}  references\n",
        "model",
        "acc (mem)",
        "acc (non)",
        "best AUC [interval]",
        format!("TPR@{lvl} [interval]"),
        "ε (ROC, ≤ max)"
    );
    for r in &c.rows {
        let eps = match (r.epsilon, r.epsilon_ceiling) {
            (Some(e), Some(m)) => format!("{e:.2} (≤ {m:.2})"),
            _ => "–".into(),
        };
        s.push_str(&format!(
            "{:<20}{:>10.3}{:>10.3}{:>26}{:>26}{:>16}  {}\n",
            r.name,
            r.accuracy_members,
            r.accuracy_nonmembers,
            iv(r.auc, r.auc_ci),
            iv(r.tpr, r.tpr_ci),
            eps,
            r.references
        ));
    }
    s.push_str(&format!(
        "AUC and TPR: the strongest attack's on each model ({} % intervals); ε: the ROC bound over all attacks, each at α/A.\n",
        100.0 * c.confidence
    ));
    for w in &c.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

/// Ticks at 1, 2 or 5 × 10^k spanning [lo, hi] (4 to 7 of them), and the decimals that keep
/// every label distinct.
fn nice_ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let span = (hi - lo).max(1e-6);
    let mut step = 10f64.powf((span / 5.0).log10().floor());
    for f in [1.0, 2.0, 5.0, 10.0] {
        if span / (step * f) <= 6.0 {
            step *= f;
            break;
        }
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil();
    let ticks = (0..).map(|k| (first + k as f64) * step).take_while(|v| *v <= hi + step * 1e-9).collect();
    (ticks, decimals)
}

/// A marker shape at (x, y), about 10 px across.
fn marker(k: usize, x: f64, y: f64, color: &str) -> String {
    match k % 5 {
        0 => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="{color}""#),
        1 => format!(r#"<rect x="{:.1}" y="{:.1}" width="9" height="9" fill="{color}""#, x - 4.5, y - 4.5),
        2 => format!(r#"<path d="M{x:.1},{:.1} l5.5,9.5 h-11 z" fill="{color}""#, y - 6.0),
        3 => format!(r#"<path d="M{x:.1},{:.1} l5.5,5.5 l-5.5,5.5 l-5.5,-5.5 z" fill="{color}""#, y - 5.5),
        _ => format!(r#"<path d="M{:.1},{:.1} l9,9 m0,-9 l-9,9" stroke="{color}" stroke-width="2.5" fill="none""#, x - 4.5, y - 4.5),
    }
}

/// An axis-aligned box: x, y (top), width, height.
type Bbox = (f64, f64, f64, f64);

fn overlaps(a: Bbox, b: Bbox) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

/// Utility against privacy: one point per model at (accuracy on the non-members, highest AUC),
/// the AUC's interval as a vertical whisker, each model with its own colour and marker, named
/// in the legend and, where its name fits without covering another name or point, beside it.
/// The axes cover every point and whisker, the AUC axis down to chance (0.5) at least.
pub fn comparison_svg(c: &Comparison) -> String {
    use super::format::text_width;
    use super::svg::COLORS;
    let (pw, ph, left, top, font): (f64, f64, f64, f64, f64) = (420.0, 300.0, 56.0, 16.0, 11.0);
    let legend_w = c.rows.iter().map(|r| 18.0 + text_width(&r.name, font)).fold(80.0, f64::max);
    let (w, h) = (left + pw + 16.0 + legend_w, (top + ph + 46.0).max(top + 14.0 * c.rows.len() as f64 + 20.0));
    let xs: Vec<f64> = c.rows.iter().map(|r| r.accuracy_nonmembers).collect();
    let (mut x0, mut x1) = (xs.iter().copied().fold(1.0, f64::min), xs.iter().copied().fold(0.0, f64::max));
    let pad = ((x1 - x0) * 0.15).max(0.02);
    x0 = (x0 - pad).max(0.0);
    x1 = (x1 + pad).min(1.0);
    let hi_auc = c.rows.iter().map(|r| r.auc_ci.map_or(r.auc, |i| i[1])).fold(0.5, f64::max);
    let lo_auc = c.rows.iter().map(|r| r.auc_ci.map_or(r.auc, |i| i[0])).fold(0.5, f64::min);
    let (y0, y1) = (((lo_auc - 0.02) * 20.0).floor() / 20.0, ((hi_auc + 0.02) * 20.0).ceil().min(20.0) / 20.0);
    let px = |v: f64| left + (v - x0) / (x1 - x0).max(1e-9) * pw;
    let py = |v: f64| top + ph - (v.clamp(y0, y1) - y0) / (y1 - y0) * ph;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="utility against privacy: accuracy on non-members and the highest attack AUC of each model" class="privaudit-compare" font-family="system-ui, sans-serif" font-size="{font}" fill="currentColor">"#,
        w.ceil(),
        h.ceil()
    );
    s.push_str(&format!(r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" stroke-opacity="0.4"/>"#));
    let (yt, yd) = nice_ticks(y0, y1);
    for v in yt {
        s.push_str(&format!(
            r#"<line x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{2}" y="{3:.1}" text-anchor="end">{v:.yd$}</text>"#,
            py(v),
            left + pw,
            left - 4.0,
            py(v) + 4.0
        ));
    }
    let (xt, xd) = nice_ticks(x0, x1);
    for u in xt {
        s.push_str(&format!(
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{0:.1}" y="{2}" text-anchor="middle">{u:.xd$}</text>"#,
            px(u),
            top + ph,
            top + ph + 14.0
        ));
    }
    s.push_str(&format!(
        r#"<line class="chance" x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="currentColor" stroke-dasharray="4 3" stroke-opacity="0.7"><title>chance: AUC 0.5</title></line><text x="{2}" y="{3:.1}" text-anchor="end">chance</text>"#,
        py(0.5),
        left + pw,
        left + pw - 4.0,
        py(0.5) - 4.0
    ));
    s.push_str(&format!(r#"<text x="{}" y="{}" text-anchor="middle">accuracy on the non-members (utility) →</text>"#, left + pw / 2.0, top + ph + 32.0));
    s.push_str(&format!(r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">highest attack AUC (leakage) ↑</text>"#, top + ph / 2.0));
    let points: Vec<(f64, f64)> = c.rows.iter().map(|r| (px(r.accuracy_nonmembers), py(r.auc))).collect();
    // Every marker and the chance label are kept clear of the names placed beside points.
    let mut taken: Vec<Bbox> = points.iter().map(|&(x, y)| (x - 6.0, y - 6.0, 12.0, 12.0)).collect();
    taken.push((left + pw - 4.0 - text_width("chance", font), py(0.5) - 14.0, text_width("chance", font), 12.0));
    for (k, (r, &(x, y))) in c.rows.iter().zip(&points).enumerate() {
        let color = COLORS[k % COLORS.len()];
        if let Some([lo, hi]) = r.auc_ci {
            s.push_str(&format!(r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"/>"#, py(lo), py(hi)));
        }
        s.push_str(&format!(
            r#"{} data-model="{}"><title>{}: accuracy {:.3}, AUC {:.3}</title></{}>"#,
            marker(k, x, y, color),
            escape(&r.name),
            escape(&r.name),
            r.accuracy_nonmembers,
            r.auc,
            match k % 5 {
                0 => "circle",
                1 => "rect",
                _ => "path",
            }
        ));
    }
    // Names beside the points: the first free place around each, else only in the legend.
    for (r, &(x, y)) in c.rows.iter().zip(&points) {
        let tw = text_width(&r.name, font);
        let places = [
            (x + 9.0, y - 6.0),
            (x - 9.0 - tw, y - 6.0),
            (x - tw / 2.0, y - 20.0),
            (x - tw / 2.0, y + 8.0),
            (x + 9.0, y - 20.0),
            (x + 9.0, y + 8.0),
            (x - 9.0 - tw, y - 20.0),
            (x - 9.0 - tw, y + 8.0),
        ];
        let free = places
            .into_iter()
            .map(|(bx, by)| (bx, by, tw, 13.0))
            .find(|&b| b.0 >= left && b.0 + b.2 <= left + pw && b.1 >= top && b.1 + b.3 <= top + ph && !taken.iter().any(|&t| overlaps(b, t)));
        if let Some(b) = free {
            taken.push(b);
            s.push_str(&format!(r#"<text class="point-label" x="{:.1}" y="{:.1}">{}</text>"#, b.0, b.1 + 10.0, escape(&r.name)));
        }
    }
    // The legend: every model, marker and name.
    let lx = left + pw + 16.0;
    for (k, r) in c.rows.iter().enumerate() {
        let y = top + 8.0 + 16.0 * k as f64;
        s.push_str(&format!(
            r#"{}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            marker(k, lx + 5.0, y, COLORS[k % COLORS.len()]),
            lx + 16.0,
            y + 4.0,
            escape(&r.name)
        ));
    }
    s.push_str("</svg>");
    s
}

/// A self-contained HTML page: the table, the plot, then each model's report.
pub fn comparison_html(c: &Comparison) -> String {
    let lvl = level_text(&c.fpr_level);
    let cell = |v: f64, ci: Option<super::Interval>| format!("{v:.3}{}", ci.map(|[a, b]| format!("<br><small>{a:.3}–{b:.3}</small>")).unwrap_or_default());
    let rows: String = c
        .rows
        .iter()
        .map(|r| {
            let eps = match (r.epsilon, r.epsilon_ceiling) {
                (Some(e), Some(m)) => format!("{e:.2} (≤ {m:.2})"),
                _ => "–".into(),
            };
            format!(
                "<tr><th scope=\"row\">{}<br><small>{}{}</small></th><td>{:.3}</td><td>{:.3}</td><td>{}<br><small>{}</small></td><td>{}<br><small>{}</small></td><td>{eps}</td><td>{}</td></tr>",
                escape(&r.name),
                escape(&r.model),
                if r.quantised { ", QDQ" } else { "" },
                r.accuracy_members,
                r.accuracy_nonmembers,
                cell(r.auc, r.auc_ci),
                escape(&r.auc_attack),
                cell(r.tpr, r.tpr_ci),
                escape(&r.tpr_attack),
                escape(&r.references)
            )
        })
        .collect();
    // Each model's report, its body kept whole inside a section (its styles are the same).
    let bodies: String = c
        .reports
        .iter()
        .zip(&c.rows)
        .map(|(r, row)| {
            let page = super::html(r);
            let body = page.split_once("<body>").and_then(|(_, b)| b.rsplit_once("</body>")).map_or(String::new(), |(b, _)| b.to_string());
            // One glossary for the page, at its end (an id may appear once).
            let body = body.replacen("<h1>Membership-inference audit</h1>", "", 1).replacen(&super::glossary_html(), "", 1);
            format!("<section class=\"model\"><h2>{}</h2>{body}</section>", escape(&row.name))
        })
        .collect();
    let warnings: String = c.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
    let style = super::HTML_STYLE;
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>privaudit comparison</title>\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><style>{style}.model{{border-top:2px solid var(--line);margin-top:2em}}</style></head><body>\
<h1>Membership-inference audit: {} models compared</h1>\
<table class=\"comparison\"><caption>Utility against privacy on the same {} members and {} non-members: the strongest attack's AUC and TPR at {lvl} FPR on each model, with {} % intervals; ε: the ROC lower bound over all attacks (each at α/A), with the largest value these counts could show.</caption>\
<thead><tr><th>model</th><th>accuracy (members)</th><th>accuracy (non-members)</th><th>AUC</th><th>TPR @ {lvl}</th><th>ε</th><th>references</th></tr></thead><tbody>{rows}</tbody></table>\
<ul>{warnings}</ul>{}{bodies}{}</body></html>",
        c.rows.len(),
        c.reports[0].data.members,
        c.reports[0].data.nonmembers,
        100.0 * c.confidence,
        comparison_svg(c),
        super::glossary_html()
    )
}
