//! Headless Chromium driven over the DevTools protocol through `--remote-debugging-pipe`:
//! Chromium reads commands on its fd 3 and writes answers and events on its fd 4, each a
//! JSON object ending in a NUL byte, so no websocket is needed. `sh` hands the child our
//! stdin and stdout pipes as fds 3 and 4 (the crate forbids the `unsafe` a `pre_exec` would
//! take). Chromium is kept off the network: every host name but 127.0.0.1 maps to nothing,
//! no proxy, its background services off. Every wait has a deadline; dropping the browser
//! kills it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The longest one protocol call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Chromium: `PASV_DOCTOR_CHROMIUM`, else the first of the usual names on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PASV_DOCTOR_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let paths = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&paths).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

/// Whether a missing Chromium fails the test (CI, or `PASV_DOCTOR_REQUIRE_CHROMIUM`).
pub fn required() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0");
    set("CI") || set("PASV_DOCTOR_REQUIRE_CHROMIUM")
}

/// Chromium, or `None` after saying on stderr that `test` was skipped and `what` was not
/// done; where Chromium is [`required`], its absence fails the test instead.
pub fn chromium_or_skip(test: &str, what: &str) -> Option<PathBuf> {
    let exe = chromium();
    if exe.is_none() {
        assert!(
            !required(),
            "Chromium is required here (CI or PASV_DOCTOR_REQUIRE_CHROMIUM=1) but is not \
             installed: apt-get install chromium, or run scripts/test"
        );
        // Straight to stderr, past the test harness's capture, so that it shows.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: SKIPPED: Chromium is not installed (apt-get install chromium, or run \
             scripts/test): {what}"
        );
    }
    exe
}

/// Headless, and quiet on the network: no background services, no proxy, no pings, its
/// log on stderr. The caller adds its `--host-resolver-rules`.
pub const QUIET: &[&str] = &[
    "--headless",
    // Root in a container has no sandbox to give.
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-proxy-server",
    "--enable-logging=stderr",
    "--v=0",
];

/// `target/NAME/`, where a test keeps its screenshots for people to look at.
pub fn shots_dir(name: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join(name);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// One headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    to: ChildStdin,
    from: mpsc::Receiver<Value>,
    next_id: u64,
    session: String,
    /// Every event received so far, in order (console messages, log entries, ...).
    pub events: Vec<Value>,
    stderr: tempfile::NamedTempFile,
    profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("pid", &self.child.id())
            .finish()
    }
}

impl Browser {
    /// Starts Chromium with a fresh profile and a `width` x `height` window, and opens a
    /// blank page with its console and log reported.
    pub fn launch(exe: &Path, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let stderr = tempfile::NamedTempFile::new().expect("stderr file");
        let mut child = Command::new("sh")
            .arg("-c")
            // fd 3: what we write; fd 4: what we read; Chromium's stdout joins its stderr.
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(exe)
            .args(QUIET)
            .args([
                "--remote-debugging-pipe",
                // No host name resolves but the one the desk listens on.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("stderr"))
            .spawn()
            .expect("chromium starts");
        let to = child.stdin.take().expect("fd 3");
        let out = child.stdout.take().expect("fd 4");
        let (tx, from) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(out);
            let mut buf = Vec::new();
            while out.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            to,
            from,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            stderr,
            profile,
        };
        let target = b
            .send(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .unwrap_or_else(|e| panic!("no page: {e}\n{}", b.stderr_text()));
        let target = target["targetId"].as_str().expect("targetId").to_string();
        let attached = b
            .send(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target, "flatten": true }),
            )
            .expect("attached");
        b.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            b.call(domain, json!({}));
        }
        b
    }

    /// Chromium's own log so far.
    pub fn stderr_text(&self) -> String {
        let mut s = String::new();
        let _ = self.stderr.reopen().map(|mut f| f.read_to_string(&mut s));
        s
    }

    /// The profile folder (history, caches, form data).
    pub fn profile(&self) -> &Path {
        self.profile.path()
    }

    fn send(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("json");
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .and_then(|()| self.to.flush())
            .map_err(|e| format!("{method}: Chromium went away: {e}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .map_err(|_| format!("{method}: no answer within {CALL_TIMEOUT:?}"))?;
            if v["id"].as_u64() == Some(id) {
                return match v.get("error") {
                    Some(e) => Err(format!("{method}: {e}")),
                    None => Ok(v["result"].clone()),
                };
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// A call on the page; panics on an error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `js` evaluated in the page, its value; `Err` when it threw or the page was changing.
    pub fn try_eval(&mut self, js: &str) -> Result<Value, String> {
        let session = self.session.clone();
        let r = self.send(
            Some(&session),
            "Runtime.evaluate",
            json!({ "expression": js, "returnByValue": true }),
        )?;
        match r.get("exceptionDetails") {
            Some(e) => Err(format!("{js}: {e}")),
            None => Ok(r["result"]["value"].clone()),
        }
    }

    pub fn eval(&mut self, js: &str) -> Value {
        self.try_eval(js).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Polls `js` every 25 ms until `done` accepts its value, for at most `timeout`; each
    /// value is passed to `seen` (what the page showed on the way).
    pub fn wait_for(
        &mut self,
        what: &str,
        js: &str,
        timeout: Duration,
        mut seen: impl FnMut(&Value),
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            // A page being replaced has no context to evaluate in: try again.
            if let Ok(v) = self.try_eval(js) {
                seen(&v);
                if done(&v) {
                    return v;
                }
                last = v;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{what}: not within {timeout:?}; last seen: {last}")
    }

    /// Types `text` into the element with this id, as a keyboard would.
    pub fn type_into(&mut self, id: &str, text: &str) {
        self.eval(&format!("document.getElementById({id:?}).focus()"));
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Gives the file input with this id a file, as the file chooser would.
    pub fn choose_file(&mut self, id: &str, file: &Path) {
        let session = self.session.clone();
        let r = self
            .send(
                Some(&session),
                "Runtime.evaluate",
                json!({ "expression": format!("document.getElementById({id:?})") }),
            )
            .expect("file input");
        let object = r["result"]["objectId"].as_str().expect("objectId");
        self.call(
            "DOM.setFileInputFiles",
            json!({ "files": [file.display().to_string()], "objectId": object }),
        );
    }

    /// The whole page as a PNG at `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let size = &metrics["cssContentSize"];
        let (w, h) = (
            size["width"].as_f64().unwrap_or(1280.0),
            size["height"].as_f64().unwrap_or(900.0).min(12_000.0),
        );
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": w, "height": h, "scale": 1 },
            }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Closes the browser (its profile written out), or kills it after 10 s.
    pub fn close(&mut self) {
        let _ = self.send(None, "Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
