//! From layers to the probe's configuration: the layers merged in their order, then what
//! the settings point at read: the password from the variable or file named, the CA file's
//! certificates (read once per file for a whole batch).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{ConfigError, ConfigFile, Overrides};
use crate::probe::{ProbeConfig, tls::TlsOptions};
use crate::secret::Secret;
use crate::target::Target;
use crate::transcript::{Family, TlsRequest};

/// The largest password file read (its first line is the password).
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// Resolves targets against a config file and the command-line flags.
#[derive(Debug)]
pub struct Resolver<'a> {
    file: Option<&'a ConfigFile>,
    /// The module for targets that name none (`--module`).
    module: Option<&'a str>,
    flags: &'a Overrides,
    /// CA files already read, by name.
    roots: HashMap<PathBuf, Vec<Vec<u8>>>,
}

impl<'a> Resolver<'a> {
    /// A resolver; a default module the file does not define is an error now, not once
    /// per target.
    pub fn new(
        file: Option<&'a ConfigFile>,
        module: Option<&'a str>,
        flags: &'a Overrides,
    ) -> Result<Resolver<'a>, ConfigError> {
        if let Some(name) = module {
            file.ok_or_else(|| ConfigError::NoConfigFile {
                module: name.to_string(),
            })?
            .module(name)?;
        }
        Ok(Resolver {
            file,
            module,
            flags,
            roots: HashMap::new(),
        })
    }

    /// The layers for one target merged in their order (see the module documentation):
    /// built-in, the file's defaults, the module, the TARGET, the target's own settings,
    /// the flags.
    pub fn merge(
        &self,
        target: &Target,
        module: Option<&str>,
        own: &Overrides,
    ) -> Result<Overrides, ConfigError> {
        let mut merged = Overrides::builtin();
        if let Some(file) = self.file {
            merged.apply(&file.defaults);
        }
        if let Some(name) = module.or(self.module) {
            let file = self.file.ok_or_else(|| ConfigError::NoConfigFile {
                module: name.to_string(),
            })?;
            merged.apply(file.module(name)?);
        }
        merged.apply(&Overrides::from_target(target));
        merged.apply(own);
        merged.apply(self.flags);
        Ok(merged)
    }

    /// The probe configuration for TARGET `input` from merged settings: the password read
    /// from the source they name (none named: no password), the CA file loaded.
    pub fn finish(
        &mut self,
        input: &str,
        target: Target,
        merged: &Overrides,
    ) -> Result<ProbeConfig, ConfigError> {
        let password = password(merged)?;
        let extra_roots = match &merged.ca_file {
            Some(path) => match self.roots.get(path) {
                Some(roots) => roots.clone(),
                None => {
                    let roots = load_ca_file(path).map_err(ConfigError::CaFile)?;
                    self.roots.insert(path.clone(), roots.clone());
                    roots
                }
            },
            None => Vec::new(),
        };
        let builtin = Overrides::builtin();
        // Every setting has a built-in value, so `or` only guards against a layer bug.
        let pick = |o: Option<u32>, d: Option<u32>| o.or(d).unwrap_or_default();
        Ok(ProbeConfig {
            input: input.to_string(),
            user: merged
                .user
                .clone()
                .unwrap_or_else(|| "anonymous".to_string()),
            password,
            dns_server: merged.dns_server,
            family: merged.family.unwrap_or(Family::Any),
            samples: pick(merged.samples, builtin.samples),
            transfers: pick(merged.transfers, builtin.transfers),
            timeout: merged.timeout.or(builtin.timeout).unwrap_or_default(),
            deadline: merged.deadline.or(builtin.deadline).unwrap_or_default(),
            probe_advertised: merged.probe_advertised.unwrap_or(false),
            expect_range: merged.expect_range,
            expect_address: merged.expect_address,
            my_ip_url: merged.my_ip_url.clone(),
            tls: merged.tls.unwrap_or(TlsRequest::Auto),
            tls_options: TlsOptions {
                insecure: merged.insecure.unwrap_or(false),
                max_tls12: merged.max_tls12.unwrap_or(false),
                extra_roots,
            },
            prot_clear: merged.prot_clear.unwrap_or(false),
            cert_warn_days: pick(merged.cert_warn_days, builtin.cert_warn_days),
            compare_plain: merged.compare_plain.unwrap_or(false),
            scan: merged.scan_range.map(|range| crate::probe::ScanRequest {
                range,
                rate: merged.scan_rate.unwrap_or(crate::probe::scan::DEFAULT_RATE),
            }),
            active: merged.active.unwrap_or(false),
            active_address: merged.active_address,
            target,
        })
    }

    /// [`Resolver::merge`] then [`Resolver::finish`].
    pub fn resolve(
        &mut self,
        input: &str,
        target: Target,
        module: Option<&str>,
        own: &Overrides,
    ) -> Result<ProbeConfig, ConfigError> {
        let merged = self.merge(&target, module, own)?;
        self.finish(input, target, &merged)
    }
}

/// The password from the source the settings name; `None` when they name none.
fn password(o: &Overrides) -> Result<Option<Secret>, ConfigError> {
    let text = if let Some(var) = &o.password_env {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => v,
            Ok(_) => {
                return Err(ConfigError::Password(format!(
                    "the password variable {var} is empty"
                )));
            }
            Err(_) => {
                return Err(ConfigError::Password(format!(
                    "the password variable {var} is not set (export {var}=... first)"
                )));
            }
        }
    } else if let Some(path) = &o.password_file {
        read_password_file(path)?
    } else {
        return Ok(None);
    };
    if text.contains(['\r', '\n']) {
        return Err(ConfigError::Password(
            "the password contains a line break".to_string(),
        ));
    }
    Ok(Some(Secret::new(text)))
}

/// The first line of the file, without its line ending; never quoted in a message.
fn read_password_file(path: &Path) -> Result<String, ConfigError> {
    let fail = |e: std::io::Error| {
        ConfigError::Password(format!(
            "cannot read the password file {}: {e}",
            path.display()
        ))
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(fail)?
        .take(MAX_PASSWORD_FILE)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ConfigError::Password(format!(
            "the password file {} is not UTF-8 text",
            path.display()
        ))
    })?;
    match text.lines().next() {
        Some(line) if !line.is_empty() => Ok(line.to_string()),
        _ => Err(ConfigError::Password(format!(
            "the password file {} is empty",
            path.display()
        ))),
    }
}

/// Reads extra trust roots (PEM) as DER.
pub fn load_ca_file(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut b64 = String::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            b64.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            out.push(base64_decode(&b64).ok_or_else(|| {
                format!(
                    "the CA file {}: a certificate is not valid base64",
                    path.display()
                )
            })?);
        } else if inside {
            b64.push_str(line);
        }
    }
    if out.is_empty() {
        return Err(format!(
            "the CA file {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(out)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let take = chunk.len().saturating_sub(1);
        for i in 0..take {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file() -> ConfigFile {
        ConfigFile::parse(
            "[defaults]\ntimeout = \"3s\"\nsamples = 4\n[modules.m]\nuser = \"monitor\"\n\
             samples = 2\ntls = \"explicit\"\n",
            Path::new("c.toml"),
        )
        .expect("valid")
    }

    #[test]
    fn layers_resolve_in_order() {
        let f = file();
        let flags = Overrides {
            deadline: Some(Duration::from_secs(9)),
            ..Overrides::default()
        };
        let mut r = Resolver::new(Some(&f), None, &flags).expect("resolver");
        let target = crate::target::parse("ftps://alice@h.example").expect("target");
        let mut own = Overrides::default();
        own.set("samples", "1").expect("set");
        let c = r.resolve("in", target, Some("m"), &own).expect("config");
        assert_eq!(c.user, "alice", "the URL's user beats the module's");
        assert_eq!(c.tls, TlsRequest::Implicit, "ftps:// beats the module");
        assert_eq!(c.samples, 1, "the line beats the module");
        assert_eq!(c.timeout, Duration::from_secs(3));
        assert_eq!(c.deadline, Duration::from_secs(9));
        assert_eq!(c.transfers, 2);
        assert!(c.password.is_none());
        let plain = crate::target::parse("h.example").expect("target");
        let c = r.resolve("h", plain.clone(), Some("m"), &Overrides::default());
        assert_eq!(c.expect("config").user, "monitor");
        let e = r.resolve("h", plain, Some("x"), &Overrides::default());
        assert!(e.unwrap_err().to_string().contains("known: m"));
        let none = Overrides::default();
        assert!(matches!(
            Resolver::new(None, Some("m"), &none),
            Err(ConfigError::NoConfigFile { .. })
        ));
    }

    #[test]
    fn passwords_from_a_file_never_quoted() {
        let dir = std::env::temp_dir().join(format!("pasv-doctor-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("pw");
        std::fs::write(&path, "s3cret word\r\nignored\n").expect("write");
        let mut o = Overrides {
            password_file: Some(path.clone()),
            ..Overrides::default()
        };
        let pw = password(&o).expect("read").expect("some");
        assert_eq!(pw.expose(), "s3cret word");
        std::fs::write(&path, "\n").expect("write");
        assert!(password(&o).unwrap_err().to_string().contains("is empty"));
        o.password_file = Some(dir.join("missing"));
        assert!(
            password(&o)
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
