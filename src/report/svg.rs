//! SVG renderers: a log-log ROC plot of every attack with the chance line, and score histograms.
//! Pure functions of the report, shared by the page, the widget and the CLI.

use super::{AttackResult, AuditReport};

const COLORS: [&str; 11] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79"];

/// Escape text for HTML and SVG, attribute values included (the one escaper of the reports).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The decade at or below `v` (> 0).
fn decade_below(v: f64) -> f64 {
    10f64.powf(v.log10().floor())
}

/// Log-log ROC curves, one staircase per attack (the best TPR at FPR ≤ x, as `tpr_at_fpr`
/// reads it), from the smallest measurable FPR (1/N) to 1, plus chance and, for the strongest
/// attack (highest AUC), its pointwise bootstrap band. TPR 0 is drawn on the bottom edge. The
/// legend is beside the plot, never over it.
pub fn roc_svg(r: &AuditReport) -> String {
    let (pw, ph, m, top) = (380.0, 340.0, 52.0, 16.0);
    let legend_w = 270.0;
    let (w, h) = (m + pw + 16.0 + legend_w, top + ph + 48.0);
    let x0 = 1.0 / r.data.nonmembers.max(1) as f64;
    let y0 = decade_below(x0.min(1.0 / r.data.members.max(1) as f64));
    let lx = |f: f64| m + (f.max(x0).log10() - x0.log10()) / -x0.log10() * pw;
    let ly = |t: f64| top + ph - (t.max(y0).log10() - y0.log10()) / -y0.log10() * ph;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="ROC curves, log-log, from FPR 1/N" class="privaudit-roc" font-family="system-ui, sans-serif" font-size="11">"#
    );
    s.push_str(&format!(r#"<rect x="{m}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" stroke-opacity="0.4"/>"#));
    let mut d = decade_below(x0);
    while d <= 1.0 + 1e-12 {
        if d >= x0 * (1.0 - 1e-9) {
            s.push_str(&format!(r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"#, lx(d), top + ph, top + ph + 14.0, fmt_tick(d)));
        }
        d *= 10.0;
    }
    let mut d = y0;
    while d <= 1.0 + 1e-12 {
        s.push_str(&format!(r#"<line x1="{m}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"#, ly(d), m + pw, m - 4.0, ly(d) + 4.0, fmt_tick(d)));
        d *= 10.0;
    }
    s.push_str(&format!(
        r#"<text x="{}" y="{}" text-anchor="middle">false-positive rate (from 1/N = {})</text>"#,
        m + pw / 2.0,
        top + ph + 32.0,
        fmt_small(x0)
    ));
    s.push_str(&format!(r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">true-positive rate</text>"#, top + ph / 2.0));
    s.push_str(&format!(
        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="currentColor" stroke-dasharray="4 3" stroke-opacity="0.6"><title>chance</title></line>"#,
        lx(x0),
        ly(x0),
        lx(1.0),
        ly(1.0)
    ));
    let best = (0..r.attacks.len()).max_by(|&a, &b| r.attacks[a].metrics.auc.total_cmp(&r.attacks[b].metrics.auc));
    if let Some((i, band)) = best.and_then(|i| r.attacks[i].metrics.roc_band.as_ref().map(|b| (i, b))) {
        {
            let c = COLORS[i % COLORS.len()];
            let upper = band.fpr.iter().zip(&band.hi).map(|(&f, &t)| format!("{:.2},{:.2}", lx(f), ly(t)));
            let lower = band.fpr.iter().zip(&band.lo).rev().map(|(&f, &t)| format!("{:.2},{:.2}", lx(f), ly(t)));
            s.push_str(&format!(
                r#"<polygon class="band" fill="{c}" fill-opacity="0.15" stroke="none" points="{}"><title>{} % bootstrap band of {}</title></polygon>"#,
                upper.chain(lower).collect::<Vec<_>>().join(" "),
                100.0 * r.statistics.confidence,
                escape(&r.attacks[i].name)
            ));
        }
    }
    for (i, a) in r.attacks.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        s.push_str(&format!(
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.6" points="{}"><title>{} (AUC {:.4})</title></polyline>"#,
            staircase(&a.metrics.roc.fpr, &a.metrics.roc.tpr, x0).iter().map(|&(f, t)| format!("{:.2},{:.2}", lx(f), ly(t))).collect::<Vec<_>>().join(" "),
            escape(&a.name),
            a.metrics.auc
        ));
    }
    // The legend, beside the plot.
    let lx0 = m + pw + 16.0;
    for (i, a) in r.attacks.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let y = top + 8.0 + 15.0 * i as f64;
        s.push_str(&format!(
            r#"<rect x="{lx0}" y="{}" width="12" height="3" fill="{c}"/><text x="{}" y="{}">{} · AUC {:.3}</text>"#,
            y - 3.0,
            lx0 + 16.0,
            y + 1.0,
            escape(&a.name),
            a.metrics.auc
        ));
    }
    if let Some(i) = best.filter(|&i| r.attacks[i].metrics.roc_band.is_some()) {
        let y = top + 8.0 + 15.0 * r.attacks.len() as f64 + 6.0;
        s.push_str(&format!(
            r#"<rect x="{lx0}" y="{}" width="12" height="9" fill="{}" fill-opacity="0.3"/><text x="{}" y="{}">{} % band: {}</text>"#,
            y - 6.0,
            COLORS[i % COLORS.len()],
            lx0 + 16.0,
            y + 1.0,
            100.0 * r.statistics.confidence,
            escape(&r.attacks[i].name)
        ));
    }
    s.push_str("</svg>");
    s
}

/// The staircase of ROC points (FPR non-decreasing) from `x0`: at each x the best TPR among
/// points with FPR ≤ x, so a horizontal run then a rise at each point's FPR.
fn staircase(fpr: &[f64], tpr: &[f64], x0: f64) -> Vec<(f64, f64)> {
    let start = fpr.iter().zip(tpr).filter(|(f, _)| **f <= x0).map(|(_, t)| *t).fold(0.0, f64::max);
    let mut out = vec![(x0, start)];
    let mut cur = start;
    for (&f, &t) in fpr.iter().zip(tpr) {
        if f <= x0 || t <= cur {
            continue;
        }
        out.push((f, cur));
        out.push((f, t));
        cur = t;
    }
    out.push((1.0, cur.max(tpr.last().copied().unwrap_or(1.0))));
    out
}

fn fmt_tick(v: f64) -> String {
    if v >= 0.01 { format!("{}", (v * 100.0).round() / 100.0) } else { format!("1e{}", v.log10().round() as i32) }
}

/// A small positive number for a label: 3 significant digits.
fn fmt_small(v: f64) -> String {
    if v >= 0.01 { format!("{v:.3}") } else { format!("{v:.2e}") }
}

/// One attack's member and non-member score distributions over pooled-quantile bins (see
/// [`crate::metrics::Histogram`]), drawn at equal width (the x axis is the pooled rank; the
/// edge scores are labelled): the share of members and of non-members in each bin, side by
/// side, and the best-advantage threshold as a vertical line.
pub fn histogram_svg(a: &AttackResult) -> String {
    let (w, h, m) = (300.0, 160.0, 24.0);
    let hist = &a.metrics.histogram;
    let n = hist.members.len().max(1);
    let tot_m: usize = hist.members.iter().sum::<usize>().max(1);
    let tot_n: usize = hist.nonmembers.iter().sum::<usize>().max(1);
    let frac = |c: usize, t: usize| c as f64 / t as f64;
    let top = hist.members.iter().map(|&c| frac(c, tot_m)).chain(hist.nonmembers.iter().map(|&c| frac(c, tot_n))).fold(1e-9, f64::max);
    let bw = (w - 2.0 * m) / n as f64;
    let base = h - m - 8.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="score histogram for {0}" class="privaudit-hist" font-family="system-ui, sans-serif" font-size="10">"#,
        escape(&a.name)
    );
    for (k, (series, counts, tot, color)) in
        [("non-members", &hist.nonmembers, tot_n, "#888888"), ("members", &hist.members, tot_m, "#d62728")].into_iter().enumerate()
    {
        for (i, &c) in counts.iter().enumerate() {
            let bh = frac(c, tot) / top * (base - 30.0);
            let (lo, hi) = (hist.edges[i], hist.edges[i + 1]);
            s.push_str(&format!(
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.7"><title>{series}: {c} ({:.1} %) with scores in [{}, {}]</title></rect>"#,
                m + bw * i as f64 + bw / 2.0 * k as f64,
                base - bh,
                bw / 2.0,
                bh,
                100.0 * frac(c, tot),
                fmt_score(lo),
                fmt_score(hi)
            ));
        }
    }
    // The threshold, placed within its bin by linear interpolation of the edges.
    if let Some(t) = a.metrics.best_threshold {
        let e = &hist.edges;
        let i = e.partition_point(|&v| v <= t).saturating_sub(1).min(n - 1);
        let within = if e[i + 1] > e[i] { ((t - e[i]) / (e[i + 1] - e[i])).clamp(0.0, 1.0) } else { 0.0 };
        let x = m + bw * (i as f64 + within);
        s.push_str(&format!(
            r#"<line class="threshold" x1="{x:.1}" y1="28" x2="{x:.1}" y2="{base}" stroke="currentColor" stroke-dasharray="3 2"><title>best-advantage threshold: member iff score ≥ {}</title></line>"#,
            fmt_score(t)
        ));
    }
    let (lo, mid, hi) = (hist.edges[0], hist.edges[n / 2], hist.edges[n]);
    s.push_str(&format!(
        r#"<text x="{m}" y="{0}">{1}</text><text x="{2}" y="{0}" text-anchor="middle">{3}</text><text x="{4}" y="{0}" text-anchor="end">{5}</text><text x="{2}" y="{6}" text-anchor="middle" fill-opacity="0.7">score, in bins of equal pooled counts</text>"#,
        base + 12.0,
        fmt_score(lo),
        m + bw * (n / 2) as f64,
        fmt_score(mid),
        w - m,
        fmt_score(hi),
        h - 4.0
    ));
    s.push_str(&format!(
        r##"<text x="{m}" y="11" font-weight="bold">{}</text><text x="{m}" y="23" font-size="8.5"><tspan fill="#d62728">members</tspan> / <tspan fill="#888888">non-members</tspan>: share per bin; dashed = threshold</text>"##,
        escape(&a.name)
    ));
    s.push_str("</svg>");
    s
}

/// A score for a label: 3 significant digits.
fn fmt_score(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) { format!("{}", (v * 1000.0).round() / 1000.0) } else { format!("{v:.2e}") }
}

/// The slices chart: the AUC of one attack (the report's exposure attack) per slice, as a dot
/// with its interval as a whisker, on a 0.5–1 scale (below 0.5 drawn at the left edge); the
/// whole audit's AUC as a dashed line. Small slices are drawn hollow.
pub fn slices_svg(r: &AuditReport) -> String {
    let attack = &r.exposure.attack;
    let rows: Vec<(&str, bool, Option<&super::SliceAttack>)> =
        r.slices.iter().map(|s| (s.name.as_str(), s.small, s.attacks.iter().find(|a| &a.name == attack))).collect();
    if rows.is_empty() {
        return String::new();
    }
    let (label_w, pw, row_h, top) = (300.0, 320.0, 18.0, 22.0);
    let (w, h) = (label_w + pw + 20.0, top + row_h * rows.len() as f64 + 34.0);
    let x = |v: f64| label_w + (v.clamp(0.5, 1.0) - 0.5) / 0.5 * pw;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="AUC of {} per slice, with intervals" class="privaudit-slices" font-family="system-ui, sans-serif" font-size="11">"#,
        escape(attack)
    );
    s.push_str(&format!(
        r#"<text x="{label_w}" y="12">AUC of {} per slice (hollow: fewer than {} members or non-members)</text>"#,
        escape(attack),
        super::records::SMALL_SLICE
    ));
    for t in [0.5, 0.6, 0.7, 0.8, 0.9, 1.0] {
        let y1 = top + row_h * rows.len() as f64;
        s.push_str(&format!(r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{y1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{0:.1}" y="{1}" text-anchor="middle">{t}</text>"#, x(t), y1 + 14.0));
    }
    if let Some(all) = r.attacks.iter().find(|a| &a.name == attack) {
        let y1 = top + row_h * rows.len() as f64;
        s.push_str(&format!(
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{y1}" stroke="currentColor" stroke-dasharray="4 3"><title>whole audit: AUC {1:.3}</title></line>"#,
            x(all.metrics.auc),
            all.metrics.auc
        ));
    }
    for (k, (name, small, a)) in rows.iter().enumerate() {
        let y = top + row_h * (k as f64 + 0.5);
        s.push_str(&format!(r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, label_w - 8.0, y + 4.0, escape(name)));
        let Some(a) = a else {
            s.push_str(&format!(r#"<text x="{}" y="{:.1}" fill-opacity="0.6">no metrics</text>"#, label_w + 4.0, y + 4.0));
            continue;
        };
        if let Some(ci) = &a.ci {
            s.push_str(&format!(
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"/>"#,
                x(ci.auc[0]),
                x(ci.auc[1]),
                COLORS[0]
            ));
        }
        let fill = if *small { "none" } else { COLORS[0] };
        s.push_str(&format!(
            r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{fill}" stroke="{}"><title>{}: AUC {:.3}</title></circle>"#,
            x(a.auc),
            COLORS[0],
            escape(name),
            a.auc
        ));
    }
    s.push_str("</svg>");
    s
}
