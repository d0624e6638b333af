//! SVG renderers: a log-log ROC plot of every attack with the chance line, score histograms and
//! the slices chart. Pure functions of the report, shared by the page, the widget and the CLI.
//!
//! Every plot follows the same rules (tested on the rendered SVG in Chromium):
//! - text is drawn in `currentColor` (the `fill` of the root element), so it has the page's own
//!   text colour in a light and a dark scheme alike and prints in black; series colours are
//!   used only for lines, marks and swatches, never for text;
//! - the viewBox is sized from the labels it holds (see [`text_width`]), so no text is cut off;
//! - each series has its own colour *and* dash or marker, so it reads in greyscale too;
//! - axes cover the data: an AUC below 0.5 is drawn where it is, with chance marked.

use super::format::{num, text_width};
use super::{AttackResult, AuditReport};

/// Series colours (Tableau 10 order), for lines and marks.
pub(crate) const COLORS: [&str; 10] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

/// Dash patterns paired with the colours, so that curves differ without colour as well.
const DASHES: [&str; 5] = ["", "6 3", "2 2", "8 3 2 3", "1 3"];

/// The root `<svg>` element's opening tag: text in the page's colour.
fn open(w: f64, h: f64, class: &str, label: &str, font: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}" class="{class}" font-family="system-ui, sans-serif" font-size="{font}" fill="currentColor">"#,
        w.ceil(),
        h.ceil(),
        escape(label)
    )
}

/// Escape text for HTML and SVG, attribute values included (the one escaper of the reports).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The legend's note when attacks share a curve.
const SAME: &str = "names joined by “=” share one curve";

/// The decade at or below `v` (> 0).
fn decade_below(v: f64) -> f64 {
    10f64.powf(v.log10().floor())
}

/// Attacks whose ROC curves coincide (the same points: one score is a monotone function of the
/// other, as confidence is of loss), as groups of positions in report order.
fn coinciding(r: &AuditReport) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, a) in r.attacks.iter().enumerate() {
        let same = |j: &usize| {
            let b = &r.attacks[*j].metrics.roc;
            b.fpr == a.metrics.roc.fpr && b.tpr == a.metrics.roc.tpr
        };
        match groups.iter_mut().find(|g| same(&g[0])) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// Log-log ROC curves, one staircase per attack (the best TPR at FPR ≤ x, as `tpr_at_fpr`
/// reads it), from the smallest measurable FPR (1/N) to 1, plus chance and, for the strongest
/// attack (highest AUC), its pointwise bootstrap band. TPR 0 is drawn on the bottom edge.
/// Attacks whose curves coincide are drawn once and named together. The legend is beside the
/// plot, never over it, as wide as its longest entry.
pub fn roc_svg(r: &AuditReport) -> String {
    let (pw, ph, m, top, font): (f64, f64, f64, f64, f64) = (380.0, 340.0, 52.0, 16.0, 11.0);
    let groups = coinciding(r);
    let label = |g: &[usize]| {
        let names: Vec<&str> = g.iter().map(|&i| r.attacks[i].name.as_str()).collect();
        format!("{} · AUC {:.3}", names.join(" = "), r.attacks[g[0]].metrics.auc)
    };
    let best = (0..r.attacks.len()).max_by(|&a, &b| r.attacks[a].metrics.auc.total_cmp(&r.attacks[b].metrics.auc));
    let band_label =
        best.filter(|&i| r.attacks[i].metrics.roc_band.is_some()).map(|i| format!("{} % band: {}", 100.0 * r.statistics.confidence, r.attacks[i].name));
    let legend_w = groups
        .iter()
        .map(|g| label(g))
        .chain(band_label.clone())
        .chain(std::iter::once(SAME.to_string()))
        .map(|s| 16.0 + text_width(&s, font))
        .fold(120.0, f64::max);
    let legend_h = top + 8.0 + 15.0 * (groups.len() as f64 + 2.5);
    let (w, h) = (m + pw + 16.0 + legend_w + 4.0, (top + ph + 48.0).max(legend_h));
    let x0 = 1.0 / r.data.nonmembers.max(1) as f64;
    let y0 = decade_below(x0.min(1.0 / r.data.members.max(1) as f64));
    let lx = |f: f64| m + (f.max(x0).log10() - x0.log10()) / -x0.log10() * pw;
    let ly = |t: f64| top + ph - (t.max(y0).log10() - y0.log10()) / -y0.log10() * ph;
    let mut s = open(w, h, "privaudit-roc", "ROC curves, log-log, from FPR 1/N", font);
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
    s.push_str(&format!(r#"<text x="{}" y="{}" text-anchor="middle">false-positive rate (from 1/N = {})</text>"#, m + pw / 2.0, top + ph + 32.0, num(x0)));
    s.push_str(&format!(r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">true-positive rate</text>"#, top + ph / 2.0));
    s.push_str(&format!(
        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="currentColor" stroke-dasharray="4 3" stroke-opacity="0.6"><title>chance</title></line>"#,
        lx(x0),
        ly(x0),
        lx(1.0),
        ly(1.0)
    ));
    let color = |k: usize| COLORS[k % COLORS.len()];
    let dash = |k: usize| match DASHES[(k / COLORS.len() + k) % DASHES.len()] {
        "" => String::new(),
        d => format!(r#" stroke-dasharray="{d}""#),
    };
    let group_of = |i: usize| groups.iter().position(|g| g.contains(&i)).unwrap_or(0);
    if let Some((i, band)) = best.and_then(|i| r.attacks[i].metrics.roc_band.as_ref().map(|b| (i, b))) {
        let upper = band.fpr.iter().zip(&band.hi).map(|(&f, &t)| format!("{:.2},{:.2}", lx(f), ly(t)));
        let lower = band.fpr.iter().zip(&band.lo).rev().map(|(&f, &t)| format!("{:.2},{:.2}", lx(f), ly(t)));
        s.push_str(&format!(
            r#"<polygon class="band" fill="{}" fill-opacity="0.15" stroke="none" points="{}"><title>{} % bootstrap band of {}</title></polygon>"#,
            color(group_of(i)),
            upper.chain(lower).collect::<Vec<_>>().join(" "),
            100.0 * r.statistics.confidence,
            escape(&r.attacks[i].name)
        ));
    }
    for (k, g) in groups.iter().enumerate() {
        let a = &r.attacks[g[0]];
        s.push_str(&format!(
            r#"<polyline fill="none" stroke="{}" stroke-width="1.6"{} data-attacks="{}" points="{}"><title>{}</title></polyline>"#,
            color(k),
            dash(k),
            escape(&g.iter().map(|&i| r.attacks[i].name.as_str()).collect::<Vec<_>>().join(" ")),
            staircase(&a.metrics.roc.fpr, &a.metrics.roc.tpr, x0).iter().map(|&(f, t)| format!("{:.2},{:.2}", lx(f), ly(t))).collect::<Vec<_>>().join(" "),
            escape(&label(g))
        ));
    }
    // The legend, beside the plot: one entry per distinct curve.
    let lx0 = m + pw + 16.0;
    for (k, g) in groups.iter().enumerate() {
        let y = top + 8.0 + 15.0 * k as f64;
        s.push_str(&format!(
            r#"<line x1="{lx0}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="{2}" stroke-width="2"{3}/><text x="{4}" y="{5:.1}">{6}</text>"#,
            y - 3.5,
            lx0 + 12.0,
            color(k),
            dash(k),
            lx0 + 16.0,
            y + 1.0,
            escape(&label(g))
        ));
    }
    let mut y = top + 8.0 + 15.0 * groups.len() as f64 + 6.0;
    if let (Some(i), Some(text)) = (best, band_label) {
        s.push_str(&format!(
            r#"<rect x="{lx0}" y="{:.1}" width="12" height="9" fill="{}" fill-opacity="0.3"/><text x="{}" y="{:.1}">{}</text>"#,
            y - 8.0,
            color(group_of(i)),
            lx0 + 16.0,
            y + 1.0,
            escape(&text)
        ));
        y += 15.0;
    }
    if groups.iter().any(|g| g.len() > 1) {
        s.push_str(&format!(r#"<text x="{lx0}" y="{y:.1}">{SAME}</text>"#));
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

/// A decade tick: "0.01", "0.1", "1", else "10⁻³".
fn fmt_tick(v: f64) -> String {
    if v >= 0.01 { format!("{}", (v * 100.0).round() / 100.0) } else { num(v).replace("1×", "") }
}

/// Ticks at 1, 2 or 5 × 10^k covering [0, top] (at most 5 steps), with `top` raised to the last.
pub(crate) fn count_ticks(top: usize) -> Vec<usize> {
    let top = top.max(1);
    let step = [1usize, 2, 5].iter().flat_map(|&f| (0..10).map(move |e| f * 10usize.pow(e))).filter(|&s| top.div_ceil(s) <= 5).min().unwrap_or(1);
    (0..=top.div_ceil(step)).map(|k| k * step).collect()
}

/// One attack's member and non-member score distributions, back to back: members above the
/// axis and non-members below, each with its own count axis (the sets differ in size), over
/// the report's pooled-quantile bins drawn at equal width (so the x axis is the pooled
/// percentile of the score; the score is labelled at the lowest, the median and the highest
/// edge), and the best-advantage threshold as a labelled vertical line.
pub fn histogram_svg(a: &AttackResult) -> String {
    let (w, font): (f64, f64) = (320.0, 10.0);
    let hist = &a.metrics.histogram;
    let n = hist.members.len().max(1);
    let ticks_m = count_ticks(hist.members.iter().copied().max().unwrap_or(0));
    let ticks_n = count_ticks(hist.nonmembers.iter().copied().max().unwrap_or(0));
    let (top_m, top_n) = (*ticks_m.last().unwrap_or(&1) as f64, *ticks_n.last().unwrap_or(&1) as f64);
    let axis_w = 6.0 + text_width(&top_m.max(top_n).to_string(), font);
    let (left, right) = (axis_w + 14.0, w - 10.0);
    let (y_top, half) = (50.0, 62.0);
    let mid = y_top + half;
    let bw = (right - left) / n as f64;
    let h = mid + half + 58.0;
    let mut s = open(w, h, "privaudit-hist", &format!("score histogram for {}", a.name), font);
    s.push_str(&format!(r#"<text x="0" y="12" font-weight="bold">{}</text>"#, escape(&a.name)));
    let first = "members (above the axis)";
    let x2 = 14.0 + text_width(first, font) + 10.0;
    s.push_str(&format!(
        r##"<rect x="0" y="19" width="10" height="8" fill="{}"/><text x="14" y="27">{first}</text><rect x="{x2:.1}" y="19" width="10" height="8" fill="#888888"/><text x="{:.1}" y="27">non-members (below)</text>"##,
        COLORS[1],
        x2 + 14.0
    ));
    s.push_str(&format!(r#"<text x="0" y="42">records per bin</text>"#));
    for (series, counts, top, sign, color) in [("members", &hist.members, top_m, -1.0, COLORS[1]), ("non-members", &hist.nonmembers, top_n, 1.0, "#888888")] {
        for (i, &c) in counts.iter().enumerate() {
            let bh = c as f64 / top * half;
            let y = if sign < 0.0 { mid - bh } else { mid };
            s.push_str(&format!(
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{color}"><title>{series}: {c} with scores from {} to {}</title></rect>"#,
                left + bw * i as f64 + 0.5,
                (bw - 1.0).max(0.5),
                num(hist.edges[i]),
                num(hist.edges[i + 1])
            ));
        }
        let ticks = if sign < 0.0 { &ticks_m } else { &ticks_n };
        for &t in ticks.iter().filter(|&&t| t > 0) {
            let y = mid + sign * t as f64 / top * half;
            s.push_str(&format!(
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{left}" y2="{y:.1}" stroke="currentColor" stroke-opacity="0.5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{t}</text>"#,
                left - 3.0,
                left - 5.0,
                y + 3.5
            ));
        }
    }
    s.push_str(&format!(r#"<line x1="{left}" y1="{y_top}" x2="{left}" y2="{:.1}" stroke="currentColor" stroke-opacity="0.5"/>"#, mid + half));
    s.push_str(&format!(
        r#"<line x1="{left}" y1="{mid}" x2="{right}" y2="{mid}" stroke="currentColor"/><text x="{:.1}" y="{:.1}" text-anchor="end">0</text>"#,
        left - 5.0,
        mid + 3.5
    ));
    // The threshold, placed within its bin by linear interpolation of the edges.
    if let Some(t) = a.metrics.best_threshold {
        let e = &hist.edges;
        let i = e.partition_point(|&v| v <= t).saturating_sub(1).min(n - 1);
        let within = if e[i + 1] > e[i] { ((t - e[i]) / (e[i + 1] - e[i])).clamp(0.0, 1.0) } else { 0.0 };
        let x = left + bw * (i as f64 + within);
        let text = format!("threshold {}", num(t));
        let tw = text_width(&text, font);
        let tx = (x - tw / 2.0).clamp(0.0, w - tw);
        s.push_str(&format!(
            r#"<line class="threshold" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="currentColor" stroke-dasharray="3 2"><title>best-advantage threshold: member iff score ≥ {}</title></line><text x="{tx:.1}" y="{:.1}">{}</text>"#,
            y_top - 2.0,
            mid + half,
            num(t),
            mid + half + 12.0,
            escape(&text)
        ));
    }
    // The score axis: the pooled quantiles at the lowest, middle and highest edge.
    let y = h - 20.0;
    let (lo, md, hi) = (hist.edges[0], hist.edges[n / 2], hist.edges[n]);
    s.push_str(&format!(
        r#"<text x="{left}" y="{y}">{}</text><text x="{:.1}" y="{y}" text-anchor="middle">{}</text><text x="{right}" y="{y}" text-anchor="end">{}</text>"#,
        num(lo),
        left + bw * (n / 2) as f64,
        num(md),
        num(hi)
    ));
    s.push_str(&format!(r#"<text x="{:.1}" y="{}" text-anchor="middle">score (bins hold equal shares of all records)</text>"#, w / 2.0, h - 6.0));
    s.push_str("</svg>");
    s
}

/// Ticks for an AUC axis from `lo` to 1: every 0.1.
fn auc_ticks(lo: f64) -> Vec<f64> {
    let mut t = Vec::new();
    let mut v = (lo * 10.0).round() / 10.0;
    while v <= 1.0 + 1e-9 {
        t.push(v);
        v = ((v + 0.1) * 10.0).round() / 10.0;
    }
    t
}

/// The slices chart: the AUC of one attack (the report's exposure attack) per slice, as a dot
/// with its interval as a whisker, on an axis from 1 down to 0.5 or to the lowest value drawn
/// (an AUC below 0.5 is drawn where it is), chance marked at 0.5; the whole audit's AUC as a
/// dashed line. Small slices are drawn hollow.
pub fn slices_svg(r: &AuditReport) -> String {
    let attack = &r.exposure.attack;
    let rows: Vec<(&str, bool, Option<&super::SliceAttack>)> =
        r.slices.iter().map(|s| (s.name.as_str(), s.small, s.attacks.iter().find(|a| &a.name == attack))).collect();
    if rows.is_empty() {
        return String::new();
    }
    let font: f64 = 11.0;
    let low = rows.iter().filter_map(|(_, _, a)| *a).flat_map(|a| std::iter::once(a.auc).chain(a.ci.iter().map(|c| c.auc[0]))).fold(0.5, f64::min);
    let x_lo = ((low - 1e-9) * 10.0).floor() / 10.0;
    let label_w = rows.iter().map(|(n, _, _)| text_width(n, font)).fold(60.0, f64::max).min(300.0) + 12.0;
    let (pw, row_h, top) = (320.0, 18.0, 40.0);
    let title = format!("AUC of {attack} per slice, with its interval");
    let note = format!("hollow: fewer than {} members or non-members; dashed: the whole audit", super::records::SMALL_SLICE);
    let w = (label_w + pw + 20.0).max(text_width(&title, font).max(text_width(&note, font)) + 8.0);
    let h = top + row_h * rows.len() as f64 + 34.0;
    let x = |v: f64| label_w + (v.clamp(x_lo, 1.0) - x_lo) / (1.0 - x_lo) * pw;
    let mut s = open(w, h, "privaudit-slices", &format!("AUC of {attack} per slice, with intervals"), font);
    s.push_str(&format!(r#"<text x="0" y="13">{}</text><text x="0" y="28">{}</text>"#, escape(&title), escape(&note)));
    let y1 = top + row_h * rows.len() as f64;
    for t in auc_ticks(x_lo) {
        s.push_str(&format!(r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{y1}" stroke="currentColor" stroke-opacity="0.12"/><text x="{0:.1}" y="{1}" text-anchor="middle">{t:.1}</text>"#, x(t), y1 + 14.0));
    }
    s.push_str(&format!(
        r#"<line class="chance" x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{y1}" stroke="currentColor" stroke-opacity="0.7"><title>chance: AUC 0.5</title></line><text x="{0:.1}" y="{1}" text-anchor="middle">chance</text>"#,
        x(0.5),
        y1 + 28.0
    ));
    if let Some(all) = r.attacks.iter().find(|a| &a.name == attack) {
        s.push_str(&format!(
            r#"<line class="whole" x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{y1}" stroke="currentColor" stroke-dasharray="4 3"><title>whole audit: AUC {1:.3}</title></line>"#,
            x(all.metrics.auc),
            all.metrics.auc
        ));
    }
    for (k, (name, small, a)) in rows.iter().enumerate() {
        let y = top + row_h * (k as f64 + 0.5);
        // A name too long for the column is cut, whole in its tooltip.
        let max_chars = ((label_w - 12.0) / (font * 0.62)) as usize;
        let shown = if name.chars().count() > max_chars {
            format!("{}…", name.chars().take(max_chars.saturating_sub(1)).collect::<String>())
        } else {
            name.to_string()
        };
        s.push_str(&format!(r#"<text x="{}" y="{:.1}" text-anchor="end">{}<title>{}</title></text>"#, label_w - 8.0, y + 4.0, escape(&shown), escape(name)));
        let Some(a) = a else {
            s.push_str(&format!(r#"<text x="{}" y="{:.1}">no metrics</text>"#, label_w + 4.0, y + 4.0));
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
            r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{fill}" stroke="{}" data-auc="{}"><title>{}: AUC {:.3}</title></circle>"#,
            x(a.auc),
            COLORS[0],
            a.auc,
            escape(name),
            a.auc
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_ticks_are_round_and_cover_the_top() {
        assert_eq!(count_ticks(0), [0, 1]);
        assert_eq!(count_ticks(7), [0, 2, 4, 6, 8]);
        assert_eq!(count_ticks(23), [0, 5, 10, 15, 20, 25]);
        assert_eq!(count_ticks(100), [0, 20, 40, 60, 80, 100]);
        assert_eq!(count_ticks(101), [0, 50, 100, 150]);
    }

    #[test]
    fn auc_axis_reaches_below_chance() {
        assert_eq!(auc_ticks(0.3), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
        assert_eq!(auc_ticks(0.5).len(), 6);
    }
}
