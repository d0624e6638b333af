//! SVG renderers: a log-log ROC plot of every attack with the chance line, and score histograms.
//! Pure functions of the report, shared by the page, the widget and the CLI.

use super::{AttackResult, AuditReport};

const COLORS: [&str; 11] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79"];

/// Escape text for HTML and SVG, attribute values included (the one escaper of the reports).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Log-log ROC curves (FPR and TPR from 1e-4 to 1), one line per attack, plus chance.
pub fn roc_svg(r: &AuditReport) -> String {
    let (w, h, m) = (460.0, 400.0, 52.0);
    let lo = 1e-4f64;
    let floor = |v: f64| v.max(lo);
    let x = |f: f64| m + (floor(f).log10() - lo.log10()) / -lo.log10() * (w - m - 16.0);
    let y = |t: f64| h - m - (floor(t).log10() - lo.log10()) / -lo.log10() * (h - m - 16.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="ROC curves, log-log" class="privaudit-roc" font-family="system-ui, sans-serif" font-size="11">"#
    );
    s.push_str(&format!(r#"<rect x="{m}" y="16" width="{}" height="{}" fill="none" stroke="currentColor" stroke-opacity="0.4"/>"#, w - m - 16.0, h - m - 16.0));
    for e in 0..=4 {
        let v = 10f64.powi(-e);
        s.push_str(&format!(r#"<line x1="{0:.1}" y1="16" x2="{0:.1}" y2="{1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"#, x(v), h - m, h - m + 14.0, fmt_tick(v)));
        s.push_str(&format!(r#"<line x1="{m}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"#, y(v), w - 16.0, m - 4.0, y(v) + 4.0, fmt_tick(v)));
    }
    s.push_str(&format!(r#"<text x="{}" y="{}" text-anchor="middle">false-positive rate</text>"#, (w + m) / 2.0, h - 12.0));
    s.push_str(&format!(r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">true-positive rate</text>"#, (h - m) / 2.0));
    s.push_str(&format!(
        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="currentColor" stroke-dasharray="4 3" stroke-opacity="0.6"><title>chance</title></line>"#,
        x(lo),
        y(lo),
        x(1.0),
        y(1.0)
    ));
    for (i, a) in r.attacks.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = a.metrics.roc.fpr.iter().zip(&a.metrics.roc.tpr).map(|(&f, &t)| format!("{:.2},{:.2}", x(f), y(t))).collect();
        s.push_str(&format!(
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.6" points="{}"><title>{} (AUC {:.4})</title></polyline>"#,
            pts.join(" "),
            escape(&a.name),
            a.metrics.auc
        ));
        s.push_str(&format!(
            r#"<rect x="{}" y="{}" width="10" height="3" fill="{c}"/><text x="{}" y="{}">{} · AUC {:.3}</text>"#,
            m + 10.0,
            26.0 + 14.0 * i as f64,
            m + 24.0,
            30.0 + 14.0 * i as f64,
            escape(&a.name),
            a.metrics.auc
        ));
    }
    s.push_str("</svg>");
    s
}

fn fmt_tick(v: f64) -> String {
    if v >= 0.01 { format!("{v}") } else { format!("1e{}", v.log10().round() as i32) }
}

/// Overlaid histograms of one attack's member and non-member scores.
pub fn histogram_svg(a: &AttackResult) -> String {
    let (w, h, m) = (300.0, 150.0, 24.0);
    let hist = &a.metrics.histogram;
    let n = hist.members.len().max(1) as f64;
    let tot_m: usize = hist.members.iter().sum::<usize>().max(1);
    let tot_n: usize = hist.nonmembers.iter().sum::<usize>().max(1);
    let frac = |c: usize, t: usize| c as f64 / t as f64;
    let top = hist.members.iter().map(|&c| frac(c, tot_m)).chain(hist.nonmembers.iter().map(|&c| frac(c, tot_n))).fold(1e-9, f64::max);
    let bw = (w - 2.0 * m) / n;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="score histogram for {0}" class="privaudit-hist" font-family="system-ui, sans-serif" font-size="10">"#,
        escape(&a.name)
    );
    for (series, counts, tot, color) in [("non-members", &hist.nonmembers, tot_n, "#888888"), ("members", &hist.members, tot_m, "#d62728")] {
        for (i, &c) in counts.iter().enumerate() {
            let bh = frac(c, tot) / top * (h - 2.0 * m);
            s.push_str(&format!(
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.45"><title>{series}: {c}</title></rect>"#,
                m + bw * i as f64,
                h - m - bh,
                bw,
                bh
            ));
        }
    }
    let (lo, hi) = (hist.edges.first().copied().unwrap_or(0.0), hist.edges.last().copied().unwrap_or(1.0));
    s.push_str(&format!(r#"<text x="{m}" y="{}">{lo:.3}</text><text x="{}" y="{}" text-anchor="end">{hi:.3}</text>"#, h - 8.0, w - m, h - 8.0));
    s.push_str(&format!(
        r##"<text x="{m}" y="14">{} score — <tspan fill="#d62728">members</tspan> vs <tspan fill="#888888">non-members</tspan></text>"##,
        escape(&a.name)
    ));
    s.push_str("</svg>");
    s
}
