//! A real browser uses the web desk: headless Chromium (driven over the DevTools protocol,
//! `tests/support/cdp.rs`) opens `pasv-doctor serve` (the binary, on 127.0.0.1, its stdout
//! and stderr kept), types a target, a user and a password into the check form, picks the
//! TLS mode and submits; the fake FTP server on 127.0.0.1 advertises a private address in
//! PASV and answers one command slowly, so the page's progress lines can be seen before the
//! verdict. Each form's post is answered with a redirect to its result's URL
//! (`/desk/result/ID`, Post/Redirect/Get): the page shown is that URL, the history holds
//! only the desk and result URLs, and reloading the check's result shows it again without
//! a second login at the server. Then the explain form, once with a pasted log and once
//! with an uploaded file.
//! The test reads the rendered reports, and searches for the password in the rendered pages
//! (the downloads' data: URLs decoded), every URL the page had, the navigation history, the
//! browser's profile folder after it closed, and the service's output; the fake server's
//! login proves that the form did send it. No console message may appear (a CSP
//! violation, a failed load). Screenshots stay in `target/desk-shots/`.
//!
//! Without Chromium the test says so and passes, except in CI (`CI` set) or with
//! `PASV_DOCTOR_REQUIRE_CHROMIUM=1` (as `scripts/test` sets it): there it must run.

mod support;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use pasv_doctor::fake::{Act, Advertise, Login, Script};
use serde_json::Value;
use support::Ftp;
use support::cdp::{Browser, chromium_or_skip, shots_dir};
use support::serve::Serve;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The password typed into the check form; only URL-safe characters, so that an encoded
/// copy (a query, a form body) would still show it verbatim.
const SECRET: &str = "Desk-Secret-7f3a";
/// The password in the pasted log, which the explained report must mask.
const LOG_SECRET: &str = "Log-Secret-51c9";
/// How long the fake server takes to answer SYST: the page shows progress meanwhile.
const SLOW_REPLY: Duration = Duration::from_millis(1500);
/// The longest a page may take to show its result.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the page shows, as one JSON value: the path, the progress lines, the verdict (null
/// until it is there), the heading, an error page's message and whether the document
/// finished loading.
const STATE: &str = "JSON.stringify({\
    path: location.pathname,\
    items: Array.from(document.querySelectorAll('ol.progress li')).map(li => li.textContent),\
    verdict: (document.getElementById('verdict') || {}).textContent || null,\
    h1: (document.querySelector('h1') || {}).textContent || null,\
    error: (document.getElementById('error') || {}).textContent || null,\
    ready: document.readyState})";

fn state(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// Whether `path` is a result page's: `/desk/result/` and 32 lower-case hex digits.
fn result_path(path: &str) -> bool {
    path.strip_prefix("/desk/result/").is_some_and(|id| {
        id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Waits for a result page (`/desk/result/ID`) with its verdict, the document loaded and
/// not the one marked `data-old` before a reload; returns the states seen on the way.
fn wait_result(b: &mut Browser) -> (Value, Vec<Value>) {
    let mut seen = Vec::new();
    let last = b.wait_for(
        "a result page",
        &format!("document.documentElement.dataset.old ? 'null' : {STATE}"),
        PAGE_TIMEOUT,
        |v| seen.push(state(v)),
        |v| {
            let s = state(v);
            // An error page ends the wait: it says why.
            assert!(
                s["error"].is_null(),
                "a result page answered with an error: {s}"
            );
            s["path"].as_str().is_some_and(result_path)
                && s["verdict"].is_string()
                && s["ready"] == "complete"
        },
    );
    (state(&last), seen)
}

/// Opens the desk at `/` with its forms.
fn open_desk(b: &mut Browser, base: &str) {
    b.call(
        "Page.navigate",
        serde_json::json!({ "url": format!("{base}/") }),
    );
    b.wait_for(
        "the desk",
        "document.readyState === 'complete' && location.pathname === '/' && \
         !!document.querySelector('form[action=\"/desk/explain\"]')",
        PAGE_TIMEOUT,
        |_| {},
        |v| v == &Value::Bool(true),
    );
}

/// Where the password (or another secret) shows in what the page holds now: its HTML,
/// its URL, its title, and each data: link decoded.
fn leaks(b: &mut Browser, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    let html = b.eval("document.documentElement.outerHTML");
    let html = html.as_str().unwrap_or_default();
    assert!(html.len() > 1000, "no page: {html}");
    if html.contains(secret) {
        found.push("the rendered page".to_string());
    }
    let href = b.eval("location.href + ' ' + document.title");
    if href.as_str().unwrap_or_default().contains(secret) {
        found.push(format!("the URL or title: {href}"));
    }
    let links = b.eval(
        "Array.from(document.querySelectorAll('a[href^=\"data:\"]')).map(a => a.getAttribute('href'))",
    );
    for link in links.as_array().into_iter().flatten() {
        let link = link.as_str().unwrap_or_default();
        let data = link.split_once(";base64,").map_or("", |(_, d)| d);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_default();
        assert!(!bytes.is_empty(), "a download without content: {link:.60}");
        if String::from_utf8_lossy(&bytes).contains(secret) {
            found.push(format!("the download {:.40}", link));
        }
    }
    found
}

/// Files under `dir` whose bytes hold `secret` (as UTF-8 or UTF-16).
fn files_holding(dir: &Path, secret: &str) -> Vec<String> {
    let wide: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
                if has(secret.as_bytes()) || has(&wide) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// The test's own console message.
const CONSOLE_MARK: &str = "desk_chromium: console messages are seen";

/// Console messages, exceptions and log entries the pages produced, but the test's own;
/// panics when that one did not arrive.
fn console(b: &Browser) -> Vec<String> {
    let all: Vec<String> = b
        .events
        .iter()
        .filter(|e| {
            matches!(
                e["method"].as_str(),
                Some("Log.entryAdded" | "Runtime.consoleAPICalled" | "Runtime.exceptionThrown")
            )
        })
        .map(|e| e["params"].to_string())
        .collect();
    assert!(
        all.iter().any(|m| m.contains(CONSOLE_MARK)),
        "the test's own console message did not arrive: {all:?}"
    );
    all.into_iter()
        .filter(|m| !m.contains(CONSOLE_MARK))
        .collect()
}

/// Every URL the page navigated to or was asked to, from the browser's events.
fn navigated(b: &Browser) -> Vec<String> {
    b.events
        .iter()
        .filter_map(|e| match e["method"].as_str() {
            Some("Page.frameNavigated") => e["params"]["frame"]["url"].as_str(),
            Some("Page.frameRequestedNavigation" | "Page.frameStartedNavigating") => {
                e["params"]["url"].as_str()
            }
            _ => None,
        })
        .map(str::to_string)
        .collect()
}

/// The fake server: user alice with the desk's password and nobody else (no anonymous
/// login), a private address in PASV, SYST answered slowly.
fn fake_server() -> Ftp {
    let mut script = Script {
        login: Login::Accounts {
            users: vec![("alice".to_string(), Some(SECRET.to_string()))],
            anonymous: false,
        },
        advertise: Advertise::Fixed("10.0.0.5".parse().expect("ip")),
        ..Script::default()
    };
    script.on(
        "SYST",
        vec![Act::Wait(SLOW_REPLY), Act::line("215 UNIX Type: L8")],
    );
    Ftp::start(script)
}

#[test]
fn chromium_checks_and_explains_at_the_desk_without_leaking_the_password() {
    let Some(exe) = chromium_or_skip("desk_chromium", "the desk was not used by a browser") else {
        return;
    };
    let shots = shots_dir("desk-shots");
    let ftp = fake_server();
    let serve = Serve::start(
        "[defaults]\ntimeout = \"5s\"\nsamples = 1\ntransfers = 1\n\n\
         [serve]\nallow_targets = [\"127.0.0.0/8\"]\n",
    );
    let base = format!("http://{}", serve.addr);
    let mut b = Browser::launch(&exe, 1280, 900);

    // The check form, typed into as a person would.
    open_desk(&mut b, &base);
    // A message of the test's own, to prove that console messages reach it.
    b.eval(&format!("console.info({CONSOLE_MARK:?})"));
    b.type_into("target", &ftp.target());
    b.type_into("user", "alice");
    b.type_into("password", SECRET);
    b.eval(
        "(() => { const s = document.getElementById('tls'); s.value = 'off'; \
         s.dispatchEvent(new Event('change', { bubbles: true })); })()",
    );
    let filled = b.eval(&format!(
        "[document.getElementById('target').value, document.getElementById('user').value, \
          document.getElementById('password').value === {SECRET:?}, \
          document.getElementById('tls').value]"
    ));
    assert_eq!(
        filled,
        serde_json::json!([ftp.target(), "alice", true, "off"]),
        "the form as filled"
    );
    b.screenshot(&shots.join("check-form.png"));
    b.eval("document.querySelector('form[action=\"/desk/check\"] button[type=submit]').click()");
    let (result, seen) = wait_result(&mut b);
    // Post/Redirect/Get: the page is the result's URL, with nothing of the form in it.
    let check_path = result["path"].as_str().unwrap_or_default().to_string();
    let href = b.eval("location.href");
    assert_eq!(href, format!("{base}{check_path}"), "the result's URL");
    let report = b.eval("document.getElementById('report').textContent");
    let report = report.as_str().unwrap_or_default().to_string();
    // The server got the password: only alice with that password logs in, and she did.
    assert!(
        report.contains("230 Login successful.") && !report.contains("LOGIN_FAILED"),
        "alice did not log in:\n{report}"
    );
    let commands = ftp.commands();
    for line in ["plain: USER alice", "plain: PASS ********", "plain: SYST"] {
        assert!(commands.iter().any(|c| c == line), "{line}: {commands:?}");
    }

    // Progress: lines showed while the check ran, before its verdict.
    let early: Vec<&Value> = seen
        .iter()
        .filter(|s| s["path"] == check_path.as_str() && s["verdict"].is_null())
        .collect();
    assert!(
        early.iter().any(|s| s["items"].as_array().is_some_and(|i| i
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.ends_with(": logged in"))))),
        "no progress line was shown before the verdict; states seen: {early:?}"
    );
    let items: Vec<&str> = result["items"]
        .as_array()
        .expect("progress lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let server = ftp.target();
    assert_eq!(
        items.first().copied(),
        Some(format!("{server}: connecting").as_str()),
        "{items:?}"
    );
    for step in ["logged in", "data ports tested", "done"] {
        assert!(
            items.contains(&format!("{server}: {step}").as_str()),
            "progress line {step:?} missing: {items:?}"
        );
    }
    // The verdict and the finding the fake server's private address must produce.
    let verdict = result["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with("WARNING") && verdict.contains("PASV_ADDRESS_PRIVATE"),
        "{verdict}"
    );
    assert_eq!(result["h1"], format!("Checking {server}"));
    for text in ["PASV_ADDRESS_PRIVATE", "10.0.0.5", "PASS ********"] {
        assert!(
            report.contains(text),
            "{text:?} not in the report:\n{report}"
        );
    }
    b.screenshot(&shots.join("check-result.png"));
    let mut leaked = leaks(&mut b, SECRET);

    // Reloading the result shows it again without posting the form again: one login.
    let logins = |ftp: &Ftp| {
        ftp.commands()
            .iter()
            .filter(|c| c.as_str() == "plain: USER alice")
            .count()
    };
    assert_eq!(logins(&ftp), 1);
    b.eval("document.documentElement.dataset.old = '1'");
    b.call("Page.reload", serde_json::json!({}));
    let (reloaded, _) = wait_result(&mut b);
    assert_eq!(reloaded["path"], check_path.as_str());
    assert_eq!(reloaded["verdict"], result["verdict"]);
    assert_eq!(logins(&ftp), 1, "reloading the result ran the check again");
    assert_eq!(ftp.connections(), 1);

    // The URL alone (from a proxy's log, a shared history) opens nothing: another browser,
    // without the key's cookie, gets the page that says so.
    let mut other = Browser::launch(&exe, 1280, 800);
    other.call(
        "Page.navigate",
        serde_json::json!({ "url": format!("{base}{check_path}") }),
    );
    other.wait_for(
        "the result URL in another browser",
        "document.readyState === 'complete' && document.body !== null && \
         document.body.innerText.includes('unknown or has expired')",
        PAGE_TIMEOUT,
        |_| {},
        |v| v == &Value::Bool(true),
    );
    let shown = other.eval("document.body.innerText").to_string();
    assert!(
        !shown.contains("verdict") && !shown.contains(SECRET),
        "{shown}"
    );
    other.close();
    assert_eq!(logins(&ftp), 1);

    // The explain form with a pasted log that holds a password of its own.
    open_desk(&mut b, &base);
    let log = std::fs::read_to_string(format!("{ROOT}/fixtures/logs/curl-private-address.log"))
        .expect("log")
        .replace("fixture-Secret-9", LOG_SECRET);
    assert!(log.contains(LOG_SECRET));
    b.eval(&format!(
        "document.getElementById('log').value = {}",
        serde_json::to_string(&log).expect("json")
    ));
    b.screenshot(&shots.join("explain-form.png"));
    b.eval("document.querySelector('form[action=\"/desk/explain\"] button[type=submit]').click()");
    let (pasted, _) = wait_result(&mut b);
    assert_ne!(pasted["path"], check_path.as_str());
    assert_eq!(pasted["h1"], "Explained: the pasted log");
    let verdict = pasted["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with("WARNING") && verdict.contains("PASV_ADDRESS_PRIVATE"),
        "{verdict}"
    );
    b.screenshot(&shots.join("explain-result.png"));
    leaked.extend(leaks(&mut b, SECRET));
    let log_leaks = leaks(&mut b, LOG_SECRET);
    assert!(log_leaks.is_empty(), "the log's password in {log_leaks:?}");

    // The explain form with an uploaded file.
    open_desk(&mut b, &base);
    b.choose_file(
        "file",
        Path::new(&format!(
            "{ROOT}/fixtures/logs/filezilla-private-substituted-timeout.log"
        )),
    );
    let chosen = b.eval("document.getElementById('file').files[0].name");
    assert_eq!(chosen, "filezilla-private-substituted-timeout.log");
    b.screenshot(&shots.join("upload-form.png"));
    b.eval("document.querySelector('form[action=\"/desk/explain\"] button[type=submit]').click()");
    let (uploaded, _) = wait_result(&mut b);
    assert_eq!(uploaded["h1"], "Explained: the uploaded log");
    let verdict = uploaded["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with("CRITICAL") && verdict.contains("SUBSTITUTED_ADDRESS_TIMED_OUT"),
        "{verdict}"
    );
    b.screenshot(&shots.join("upload-result.png"));
    leaked.extend(leaks(&mut b, SECRET));

    // The history: every entry, with the URLs as the browser keeps them.
    let history = b.call("Page.getNavigationHistory", serde_json::json!({}));
    let urls: Vec<&str> = history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["url"].as_str())
        .collect();
    // The history holds the desk and the result pages (after the blank first page), never
    // a form's URL.
    assert!(
        urls.contains(&format!("{base}{check_path}").as_str()),
        "{check_path} not in the history: {urls:?}"
    );
    for url in &urls {
        let path = url.strip_prefix(base.as_str()).unwrap_or(url);
        assert!(
            *url == "about:blank" || path == "/" || result_path(path),
            "a history entry that is not the desk or a result: {url}"
        );
    }
    if history.to_string().contains(SECRET) {
        leaked.push(format!("the navigation history: {history}"));
    }
    let visited = navigated(&b);
    assert!(
        visited.contains(&format!("{base}{check_path}")),
        "no navigation to the result seen: {visited:?}"
    );
    leaked.extend(
        visited
            .iter()
            .filter(|u| u.contains(SECRET))
            .map(|u| format!("a URL visited: {u}")),
    );
    let messages = console(&b);
    assert!(messages.is_empty(), "console messages: {messages:#?}");
    b.close();
    // The search reaches the history: the browser wrote the desk's URLs to its profile.
    assert!(
        !files_holding(b.profile(), &format!("{base}/desk/result/")).is_empty(),
        "the browser kept no history in its profile"
    );
    for file in files_holding(b.profile(), SECRET) {
        leaked.push(format!("the browser profile: {file}"));
    }

    let output = serve.stop();
    assert!(
        output.contains("desk_check 303")
            && output.contains("desk_result 200")
            && output.contains("check 127.0.0.1:"),
        "serve's output was not captured:\n{output}"
    );
    if output.contains(SECRET) {
        leaked.push(format!("serve's output:\n{output}"));
    }
    eprintln!("screenshots in {}", shots.display());
    assert!(leaked.is_empty(), "the password is in {leaked:#?}");
}
