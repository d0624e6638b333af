//! Duplicate records: members that appear again among the members, and members that appear
//! among the non-members, which make an audit undercount leakage (the model saw that
//! "non-member" in training).
//!
//! Found by hashing, in O(N) expected time for exact copies and O(N · B · W) for near copies,
//! never by comparing all pairs:
//! * **Exact**: identical model inputs (every value bit-for-bit after preprocessing): a hash of
//!   each record's values groups candidates, and the values are then compared, so a hash
//!   collision never makes a false duplicate.
//! * **Near** (images only): a difference hash (dHash) of each image — its grey levels averaged
//!   over channels, box-averaged down to 9 × 8 cells, one bit per horizontally adjacent pair
//!   ("left brighter than right") — within [`NEAR_BITS`] bits of each other, and a root mean
//!   square difference of the model inputs within [`NEAR_RMS`] of the data's value range (so
//!   two different images that merely share a coarse layout are not called duplicates). The
//!   64 bits are cut into `NEAR_BITS + 1` bands: two hashes within `NEAR_BITS` bits agree
//!   exactly on at least one band (pigeonhole), so only records sharing a band are compared. In
//!   a band bucket of more than [`BUCKET_ALL_PAIRS`] records, each is compared with its
//!   [`BUCKET_ALL_PAIRS`] successors in hash order only; the report counts such buckets.

use super::target::Records;
use crate::data::image::Geometry;
use crate::report::{DuplicateExample, DuplicateInfo, RecordRef};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Most differing dHash bits of a near duplicate.
pub const NEAR_BITS: u32 = 4;
/// Largest root-mean-square difference of a near duplicate's model inputs, as a share of the
/// data's value range (max − min over all values).
pub const NEAR_RMS: f64 = 0.05;
/// Band buckets up to this size are compared pair by pair.
pub const BUCKET_ALL_PAIRS: usize = 64;
/// Examples the report lists.
const EXAMPLES: usize = 10;

/// What was found, by global record index (members first, then non-members).
pub(crate) struct Found {
    pub info: DuplicateInfo,
    /// Members with a copy (exact or near) among the other members or the non-members.
    pub duplicated_members: Vec<bool>,
    /// Non-member rows (0-based within the non-members) that copy a member.
    pub nonmember_copies: Vec<usize>,
}

/// Look for duplicates among the members and between members and non-members.
pub(crate) fn find(records: &Records, geometry: Option<&Geometry>) -> Found {
    let t0 = super::now_ms();
    let (n_mem, n_non) = (records.members(), records.nonmembers());
    let n = n_mem + n_non;
    let row = |i: usize| {
        let (t, r) = records.locate(i);
        records.tables[t].row(r)
    };
    let mut uf = Pairs::default();
    // Exact: group by a hash of the value bits, then compare values within a group.
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let bits: Vec<u64> = row(i).iter().map(|v| canonical_bits(*v)).collect();
        groups.entry(hasher.hash_one(&bits)).or_default().push(i);
    }
    for g in groups.values().filter(|g| g.len() > 1) {
        // Within a group, the first record of each distinct value is its representative.
        let mut reps: Vec<usize> = Vec::new();
        for &i in g {
            match reps.iter().find(|&&r| same(row(r), row(i))) {
                Some(&r) => uf.add(r, i, None),
                None => reps.push(i),
            }
        }
    }
    // Near: images only.
    let mut capped = 0;
    let near = geometry.map(|g| {
        let (lo, hi) = records.tables.iter().take(2).flat_map(|t| t.values.iter()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let range = (hi - lo).max(f64::MIN_POSITIVE);
        let hashes: Vec<u64> = (0..n).map(|i| dhash(row(i), g)).collect();
        let bands = NEAR_BITS as usize + 1;
        let width = 64usize.div_ceil(bands);
        for b in 0..bands {
            let shift = b * width;
            let mask = if width + shift >= 64 { u64::MAX >> shift } else { (1u64 << width) - 1 };
            let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
            for (i, h) in hashes.iter().enumerate() {
                buckets.entry((h >> shift) & mask).or_default().push(i);
            }
            for mut bucket in buckets.into_values().filter(|v| v.len() > 1) {
                let all = bucket.len() <= BUCKET_ALL_PAIRS;
                if !all {
                    capped += 1;
                    bucket.sort_by_key(|&i| (hashes[i], i));
                }
                for x in 0..bucket.len() {
                    let end = if all { bucket.len() } else { (x + 1 + BUCKET_ALL_PAIRS).min(bucket.len()) };
                    for y in x + 1..end {
                        let (i, j) = (bucket[x].min(bucket[y]), bucket[x].max(bucket[y]));
                        let d = (hashes[i] ^ hashes[j]).count_ones();
                        if d > NEAR_BITS || uf.has(i, j) || same(row(i), row(j)) {
                            continue;
                        }
                        if rms(row(i), row(j)) <= NEAR_RMS * range {
                            uf.add(i, j, Some(d));
                        }
                    }
                }
            }
        }
    });
    // Tally: members with a copy; non-members copying a member.
    let mut duplicated_members = vec![false; n_mem];
    let mut copy = vec![false; n_non];
    let (mut exact_mm, mut near_mm, mut exact_mn, mut near_mn) = (vec![false; n_mem], vec![false; n_mem], vec![false; n_non], vec![false; n_non]);
    let mut examples = Vec::new();
    let mut pairs: Vec<(&(usize, usize), &Option<u32>)> = uf.pairs.iter().collect();
    pairs.sort_unstable();
    for (&(i, j), d) in pairs {
        if i >= n_mem {
            continue; // two non-members alike: not a leak of training data
        }
        duplicated_members[i] = true;
        let exact = d.is_none();
        if j < n_mem {
            duplicated_members[j] = true;
            for k in [i, j] {
                if exact { exact_mm[k] = true } else { near_mm[k] = true }
            }
        } else {
            copy[j - n_mem] = true;
            if exact { exact_mn[j - n_mem] = true } else { near_mn[j - n_mem] = true }
        }
        if examples.len() < EXAMPLES {
            examples.push(DuplicateExample {
                kind: if exact { "exact" } else { "near" }.into(),
                a: reference(records, i),
                b: reference(records, j),
                hash_distance: *d,
            });
        }
    }
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count();
    let info = DuplicateInfo {
        method: method(geometry.is_some()),
        exact_within_members: count(&exact_mm),
        exact_members_in_nonmembers: count(&exact_mn),
        near_within_members: near.map(|()| count(&near_mm)),
        near_members_in_nonmembers: near.map(|()| count(&near_mn)),
        capped_buckets: capped,
        examples,
        dropped_nonmembers: 0,
        exposure: None,
        seconds: (super::now_ms() - t0) / 1000.0,
    };
    Found { info, duplicated_members, nonmember_copies: copy.iter().enumerate().filter(|(_, c)| **c).map(|(k, _)| k).collect() }
}

/// How duplicates were looked for, for the report.
fn method(images: bool) -> String {
    let exact = "exact: identical model inputs (every value after preprocessing), by hashing";
    if images {
        format!(
            "{exact}; near (images): difference hashes (9×8 grey cells) within {NEAR_BITS} of 64 bits and a root-mean-square input difference within {} % of the value range, pairs found by {} hash bands",
            NEAR_RMS * 100.0,
            NEAR_BITS + 1
        )
    } else {
        format!("{exact}; tables get no near-duplicate search (a distance between feature rows has no scale-free meaning)")
    }
}

/// `(set, 1-based row, name)` of global record `i`.
fn reference(records: &Records, i: usize) -> RecordRef {
    let (t, r) = records.locate(i);
    RecordRef { set: if t == 0 { "members" } else { "nonmembers" }.into(), row: r + 1, id: records.tables[t].ids.get(r).cloned() }
}

/// The bits of `v`, with −0 read as +0 (they are the same input).
fn canonical_bits(v: f64) -> u64 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn rms(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len().max(1) as f64).sqrt()
}

/// The difference hash of an image given as a model input: grey = mean over channels; 9 × 8
/// cells, each the mean of the pixels whose centre falls in it; bit 8r + c set when cell
/// (r, c) is brighter than cell (r, c + 1).
pub(crate) fn dhash(x: &[f64], g: &Geometry) -> u64 {
    let (h, w, c) = (g.height, g.width, g.channels);
    if h == 0 || w == 0 || c == 0 || x.len() < h * w * c {
        return 0;
    }
    let px = |y: usize, xx: usize| -> f64 { (0..c).map(|k| if g.nchw { x[k * h * w + y * w + xx] } else { x[(y * w + xx) * c + k] }).sum::<f64>() / c as f64 };
    let (mut sum, mut cnt) = ([[0.0f64; 9]; 8], [[0u32; 9]; 8]);
    for y in 0..h {
        let r = ((2 * y + 1) * 8 / (2 * h)).min(7);
        for xx in 0..w {
            let col = ((2 * xx + 1) * 9 / (2 * w)).min(8);
            sum[r][col] += px(y, xx);
            cnt[r][col] += 1;
        }
    }
    // A cell no pixel centre fell in (an image narrower than 9 or shorter than 8 pixels) takes
    // its nearest pixel's value.
    let mut cell = [[0.0f64; 9]; 8];
    for r in 0..8 {
        for col in 0..9 {
            cell[r][col] =
                if cnt[r][col] > 0 { sum[r][col] / f64::from(cnt[r][col]) } else { px(((2 * r + 1) * h / 16).min(h - 1), ((2 * col + 1) * w / 18).min(w - 1)) };
        }
    }
    let mut bits = 0u64;
    for (r, row) in cell.iter().enumerate() {
        for col in 0..8 {
            if row[col] > row[col + 1] {
                bits |= 1 << (8 * r + col);
            }
        }
    }
    bits
}

/// Pairs `(i < j)` found alike, with their hash distance (None: exact).
#[derive(Default)]
struct Pairs {
    pairs: HashMap<(usize, usize), Option<u32>>,
}

impl Pairs {
    fn add(&mut self, a: usize, b: usize, d: Option<u32>) {
        self.pairs.entry((a.min(b), a.max(b))).or_insert(d);
    }

    fn has(&self, a: usize, b: usize) -> bool {
        self.pairs.contains_key(&(a.min(b), a.max(b)))
    }
}
