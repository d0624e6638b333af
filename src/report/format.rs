//! Numbers as people read them, one rule for every renderer (text, HTML, SVG; `www/render.js`
//! mirrors it as `num()`): fixed-point with four significant digits from 0.001 to 100,000,
//! otherwise three significant digits times a power of ten written with superscripts
//! ("1.27×10⁻⁶"), never "1.272e-6" or "1.0000e0". A minus sign is ASCII so that copied values
//! parse.

/// `v` for display: see the module doc. Non-finite values as "–".
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        // Four significant digits, trailing zeros dropped (but not a whole number's).
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
        return if s == "-0" { "0".into() } else { s };
    }
    let mut exp = a.log10().floor() as i32;
    let mut mantissa = v / 10f64.powi(exp);
    // 9.996e-7 rounds to 10.0: carry into the exponent.
    if format!("{:.2}", mantissa.abs()).starts_with("10") {
        exp += 1;
        mantissa = v / 10f64.powi(exp);
    }
    let m = format!("{mantissa:.2}");
    let m = m.trim_end_matches('0').trim_end_matches('.');
    format!("{m}×10{}", superscript(exp))
}

/// An integer in superscript digits ("⁻⁶").
fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// A rate or AUC in [0, 1] to `places` decimals (a table cell).
pub fn fixed(v: f64, places: usize) -> String {
    if v.is_finite() { format!("{v:.places$}") } else { "–".into() }
}

/// A confidence as a percentage without trailing zeros: 0.95 → "95 %", 0.9875 → "98.75 %".
pub fn fixed_pct(c: f64) -> String {
    let s = format!("{:.3}", 100.0 * c);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} %")
}

/// The width `s` takes at `size` px in a sans-serif face, estimated generously (0.62 em a
/// character; system-ui's widest letters are wider, its digits and most letters narrower), so
/// that plots leave room for their labels.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.62
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        for (v, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (0.99999, "1"),
            (0.7353, "0.7353"),
            (0.73534, "0.7353"),
            (-15.846, "-15.85"),
            (-0.0021348, "-0.002135"),
            (12345.6, "12346"),
            (-1.272e-6, "-1.27×10⁻⁶"),
            (9.996e-7, "1×10⁻⁶"),
            (2.5e-12, "2.5×10⁻¹²"),
            (123456.0, "1.23×10⁵"),
            (f64::NAN, "–"),
        ] {
            assert_eq!(num(v), want, "{v}");
        }
    }
}
