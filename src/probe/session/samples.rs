//! The sampling step: K PASV and K EPSV replies, asked in two bursts (the first behind the
//! opening commands, FEAT behind the last), each decoded; then
//! every sampled port test-connected at once while the first listing runs over the last
//! sample's own listener, so a filtered range costs one timeout, not one per port.

use super::super::control::{Control, StepFailure};
use super::super::data;
use super::super::progress::Step;
use super::plan::{probe_plan, record_probes};
use super::transfer::transfer_over;
use super::{Flow, Run, end_for, greeting};
use crate::proto::PassiveKind;
use crate::transcript::{PassiveSample, Phase, SessionEnd};

/// The samples in two bursts: one PASV and one EPSV (behind the opening commands), then
/// the other K-1 of each kind that was answered (a refusal is not repeated), with FEAT at
/// the end of the last burst. Returns the index of the sample whose listener is still
/// open (the last passive command sent), which the first transfer uses.
pub(super) async fn sample_bursts(
    run: &mut Run<'_>,
    c: &mut Control,
) -> Result<Option<usize>, SessionEnd> {
    let mut last_ok: Option<usize> = None;
    let first = [PassiveKind::Pasv, PassiveKind::Epsv];
    let more = run.plan.samples.saturating_sub(1) as usize;
    let opening = greeting::opening_commands(run);
    let feat_now: &[&str] = if more == 0 { &["FEAT"] } else { &[] };
    let answered = record_samples(run, c, &opening, &first, feat_now, &mut last_ok).await?;
    if more == 0 {
        return Ok(last_ok);
    }
    let mut burst = Vec::new();
    for (kind, ok) in first.iter().zip(&answered) {
        if *ok {
            burst.extend(std::iter::repeat_n(*kind, more));
        }
    }
    record_samples(run, c, &[], &burst, &["FEAT"], &mut last_ok).await?;
    Ok(last_ok)
}

/// Sends `opening`, the passive commands and `later` in one burst; records the opening
/// answers and each decoded passive reply (`later` is read by a later step). `last_ok`
/// is set to the last sample when it decoded, else cleared (its listener is not known to
/// be open). Returns, per passive command, whether it got a passive reply.
async fn record_samples(
    run: &mut Run<'_>,
    c: &mut Control,
    opening: &[&str],
    kinds: &[PassiveKind],
    later: &[&str],
    last_ok: &mut Option<usize>,
) -> Result<Vec<bool>, SessionEnd> {
    let commands: Vec<&str> = opening
        .iter()
        .copied()
        .chain(kinds.iter().map(|k| k.command()))
        .collect();
    let mut results = c.exchange_all_then(&commands, later).await;
    let passive = results.split_off(opening.len().min(results.len()));
    greeting::record_opening(run, opening, results)?;
    let mut answered = Vec::with_capacity(kinds.len());
    for (kind, (exchange, reply, fail)) in kinds.iter().zip(passive) {
        let phase = if *kind == PassiveKind::Pasv {
            Phase::Pasv
        } else {
            Phase::Epsv
        };
        if fail == Some(StepFailure::Interrupted) {
            // Unanswered because of Ctrl-C: no sample, rather than a refused command.
            return Err(end_for(&StepFailure::Interrupted, phase));
        }
        let sample = PassiveSample::decoded(*kind, exchange, reply.as_ref());
        let ok = sample.advertised.is_some();
        answered.push(ok);
        run.s.samples.push(sample);
        *last_ok = ok.then(|| run.s.samples.len() - 1);
        let done = run.s.samples.iter().filter(|s| s.command == *kind).count();
        run.tell(Step::Samples {
            via: *kind,
            done,
            of: run.plan.samples as usize,
        });
        if let Some(f) = fail {
            return Err(end_for(&f, phase));
        }
    }
    Ok(answered)
}

/// Sends PASV or EPSV and decodes the answer.
pub(super) async fn passive_command(
    c: &mut Control,
    kind: PassiveKind,
) -> (PassiveSample, Option<StepFailure>) {
    let (exchange, reply, fail) = c.exchange(kind.command()).await;
    (PassiveSample::decoded(kind, exchange, reply.as_ref()), fail)
}

/// Test-connects every sampled port at once while the first listing runs over the
/// `reserved` sample's listener. Returns how the control connection can go on, or `None`
/// when no sample was left for a listing.
pub(super) async fn test_ports(
    run: &mut Run<'_>,
    c: &mut Control,
    reserved: Option<usize>,
) -> Result<Option<Flow>, SessionEnd> {
    let clock = c.clock();
    let peer = run.s.peer();
    let (wanted, repeats) = probe_plan(&mut run.s.samples, run.plan, peer, reserved, clock);
    let addrs: Vec<_> = wanted.iter().map(|w| w.2).collect();
    if !addrs.is_empty() {
        run.tell(Step::TestingPorts {
            ports: addrs.len(),
            timeout: clock.step,
        });
    }
    let net = run.net.clone();
    let (progress, server) = (run.plan.progress.clone(), run.s.server);
    let ports = async {
        let attempts = data::probe_all(&net, addrs, clock).await;
        progress.emit(server, Step::PortsTested);
        attempts
    };
    let (attempts, first) = tokio::join!(ports, async {
        match reserved {
            Some(i) => {
                let sample = run.s.samples[i].clone();
                Some(transfer_over(run, c, sample, true, false).await)
            }
            None => None,
        }
    });
    record_probes(&mut run.s.samples, wanted, attempts, repeats);
    first.transpose()
}
