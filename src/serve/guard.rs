//! Server-side request forgery: a served check contacts only what `[serve] allow_targets`
//! allows. Twice: [`admit`] before the check (the name matched, then resolved, then every
//! address checked; a refusal becomes a 403 and nothing is contacted), and [`Guard`], the
//! connector every connection of the check goes through, control and data alike, which
//! refuses any other address without sending a packet. The second catches what the first
//! cannot see: a name that resolves differently the second time (DNS rebinding), and the
//! addresses a PASV reply names when a module turns `probe_advertised` on.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::config::AllowList;
use crate::probe::net::{BoxFuture, Connection, Connector, Listener, Net, Tcp};
use crate::probe::{ProbeConfig, dns};
use crate::target::Host;
use crate::transcript::Family;

/// A connector that connects only where the allow-list lets it.
#[derive(Clone)]
pub struct Guard {
    allow: Arc<AllowList>,
    name_matched: bool,
    inner: Net,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("allow", &self.allow.describe())
            .field("name_matched", &self.name_matched)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// Real TCP behind `allow`; `name_matched`: the target's name matched a listed pattern.
    pub fn new(allow: Arc<AllowList>, name_matched: bool) -> Guard {
        Guard::over(allow, name_matched, Tcp::shared())
    }

    /// `inner` behind `allow`.
    pub fn over(allow: Arc<AllowList>, name_matched: bool, inner: Net) -> Guard {
        Guard {
            allow,
            name_matched,
            inner,
        }
    }
}

impl Connector for Guard {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Connection>> {
        match self.allow.check(addr.ip(), self.name_matched) {
            Ok(()) => self.inner.connect(addr),
            Err(refusal) => Box::pin(async move {
                Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("not contacted: {refusal}"),
                ))
            }),
        }
    }

    /// Listening opens nothing towards anyone.
    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        self.inner.listen(addr)
    }
}

/// Whether the configured target may be checked: `Ok(name_matched)` or the reason it may
/// not (for the 403). A name is looked up here with the check's own resolver settings.
pub async fn admit(allow: &AllowList, config: &ProbeConfig) -> Result<bool, String> {
    let name = match &config.target.host {
        Host::Ip(ip) => {
            return allow
                .check(*ip, false)
                .map(|()| false)
                .map_err(|r| r.to_string());
        }
        Host::Name(name) => name,
    };
    let matched = allow.name_matches(name);
    let budget = config.deadline.min(config.timeout.saturating_mul(2));
    let lookup = tokio::time::timeout(
        budget,
        dns::resolve(name, config.dns_server, config.family, config.timeout),
    )
    .await;
    let addresses: Vec<IpAddr> = match lookup {
        Ok(Ok(l)) => {
            l.a.records
                .iter()
                .chain(&l.aaaa.records)
                .map(|r| r.ip)
                .filter(|ip| match config.family {
                    Family::Any => true,
                    Family::V4 => ip.is_ipv4(),
                    Family::V6 => ip.is_ipv6(),
                })
                .collect()
        }
        // The check itself meets the same failure and reports it; it can contact nothing.
        Ok(Err(_)) | Err(_) => Vec::new(),
    };
    if addresses.is_empty() && !matched && !allow.is_empty() {
        return Err(format!(
            "{name} matches no name in allow_targets and resolves to no address to check"
        ));
    }
    for ip in addresses {
        allow
            .check(ip, matched)
            .map_err(|r| format!("{name} resolves to {}: {r}", r.address))?;
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_address_is_never_dialled() {
        // A listener on an allowed address proves the inner connector works; the refused
        // one is a port on 127.0.0.2 that nothing may touch.
        let allowed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refused = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        refused.set_nonblocking(true).unwrap();
        let allow = Arc::new(AllowList::parse(&["127.0.0.1/32"]).unwrap());
        let guard = Guard::new(allow, false);
        let ok = guard.connect(allowed.local_addr().unwrap()).await;
        assert!(ok.is_ok());
        let err = guard
            .connect(refused.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("127.0.0.2"), "{err}");
        assert!(refused.accept().is_err(), "127.0.0.2 saw a connection");
    }
}
