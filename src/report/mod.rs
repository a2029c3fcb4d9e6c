//! Renderers. Each takes the data it shows and a writer it is given; none touches stdout
//! itself, so every format is testable and `| head` is handled in one place (`main`).

pub mod decode;
