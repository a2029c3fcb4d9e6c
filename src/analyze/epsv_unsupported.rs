//! EPSV_UNSUPPORTED: the server refuses EPSV (harmless over IPv4, fatal over IPv6).

use crate::finding::Finding;
use crate::proto::PassiveKind;
use crate::transcript::Transcript;

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    super::pasv_unsupported::unsupported(t, out, PassiveKind::Epsv);
}
