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

/// Utility against privacy: one point per model at (accuracy on the non-members, highest AUC),
/// the AUC's interval as a vertical whisker, each point named beside it.
pub fn comparison_svg(c: &Comparison) -> String {
    let (pw, ph, left, top) = (420.0, 300.0, 56.0, 16.0);
    let (w, h) = (left + pw + 140.0, top + ph + 46.0);
    let xs: Vec<f64> = c.rows.iter().map(|r| r.accuracy_nonmembers).collect();
    let (mut x0, mut x1) = (xs.iter().copied().fold(1.0, f64::min), xs.iter().copied().fold(0.0, f64::max));
    let pad = ((x1 - x0) * 0.15).max(0.02);
    x0 = (x0 - pad).max(0.0);
    x1 = (x1 + pad).min(1.0);
    let hi_auc = c.rows.iter().map(|r| r.auc_ci.map_or(r.auc, |i| i[1])).fold(0.5, f64::max);
    let (y0, y1) = (0.5, (hi_auc + 0.05).clamp(0.6, 1.0));
    let px = |v: f64| left + (v - x0) / (x1 - x0).max(1e-9) * pw;
    let py = |v: f64| top + ph - (v.clamp(y0, y1) - y0) / (y1 - y0) * ph;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="utility against privacy: accuracy on non-members and the highest attack AUC of each model" class="privaudit-compare" font-family="system-ui, sans-serif" font-size="11">"#
    );
    s.push_str(&format!(r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" stroke-opacity="0.4"/>"#));
    for k in 0..=5 {
        let v = y0 + (y1 - y0) * k as f64 / 5.0;
        s.push_str(&format!(r#"<text x="{}" y="{:.1}" text-anchor="end">{v:.2}</text>"#, left - 4.0, py(v) + 4.0));
        let u = x0 + (x1 - x0) * k as f64 / 5.0;
        s.push_str(&format!(r#"<text x="{:.1}" y="{}" text-anchor="middle">{u:.2}</text>"#, px(u), top + ph + 14.0));
    }
    s.push_str(&format!(r#"<text x="{}" y="{}" text-anchor="middle">accuracy on the non-members (utility) →</text>"#, left + pw / 2.0, top + ph + 32.0));
    s.push_str(&format!(r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">highest attack AUC (leakage) ↑</text>"#, top + ph / 2.0));
    for r in &c.rows {
        let (x, y) = (px(r.accuracy_nonmembers), py(r.auc));
        if let Some([lo, hi]) = r.auc_ci {
            s.push_str(&format!(r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#1f77b4" stroke-width="2"/>"##, py(lo), py(hi)));
        }
        s.push_str(&format!(
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="#1f77b4"><title>{}: accuracy {:.3}, AUC {:.3}</title></circle><text x="{:.1}" y="{:.1}">{}</text>"##,
            escape(&r.name),
            r.accuracy_nonmembers,
            r.auc,
            x + 8.0,
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
            format!("<section class=\"model\"><h2>{}</h2>{}</section>", escape(&row.name), body.replacen("<h1>Membership-inference audit</h1>", "", 1))
        })
        .collect();
    let warnings: String = c.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
    let style = super::html(&c.reports[0]).split_once("<style>").and_then(|(_, s)| s.split_once("</style>")).map_or(String::new(), |(s, _)| s.to_string());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>privaudit comparison</title>\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><style>{style}.model{{border-top:2px solid #ccc;margin-top:2em}}</style></head><body>\
<h1>Membership-inference audit: {} models compared</h1>\
<table class=\"comparison\"><caption>Utility against privacy on the same {} members and {} non-members: the strongest attack's AUC and TPR at {lvl} FPR on each model, with {} % intervals; ε: the ROC lower bound over all attacks (each at α/A), with the largest value these counts could show.</caption>\
<thead><tr><th>model</th><th>accuracy (members)</th><th>accuracy (non-members)</th><th>AUC</th><th>TPR @ {lvl}</th><th>ε</th><th>references</th></tr></thead><tbody>{rows}</tbody></table>\
<ul>{warnings}</ul>{}{bodies}</body></html>",
        c.rows.len(),
        c.reports[0].data.members,
        c.reports[0].data.nonmembers,
        100.0 * c.confidence,
        comparison_svg(c)
    )
}
