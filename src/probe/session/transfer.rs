//! The transfer step: a real listing over a fresh PASV or EPSV, or over the sample whose
//! listener is still open. The data connection is opened while the listing command is on
//! its way (as curl does), so a transfer costs no extra round trip; if the connection
//! fails, the server's answer is awaited briefly, and without one the control connection
//! is given up for transfers ([`Flow::Abandoned`]).

use std::time::{Duration, Instant};

use super::super::control::{Control, StepFailure, logged_command};
use super::super::data::{self, DataRead};
use super::super::progress::Step;
use super::plan::listing_commands;
use super::samples::passive_command;
use super::{Flow, Run, end_for, greeting, secure};
use crate::proto::PassiveKind;
use crate::transcript::{
    Exchange, PassiveSample, Phase, PortProbe, SessionEnd, Transfer, feat_lines,
};

/// A real transfer over a fresh PASV or EPSV; `fresh_tls` offers no TLS session to resume.
pub(super) async fn transfer(
    run: &mut Run<'_>,
    c: &mut Control,
    kind: PassiveKind,
    fresh_tls: bool,
) -> Result<Flow, SessionEnd> {
    let (passive, fail) = passive_command(c, kind).await;
    if let Some(f) = fail {
        if f != StepFailure::Interrupted {
            run.s.transfers.push(Transfer::new(passive));
        }
        return Err(end_for(&f, Phase::Data));
    }
    transfer_over(run, c, passive, false, fresh_tls).await
}

/// A listing over the port a passive reply named; the transfer is recorded whatever
/// happens. `Err` ends the session.
pub(super) async fn transfer_over(
    run: &mut Run<'_>,
    c: &mut Control,
    passive: PassiveSample,
    reuses_sample: bool,
    fresh_tls: bool,
) -> Result<Flow, SessionEnd> {
    let mut t = Transfer::new(passive);
    t.reuses_sample = reuses_sample;
    let result = listing(run, c, &mut t, fresh_tls).await;
    // A listing Ctrl-C cut off before its end shows nothing about the path: it is left
    // out rather than recorded as a failure.
    let record = result.as_ref().map_or_else(|s| s.record, |_| true);
    if record && !(c.clock().interrupted() && t.completion.is_none()) {
        run.s.transfers.push(t);
    }
    result.map_err(|s| s.end)
}

/// How a listing ended the session, and whether it is a transfer to record.
struct Stop {
    end: SessionEnd,
    record: bool,
}

impl From<SessionEnd> for Stop {
    fn from(end: SessionEnd) -> Stop {
        Stop { end, record: true }
    }
}

impl Stop {
    fn unrecorded(end: SessionEnd) -> Stop {
        Stop { end, record: false }
    }
}

async fn listing(
    run: &mut Run<'_>,
    c: &mut Control,
    t: &mut Transfer,
    fresh_tls: bool,
) -> Result<Flow, Stop> {
    let Some(adv) = t.passive.advertised.clone() else {
        return Ok(Flow::Continue);
    };
    let Some((via, addr)) = run.plan.listing_target(&adv, run.s.peer()) else {
        return Ok(Flow::Continue);
    };
    run.tell(Step::Listing {
        via: t.passive.command,
        port: addr.port(),
    });
    let since = Instant::now();
    let clock = c.clock();
    let (known, path, net) = (run.s.features(), run.plan.path.clone(), run.net.clone());
    // The data connection opens while the late answers (FEAT's picks the listing
    // command) come in; the command follows at once.
    let ((attempt, conn), (answered, commands, sent)) =
        tokio::join!(data::connect(&net, addr, clock), async {
            c.read_unread().await;
            let answered = c.take_answered();
            let feat = answered.iter().find(|a| a.0.command == "FEAT");
            let features = feat.map_or(known, |(e, ..)| feat_lines(e));
            let commands = listing_commands(&features, path.as_deref());
            // The control connection failed on the way: no listing command goes out.
            let sent = match answered.iter().find_map(|a| a.2.clone()) {
                Some(f) => Err(f),
                None => Ok(c.send(&commands[0]).await),
            };
            (answered, commands, sent)
        });
    greeting::keep_late(run, answered);
    let sent = match sent {
        Ok(sent) => sent,
        // No transfer took place: nothing to record but how the session ended.
        Err(f) => return Err(Stop::unrecorded(end_for(&f, Phase::Data))),
    };
    t.data = Some(PortProbe { via, attempt });
    if let Err(f) = sent {
        t.command = Some(Exchange {
            command: commands[0].clone(),
            reply: None,
            failure: Some(f.describe()),
        });
        return Err(end_for(&f, Phase::Data).into());
    }
    let Some(conn) = conn else {
        // The command is out but no data connection will come: a server answers 425 at
        // once or only after its own long timeout.
        let answer = c.read_reply_within(Duration::from_secs(1)).await;
        if answer == Err(StepFailure::Interrupted) {
            return Err(end_for(&StepFailure::Interrupted, Phase::Data).into());
        }
        let (reply, flow) = match answer {
            Ok(r) => (Some(c.record(&r, since)), Flow::Continue),
            Err(_) => (None, Flow::Abandoned),
        };
        t.command = Some(Exchange {
            command: commands[0].clone(),
            reply: reply.clone(),
            failure: reply
                .is_none()
                .then(|| "no reply once the data connection failed".to_string()),
        });
        t.completion = reply;
        return Ok(flow);
    };
    let mut stream = Some(conn.stream);
    let mut handshake = None;
    if secure::data_protected(run) {
        handshake = stream
            .take()
            .map(|tcp| secure::start_data_tls(run, clock, tcp, fresh_tls));
    }
    let mut shaken = None;
    for (n, command) in commands.iter().enumerate() {
        // The first command is already sent; a fallback goes out now.
        let sent = if n == 0 {
            Ok(())
        } else {
            c.send(command).await
        };
        let result = match sent {
            Ok(()) => reply_during(c, &mut handshake, &mut shaken).await,
            Err(f) => Err(f),
        };
        let (reply, fail) = match result {
            Ok(r) => {
                let fail = (r.code == 421).then_some(StepFailure::ServiceClosing);
                (Some(r), fail)
            }
            Err(f) => (None, Some(f)),
        };
        t.command = Some(Exchange {
            command: logged_command(command),
            reply: reply.as_ref().map(|r| c.record(r, since)),
            failure: fail.as_ref().map(StepFailure::describe),
        });
        if let Some(f) = fail {
            return Err(end_for(&f, Phase::Data).into());
        }
        let Some(reply) = reply else { break };
        match reply.code {
            // Not understood: try the next listing command on the same data connection.
            500 | 502 | 504 => continue,
            // A preliminary reply, or a completion without one: either way the data
            // connection must carry the listing and end.
            100..=299 => {
                let max_wait = c.clock().step.saturating_mul(4).max(Duration::from_secs(1));
                // The data connection's handshake, finished now if it was not already.
                let tls = match (handshake.take(), shaken.take()) {
                    (Some(hs), _) => Some(hs.await),
                    (None, done) => done,
                };
                let read = match (tls, stream.take()) {
                    (Some(done), _) => {
                        secure::read_protected(c, t, done, fresh_tls, max_wait).await
                    }
                    // Dropped after the read: closing our end tells a server waiting on
                    // the data connection we are done.
                    (None, Some(mut tcp)) => data::read_to_end(&mut tcp, c.clock(), max_wait).await,
                    (None, None) => DataRead::default(),
                };
                run.tell(Step::Listed { bytes: read.bytes });
                t.bytes = read.bytes;
                t.first_byte_us = read.first_byte_us;
                t.data_end_us = read.end_us;
                t.truncated = read.truncated;
                t.data_error = read.error;
                if reply.class() == 2 {
                    t.completion = Some(c.record(&reply, since));
                } else {
                    match c.read_reply().await {
                        Ok(done) => t.completion = Some(c.record(&done, since)),
                        Err(f) => {
                            t.completion_failure = Some(f.describe());
                            return Err(end_for(&f, Phase::Data).into());
                        }
                    }
                }
            }
            // 425, 426, 450, 550, ...
            _ => t.completion = Some(c.record(&reply, since)),
        }
        break;
    }
    Ok(Flow::Continue)
}

/// The next control reply, while the data connection's TLS handshake (if any) goes on; a
/// handshake that ends first is kept in `shaken`.
async fn reply_during(
    c: &mut Control,
    handshake: &mut Option<secure::DataHandshake>,
    shaken: &mut Option<secure::HandshakeDone>,
) -> Result<crate::proto::Reply, StepFailure> {
    if let Some(hs) = handshake.as_mut() {
        tokio::select! {
            biased;
            r = c.read_reply() => return r,
            done = hs => {
                *handshake = None;
                *shaken = Some(done);
            }
        }
    }
    c.read_reply().await
}
