//! Reading a config file's values through the same parsers as the command line and the
//! batch file: a TOML string, number or boolean is taken as the text a user would type
//! (`timeout = "5s"`, `samples = 3`, `insecure = true`), then parsed by `value.rs`. An
//! error is raised inside the deserializer, so the TOML message names its line.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

use super::value;

/// A scalar as text.
struct Text;

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or true/false")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

macro_rules! parsed {
    ($($name:ident => $parser:path : $ty:ty),* $(,)?) => {$(
        pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            let text = d.deserialize_any(Text)?;
            $parser(&text).map(Some).map_err(de::Error::custom)
        }
    )*};
}

parsed! {
    user => value::user: String,
    env_var => value::env_var: String,
    path => value::path: std::path::PathBuf,
    tls => value::tls: crate::transcript::TlsRequest,
    boolean => value::boolean: bool,
    samples => value::samples: u32,
    transfers => value::transfers: u32,
    duration => value::duration: std::time::Duration,
    range => value::range: (u16, u16),
    ip => value::ip: std::net::IpAddr,
    prot_clear => value::prot_clear: bool,
    max_tls12 => value::max_tls12: bool,
    days => value::days: u32,
    dns_server => value::dns_server: std::net::SocketAddr,
    family => value::family: crate::transcript::Family,
    url => value::url: String,
    scan_range => value::scan_range: crate::probe::ScanRange,
    scan_rate => value::scan_rate: u32,
}
