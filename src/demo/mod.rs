//! The built-in demo: the scenarios `pasv-doctor demo` plays, each a [`Script`] for the fake
//! FTP server ([`crate::fake`]) on loopback, so that a newcomer sees a real report with no
//! server of their own. The tests script the same server.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::config::{Overrides, Resolver};
use crate::fake::{Advertise, DataAct, DataPlay, DataPort, DataTls, FakeServer, Script};
use crate::probe;
use crate::secret::Secret;
use crate::target::{Host, Target};
use crate::transcript::{TlsRequest, Transcript};

/// What the demo server gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The server advertises its private LAN address 10.0.0.5 (the classic NAT mistake).
    PrivateAddress,
    /// A correctly configured server.
    Healthy,
    /// The server advertises a stale public address, 203.0.113.7.
    WrongPublicAddress,
    /// Nothing listens on the advertised data port.
    RefusedDataPort,
    /// The data ports are dropped, as by a firewall.
    FilteredDataPort,
    /// The data connection opens, then vsftpd-style "425 Security: Bad IP connecting."
    BadIp,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::PrivateAddress => "private-address",
            Scenario::Healthy => "healthy",
            Scenario::WrongPublicAddress => "wrong-public-address",
            Scenario::RefusedDataPort => "refused-data-port",
            Scenario::FilteredDataPort => "filtered-data-port",
            Scenario::BadIp => "bad-ip",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Scenario::PrivateAddress => {
                "a server behind NAT that advertises its private address 10.0.0.5 in PASV"
            }
            Scenario::Healthy => "a correctly configured server",
            Scenario::WrongPublicAddress => {
                "a server that advertises a stale public address, 203.0.113.7"
            }
            Scenario::RefusedDataPort => "a server whose advertised data port has no listener",
            Scenario::FilteredDataPort => "a server whose passive ports a firewall drops",
            Scenario::BadIp => "a server that refuses the data connection after it opened",
        }
    }

    /// The server's script for this scenario.
    pub fn script(self) -> Script {
        let mut script = Script::default();
        match self {
            Scenario::PrivateAddress => {
                script.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)))
            }
            Scenario::Healthy => {}
            Scenario::WrongPublicAddress => {
                script.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)))
            }
            Scenario::RefusedDataPort => script.data = vec![DataPort::Refuse],
            Scenario::FilteredDataPort => script.data = vec![DataPort::Filter],
            Scenario::BadIp => script.data = vec![DataPort::Accept(bad_ip())],
        }
        script
    }
}

/// vsftpd with `pasv_promiscuous=NO` and a client whose data connection comes from another
/// address: the connection is accepted and closed, and the transfer command gets
/// `425 Security: Bad IP connecting.` without a 150 before it.
fn bad_ip() -> DataPlay {
    DataPlay {
        announce: false,
        tls: DataTls::Never,
        acts: vec![DataAct::Close],
        reply: Some("425 Security: Bad IP connecting.".to_string()),
    }
}

/// The demo login; a demo secret, masked like any other.
pub const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "demo-password";

/// Starts the scenario's server on 127.0.0.1, checks it, stops it.
pub async fn run(
    scenario: Scenario,
    samples: u32,
    timeout: Duration,
    progress: probe::progress::Progress,
) -> io::Result<Transcript> {
    let server = FakeServer::start(IpAddr::V4(Ipv4Addr::LOCALHOST), scenario.script()).await?;
    let addr = server.addr();
    let input = format!("ftp://{DEMO_USER}@{addr}/");
    let target = Target {
        host: Host::Ip(addr.ip()),
        port: addr.port(),
        user: Some(DEMO_USER.to_string()),
        path: None,
        implicit_tls: false,
    };
    // The same resolution as a check's; the demo password is the one setting that comes
    // from neither an environment variable nor a file.
    let settings = Overrides {
        samples: Some(samples),
        timeout: Some(timeout),
        deadline: Some(timeout.saturating_mul(10).max(Duration::from_secs(10))),
        // The demo server speaks plain FTP only.
        tls: Some(TlsRequest::Off),
        ..Overrides::default()
    };
    let mut config = Resolver::new(None, None, &settings)
        .and_then(|mut r| r.resolve(&input, target, None, &Overrides::default()))
        .map_err(|e| io::Error::other(e.to_string()))?;
    config.password = Some(Secret::new(DEMO_PASSWORD.to_string()));
    let transcript = probe::run_observed(&config, probe::net::Tcp::shared(), progress)
        .await
        .map_err(|e| io::Error::other(e.to_string()));
    server.shutdown();
    transcript
}
