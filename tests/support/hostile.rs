//! Scripts for the hostile-server suites (`tests/hostile.rs`, `tests/secrets.rs`) over the
//! library's fake server: a plain healthy server (anyone logs in, FEAT without MLST, every
//! transfer `150`, the data connection's part, `226` whatever that part did) in which the
//! verbs a test names play the test's own acts, or a server that plays acts on connect and
//! hangs up. Every misbehaviour is script data built here or in the test.

use pasv_doctor::fake::{Act, DataAct, DataPlay, DataPort, Login, Script};

/// What a healthy data connection carries (a LIST).
pub const LISTING: &[u8] =
    b"-rw-r--r--    1 ftp      ftp          1024 Nov 24 10:00 readme.txt\r\n";

/// The greeting of a healthy hostile server.
pub fn greeting() -> Act {
    Act::line("220 hostile FTP server ready.")
}

/// `greeting` acts on connect, then the healthy session in which each verb of `on` plays its
/// acts instead (the first entry for a verb wins).
pub fn script(greeting: Vec<Act>, on: Vec<(&str, Vec<Act>)>) -> Script {
    // Transfers answer 150 and 226 around the data connection whatever it did, as a server
    // that does not look at its data side.
    let transfers = ["LIST", "NLST", "MLSD", "RETR"].map(|verb| {
        let acts = vec![
            Act::line("150 Here comes the directory listing."),
            Act::Transfer,
            Act::line("226 Directory send OK."),
        ];
        (verb, acts)
    });
    Script {
        greeting,
        login: Login::Open,
        features: vec!["EPSV".to_string(), "PASV".to_string()],
        listing: LISTING.to_vec(),
        overrides: on
            .into_iter()
            .chain(transfers)
            .map(|(verb, acts)| (verb.to_string(), acts))
            .collect(),
        ..Script::default()
    }
}

/// The greeting, then the healthy session with `on` answering their verbs.
pub fn serve(on: Vec<(&str, Vec<Act>)>) -> Script {
    script(vec![greeting()], on)
}

/// A server that plays `acts` on connect and then hangs up, never reading a command.
pub fn only(mut acts: Vec<Act>) -> Script {
    acts.push(Act::Close);
    script(acts, Vec::new())
}

/// A data port that accepts and plays `acts` on the connection.
pub fn accept(acts: Vec<DataAct>) -> DataPort {
    DataPort::Accept(DataPlay::acts(acts))
}
