//! `pasv-doctor completions SHELL` and `pasv-doctor man` are generated from the clap
//! definition that parses the command line: every subcommand and every long option the
//! parser knows appears in them, for each shell.

mod support;

use clap::CommandFactory;
use pasv_doctor::cli::Cli;
use support::bin;

fn output(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn completions_and_man_page_know_every_command_and_option() {
    let cmd = Cli::command();
    let mut longs = Vec::new();
    let mut subs = Vec::new();
    for sub in cmd.get_subcommands() {
        subs.push(sub.get_name().to_string());
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                longs.push(format!("--{long}"));
            }
        }
    }
    assert!(longs.iter().any(|l| l == "--probe-advertised"));
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = output(&["completions", shell]);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell} lacks {sub}");
        }
        // fish writes options without their dashes (`-l probe-advertised`).
        for long in &longs {
            let bare = long.trim_start_matches('-');
            assert!(script.contains(bare), "{shell} lacks {long}");
        }
    }
    let man = output(&["man"]);
    assert!(man.starts_with(".ie") || man.contains(".TH pasv-doctor 1"));
    for sub in &subs {
        assert!(
            man.contains(&format!(".TH pasv-doctor-{sub} ")),
            "the man page lacks a page for {sub}"
        );
    }
    for long in &longs {
        let roff = long.replace('-', "\\-");
        assert!(man.contains(&roff), "the man page lacks {long}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = bin().args(["completions", "nosh"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
}
