//! A real browser reads the HTML report: headless Chromium (Debian's `chromium`, which
//! `scripts/test` installs) renders the demo scenarios' pages (the binary's own `demo
//! --format html`, against its built-in server on 127.0.0.1), a client log's page and a
//! batch page, at phone width (390 px) and desktop width (1280 px). The test checks that no
//! console message appears (a Content-Security-Policy violation, a script, a failed load
//! would each log one), that the rendered DOM holds the pictures, and that every SVG drawn
//! alone has size and is not blank. The screenshots stay in `target/html-shots/` for
//! people to look at.
//!
//! Without Chromium the test says so and passes, except in CI (`CI` set, as `.ci/run` runs
//! it) or with `PASV_DOCTOR_REQUIRE_CHROMIUM=1` (as `scripts/test` sets it): there it must
//! run. Chromium is kept off the network: every host name maps to nothing and its
//! background services are off; each run is bounded by a timeout.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use pasv_doctor::report::{Report, html};
use pasv_doctor::transcript::Transcript;
use scraper::{Html, Selector};
use support::cdp::{QUIET, chromium_or_skip, shots_dir};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The longest one Chromium run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

struct Run {
    stdout: String,
    stderr: String,
}

/// Runs Chromium headless on `page` with `extra` arguments, bounded by [`RUN_TIMEOUT`].
fn chrome(exe: &Path, page: &Path, width: u32, height: u32, extra: &[String]) -> Run {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = tempfile::NamedTempFile::new().expect("stdout file");
    let err = tempfile::NamedTempFile::new().expect("stderr file");
    let mut child = Command::new(exe)
        .args(QUIET)
        // No host name resolves: the page loads nothing, and Chromium asks no one.
        .arg("--host-resolver-rules=MAP * ~NOTFOUND")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},{height}"))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("stdout"))
        .stderr(err.reopen().expect("stderr"))
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium took longer than {RUN_TIMEOUT:?} on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |f: &tempfile::NamedTempFile| {
        let mut s = String::new();
        let _ = f.reopen().expect("reopen").read_to_string(&mut s);
        s
    };
    let run = Run {
        stdout: read(&out),
        stderr: read(&err),
    };
    assert!(
        status.success(),
        "chromium failed on {}: {}",
        page.display(),
        run.stderr
    );
    run
}

/// Console messages (script errors, CSP violations, failed loads) in Chromium's log.
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Content Security Policy")
                || l.contains("Refused to")
                || l.contains("Uncaught")
        })
        .collect()
}

/// A decoded screenshot: width, height, RGB rows.
struct Png {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

fn load_png(path: &Path) -> Png {
    let mut decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("png"),
    ));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match channels {
            1 | 2 => [p[0]; 3],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    Png {
        width: info.width as usize,
        height: info.height as usize,
        rgb,
    }
}

/// In the rows `top..bottom`: the box around everything not white, and how many colours.
fn drawn(png: &Png, top: usize, bottom: usize) -> (usize, usize, usize) {
    let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0, usize::MAX, 0);
    let mut colours = std::collections::HashSet::new();
    // Every other pixel each way is enough to see a drawing.
    for y in (top..bottom.min(png.height)).step_by(2) {
        for x in (0..png.width).step_by(2) {
            let p = png.rgb[y * png.width + x];
            if colours.len() < 64 {
                colours.insert(p);
            }
            if p != [255, 255, 255] {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    if x0 == usize::MAX {
        return (0, 0, colours.len());
    }
    (x1 - x0 + 2, y1 - y0 + 2, colours.len())
}

/// Each SVG of `pages` alone in a white 1000 x 900 box, one under the other, in the first
/// page's own head (its CSP and style sheet); with the page each came from.
fn figures_page(pages: &[(String, String, bool)]) -> (String, Vec<String>) {
    let first = &pages[0].1;
    let head_end = first.find("</head>").expect("head");
    let mut out = format!(
        "{}<style>body{{margin:0}} .box{{width:1000px;height:900px;overflow:hidden;background:#fff}} .box svg{{min-width:0;max-width:none}}</style></head><body>",
        &first[..head_end]
    );
    let mut from = Vec::new();
    for (name, page, _) in pages {
        let doc = Html::parse_document(page);
        for svg in doc.select(&Selector::parse("figure svg").expect("selector")) {
            out.push_str(&format!(
                "<div class=\"box\"><figure style=\"margin:0\">{}</figure></div>",
                svg.html()
            ));
            from.push(name.clone());
        }
    }
    out.push_str("</body></html>");
    (out, from)
}

/// Every SVG drawn alone has size and is not blank.
fn check_figures(exe: &Path, dir: &Path, pages: &[(String, String, bool)]) -> Vec<String> {
    let mut errors = Vec::new();
    let (figs, from) = figures_page(pages);
    for (name, _, pictures) in pages {
        let n = from.iter().filter(|f| *f == name).count();
        if *pictures && n < 2 {
            errors.push(format!("{name}: only {n} figures"));
        }
    }
    let file = dir.join("figures.html");
    std::fs::write(&file, figs).expect("write figures");
    let shot = dir.join("figures.png");
    let run = chrome(
        exe,
        &file,
        1000,
        900 * from.len() as u32,
        &[format!("--screenshot={}", shot.display())],
    );
    for m in console_messages(&run.stderr) {
        errors.push(format!("figures: console: {m}"));
    }
    let png = load_png(&shot);
    for (i, name) in from.iter().enumerate() {
        let (w, h, colours) = drawn(&png, i * 900, (i + 1) * 900);
        if w < 300 || h < 80 || colours < 4 {
            errors.push(format!(
                "{name}: an SVG is blank or has no size ({w}x{h} drawn, {colours} colours)"
            ));
        }
    }
    errors
}

/// Checks one page at both widths; returns what is wrong.
/// The phone view: headless Chromium's window is at least 500 px wide, so the page goes in a
/// 390 px frame (`srcdoc`, the page unchanged with its CSP) and the harness around it, which
/// has a script, records the page's width and each SVG's rendered size as attributes that
/// `--dump-dom` shows.
fn phone_harness(page: &str) -> String {
    let srcdoc = page.replace('&', "&amp;").replace('"', "&quot;");
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>phone</title>\
         <style>body{{margin:0;background:#fff}}iframe{{border:0;width:{PHONE}px;height:{PHONE_H}px;display:block}}</style>\
         </head><body><iframe id=\"f\" srcdoc=\"{srcdoc}\"></iframe><script>\
         var f=document.getElementById('f');var done=false;\
         function measure(){{if(done)return;done=true;var d=f.contentDocument.documentElement;\
         document.body.setAttribute('data-scroll-width',d.scrollWidth);\
         document.body.setAttribute('data-client-width',d.clientWidth);\
         f.contentDocument.querySelectorAll('figure svg').forEach(function(s){{\
         var r=s.getBoundingClientRect();var m=document.createElement('i');m.className='svgsize';\
         m.setAttribute('data-w',Math.round(r.width));m.setAttribute('data-h',Math.round(r.height));\
         document.body.appendChild(m);}});}}\
         f.addEventListener('load',measure);\
         if(f.contentDocument&&f.contentDocument.readyState==='complete'&&f.contentDocument.body&&f.contentDocument.body.firstChild)measure();\
         </script></body></html>"
    )
}

/// The phone's width and the frame's height.
const PHONE: usize = 390;
const PHONE_H: usize = 9000;

/// `png` cut to its first `width` columns, written to `path`.
fn crop(png: &Png, width: usize, path: &Path) {
    let w = width.min(png.width);
    let mut data = Vec::with_capacity(w * png.height * 3);
    for y in 0..png.height {
        for p in &png.rgb[y * png.width..y * png.width + w] {
            data.extend_from_slice(p);
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("png"));
    let mut enc = png::Encoder::new(file, w as u32, png.height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .expect("png header")
        .write_image_data(&data)
        .expect("png data");
}

fn check_page(exe: &Path, dir: &Path, name: &str, page: &str, pictures: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, page).expect("write page");
    // Desktop: the page itself.
    let shot = dir.join(format!("{name}-1280.png"));
    let run = chrome(
        exe,
        &file,
        1280,
        4200,
        &[
            format!("--screenshot={}", shot.display()),
            "--dump-dom".into(),
        ],
    );
    for m in console_messages(&run.stderr) {
        errors.push(format!("{name} at 1280 px: console: {m}"));
    }
    let dom = Html::parse_document(&run.stdout);
    let count = |s: &str| dom.select(&Selector::parse(s).expect("selector")).count();
    if count(".headline .verdict") == 0 {
        errors.push(format!("{name}: no headline in the rendered DOM"));
    }
    if pictures && (count("svg.timeline") == 0 || count("svg.address") == 0) {
        errors.push(format!("{name}: pictures missing from the rendered DOM"));
    }
    let png = load_png(&shot);
    let (w, h, colours) = drawn(&png, 0, png.height);
    if w < 640 || h < 300 || colours < 8 {
        errors.push(format!(
            "{name} at 1280 px: the page looks blank ({w}x{h} drawn, {colours} colours)"
        ));
    }
    // Phone: the page in a 390 px frame.
    let harness = dir.join(format!("{name}-phone.html"));
    std::fs::write(&harness, phone_harness(page)).expect("write harness");
    let shot = dir.join(format!("{name}-390.png"));
    let run = chrome(
        exe,
        &harness,
        500,
        PHONE_H as u32,
        &[
            format!("--screenshot={}", shot.display()),
            "--dump-dom".into(),
        ],
    );
    for m in console_messages(&run.stderr) {
        errors.push(format!("{name} at {PHONE} px: console: {m}"));
    }
    let dom = Html::parse_document(&run.stdout);
    let body = dom
        .select(&Selector::parse("body").expect("body"))
        .next()
        .expect("body");
    let attr = |a: &str| body.value().attr(a).and_then(|v| v.parse::<u32>().ok());
    match (attr("data-scroll-width"), attr("data-client-width")) {
        (Some(scroll), Some(client)) if scroll > client => errors.push(format!(
            "{name} at {PHONE} px: the page is {scroll} px wide, wider than the screen"
        )),
        (Some(_), Some(_)) => {}
        _ => errors.push(format!("{name} at {PHONE} px: the page was not measured")),
    }
    let sizes: Vec<(u32, u32)> = dom
        .select(&Selector::parse("i.svgsize").expect("svgsize"))
        .map(|m| {
            let n = |a: &str| m.value().attr(a).and_then(|v| v.parse().ok()).unwrap_or(0);
            (n("data-w"), n("data-h"))
        })
        .collect();
    if pictures && sizes.len() < 2 {
        errors.push(format!(
            "{name} at {PHONE} px: {} pictures drawn",
            sizes.len()
        ));
    }
    for (w, h) in sizes {
        if w < 200 || h < 60 {
            errors.push(format!("{name} at {PHONE} px: an SVG is drawn {w}x{h}"));
        }
    }
    let png = load_png(&shot);
    crop(&png, PHONE, &shot);
    let (w, h, colours) = drawn(&png, 0, png.height);
    if w < PHONE / 2 || h < 300 || colours < 8 {
        errors.push(format!(
            "{name} at {PHONE} px: the page looks blank ({w}x{h} drawn, {colours} colours)"
        ));
    }
    errors
}

fn transcript(name: &str) -> Transcript {
    let text = std::fs::read_to_string(format!("{ROOT}/fixtures/transcripts/{name}.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("transcript")
}

#[test]
fn chromium_renders_the_demo_log_and_batch_pages() {
    let Some(exe) = chromium_or_skip(
        "html_chromium",
        "the HTML report was not rendered by a browser",
    ) else {
        return;
    };
    let dir = shots_dir("html-shots");
    let mut pages: Vec<(String, String, bool)> = Vec::new();
    // The demo scenarios, as the binary renders them (its built-in server is on 127.0.0.1).
    let scenarios: [&'static str; 6] = [
        "private-address",
        "healthy",
        "wrong-public-address",
        "refused-data-port",
        "filtered-data-port",
        "bad-ip",
    ];
    let demos: Vec<_> = scenarios
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || {
                let out = Command::new(assert_cmd::cargo::cargo_bin("pasv-doctor"))
                    .args([
                        "demo",
                        "--scenario",
                        s,
                        "--format",
                        "html",
                        "--timeout",
                        "1s",
                    ])
                    .output()
                    .expect("demo runs");
                (s.to_string(), String::from_utf8(out.stdout).expect("utf-8"))
            })
        })
        .collect();
    for d in demos {
        let (s, page) = d.join().expect("demo thread");
        assert!(page.starts_with("<!DOCTYPE html>"), "demo {s}: {page}");
        pages.push((format!("demo-{s}"), page, true));
    }
    // A client log: no times, and what the log does not show drawn as unknown.
    let log = std::fs::read(format!(
        "{ROOT}/fixtures/logs/filezilla-private-substituted-timeout.log"
    ))
    .expect("log");
    let explained = pasv_doctor::explain::explain(&log, &Default::default()).expect("explain");
    let mut out = Vec::new();
    html::write(&mut out, &Report::new(&explained.transcript)).expect("render");
    pages.push((
        "explain-filezilla".into(),
        String::from_utf8(out).expect("utf-8"),
        true,
    ));
    // A batch page over the recorded demo transcripts.
    let ts: Vec<Transcript> = scenarios
        .iter()
        .map(|s| transcript(&format!("demo-{s}")))
        .collect();
    let reports: Vec<Report<'_>> = ts.iter().map(Report::new).collect();
    let mut out = Vec::new();
    html::write_batch(&mut out, &reports).expect("render");
    pages.push(("batch".into(), String::from_utf8(out).expect("utf-8"), true));
    // Two browsers at a time: the machine may have two cores.
    let mut errors = Vec::new();
    std::thread::scope(|scope| {
        let workers: Vec<_> = [0, 1]
            .map(|w| {
                let (exe, dir, pages) = (&exe, &dir, &pages);
                scope.spawn(move || {
                    pages
                        .iter()
                        .skip(w)
                        .step_by(2)
                        .flat_map(|(name, page, pictures)| {
                            check_page(exe, dir, name, page, *pictures)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .into_iter()
            .collect();
        for w in workers {
            errors.extend(w.join().expect("worker"));
        }
    });
    errors.extend(check_figures(&exe, &dir, &pages));
    eprintln!("screenshots in {}", dir.display());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
