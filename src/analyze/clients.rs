//! Which clients an advertised address breaks, by its class, in one sentence for the
//! finding (the full per-client matrix is `knowledge::clients`). Facts in docs/clients.md.

use crate::proto::AddressClass;

/// EPSV-first clients never read the PASV address while the server answers EPSV.
const EPSV_NOTE: &str = "EPSV-first clients (curl, Go jlaffaye/ftp, Node basic-ftp, \
                         FluentFTP) are unaffected while EPSV works.";

/// The impact sentence for a PASV address of this class that is not the control peer.
pub fn impact_of_foreign_address(class: AddressClass) -> String {
    impact_for(class, true)
}

/// As [`impact_of_foreign_address`], knowing whether the server's own (control) address is
/// routable: FileZilla and WinSCP substitute it only when it is.
pub fn impact_for(class: AddressClass, peer_routable: bool) -> String {
    if !peer_routable
        && matches!(
            class,
            AddressClass::Private
                | AddressClass::Loopback
                | AddressClass::LinkLocal
                | AddressClass::UniqueLocal
        )
    {
        return format!(
            "Breaks clients that connect to the PASV address as given: GNU wget, Rust \
             suppaftp, Python ftplib before 3.9.3, curl 7.73 and older, and here FileZilla and \
             WinSCP too (they substitute the server's address only when that one is routable, \
             and this server was reached at an unroutable address). Python ftplib 3.9.3+, \
             commons-net 3.9+ and lftp use the server's address. {EPSV_NOTE}"
        );
    }
    let body = match class {
        AddressClass::Private
        | AddressClass::Loopback
        | AddressClass::LinkLocal
        | AddressClass::UniqueLocal => {
            "Breaks clients that connect to the PASV address as given: GNU wget, Rust \
             suppaftp, Python ftplib before 3.9.3, curl 7.73 and older. FileZilla and WinSCP \
             replace an unroutable address, but only when the server's own address is \
             routable; lftp and commons-net 3.9+ use the server's address."
        }
        AddressClass::Cgnat => {
            "Breaks FileZilla and WinSCP (they do not treat 100.64.0.0/10 as unroutable), lftp, \
             GNU wget and Rust suppaftp. Python ftplib 3.9.3+ and commons-net 3.9+ use the \
             server's address and work."
        }
        AddressClass::Unspecified => {
            "Breaks GNU wget and Rust suppaftp, which connect to 0.0.0.0; FileZilla, WinSCP, \
             lftp and FluentFTP use the server's address instead."
        }
        _ => {
            "Breaks every client that connects to the PASV address: FileZilla, WinSCP, lftp, \
             GNU wget, Rust suppaftp, Python ftplib before 3.9.3. Python ftplib 3.9.3+ and \
             commons-net 3.9+ use the server's address and work."
        }
    };
    format!("{body} {EPSV_NOTE}")
}
