//! Server products: fingerprints from the greeting, SYST and FEAT, and the exact settings
//! for the advertised address, the passive port range and the TLS certificate, with the
//! observed values filled in. An unknown product gets every product's setting.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::transcript::ServerSession;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    Vsftpd,
    Proftpd,
    PureFtpd,
    FilezillaServer,
    MicrosoftIis,
    Unknown,
}

impl Product {
    pub const KNOWN: [Product; 5] = [
        Product::Vsftpd,
        Product::Proftpd,
        Product::PureFtpd,
        Product::FilezillaServer,
        Product::MicrosoftIis,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Product::Vsftpd => "vsftpd",
            Product::Proftpd => "ProFTPD",
            Product::PureFtpd => "Pure-FTPd",
            Product::FilezillaServer => "FileZilla Server",
            Product::MicrosoftIis => "Microsoft IIS FTP",
            Product::Unknown => "unknown server",
        }
    }

    /// How a fix line names the product before its setting ("vsftpd: `pasv_address=...`";
    /// IIS lines say "IIS"): the headline picks the recognised product's line by it.
    pub fn fix_label(self) -> &'static str {
        match self {
            Product::MicrosoftIis => "IIS",
            p => p.name(),
        }
    }
}

/// What the server was recognised as, and from what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    pub product: Product,
    pub version: Option<String>,
    /// The text that gave it away.
    pub evidence: Option<String>,
}

/// The version token that follows `marker` (case-insensitive), e.g. "3.0.3" after "vsFTPd ".
fn version_after(text: &str, marker: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find(&marker.to_ascii_lowercase())? + marker.len();
    let rest = text
        .get(at..)?
        .lines()
        .next()?
        .trim_start_matches([' ', '\t']);
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    (v.chars().next().is_some_and(|c| c.is_ascii_digit())).then_some(v)
}

/// Recognises the product from what the server said about itself.
pub fn fingerprint(s: &ServerSession) -> Fingerprint {
    let greeting: Vec<&str> = s.greeting.iter().map(|r| r.text.as_str()).collect();
    let syst = s
        .syst
        .as_ref()
        .and_then(|e| e.reply.as_ref())
        .map(|r| r.text.as_str())
        .unwrap_or("");
    let feat = s
        .feat
        .as_ref()
        .and_then(|e| e.reply.as_ref())
        .map(|r| r.text.as_str())
        .unwrap_or("");
    let all = format!("{}\n{syst}\n{feat}", greeting.join("\n"));
    let lower = all.to_ascii_lowercase();
    let line_with = |needle: &str| {
        all.lines()
            .find(|l| l.to_ascii_lowercase().contains(needle))
            .map(|l| l.trim().to_string())
    };
    let (product, needle, marker) = if lower.contains("vsftpd") {
        (Product::Vsftpd, "vsftpd", "vsFTPd")
    } else if lower.contains("proftpd") {
        (Product::Proftpd, "proftpd", "ProFTPD")
    } else if lower.contains("pure-ftpd") {
        (Product::PureFtpd, "pure-ftpd", "Pure-FTPd")
    } else if lower.contains("filezilla server") {
        (
            Product::FilezillaServer,
            "filezilla server",
            "FileZilla Server",
        )
    } else if lower.contains("microsoft ftp service") {
        (
            Product::MicrosoftIis,
            "microsoft ftp service",
            "Microsoft FTP Service",
        )
    } else if syst.to_ascii_lowercase().contains("windows_nt") {
        (Product::MicrosoftIis, "windows_nt", "Windows_NT")
    } else {
        return Fingerprint {
            product: Product::Unknown,
            version: None,
            evidence: None,
        };
    };
    Fingerprint {
        product,
        version: version_after(&all, marker),
        evidence: line_with(needle),
    }
}

/// The name of the setting that makes `product` advertise a given address, as the
/// product's documentation spells it (empty for an unknown product).
pub fn external_address_directive(product: Product) -> &'static str {
    match product {
        Product::Vsftpd => "pasv_address",
        Product::Proftpd => "MasqueradeAddress",
        Product::PureFtpd => "ForcePassiveIP",
        Product::FilezillaServer => "Public IP or hostname",
        Product::MicrosoftIis => "External IP Address of Firewall",
        Product::Unknown => "",
    }
}

/// The directives of the common Unix servers, as one short phrase for a verdict line:
/// `pasv_address / MasqueradeAddress / ForcePassiveIP`.
pub fn external_address_directives_short() -> String {
    [Product::Vsftpd, Product::Proftpd, Product::PureFtpd]
        .map(external_address_directive)
        .join(" / ")
}

/// The setting that makes `product` advertise `ip` (a placeholder when unknown).
pub fn external_address_setting(product: Product, ip: &str) -> Vec<String> {
    let one = |p: Product| {
        let d = external_address_directive(p);
        match p {
            Product::Vsftpd => format!(
                "vsftpd: `{d}={ip}` in vsftpd.conf (a host name needs `pasv_addr_resolve=YES`), then restart vsftpd"
            ),
            Product::Proftpd => format!(
                "ProFTPD: `{d} {ip}` in proftpd.conf (and `TLS{d} {ip}` for FTPS sessions), then restart proftpd"
            ),
            Product::PureFtpd => format!(
                "Pure-FTPd: `{d} {ip}` in pure-ftpd.conf (command line `-P {ip}`; Docker image stilliard/pure-ftpd: `PUBLICHOST={ip}`)"
            ),
            Product::FilezillaServer => format!(
                "FileZilla Server: Server > Configure > Passive mode settings > \"{d}\" = {ip}"
            ),
            Product::MicrosoftIis => format!(
                "IIS: FTP Firewall Support > \"{d}\" = {ip} (ftpServer/firewallSupport/@externalIp4Address), then restart the FTP service"
            ),
            Product::Unknown => String::new(),
        }
    };
    match product {
        Product::Unknown => Product::KNOWN.iter().map(|p| one(*p)).collect(),
        p => vec![one(p)],
    }
}

/// The setting that limits `product`'s passive ports to `low`-`high`.
pub fn port_range_setting(
    product: Product,
    low: impl std::fmt::Display,
    high: impl std::fmt::Display,
) -> Vec<String> {
    let one = |p: Product| match p {
        Product::Vsftpd => {
            format!("vsftpd: `pasv_min_port={low}` and `pasv_max_port={high}` in vsftpd.conf")
        }
        Product::Proftpd => format!("ProFTPD: `PassivePorts {low} {high}` in proftpd.conf"),
        Product::PureFtpd => format!(
            "Pure-FTPd: `PassivePortRange {low} {high}` in pure-ftpd.conf (command line `-p {low}:{high}`)"
        ),
        Product::FilezillaServer => format!(
            "FileZilla Server: Passive mode settings > \"Use custom port range\" {low}-{high}"
        ),
        Product::MicrosoftIis => format!(
            "IIS: FTP Firewall Support > \"Data Channel Port Range\" {low}-{high} (server level)"
        ),
        Product::Unknown => String::new(),
    };
    match product {
        Product::Unknown => Product::KNOWN.iter().map(|p| one(*p)).collect(),
        p => vec![one(p)],
    }
}

/// What a certificate fix changes in the server's certificate setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertChange {
    /// Another certificate and its key: renewed, for the right names, or from a CA.
    Replace,
    /// The intermediate certificates sent along with the server's own.
    Chain,
    /// The server's own certificate first in the file, its intermediates after it (a CA
    /// certificate came first, or stands alone where the server's should be).
    LeafFirst,
}

/// Where `product` takes its TLS certificate from and what to put there for `change`.
///
/// Sources: vsftpd loads `rsa_cert_file` with OpenSSL's
/// `SSL_CTX_use_certificate_chain_file` (the file is the certificate followed by its
/// intermediates) and `rsa_private_key_file` defaults to the same file (ssl.c,
/// vsftpd.conf.5); ProFTPD mod_tls `TLSRSACertificateFile`, `TLSRSACertificateKeyFile` and
/// `TLSCertificateChainFile` (doc/contrib/mod_tls.html); Pure-FTPd reads the key and the
/// certificate from one PEM file, `/etc/ssl/private/pure-ftpd.pem` unless `CertFile` names
/// another (README.TLS, pure-ftpd.conf); FileZilla Server 1.x: Server > Configure > "FTP and
/// FTP over TLS (FTPS)" > "Connection Security" > TLS certificate (settingsdialog.cpp,
/// certinfoeditor.cpp); IIS: the FTP site's "FTP SSL Settings" pick a certificate from the
/// machine's store (`ftpServer/security/ssl/@serverCertHash`).
pub fn certificate_setting(product: Product, change: CertChange) -> Vec<String> {
    let one = |p: Product| match (p, change) {
        (Product::Vsftpd, CertChange::Replace) => "vsftpd: the new certificate (with its \
             intermediates after it) in the file `rsa_cert_file=` names and its key in \
             `rsa_private_key_file=` (vsftpd.conf; the key defaults to the certificate's \
             file), then restart vsftpd"
            .to_string(),
        (Product::Vsftpd, CertChange::Chain) => "vsftpd: append the intermediate \
             certificates after the server's own in the file `rsa_cert_file=` names (with \
             Let's Encrypt: `fullchain.pem`, not `cert.pem`), then restart vsftpd"
            .to_string(),
        (Product::Vsftpd, CertChange::LeafFirst) => "vsftpd: the file `rsa_cert_file=` \
             names must start with the server's own certificate (the one for this host), \
             then its intermediates; `rsa_private_key_file=` holds that certificate's key; \
             then restart vsftpd"
            .to_string(),
        (Product::Proftpd, CertChange::Replace) => "ProFTPD: the new certificate in the \
             file `TLSRSACertificateFile` names (`TLSECCertificateFile` for an EC key), its \
             key in `TLSRSACertificateKeyFile`, the intermediates in \
             `TLSCertificateChainFile` (mod_tls, proftpd.conf), then restart proftpd"
            .to_string(),
        (Product::Proftpd, CertChange::Chain) => "ProFTPD: put the intermediate \
             certificates in a file and name it with `TLSCertificateChainFile` (mod_tls, \
             proftpd.conf; with Let's Encrypt: `chain.pem`), then restart proftpd"
            .to_string(),
        (Product::Proftpd, CertChange::LeafFirst) => "ProFTPD: `TLSRSACertificateFile` \
             must name the server's own certificate (the one for this host), with its key in \
             `TLSRSACertificateKeyFile`; CA certificates go in `TLSCertificateChainFile`; \
             then restart proftpd"
            .to_string(),
        (Product::PureFtpd, CertChange::Replace) => "Pure-FTPd: the private key and the new \
             certificate with its intermediates, in one PEM file: \
             `/etc/ssl/private/pure-ftpd.pem` unless `CertFile` in pure-ftpd.conf names \
             another; then restart pure-ftpd"
            .to_string(),
        (Product::PureFtpd, CertChange::Chain) => "Pure-FTPd: append the intermediate \
             certificates after the server's own in `/etc/ssl/private/pure-ftpd.pem` (or the \
             file `CertFile` names in pure-ftpd.conf), then restart pure-ftpd"
            .to_string(),
        (Product::PureFtpd, CertChange::LeafFirst) => "Pure-FTPd: in \
             `/etc/ssl/private/pure-ftpd.pem` (or the file `CertFile` names) the server's own \
             certificate comes first, with its private key, then its intermediates; then \
             restart pure-ftpd"
            .to_string(),
        (Product::FilezillaServer, CertChange::LeafFirst) => "FileZilla Server: Server > \
             Configure > FTP and FTP over TLS (FTPS) > Connection Security > TLS certificate: \
             the \"Certificate file\" must hold the server's own certificate first, then its \
             intermediates, and the \"Private key file\" its key"
            .to_string(),
        (Product::FilezillaServer, _) => "FileZilla Server: Server > Configure > FTP and \
             FTP over TLS (FTPS) > Connection Security > TLS certificate: \"Provide a X.509 \
             certificate\" (a \"Certificate file\" with the intermediates after the \
             certificate, and its \"Private key file\"), or \"Use a Let's Encrypt \
             certificate\""
            .to_string(),
        (Product::MicrosoftIis, CertChange::Chain) => "IIS: import the intermediate \
             certificates into the computer's \"Intermediate Certification Authorities\" \
             store, so IIS sends them with the certificate; restart the FTP service"
            .to_string(),
        (Product::MicrosoftIis, _) => "IIS: import the certificate with its private key \
             (IIS Manager > Server Certificates), then select it in the FTP site's FTP SSL \
             Settings > SSL Certificate (`ftpServer/security/ssl/@serverCertHash`)"
            .to_string(),
        (Product::Unknown, _) => String::new(),
    };
    match product {
        Product::Unknown => Product::KNOWN.iter().map(|p| one(*p)).collect(),
        p => vec![one(p)],
    }
}

/// Firewall and NAT rules that open TCP `low`-`high`, in the common syntaxes.
pub fn firewall_rules(low: impl std::fmt::Display, high: impl std::fmt::Display) -> Vec<String> {
    vec![
        format!("nftables: `nft add rule inet filter input tcp dport {low}-{high} accept`"),
        format!(
            "iptables: `iptables -A INPUT -p tcp --match multiport --dports {low}:{high} -j ACCEPT`"
        ),
        format!("ufw: `ufw allow {low}:{high}/tcp`"),
        format!(
            "firewalld: `firewall-cmd --permanent --add-port={low}-{high}/tcp && firewall-cmd --reload`"
        ),
        format!(
            "NAT router: forward (DNAT) TCP {low}-{high} to the server's LAN address, e.g. nftables \
             `nft add rule ip nat prerouting tcp dport {low}-{high} dnat to SERVER_LAN_IP`"
        ),
    ]
}

/// A hint when the advertised address looks like a container's.
pub fn docker_hint(advertised: IpAddr) -> Option<String> {
    let IpAddr::V4(v4) = advertised else {
        return None;
    };
    let o = v4.octets();
    (o[0] == 172 && (16..=31).contains(&o[1])).then(|| {
        format!(
            "{advertised} looks like a Docker bridge address: in stilliard/pure-ftpd set \
             PUBLICHOST, in fauria/vsftpd set PASV_ADDRESS (and publish the passive ports with -p)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Exchange, ReplyRecord, SessionEnd};

    fn session(greeting: &str, syst: &str) -> ServerSession {
        let rec = |code: u16, text: &str| ReplyRecord {
            code,
            text: text.to_string(),
            anomalies: vec![],
            elapsed_us: 0,
        };
        let addr = "127.0.0.1:21".parse().unwrap();
        let mut s = ServerSession::connected(addr);
        s.greeting = vec![rec(220, greeting)];
        s.syst = Some(Exchange {
            command: "SYST".into(),
            reply: Some(rec(215, syst)),
            failure: None,
        });
        s.end = SessionEnd::Completed;
        s
    }

    #[test]
    fn recognises_products() {
        let cases = [
            (
                "220 (vsFTPd 3.0.3)",
                "215 UNIX Type: L8",
                Product::Vsftpd,
                Some("3.0.3"),
            ),
            (
                "220 ProFTPD 1.3.8 Server (Debian) [::ffff:10.0.0.5]",
                "215 UNIX Type: L8",
                Product::Proftpd,
                Some("1.3.8"),
            ),
            (
                "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\n220 You will be disconnected after 15 minutes of inactivity.",
                "215 UNIX Type: L8",
                Product::PureFtpd,
                None,
            ),
            (
                "220-FileZilla Server 1.8.1\n220 Please visit https://filezilla-project.org/",
                "215 UNIX emulated by FileZilla.",
                Product::FilezillaServer,
                Some("1.8.1"),
            ),
            (
                "220 Microsoft FTP Service",
                "215 Windows_NT",
                Product::MicrosoftIis,
                None,
            ),
            (
                "220 pasv-doctor demo FTP server ready.",
                "215 UNIX Type: L8",
                Product::Unknown,
                None,
            ),
        ];
        for (greeting, syst, product, version) in cases {
            let f = fingerprint(&session(greeting, syst));
            assert_eq!(f.product, product, "{greeting}");
            assert_eq!(f.version.as_deref(), version, "{greeting}");
        }
    }

    #[test]
    fn certificate_settings_name_each_products_file_and_directive() {
        let said = |p, c| certificate_setting(p, c).join("\n");
        assert!(said(Product::Vsftpd, CertChange::Replace).contains("rsa_cert_file"));
        assert!(said(Product::Vsftpd, CertChange::Replace).contains("rsa_private_key_file"));
        assert!(said(Product::Vsftpd, CertChange::Chain).contains("fullchain.pem"));
        assert!(said(Product::Proftpd, CertChange::Replace).contains("TLSRSACertificateFile"));
        assert!(said(Product::Proftpd, CertChange::Chain).contains("TLSCertificateChainFile"));
        assert!(
            said(Product::PureFtpd, CertChange::LeafFirst)
                .contains("/etc/ssl/private/pure-ftpd.pem")
        );
        assert!(said(Product::FilezillaServer, CertChange::Replace).contains("Certificate file"));
        assert!(said(Product::MicrosoftIis, CertChange::Replace).contains("serverCertHash"));
        // An unknown server gets every product's line, none empty.
        for change in [
            CertChange::Replace,
            CertChange::Chain,
            CertChange::LeafFirst,
        ] {
            let all = certificate_setting(Product::Unknown, change);
            assert_eq!(all.len(), Product::KNOWN.len());
            assert!(all.iter().all(|l| !l.is_empty()));
        }
    }

    #[test]
    fn every_setting_line_starts_with_its_products_fix_label() {
        for p in Product::KNOWN {
            let mut lines = external_address_setting(p, "203.0.113.7");
            lines.extend(port_range_setting(p, 50000, 50100));
            for c in [
                CertChange::Replace,
                CertChange::Chain,
                CertChange::LeafFirst,
            ] {
                lines.extend(certificate_setting(p, c));
            }
            for l in lines {
                assert!(l.starts_with(&format!("{}: ", p.fix_label())), "{l}");
            }
        }
    }

    #[test]
    fn unknown_product_gets_every_setting() {
        assert_eq!(
            external_address_setting(Product::Unknown, "203.0.113.7").len(),
            5
        );
        assert!(
            external_address_setting(Product::Vsftpd, "203.0.113.7")[0]
                .contains("pasv_address=203.0.113.7")
        );
        assert!(
            port_range_setting(Product::Proftpd, 30000, 30100)[0]
                .contains("PassivePorts 30000 30100")
        );
    }
}
