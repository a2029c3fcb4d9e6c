//! `pasv-doctor explain` on the corpus of real client logs that people pasted into public
//! issue threads (`fixtures/logs/wild/`, sources and expected root causes in its
//! `index.json`). Every log runs through the binary. The ones marked `passes` must give
//! their expected root cause as the headline (the first finding: for a healthy control,
//! verdict OK with DATA_PATH_OK), none of their `must_not` codes, and no critical finding
//! on a healthy control; SFTP pastes must be refused with exit 3. The others are known
//! misses, printed with what they gave, and must still run to a report or a clear refusal
//! without a crash. A log that starts to pass is reported too, so the index can be updated:
//! `PASV_DOCTOR_UPDATE_WILD=1 cargo test --test explain_wild` rewrites the `passes` marks
//! (review the diff: a mark that goes from true to false is a regression).

mod support;

use std::path::Path;

use serde_json::Value;
use support::bin;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/logs/wild");

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the run gave the expected root cause; the reason when not.
fn judge(entry: &Value, code: i32, stdout: &str) -> Result<(), String> {
    let want = entry["expected_root_cause"].as_str().expect("root cause");
    if want == "NOT_FTP" {
        return if code == 3 && stdout.trim().is_empty() {
            Ok(())
        } else {
            Err(format!("not refused (exit {code})"))
        };
    }
    let json: Value =
        serde_json::from_str(stdout).map_err(|_| format!("no report (exit {code})"))?;
    let codes: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect();
    let must_not = strings(&entry["must_not"]);
    if let Some(bad) = codes.iter().find(|c| must_not.contains(c)) {
        return Err(format!("{bad} must not be raised; got {codes:?}"));
    }
    let healthy = entry["expected_verdict"] == "ok";
    let critical = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["severity"] == "critical");
    if healthy && critical {
        return Err(format!(
            "a critical finding on a healthy control: {codes:?}"
        ));
    }
    let ok = if want == "DATA_PATH_OK" {
        json["verdict"] == "ok" && codes.iter().any(|c| c == want)
    } else {
        codes.first().map(String::as_str) == Some(want)
    };
    if ok {
        Ok(())
    } else {
        Err(format!("headline {:?}, findings {codes:?}", codes.first()))
    }
}

#[test]
fn every_real_log_gives_its_root_cause() {
    let text = std::fs::read_to_string(Path::new(DIR).join("index.json")).expect("index");
    let mut index: Vec<Value> = serde_json::from_str(&text).expect("index parses");
    let update = std::env::var_os("PASV_DOCTOR_UPDATE_WILD").is_some();
    assert!(index.len() >= 40, "{} logs", index.len());
    let (mut passed, mut regressions, mut improved) = (0, Vec::new(), Vec::new());
    for entry in &mut index {
        let file = entry["file"].as_str().expect("file").to_string();
        assert!(
            entry["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("https://")),
            "{file}: a source URL"
        );
        let path = Path::new(DIR).join(&file);
        let out = bin()
            .args(["explain", "--format", "json"])
            .arg(&path)
            .output()
            .expect("runs");
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!((0..=3).contains(&code), "{file}: exit {code}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        let verdict = judge(entry, code, &stdout);
        let expected = entry["passes"].as_bool().unwrap_or(false);
        if update {
            entry["passes"] = Value::Bool(verdict.is_ok());
        }
        match (&verdict, expected) {
            (Ok(()), true) => passed += 1,
            (Ok(()), false) => improved.push(file.clone()),
            (Err(why), true) => regressions.push(format!("{file}: {why}")),
            (Err(why), false) => eprintln!("known miss {file}: {why}"),
        }
    }
    eprintln!(
        "wild corpus: {} of {} logs give their expected root cause",
        passed + improved.len(),
        index.len()
    );
    if update {
        let text = serde_json::to_string_pretty(&index).expect("serialises") + "\n";
        std::fs::write(Path::new(DIR).join("index.json"), text).expect("index written");
        return;
    }
    assert!(
        regressions.is_empty(),
        "regressions:\n{}",
        regressions.join("\n")
    );
    assert!(
        improved.is_empty(),
        "these logs now pass: mark them \"passes\": true in index.json: {improved:?}"
    );
}

/// FileZilla retries in active mode when it cannot read a 227 ("Allow transfermode
/// fallback", on by default), and the client table follows it: in this real log the PORT
/// that followed was refused, so its row says the fallback fails too. The same log with
/// the PORT accepted and a listing completed (constructed from it, below) turns the row to
/// yes; WinSCP, which does not fall back, stays no in both.
#[test]
fn the_client_table_follows_filezillas_fallback_to_active_mode() {
    let path = Path::new(DIR).join("filezilla-fr-pasv-0000-port-fallback.log");
    let real = std::fs::read_to_string(&path).expect("fixture");
    let row = |log: &str, name: &str| -> (String, String) {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, log.as_bytes()).expect("write");
        let out = bin()
            .args(["explain", "--format", "json"])
            .arg(file.path())
            .output()
            .expect("runs");
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        let c = json["clients"]
            .as_array()
            .expect("clients")
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} row"))
            .clone();
        (
            c["works"].as_str().unwrap_or_default().to_string(),
            c["reason"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (works, reason) = row(&real, "FileZilla");
    assert_eq!(works, "no", "{reason}");
    assert!(
        reason.contains("fallback to active mode fails too"),
        "{reason}"
    );
    let (works, reason) = row(&real, "WinSCP");
    assert_eq!(works, "no");
    assert!(!reason.contains("active"), "{reason}");
    // Constructed: the server accepts the PORT and the listing completes.
    let accepted = real.replace(
        "Réponse :     \t500 The given address is not yours\n\
         Erreur :         \tImpossible de récupérer le contenu du dossier\n\
         Statut :         \tConnexion interrompue par le serveur",
        "Réponse :     \t200 PORT command successful\n\
         Commande :\tMLSD\n\
         Réponse :     \t150 Opening data connection\n\
         Réponse :     \t226 Transfer complete\n\
         Statut :         \tContenu du dossier affiché avec succès",
    );
    assert_ne!(
        accepted, real,
        "the constructed variant differs from the real log"
    );
    let (works, reason) = row(&accepted, "FileZilla");
    assert_eq!(works, "yes", "{reason}");
    assert!(
        reason.contains("falls back to active mode (PORT), which works for this client"),
        "{reason}"
    );
    assert_eq!(row(&accepted, "WinSCP").0, "no");
}
