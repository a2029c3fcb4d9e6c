//! Which clients an advertised address breaks, by its class (facts in docs/clients.md,
//! from each client's source). Issue-specific wording lives here, not in the rules.

use crate::proto::AddressClass;

/// The impact sentence for a PASV address of this class that is not the control peer.
pub fn impact_of_foreign_address(class: AddressClass) -> &'static str {
    match class {
        AddressClass::Private
        | AddressClass::Loopback
        | AddressClass::LinkLocal
        | AddressClass::UniqueLocal => {
            "Breaks clients that trust the PASV address: GNU wget, Rust suppaftp, curl 7.73 and \
             older, Python ftplib before 3.9.3/3.8.9, and Node basic-ftp 6 when EPSV fails. \
             Still works: curl 7.74+, modern ftplib and commons-net (they use the control \
             address), FileZilla and WinSCP (they replace an unroutable address), lftp, \
             FluentFTP, Go jlaffaye/ftp."
        }
        AddressClass::Cgnat => {
            "Breaks FileZilla and WinSCP (they do not treat 100.64.0.0/10 as unroutable), lftp, \
             Go jlaffaye/ftp, FluentFTP, GNU wget and Rust suppaftp. Still works: curl 7.74+, \
             modern Python ftplib and commons-net 3.9+, which use the control address."
        }
        AddressClass::Unspecified => {
            "Breaks GNU wget and Rust suppaftp, which connect to 0.0.0.0. FileZilla, WinSCP, \
             lftp, FluentFTP and curl 7.74+ use the control address instead."
        }
        _ => {
            "Breaks every client that uses the PASV address: FileZilla, WinSCP, lftp, GNU wget, \
             FluentFTP, Rust suppaftp, Go jlaffaye/ftp. Still works: curl 7.74+, Python ftplib \
             3.9.3+ and commons-net 3.9+, which use the control address."
        }
    }
}
