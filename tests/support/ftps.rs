//! FTPS for the tests over the library's fake server: a private CA and what it signs (from
//! rcgen: leaves valid, expired or for a wrong name, a CA certificate served as the server's
//! own, self-signed certificates), rustls server configurations for them, and the script of a
//! healthy FTPS server (AUTH TLS or implicit TLS, PBSZ/PROT, TLS data connections that resume
//! the control connection's session). What a test needs beyond that (AUTH or PROT P refused,
//! session reuse required, a rewritten plain-text PASV, the hostile TLS behaviours of
//! `tests/hostile_tls.rs`) is script data it adds.

use std::sync::Arc;

use pasv_doctor::fake::{Act, Login, Script, Tls};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What a healthy FTPS server's listing carries.
pub const LISTING: &[u8] = b"-rw-r--r-- 1 ftp ftp 1024 Nov 24 10:00 readme.txt\r\n";

/// A private CA and what it signs.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate chain with its key.
#[derive(Clone)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pasv-doctor test CA");
        let key = KeyPair::generate().expect("key");
        Pki {
            ca: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A leaf for `names`, valid from `days_from`..`days_to` days around now.
    pub fn leaf(&self, names: &[&str], days_from: i64, days_to: i64) -> Identity {
        self.signed(names, days_from, days_to, false)
    }

    /// A CA certificate (basic constraints CA:TRUE) for `names`, signed by this CA: what a
    /// server configured with a CA's certificate instead of its own presents.
    pub fn ca_as_leaf(&self, names: &[&str]) -> Identity {
        self.signed(names, -1, 365, true)
    }

    fn signed(&self, names: &[&str], days_from: i64, days_to: i64, ca: bool) -> Identity {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let now = time_now();
        params.not_before = now + time_days(days_from);
        params.not_after = now + time_days(days_to);
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().copied().unwrap_or("leaf"),
        );
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        Identity {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
        }
    }
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn time_days(d: i64) -> time::Duration {
    time::Duration::days(d)
}

/// A self-signed certificate for `names`.
pub fn self_signed(names: &[&str]) -> Identity {
    let ck =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("self-signed");
    Identity {
        chain: vec![ck.cert.der().clone()],
        key_der: ck.signing_key.serialize_der(),
    }
}

/// How a server's TLS configuration differs from the usual.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsOptions {
    /// Speak TLS 1.2 only.
    pub tls12_only: bool,
    /// Require a client certificate (the client sends none: the server answers with an
    /// alert, during the handshake in TLS 1.2, after the client's Finished in TLS 1.3).
    pub client_cert_required: bool,
}

/// A TLS server configuration presenting `identity`.
pub fn config(identity: &Identity, options: TlsOptions) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions");
    let builder = if options.client_cert_required {
        // Any anchor will do: the client sends no certificate at all.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(identity.chain[0].clone()).expect("trust anchor");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(identity.chain.clone(), key)
        .expect("server config");
    Arc::new(config)
}

/// A healthy explicit-FTPS server presenting `identity`: anyone logs in, FEAT names AUTH TLS,
/// PBSZ and PROT, transfers carry [`LISTING`].
pub fn script(identity: &Identity) -> Script {
    Script {
        greeting: vec![Act::line("220 pasv-doctor test FTPS server")],
        login: Login::Open,
        features: ["AUTH TLS", "PBSZ", "PROT", "EPSV", "PASV"]
            .map(str::to_string)
            .to_vec(),
        listing: LISTING.to_vec(),
        tls: Some(Tls::new(config(identity, TlsOptions::default()))),
        ..Script::default()
    }
}

/// The TLS settings of an FTPS script.
pub fn tls(script: &mut Script) -> &mut Tls {
    script.tls.as_mut().expect("an FTPS script")
}
