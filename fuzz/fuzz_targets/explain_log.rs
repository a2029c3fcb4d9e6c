//! The client-log readers of `explain`: arbitrary bytes, read by format detection and by
//! every forced format, never panic; what they build goes through the analysis and the
//! reports without panicking either, and never shows a password given on a PASS line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pasv_doctor::explain::{self, Options};
use pasv_doctor::report::{Report, json, markdown};

fuzz_target!(|data: &[u8]| {
    let mut opts = Options {
        input_name: "fuzz".to_string(),
        ..Options::default()
    };
    let mut results = vec![explain::explain(data, &opts)];
    for format in explain::Format::ALL {
        opts.from = Some(format);
        results.push(explain::explain(data, &opts));
    }
    for explained in results.into_iter().flatten() {
        let report = Report::new(&explained.transcript);
        let mut out = Vec::new();
        json::write(&mut out, &report).expect("json renders");
        markdown::write(&mut out, &report).expect("markdown renders");
    }
});
