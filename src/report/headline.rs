//! The headline: what the first lines of every report for people say, computed from a
//! [`Report`] and nothing else. The verdict, the root cause in one sentence, the one change
//! that fixes it (with the recognised server product's own setting), and which clients are
//! affected. Pure: the table, Markdown and HTML reports print it first, and
//! `tests/one_story.rs` checks it against the findings and the client table.

use super::Report;
use crate::finding::{Code, Finding, Severity, Verdict};
use crate::knowledge::clients::Works;
use crate::knowledge::servers::{Product, fingerprint};

/// The answer to the ticket, before any detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    pub verdict: Verdict,
    /// One sentence after the verdict word: the root cause with its code, or what worked.
    pub answer: String,
    /// The finding the headline rests on: the root cause (the first problem: findings are
    /// ordered worst first, root causes before their symptoms), or for an OK verdict a
    /// finding that still breaks some clients.
    pub code: Option<Code>,
    /// For an OK verdict with such a finding: its title and code.
    pub note: Option<String>,
    /// The one change, when there is something to change.
    pub fix: Option<Fix>,
    pub clients: Affected,
    /// Further problems (warning or critical findings) besides the root cause.
    pub more: Vec<Code>,
}

/// The one change that fixes the root cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// The finding's remedy, one sentence.
    pub remedy: String,
    /// The recognised product's setting, one of the finding's fix lines.
    pub setting: Option<String>,
    /// The product was not recognised and the fix lists each common product's setting.
    pub per_product: bool,
}

/// The client table, in three lists (empty lists when there is no table).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Affected {
    pub fail: Vec<String>,
    pub work: Vec<String>,
    pub unknown: Vec<String>,
}

impl Affected {
    /// No client was judged (no session got as far as a passive reply).
    pub fn is_empty(&self) -> bool {
        self.fail.is_empty() && self.work.is_empty() && self.unknown.is_empty()
    }

    /// The lists in words: failing clients by name, the others by name when few.
    pub fn sentence(&self) -> String {
        let total = self.fail.len() + self.work.len() + self.unknown.len();
        if total == 0 {
            return "none judged: no session got as far as a passive reply".to_string();
        }
        let few = |names: &[String], verb: &str| match names.len() {
            0 => None,
            n if n == total => Some(format!("all {n} in the table {verb}")),
            1..=3 => Some(format!("{verb}: {}", names.join(", "))),
            n => Some(format!("{n} {verb}")),
        };
        let fail = match self.fail.len() {
            0 => None,
            n if n == total => Some(format!("all {n} in the table fail")),
            _ => Some(format!("fail: {}", self.fail.join(", "))),
        };
        [
            fail,
            few(&self.work, "work"),
            few(&self.unknown, "not tested"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
    }
}

impl Headline {
    /// The headline of `report`.
    pub fn of(report: &Report<'_>) -> Headline {
        let problems: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
        let summary = report.summary();
        let rest = summary
            .split_once(": ")
            .map_or(summary.as_str(), |(_, r)| r);
        let (root, answer, note) = match (problems.first(), report.verdict) {
            (Some(f), _) => (Some(*f), format!("{} ({})", f.title, f.code), None),
            (None, Verdict::Unknown) => (report.findings.first(), rest.to_string(), None),
            (None, _) => {
                // Passive mode works, and yet a finding names clients that fail.
                let caveat = report.findings.iter().find(|f| !f.breaks.is_empty());
                let note = caveat.map(|f| format!("{} ({})", f.title, f.code));
                (caveat, rest.to_string(), note)
            }
        };
        let fix = root
            .filter(|f| !f.remedy.is_empty() && f.severity != Severity::Ok)
            .map(|f| fix_for(report, f));
        let mut more: Vec<Code> = Vec::new();
        for f in problems.iter().skip(1) {
            if !more.contains(&f.code) {
                more.push(f.code);
            }
        }
        Headline {
            verdict: report.verdict,
            answer,
            code: root.map(|f| f.code),
            note,
            fix,
            clients: affected(report),
            more,
        }
    }
}

/// The product the finding's server (or every server) was recognised as.
fn product_of(report: &Report<'_>, f: &Finding) -> Product {
    let sessions: Vec<_> = report
        .transcript
        .servers
        .iter()
        .filter(|s| f.server.is_none_or(|a| a == s.server))
        .map(|s| fingerprint(s).product)
        .collect();
    match sessions.split_first() {
        Some((first, rest)) if rest.iter().all(|p| p == first) => *first,
        _ => Product::Unknown,
    }
}

fn fix_for(report: &Report<'_>, f: &Finding) -> Fix {
    let product = product_of(report, f);
    let labelled = |p: Product| {
        let label = format!("{}: ", p.fix_label());
        f.fix.iter().find(|l| l.starts_with(&label)).cloned()
    };
    let setting = (product != Product::Unknown)
        .then(|| labelled(product))
        .flatten();
    let per_product = product == Product::Unknown
        && Product::KNOWN
            .iter()
            .filter(|p| labelled(**p).is_some())
            .count()
            > 1;
    Fix {
        remedy: f.remedy.clone(),
        setting,
        per_product,
    }
}

fn affected(report: &Report<'_>) -> Affected {
    let names = |w: Works| {
        report
            .clients
            .iter()
            .filter(|c| c.works == w)
            .map(|c| c.name.clone())
            .collect()
    };
    Affected {
        fail: names(Works::No),
        work: names(Works::Yes),
        unknown: names(Works::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_client_sentence_names_who_fails() {
        let a = Affected {
            fail: names(&["FileZilla", "WinSCP"]),
            work: names(&["a", "b", "c", "d"]),
            unknown: names(&["wget"]),
        };
        assert_eq!(
            a.sentence(),
            "fail: FileZilla, WinSCP; 4 work; not tested: wget"
        );
        let all = Affected {
            fail: names(&["x", "y"]),
            ..Affected::default()
        };
        assert_eq!(all.sentence(), "all 2 in the table fail");
        assert!(Affected::default().sentence().starts_with("none judged"));
    }
}
