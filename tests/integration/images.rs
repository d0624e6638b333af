//! Image folders against torchvision 0.29 and Pillow 13 (tests/fixtures/images/, made by
//! make_image_fixtures.py): ImageFolder's order and labels, and the tensors of four
//! preprocessing pipelines (Resize, CenterCrop, Grayscale, ToTensor, Normalize, a 0..255 range)
//! on PNGs (RGB, RGBA, grayscale, palette with transparency) and JPEGs (4:2:0, 4:4:4,
//! grayscale). PNG pixels are PIL's exactly (the resize reproduces PIL's fixed point); JPEG
//! decoders differ by at most 2 of 255 levels, 0.5 on average (zune-jpeg vs libjpeg-turbo; measured
//! 2 and 0.40). A zip of the
//! folder reads the same; bad folders and images are clear errors; and an audit of the digits
//! CNN from PNG folders is the audit from the same pixels as NPZ.

use crate::common;
use common::*;
use privaudit::data::image::{Geometry, ImageOptions, Layout};
use privaudit::data::{DataSource, InputFile, read_images, read_npy, zip_images};
use privaudit::{AuditInput, AuditOptions, BackendChoice, ReferenceMode, run_audit};

fn options(v: &serde_json::Value) -> ImageOptions {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn image_folders_match_torchvision() {
    let want = json("images/expected.json");
    let records: Vec<(String, usize)> =
        want["records"].as_array().unwrap().iter().map(|r| (r["path"].as_str().unwrap().to_string(), r["label"].as_u64().unwrap() as usize)).collect();
    let (tol_max, tol_mean) = (want["tolerance_jpeg_max"].as_f64().unwrap(), want["tolerance_jpeg_mean"].as_f64().unwrap());
    let set = folder(fixture("images/set"));
    let zipped = source(fixture("images/set.zip"));
    assert!(zipped.is_images() && set.is_images());
    for c in want["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let shape: Vec<usize> = c["input_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let opts = options(&c["options"]);
        let g = Geometry::of("model", &shape, Layout::Auto).unwrap();
        opts.check(&g).unwrap();
        let (t, skipped) = read_images(&set, &opts, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(skipped, 1, "{name}: notes.txt is skipped");
        let got: Vec<(String, usize)> = t.ids.iter().cloned().zip(t.labels.iter().copied()).collect();
        assert_eq!(got, records, "{name}: ImageFolder's order and labels");
        assert_eq!(t.classes, ["cat", "dog", "emu"]);
        let (wshape, x) = read_npy(&file(fixture(&format!("images/{}", c["expected"].as_str().unwrap())))).unwrap();
        let per: usize = wshape[1..].iter().product();
        assert_eq!((t.rows, t.cols), (records.len(), per), "{name}: shape");
        // Values are in the pipeline's units (torchvision's are f32: 1e-6 of slack); one 8-bit level is 1/255 of the range, scaled by
        // the normalisation's std.
        let level: f64 = match name {
            "resize_crop_imagenet" => 1.0 / 255.0 / 0.224,
            "byte_range_mean_std" => 1.0 / 2.0,
            _ => 1.0 / 255.0,
        };
        for (r, (path, _)) in records.iter().enumerate() {
            let (g_row, w_row) = (&t.values[r * per..(r + 1) * per], &x[r * per..(r + 1) * per]);
            let diffs: Vec<f64> = g_row.iter().zip(w_row).map(|(a, b)| (a - b).abs()).collect();
            let worst = diffs.iter().cloned().fold(0.0, f64::max);
            let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
            if path.to_lowercase().ends_with(".png") {
                assert!(worst <= 1e-5 * level.max(1.0), "{name}/{path}: PNG differs from PIL/torchvision by {worst}");
            } else {
                assert!(
                    worst <= tol_max * 255.0 * level + 1e-6 && mean <= tol_mean * 255.0 * level,
                    "{name}/{path}: JPEG max {worst}, mean {mean} (one level = {level})"
                );
            }
        }
        // The zip (wrapped in a top folder) reads the same records and values.
        let (tz, _) = read_images(&zipped, &opts, &g).unwrap();
        assert_eq!((&tz.ids, &tz.labels, &tz.values), (&t.ids, &t.labels, &t.values), "{name}: zip vs folder");
    }
    // The page's thumbnails of a zipped set: every record's id finds the very file the folder
    // holds under that path; an id the zip lacks is None.
    let (t, _) =
        read_images(&zipped, &ImageOptions { resize: Some([8, 8]), ..Default::default() }, &Geometry::of("m", &[3, 8, 8], Layout::Auto).unwrap()).unwrap();
    let mut ids = t.ids.clone();
    ids.push("cat/none.png".into());
    let got = zip_images(&zipped.file, &ids).unwrap();
    for (id, bytes) in t.ids.iter().zip(&got) {
        assert_eq!(bytes.as_deref(), Some(std::fs::read(fixture(&format!("images/set/{id}"))).unwrap().as_slice()), "{id}");
    }
    assert_eq!(got.last(), Some(&None));
    let many = vec![String::new(); privaudit::data::MAX_ZIP_IMAGES_ASKED + 1];
    assert!(zip_images(&zipped.file, &many).unwrap_err().to_string().contains("at most 1000 at once"));
    assert!(zip_images(&InputFile::new("x.zip", b"PK\x03\x04 not a zip".to_vec()), &ids).unwrap_err().to_string().contains("x.zip: not a readable zip"));
}

#[test]
fn bad_image_folders_are_clear_errors() {
    let g = Geometry::of("model", &[3, 8, 8], Layout::Auto).unwrap();
    let opts = ImageOptions::default();
    let png = std::fs::read(fixture("images/set/cat/a_rgb.png")).unwrap();
    let jpg = std::fs::read(fixture("images/set/emu/e_rgb.jpg")).unwrap();
    let err = |files: Vec<(&str, Vec<u8>)>, o: &ImageOptions| {
        let src = DataSource::folder("members", files.into_iter().map(|(n, b)| InputFile::new(n, b)).collect());
        read_images(&src, o, &g).err().map(|e| e.to_string()).unwrap_or_default()
    };
    let cases: Vec<(Vec<(&str, Vec<u8>)>, &str)> = vec![
        (vec![("a/x.png", png[..png.len() / 2].to_vec())], "members/a/x.png: cannot decode the PNG"),
        (vec![("a/x.jpg", jpg[..jpg.len() / 3].to_vec())], "members/a/x.jpg: cannot decode the JPEG"),
        (vec![("a/x.png", b"GIF89a\x01\x00\x01\x00".to_vec())], "members/a/x.png: not a PNG or JPEG image"),
        (vec![("a/x.png", Vec::new())], "members/a/x.png: the file is empty"),
        (vec![("a/x.png", png.clone()), ("b/readme.txt", b"hi".to_vec())], "members: the class folder 'b' holds no PNG or JPEG image"),
        (vec![("x.png", png.clone())], "members: no PNG or JPEG images in class folders"),
        (vec![("a/notes.txt", b"hi".to_vec())], "no PNG or JPEG images in class folders"),
    ];
    for (files, want) in cases {
        let e = err(files, &opts);
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
    // A zip made by macOS's Finder: one top folder, `__MACOSX/` resource forks and `.DS_Store`s
    // beside the class folders; they are skipped, not read as a class.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default();
        for (name, bytes) in [("set/a/x.png", &png[..]), ("set/.DS_Store", b"\0\0"), ("__MACOSX/set/a/._x.png", b"\0\x05\x16\x07"), ("set/b/y.png", &png[..])] {
            z.start_file(name, o).unwrap();
            std::io::Write::write_all(&mut z, bytes).unwrap();
        }
        z.finish().unwrap();
    }
    let mac = DataSource { file: InputFile::new("mac.zip", buf.into_inner()), labels: None, images: Vec::new() };
    assert!(mac.is_images());
    let (t, skipped) = read_images(&mac, &ImageOptions::default(), &g).unwrap();
    assert_eq!((t.classes.clone(), t.ids.clone(), skipped), (vec!["a".to_string(), "b".to_string()], vec!["a/x.png".to_string(), "b/y.png".to_string()], 0));
    // Its thumbnails come from inside the top folder, not from the resource forks.
    assert_eq!(zip_images(&mac.file, &t.ids).unwrap(), vec![Some(png.clone()), Some(png.clone())]);
    // A crop larger than the image (no resize), a final size that is not the model's.
    let crop = ImageOptions { center_crop: Some([40, 40]), ..Default::default() };
    assert!(err(vec![("a/x.png", png.clone())], &crop).contains("the centre crop 40×40 is larger than the image (30×40"));
    let resize = ImageOptions { resize: Some([9, 9]), ..Default::default() };
    assert!(err(vec![("a/x.png", png.clone())], &resize).contains("is 9×9 after preprocessing but the model takes 8×8"));
    let classes = ImageOptions { classes: Some(vec!["b".into()]), ..Default::default() };
    assert!(err(vec![("a/x.png", png.clone())], &classes).contains("the folder 'a' is not one of the classes"));
    // A PNG declaring 100 000 × 100 000 pixels is refused from its header, before any allocation.
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let e = err(vec![("a/x.png", huge)], &opts);
    assert!(e.contains("members/a/x.png") && (e.contains("at most") || e.contains("cannot decode")), "{e}");
    // Options checked against the model.
    let g1 = Geometry::of("model", &[1, 8, 8], Layout::Auto).unwrap();
    assert!(
        ImageOptions { normalize: privaudit::data::image::Normalize::Imagenet, ..Default::default() }.check(&g1).unwrap_err().to_string().contains("3-channel")
    );
    assert!(ImageOptions { mean: Some(vec![0.5]), ..Default::default() }.check(&g1).unwrap_err().to_string().contains("go together"));
    assert!(ImageOptions { mean: Some(vec![0.5, 0.5]), std: Some(vec![1.0, 1.0]), ..Default::default() }.check(&g1).is_err());
    assert!(ImageOptions { resize: Some([0, 8]), ..Default::default() }.check(&g1).is_err());
    assert!(Geometry::of("m.onnx", &[64], Layout::Auto).unwrap_err().to_string().contains("images need [C, H, W] or [H, W, C]"));
}

#[test]
fn an_audit_from_png_folders_is_the_audit_from_the_same_pixels() {
    // www/demo/digits_images holds exactly the pixels of the digits CNN's NPZ records.
    let model = file(fixture("models/digits_cnn.onnx"));
    let img = |n: &str| folder(root().join(format!("www/demo/digits_images/{n}")));
    let npz = |n: &str| source(fixture(&format!("models/digits_cnn_{n}.npz")));
    let opts = AuditOptions {
        backend: BackendChoice::Cpu,
        attacks: vec!["loss".into(), "confidence".into(), "attack_p".into(), "rmia".into()],
        references: 2,
        mode: ReferenceMode::Offline,
        training: privaudit::model::TrainSettings { epochs: 5, batch_size: 25, ..Default::default() },
        seed: 9,
        ..Default::default()
    };
    let run = |m: DataSource, n: DataSource, p: DataSource| {
        let mut input = AuditInput::model(model.clone(), None, m, n);
        input.population = Some(p);
        pollster::block_on(run_audit(input, &opts, &mut |_| {})).unwrap()
    };
    let a = run(img("members"), img("nonmembers"), img("population"));
    let b = run(npz("members"), npz("nonmembers"), npz("population"));
    assert_eq!(a.report.attacks, b.report.attacks, "same pixels, same audit");
    let info = a.report.data.images.as_ref().expect("the report records the images");
    assert_eq!(info.class_names, (0..10).map(|d| d.to_string()).collect::<Vec<_>>());
    assert!(info.preprocessing.iter().any(|s| s.contains("÷ 255")), "{:?}", info.preprocessing);
    assert!(b.report.data.images.is_none());
    // Each record's path is in the scores.
    assert!(a.scores.rows[0].id.as_deref().is_some_and(|p| p.ends_with(".png") && p.contains('/')), "{:?}", a.scores.rows[0].id);
    let csv = privaudit::report::scores_csv(&a.scores);
    assert!(csv.lines().next().unwrap().starts_with("set,row,id,label,member"), "{csv:.80}");
    // A zip of each folder reads the same.
    let zip = |n: &str| source(root().join(format!("www/demo/digits_images/{n}.zip")));
    let c = run(zip("members"), zip("nonmembers"), zip("population"));
    assert_eq!(c.report.attacks, a.report.attacks, "zips vs folders");
}

#[test]
fn the_reference_cache_key_covers_every_image() {
    // Kept references are reused only for the very same records: an image folder's files
    // (paths and bytes) and the image options are part of the key.
    let model = file(fixture("models/digits_cnn.onnx"));
    let opts = AuditOptions { attacks: vec!["rmia".into()], references: 2, ..Default::default() };
    let key = |m: DataSource, o: &AuditOptions| {
        privaudit::reference_cache_key(&AuditInput::model(model.clone(), None, m, folder(root().join("www/demo/digits_images/nonmembers"))), o).unwrap()
    };
    let members = folder(root().join("www/demo/digits_images/members"));
    let base = key(members.clone(), &opts);
    assert_eq!(base, key(members.clone(), &opts));
    let mut changed = members.clone();
    changed.images[0].bytes[40] ^= 1;
    assert_ne!(base, key(changed, &opts), "one image's bytes");
    let mut renamed = members.clone();
    renamed.images[0].name = renamed.images[0].name.replacen('/', "x/", 1);
    assert_ne!(base, key(renamed, &opts), "one image's class folder");
    let resized = AuditOptions { image: ImageOptions { resize: Some([8, 8]), ..Default::default() }, ..opts.clone() };
    assert_ne!(base, key(members, &resized), "the image options");
}
