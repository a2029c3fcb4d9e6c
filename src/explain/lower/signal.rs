//! A client's message applied to the session being lowered: where its data connection
//! went and how it ended, timeouts, refusals, TLS errors, substitutions, and the client's
//! own word that a transfer failed or worked.

use super::*;

pub(super) fn signal_step(
    out: &mut Lowered,
    st: &mut State,
    sig: &Signal,
    i: usize,
    f: &Frame<'_>,
) {
    let idle = st.pending.is_none();
    let pending = st.pending.as_mut().filter(|p| {
        !p.finished_ok()
            && p.sample
                .exchange
                .reply
                .as_ref()
                .is_none_or(|r| r.code < 400)
    });
    match sig {
        Signal::DataConnecting(addr) => match pending {
            Some(p) => p.addr = p.addr.or(*addr),
            // A fragment that starts at the data connection: the passive command that
            // named it is not in the log.
            None if idle => {
                let mut p = Pending::new(PassiveSample::unanswered(NOT_IN_LOG), None);
                p.addr = *addr;
                st.pending = Some(p);
            }
            None => {}
        },
        Signal::DataConnected => {
            if let Some(p) = pending {
                p.outcome.get_or_insert(ConnectOutcome::Connected);
            }
        }
        Signal::Substituted { advertised, used } => match st.pending.as_mut() {
            Some(p) => {
                p.substituted = true;
                p.used = p.used.or(*used);
            }
            // FileZilla at its default level says it substituted but shows no PASV (only a
            // PASV reply names an address to substitute).
            None => {
                let mut sample = PassiveSample::unanswered("PASV");
                // WinSCP names the address it ignored; the port is not in the message.
                sample.advertised = advertised.map(|ip| Advertised {
                    kind: PassiveKind::Pasv,
                    address: Some(ip),
                    port: 0,
                    flags: vec![FROM_MESSAGE.to_string()],
                    parse_failures: Vec::new(),
                });
                let mut p = Pending::new(sample, None);
                p.substituted = true;
                p.used = *used;
                st.pending = Some(p);
            }
        },
        Signal::TlsStarting => st.tls_starting = true,
        Signal::LoggedIn => st.logged_in = true,
        Signal::TransferFailed(bytes) => {
            // After the control connection broke, the failed listing is its consequence;
            // it is the transfer's only when a data connection was under way (or moved
            // bytes).
            let control_lost = st.closed_at.is_some() || st.control_failure.is_some();
            if let Some(p) = pending.filter(|p| {
                !control_lost && (p.cmd.is_some() || p.substituted || p.addr.is_some())
                    || bytes.is_some_and(|n| n > 0)
            }) {
                p.client_failed = true;
                if let Some(n) = bytes.filter(|n| *n > 0) {
                    // Bytes moved: the data connection had opened.
                    p.bytes = p.bytes.max(n);
                    p.outcome.get_or_insert(ConnectOutcome::Connected);
                }
            }
        }
        Signal::StrategiesFailed => {
            // The passive replies the client tried since its last transfer command: each
            // one's data connection failed, in a way the log does not tell.
            let failed = || Some(ConnectOutcome::Error(FAILED_UNSAID.to_string()));
            if let Some(p) = st.pending.as_mut().filter(|p| p.cmd.is_none()) {
                p.outcome = p.outcome.take().or_else(failed);
            }
            let mut tried = Vec::new();
            while out
                .session
                .samples
                .last()
                .is_some_and(|x| x.advertised.is_some() && x.probes.is_empty())
            {
                tried.extend(out.session.samples.pop());
            }
            for x in tried.into_iter().rev() {
                let mut p = Pending::new(x, None);
                p.outcome = failed();
                if let Flushed::Transfer { transfer, .. } = flush(p, f.peer(), f.substitutes) {
                    out.session.transfers.push(*transfer);
                }
            }
        }
        Signal::DataReply(code, words) => {
            let error = format!("the client quotes the server's {code}: {words}");
            match pending {
                Some(p) => {
                    p.client_failed = true;
                    p.data_error.get_or_insert(error);
                }
                None if idle => {
                    let mut p = Pending::new(PassiveSample::unanswered(NOT_IN_LOG), None);
                    p.client_failed = true;
                    p.data_error = Some(error);
                    st.pending = Some(p);
                }
                None => {}
            }
        }
        Signal::TransferOk(words) => match pending {
            Some(p) => {
                p.client_ok = Some(words.clone());
                p.outcome.get_or_insert(ConnectOutcome::Connected);
            }
            // FileZilla at its default level shows no PASV, no LIST and no replies.
            None if idle => {
                let mut p = Pending::new(PassiveSample::unanswered(NOT_IN_LOG), None);
                p.client_ok = Some(words.clone());
                p.outcome = Some(ConnectOutcome::Connected);
                st.pending = Some(p);
            }
            None => {}
        },
        Signal::Tls => {
            st.tls = true;
            st.tls_starting = false;
        }
        Signal::TlsError(text) => match pending {
            // The data connection's TLS ended with a bare TCP close after the transfer
            // started (GnuTLS -110 in record_recv): no close_notify, not a failed handshake.
            Some(p) if p.preliminary() && no_close_notify(text) => p.no_close_notify = true,
            Some(p) => {
                p.tls_error.get_or_insert_with(|| text.clone());
            }
            None if st.tls_starting || !st.tls => st.tls_failure = Some(text.clone()),
            None => st.closed_at = Some(i),
        },
        Signal::DataTimeout(secs) if pending.is_none() => {
            out.timeouts.extend(secs);
            // The client names a data connection the log shows nothing else of.
            let mut p = Pending::new(PassiveSample::unanswered(NOT_IN_LOG), None);
            p.outcome = Some(ConnectOutcome::TimedOut);
            out.take_pending(st, f);
            st.pending = Some(p);
        }
        Signal::Timeout(secs) | Signal::DataTimeout(secs) => {
            out.timeouts.extend(secs);
            // A PASV the server never answered, with no data connection under way: the
            // control connection stalled (a plain timeout; the client's word "data
            // connection" says otherwise).
            let stalled = |p: &Pending| {
                p.sample.exchange.reply.is_none()
                    && p.cmd.is_none()
                    && p.addr.is_none()
                    && !p.substituted
                    && matches!(sig, Signal::Timeout(_))
            };
            match pending {
                Some(p) if stalled(p) => st.control_failure = Some((ConnectOutcome::TimedOut, i)),
                Some(p) => {
                    if p.preliminary() || p.outcome == Some(ConnectOutcome::Connected) {
                        p.data_error.get_or_insert_with(|| "timed out".to_string());
                    } else {
                        p.outcome.get_or_insert(ConnectOutcome::TimedOut);
                    }
                }
                None if st.tls_starting => {
                    st.tls_failure = Some(
                        "the TLS handshake timed out (the client's words: timed out)".to_string(),
                    );
                }
                None => st.control_failure = Some((ConnectOutcome::TimedOut, i)),
            }
        }
        Signal::Refused | Signal::Unreachable(_) => {
            let outcome = match sig {
                Signal::Unreachable(why) => ConnectOutcome::Unreachable(why.clone()),
                _ => ConnectOutcome::Refused,
            };
            match pending {
                Some(p) if !p.preliminary() => {
                    p.outcome.get_or_insert(outcome);
                }
                Some(_) => {}
                None => st.control_failure = Some((outcome, i)),
            }
        }
        Signal::Closed if !st.quit => match pending {
            Some(p) if p.preliminary() => {
                p.data_error
                    .get_or_insert_with(|| "the connection was closed".to_string());
            }
            _ => st.closed_at = Some(i),
        },
        _ => {}
    }
}

/// Whether a TLS error says the peer closed without TLS close_notify.
fn no_close_notify(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    !lower.contains("handshake")
        && (lower.contains("non-properly terminated")
            || lower.contains("did not properly shut down"))
}
