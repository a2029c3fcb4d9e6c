//! The pieces a segment is made of: one command with its replies ([`Ex`]), a step on a
//! control connection ([`Step`]), and the connection itself ([`Seg`]).

use std::net::SocketAddr;

use super::super::messages::Signal;
use super::passive_kind;
use crate::proto::{self, Limits, PassiveKind, Reply, ReplyReader};
use crate::transcript::Direction;

/// One command, the replies it got, and where it stood in the log.
#[derive(Debug, Clone)]
pub struct Ex {
    pub command: String,
    pub at: Option<u64>,
    pub replies: Vec<(Reply, Option<u64>)>,
    /// The log shows the reply but not the command: the command is implied by the reply's
    /// code (a `227` answers a PASV) and is not quoted as a line of the log.
    pub inferred: bool,
}

impl Ex {
    pub fn verb(&self) -> String {
        self.command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    }

    pub fn arg(&self) -> &str {
        self.command.split_once(' ').map_or("", |(_, a)| a.trim())
    }

    pub fn last(&self) -> Option<&Reply> {
        self.replies.last().map(|(r, _)| r)
    }

    /// How many of its replies the exchange had where it stands in the steps (a reply
    /// the log shows without its command came with it); later ones arrive as
    /// [`Step::Replied`].
    pub fn shown_at_start(&self) -> usize {
        usize::from(self.inferred && !self.replies.is_empty())
    }

    /// Whether a final (non-1xx) reply came.
    pub(super) fn complete(&self) -> bool {
        self.replies.iter().any(|(r, _)| r.code >= 200)
    }
}

/// What happened on a control connection, in order.
#[derive(Debug, Clone)]
pub enum Step {
    Ex(Ex),
    Sig(Signal),
    Bytes(u64),
    /// A reply to the exchange at this step index arrived here, after the steps between
    /// (a client message can tell of a data connection before the transfer's last reply).
    Replied(usize),
}

/// One control connection as the log shows it.
#[derive(Debug)]
pub struct Seg {
    pub host: Option<String>,
    pub server: Option<SocketAddr>,
    /// The log shows the connection being opened (a connect line), so a greeting may
    /// follow; a fragment that starts mid-session has none to show.
    pub opened: bool,
    pub lines: Vec<(Option<u64>, Direction, String)>,
    pub(super) reader: ReplyReader,
    pub greeting: Vec<(Reply, Option<u64>)>,
    pub steps: Vec<Step>,
    pub first_at: Option<u64>,
    /// What the server sent first when it is another protocol's banner (`SSH-2.0-...`):
    /// the client reached a server that does not speak FTP.
    pub foreign_banner: Option<String>,
}

impl Seg {
    pub(super) fn new(host: Option<String>, server: Option<SocketAddr>, opened: bool) -> Seg {
        Seg {
            host,
            server,
            opened,
            lines: Vec::new(),
            reader: ReplyReader::new(Limits::default()),
            greeting: Vec::new(),
            steps: Vec::new(),
            first_at: None,
            foreign_banner: None,
        }
    }

    pub fn used(&self) -> bool {
        !self.lines.is_empty() || !self.steps.is_empty()
    }

    pub(super) fn exchanges(&self) -> impl DoubleEndedIterator<Item = &Ex> {
        self.steps.iter().filter_map(|s| match s {
            Step::Ex(e) => Some(e),
            _ => None,
        })
    }

    pub(super) fn last_ex(&mut self) -> Option<&mut Ex> {
        self.steps.iter_mut().rev().find_map(|s| match s {
            Step::Ex(e) => Some(e),
            _ => None,
        })
    }

    /// Adds a reply to the last exchange, and marks where it arrived.
    pub(super) fn reply_to_last(&mut self, r: Reply, at: Option<u64>) {
        let Some(j) = self.steps.iter().rposition(|s| matches!(s, Step::Ex(_))) else {
            return;
        };
        if let Step::Ex(ex) = &mut self.steps[j] {
            ex.replies.push((r, at));
        }
        self.steps.push(Step::Replied(j));
    }

    /// The passive command a data connection would belong to now: the last PASV/EPSV,
    /// unless a later command changed the mode or ended the session. `Some(None)` when
    /// its reply (and so its port) is not in the log.
    pub fn awaiting_port(&self) -> Option<Option<u16>> {
        for e in self.exchanges().rev() {
            match e.verb().as_str() {
                v @ ("PASV" | "EPSV" | "LPSV") => {
                    let Some(reply) = e.last() else {
                        return Some(None);
                    };
                    PassiveKind::from_code(reply.code)?;
                    return Some(proto::decode(reply, passive_kind(v)).ok().map(|p| p.port));
                }
                "PORT" | "EPRT" | "LPRT" | "QUIT" => return None,
                _ => {}
            }
        }
        None
    }
}
