//! The sampling step: K PASV and K EPSV replies, asked in two bursts, each decoded; then
//! every sampled port test-connected at once while the first listing runs over the last
//! sample's own listener, so a filtered range costs one timeout, not one per port.

use super::super::control::{Control, StepFailure};
use super::super::data;
use super::super::progress::Step;
use super::plan::{probe_plan, record_probes};
use super::transfer::transfer_over;
use super::{Flow, Run, end_for};
use crate::proto::PassiveKind;
use crate::transcript::{PassiveSample, Phase, SessionEnd};

/// The samples in two bursts: one PASV and one EPSV, then the other K-1 of each kind
/// that was answered (a refusal is not repeated). Returns the index of the sample whose
/// listener is still open (the last command sent), which the first transfer uses.
pub(super) async fn sample_bursts(
    run: &mut Run<'_>,
    c: &mut Control,
) -> Result<Option<usize>, SessionEnd> {
    let mut last_ok: Option<usize> = None;
    let first = [PassiveKind::Pasv, PassiveKind::Epsv];
    let answered = record_samples(run, c, &first, &mut last_ok).await?;
    let more = run.plan.samples.saturating_sub(1) as usize;
    let mut burst = Vec::new();
    for (kind, ok) in first.iter().zip(&answered) {
        if *ok {
            burst.extend(std::iter::repeat_n(*kind, more));
        }
    }
    if !burst.is_empty() {
        record_samples(run, c, &burst, &mut last_ok).await?;
    }
    Ok(last_ok)
}

/// Sends the passive commands in one burst and records each decoded reply. `last_ok` is
/// set to the last sample when it decoded, else cleared (its listener is not known to be
/// open). Returns, per command, whether it got a passive reply.
async fn record_samples(
    run: &mut Run<'_>,
    c: &mut Control,
    kinds: &[PassiveKind],
    last_ok: &mut Option<usize>,
) -> Result<Vec<bool>, SessionEnd> {
    let commands: Vec<&str> = kinds.iter().map(|k| k.command()).collect();
    let results = c.exchange_all(&commands).await;
    let mut answered = Vec::with_capacity(kinds.len());
    for (kind, (exchange, reply, fail)) in kinds.iter().zip(results) {
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
