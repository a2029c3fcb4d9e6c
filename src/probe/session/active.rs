//! The active-mode step (`--active`): after the passive checks, listen, send EPRT (and,
//! over IPv4, PORT) naming the listener, and list over the connection the server opens
//! back. What is recorded: the command and its reply, where the server connected from
//! (port 20 or not), how long it took, the bytes, or that no connection came. The wait for
//! the server is bounded by the step timeout; without a reply or a connection by then the
//! control connection is given up.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::super::control::{Control, StepFailure};
use super::super::data;
use super::super::net::{Connection, Listener};
use super::plan::listing_commands;
use super::{Flow, Run, end_for};
use crate::transcript::{ActiveTransfer, Phase, SessionEnd};

/// The EPRT command for `addr` (RFC 2428).
pub fn eprt(addr: SocketAddr) -> String {
    let family = if addr.is_ipv4() { 1 } else { 2 };
    format!("EPRT |{family}|{}|{}|", addr.ip(), addr.port())
}

/// The PORT command for an IPv4 `addr` (RFC 959).
pub fn port(addr: SocketAddr) -> Option<String> {
    let IpAddr::V4(ip) = addr.ip() else {
        return None;
    };
    let [a, b, c, d] = ip.octets();
    Some(format!(
        "PORT {a},{b},{c},{d},{},{}",
        addr.port() >> 8,
        addr.port() & 0xff
    ))
}

/// Tests active mode; every attempt is recorded in the session's `active`.
pub(super) async fn active(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let Some(ip) = run.plan.active_address.or(run.s.local.map(|a| a.ip())) else {
        return Ok(());
    };
    let commands: Vec<fn(SocketAddr) -> Option<String>> = vec![|a| Some(eprt(a)), port];
    for command in commands {
        let listener = run.net.listen(SocketAddr::new(ip, 0)).await;
        let (mut listener, addr) = match listener.and_then(|l| l.local_addr().map(|a| (l, a))) {
            Ok(found) => found,
            Err(e) => {
                // Recorded as this side's failure; the command says it never went out.
                let mut a = ActiveTransfer::new(crate::transcript::Exchange {
                    command: "EPRT (not sent)".to_string(),
                    reply: None,
                    failure: Some(format!("cannot listen on {ip}: {e}")),
                });
                a.data_error = Some(format!("cannot listen on {ip}: {e}"));
                run.s.active.push(a);
                return Ok(());
            }
        };
        let Some(line) = command(addr) else { continue };
        let (exchange, reply, fail) = c.exchange(&line).await;
        let mut a = ActiveTransfer::new(exchange);
        a.listener = Some(addr);
        if let Some(f) = fail {
            run.s.active.push(a);
            return Err(end_for(&f, Phase::Data));
        }
        let accepted = reply.as_ref().is_some_and(|r| r.class() == 2);
        let flow = if accepted {
            listing(run, c, &mut a, listener.as_mut()).await
        } else {
            Ok(Flow::Continue)
        };
        run.s.active.push(a);
        if flow? == Flow::Abandoned {
            break;
        }
    }
    Ok(())
}

/// What came first after the listing command.
enum First {
    Connected(Connection, SocketAddr),
    Reply(crate::proto::Reply),
    Failed(StepFailure),
    Nothing,
}

/// The listing over the server's connection back.
async fn listing(
    run: &mut Run<'_>,
    c: &mut Control,
    a: &mut ActiveTransfer,
    listener: &mut dyn Listener,
) -> Result<Flow, SessionEnd> {
    let command = listing_commands(&run.s.features(), run.plan.path.as_deref()).swap_remove(0);
    let since = Instant::now();
    if let Err(f) = c.send(&command).await {
        return Err(end_for(&f, Phase::Data));
    }
    let clock = c.clock();
    let (budget, _) = clock.budget();
    let first = clock
        .bounded(budget, async {
            tokio::select! {
                got = listener.accept() => match got {
                    Ok((conn, from)) => First::Connected(conn, from),
                    Err(_) => First::Nothing,
                },
                r = c.read_reply() => match r {
                    Ok(r) => First::Reply(r),
                    // Silence while the server may still be trying to connect: what the
                    // listener saw (nothing) is the observation.
                    Err(StepFailure::Timeout) => First::Nothing,
                    Err(f) => First::Failed(f),
                },
            }
        })
        .await
        .unwrap_or(First::Nothing);
    let mut record = crate::transcript::Exchange {
        command: command.clone(),
        reply: None,
        failure: None,
    };
    let conn = match first {
        First::Connected(conn, from) => {
            a.data_from = Some(from);
            a.connect_us = Some(since.elapsed().as_micros() as u64);
            Some(conn)
        }
        First::Reply(r) if r.class() == 1 => {
            record.reply = Some(c.record(&r, since));
            // The preliminary reply came first: the connection may follow.
            let (budget, _) = clock.budget();
            match clock.bounded(budget, listener.accept()).await {
                Ok(Ok((conn, from))) => {
                    a.data_from = Some(from);
                    a.connect_us = Some(since.elapsed().as_micros() as u64);
                    Some(conn)
                }
                _ => None,
            }
        }
        First::Reply(r) => {
            // 425 and the like: the server says it could not connect.
            a.completion = Some(c.record(&r, since));
            a.command = Some(record);
            return Ok(Flow::Continue);
        }
        First::Failed(f) => {
            record.failure = Some(f.describe());
            a.command = Some(record);
            return Err(end_for(&f, Phase::Data));
        }
        First::Nothing => None,
    };
    let Some(mut conn) = conn else {
        let waited = clock.step.as_secs_f64();
        a.data_error = Some(format!(
            "the server did not connect to {} within {waited:.0} s",
            a.listener.map_or_else(String::new, |l| l.to_string())
        ));
        a.command = Some(record);
        // No reply and no connection: what the server does next is unknown.
        return Ok(Flow::Abandoned);
    };
    let max_wait = clock.step.saturating_mul(4).max(Duration::from_secs(1));
    let read = data::read_to_end(&mut conn.stream, clock, max_wait).await;
    drop(conn);
    a.bytes = read.bytes;
    a.data_error = read.error;
    // The 150 (if not seen yet) and the completion.
    loop {
        match c.read_reply().await {
            Ok(r) if r.class() == 1 => record.reply = Some(c.record(&r, since)),
            Ok(r) => {
                a.completion = Some(c.record(&r, since));
                break;
            }
            Err(f) => {
                a.command = Some(record);
                return Err(end_for(&f, Phase::Data));
            }
        }
    }
    a.command = Some(record);
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eprt_and_port_name_the_listener() {
        let v4: SocketAddr = "192.0.2.7:50123".parse().unwrap();
        assert_eq!(eprt(v4), "EPRT |1|192.0.2.7|50123|");
        assert_eq!(port(v4).as_deref(), Some("PORT 192,0,2,7,195,203"));
        let v6: SocketAddr = "[2001:db8::7]:50123".parse().unwrap();
        assert_eq!(eprt(v6), "EPRT |2|2001:db8::7|50123|");
        assert_eq!(port(v6), None);
    }
}
