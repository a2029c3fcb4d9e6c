//! Which clients an advertised address concerns, in one sentence for the finding, from the
//! same client rules as the client table (`knowledge::clients`): the clients it names are
//! the rows the finding marks in `breaks`, so the finding and the table never disagree.

use std::net::IpAddr;

use crate::knowledge::clients::connecting_to_advertised;
use crate::transcript::ServerSession;

/// What is known of data connections to the advertised address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Unreachable by its class from where the server was reached, or tried and failed.
    Fails,
    /// Nothing was tried there.
    Untested,
}

/// The impact sentence for a PASV address that is not the control peer, and the client
/// rows it breaks (empty when untested: the table says "unknown" for them).
pub fn address_impact(s: &ServerSession, ip: IpAddr, reach: Reach) -> (String, Vec<String>) {
    let affected = connecting_to_advertised(s, ip);
    if affected.is_empty() {
        return (
            format!(
                "No common client connects to {ip} in this session: they use the server's \
                 address, or EPSV, which the server answers."
            ),
            Vec::new(),
        );
    }
    let list = affected.join(", ");
    match reach {
        Reach::Fails => (
            format!(
                "Breaks {list}: they connect to {ip} as the PASV reply says. The other clients \
                 use the server's address here, or EPSV."
            ),
            affected,
        ),
        Reach::Untested => (
            format!(
                "{list} connect to {ip} as the PASV reply says; whether they can was not \
                 tested. The other clients use the server's address here, or EPSV."
            ),
            Vec::new(),
        ),
    }
}
