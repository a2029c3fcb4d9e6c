//! Where reports are delivered (`--post`), with the Authorization value read from an
//! environment variable or a file, checked before any work is done.

use super::DeliveryOptions;

impl DeliveryOptions {
    /// Where to deliver, with the Authorization value read, checked before any work is
    /// done. `Err` is a message for the user (exit 3).
    pub fn receiver(&self) -> Result<Option<crate::webhook::Receiver>, String> {
        let Some(url) = &self.post else {
            return Ok(None);
        };
        crate::webhook::validate_url(url)?;
        let value = match (&self.post_auth_env, &self.post_auth_file) {
            (Some(var), _) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
                Ok(_) => {
                    return Err(format!(
                        "the variable {var} named by --post-auth-env is empty"
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "the variable {var} named by --post-auth-env is not set"
                    ));
                }
            },
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read --post-auth-file {}: {e}", path.display()))?;
                match text.lines().next().map(str::trim) {
                    Some(line) if !line.is_empty() => Some(line.to_string()),
                    _ => {
                        return Err(format!("--post-auth-file {} is empty", path.display()));
                    }
                }
            }
            (None, None) => None,
        };
        Ok(Some(crate::webhook::Receiver {
            url: url.clone(),
            authorization: value.map(crate::secret::Secret::new),
        }))
    }
}
