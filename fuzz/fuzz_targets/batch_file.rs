//! The batch file parser: arbitrary text never panics, every entry and error keeps its line
//! number in range and in order, and a parsed target re-parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pasv_doctor::batch;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count();
    let mut last = 0;
    for item in batch::parse(text) {
        let line = match &item {
            Ok(entry) => {
                let again = pasv_doctor::target::parse(&entry.input).expect("a parsed target re-parses");
                assert_eq!(again, entry.target);
                entry.line
            }
            Err(e) => {
                assert!(!e.message.is_empty());
                e.line
            }
        };
        assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        assert!(line > last, "lines out of order");
        last = line;
    }
});
