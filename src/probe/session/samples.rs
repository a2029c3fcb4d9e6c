//! The sampling step: K PASV and K EPSV replies, asked in one burst behind PBSZ/PROT (and
//! behind the login, when PASS went with USER), SYST, TYPE I, PWD and FEAT last, each decoded;
//! then every sampled port test-connected at once while the first listing runs over the
//! last sample's own listener, so a filtered range costs one timeout, not one per port.

use super::super::control::{Control, StepFailure};
use super::super::data;
use super::super::progress::Step;
use super::plan::{probe_plan, record_probes};
use super::transfer::transfer_over;
use super::{Flow, Run, end_for, greeting};
use crate::proto::PassiveKind;
use crate::transcript::{PassiveSample, Phase, SessionEnd};

/// The passive commands of the burst, in order: one PASV and one EPSV, then the other K-1
/// of each. A kind the server refuses is refused K times; asking for the rest only after
/// the first answers would cost every check a round trip.
fn kinds(run: &Run<'_>) -> Vec<PassiveKind> {
    let more = run.plan.samples.saturating_sub(1) as usize;
    let mut kinds = vec![PassiveKind::Pasv, PassiveKind::Epsv];
    kinds.extend(std::iter::repeat_n(PassiveKind::Pasv, more));
    kinds.extend(std::iter::repeat_n(PassiveKind::Epsv, more));
    kinds
}

/// What follows the login in one burst: PBSZ/PROT, the samples and the late commands, for
/// [`login`](super::login::login) to send behind PASS.
pub(super) fn burst(run: &Run<'_>) -> Vec<&'static str> {
    let mut commands = greeting::opening_commands(run);
    commands.extend(kinds(run).iter().map(|k| k.command()));
    commands.extend(greeting::LATE);
    commands
}

/// Records the sample burst: sent already behind the login (`sent`, as [`burst`] lists
/// it), or sent now. The late commands' answers are left for a later step. Returns the index of the
/// sample whose listener is still open (the last passive command sent, when it decoded),
/// which the first transfer uses.
pub(super) async fn sample_bursts(
    run: &mut Run<'_>,
    c: &mut Control,
    sent: bool,
) -> Result<Option<usize>, SessionEnd> {
    let opening = greeting::opening_commands(run);
    let kinds = kinds(run);
    let commands: Vec<&str> = opening
        .iter()
        .copied()
        .chain(kinds.iter().map(|k| k.command()))
        .collect();
    let mut results = if sent {
        c.read_sent(commands.len()).await
    } else {
        c.exchange_all_then(&commands, &greeting::LATE).await
    };
    let passive = results.split_off(opening.len().min(results.len()));
    greeting::record_opening(run, &opening, results)?;
    let mut last_ok = None;
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
        run.s.samples.push(sample);
        last_ok = ok.then(|| run.s.samples.len() - 1);
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
    Ok(last_ok)
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
