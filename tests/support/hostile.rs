//! A scriptable misbehaving FTP server for the hostile-server suite (`tests/hostile.rs`).
//!
//! Every control connection plays the same script, a list of [`Step`]s: send bytes (at once,
//! slowly, or as a flood), wait, read a command line, close, reset, stay silent, open a data
//! listener that misbehaves in one of the [`Data`] ways, or [`Step::Serve`]: answer like a
//! healthy server until the client quits, except for the verbs given, which play their own
//! steps. It binds 127.0.0.1:0, runs on a runtime of its own (so the test thread can run the
//! binary meanwhile), and never connects anywhere.
//!
//! Bounds: every connection (control or data) lives at most [`MAX_LIFETIME`]; every loop also
//! ends when the client goes away (end of stream or a write error); a command line keeps at
//! most [`MAX_LINE`] bytes; a flood sends at most its cap; [`Step::Serve`] answers at most
//! [`MAX_COMMANDS`] commands.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

/// Longest life of any connection the server handles.
pub const MAX_LIFETIME: Duration = Duration::from_secs(20);
/// Bytes of a command line kept; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 4096;
/// Commands answered by one [`Step::Serve`].
pub const MAX_COMMANDS: usize = 200;
/// How long a data listener waits for its connection.
const ACCEPT_WAIT: Duration = Duration::from_secs(10);
/// Most bytes [`Data::Forever`] sends.
const FOREVER_CAP: u64 = 256 * 1024 * 1024;

/// A run of the binary still going after this is killed (and fails): no test hangs.
pub const KILL_AFTER: Duration = Duration::from_secs(30);

/// What a healthy data connection carries (a LIST).
pub const LISTING: &[u8] =
    b"-rw-r--r--    1 ftp      ftp          1024 Nov 24 10:00 readme.txt\r\n";

/// One step of a control-connection script.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send these bytes as they are, placeholders as in `Line` replaced.
    Raw(Vec<u8>),
    /// Send a line, CRLF added. `{port}`, `{p1}` and `{p2}` are replaced by the port of the
    /// current data listener (0 when there is none), whole and as PASV's two numbers; `{arg}`
    /// by the argument of the last command read and `{pass}` by that of the last PASS (to echo
    /// them, as some servers do).
    Line(String),
    /// Send `bytes`, `chunk` bytes per `every` (slowloris).
    Slow {
        bytes: Vec<u8>,
        chunk: usize,
        every: Duration,
    },
    /// Send `bytes` over and over, `cap` bytes in all or until the client goes away.
    Flood { bytes: Vec<u8>, cap: usize },
    /// Pause.
    Wait(Duration),
    /// Read one command line (and log it).
    Read,
    /// Close the connection (FIN).
    Close,
    /// Reset the connection (SO_LINGER 0, then close: RST).
    Reset,
    /// Send nothing more; end when the client goes away (or at [`MAX_LIFETIME`]).
    Silent,
    /// Open a data listener on 127.0.0.1:0 that behaves as `Data` says, closing the previous
    /// one (its port then refuses, as after a new PASV on most servers).
    Listen(Data),
    /// Wait until the data listener's connection has been handled.
    AwaitData,
    /// Answer as a healthy server would (anonymous login, FEAT without MLST, PASV/EPSV with
    /// a listener that serves [`LISTING`], LIST with 150 ... 226) until the client quits or
    /// goes away; a command whose verb is listed plays its steps instead. A `Serve` inside
    /// those steps is ignored.
    Serve(Vec<(&'static str, Vec<Step>)>),
}

impl Step {
    /// [`Step::Line`] from anything printable.
    pub fn line(text: impl Into<String>) -> Step {
        Step::Line(text.into())
    }
}

/// What a data listener does with the one connection it accepts.
#[derive(Debug, Clone)]
pub enum Data {
    /// Send these bytes and close.
    Serve(Vec<u8>),
    /// Close the listener at once: connects are refused.
    Refuse,
    /// Accept, then reset.
    AcceptReset,
    /// Accept, then close without sending.
    CloseAtOnce,
    /// Accept and never send; end when the client goes away.
    Silent,
    /// Accept and send without end (up to 256 MiB).
    Forever,
    /// Accept and send `chunk` bytes per `every`, without end.
    Slow { chunk: usize, every: Duration },
}

/// A running hostile server. Dropping it stops it and every connection it handles.
#[derive(Debug)]
pub struct Hostile {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    commands: Arc<Mutex<Vec<String>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Hostile {
    /// Serves `script` to every control connection on 127.0.0.1:0.
    pub fn start(script: Vec<Step>) -> Hostile {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(TcpListener::bind(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                0,
            )))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (count, log) = (connections.clone(), commands.clone());
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let script = script.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let mut conn = Conn {
                        stream,
                        rbuf: Vec::new(),
                        data: None,
                        commands: log,
                        last_arg: String::new(),
                        last_pass: String::new(),
                    };
                    let _ = timeout(MAX_LIFETIME, run_steps(&mut conn, &script)).await;
                });
            }
        });
        Hostile {
            addr,
            connections,
            commands,
            rt: Some(rt),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`, a TARGET for an anonymous check.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// `ftp://user@127.0.0.1:PORT/`
    pub fn url(&self, user: &str) -> String {
        format!("ftp://{user}@{}/", self.addr)
    }

    /// Control connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Command lines read so far, in order (as received, lossily decoded).
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    End,
}

struct DataSide {
    port: u16,
    task: Option<JoinHandle<()>>,
}

struct Conn {
    stream: TcpStream,
    /// Bytes read that are not yet part of a command line.
    rbuf: Vec<u8>,
    data: Option<DataSide>,
    commands: Arc<Mutex<Vec<String>>>,
    /// The argument of the last command read.
    last_arg: String,
    /// The argument of the last PASS read.
    last_pass: String,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(task) = self.data.take().and_then(|d| d.task) {
            task.abort();
        }
    }
}

impl Conn {
    fn expand(&self, text: &str) -> String {
        let port = self.data.as_ref().map_or(0, |d| d.port);
        text.replace("{port}", &port.to_string())
            .replace("{p1}", &(port >> 8).to_string())
            .replace("{p2}", &(port & 0xff).to_string())
            .replace("{arg}", &self.last_arg)
            .replace("{pass}", &self.last_pass)
    }

    /// [`Conn::expand`] on bytes that need not be UTF-8.
    fn expand_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes;
        while let Some(open) = rest.iter().position(|&b| b == b'{') {
            out.extend_from_slice(&rest[..open]);
            rest = &rest[open..];
            let close = rest.iter().position(|&b| b == b'}').map(|c| c + 1);
            match close.map(|c| (&rest[..c], c)) {
                Some((name, c)) if name.is_ascii() && name.len() <= 8 => {
                    let name = std::str::from_utf8(name).unwrap_or_default();
                    out.extend_from_slice(self.expand(name).as_bytes());
                    rest = &rest[c..];
                }
                _ => {
                    out.push(b'{');
                    rest = &rest[1..];
                }
            }
        }
        out.extend_from_slice(rest);
        out
    }

    async fn send(&mut self, bytes: &[u8]) -> Flow {
        match self.stream.write_all(bytes).await {
            Ok(()) => Flow::Next,
            Err(_) => Flow::End,
        }
    }

    /// One command line without its line end; `None` when the client went away.
    async fn read_command(&mut self) -> Option<String> {
        let mut line: Vec<u8> = Vec::new();
        loop {
            if let Some(i) = self.rbuf.iter().position(|&b| b == b'\n') {
                let rest = self.rbuf.split_off(i + 1);
                let mut got = std::mem::replace(&mut self.rbuf, rest);
                got.pop();
                if got.last() == Some(&b'\r') {
                    got.pop();
                }
                let room = MAX_LINE.saturating_sub(line.len());
                line.extend_from_slice(&got[..got.len().min(room)]);
                let text = String::from_utf8_lossy(&line).into_owned();
                self.last_arg = text.split_once(' ').map_or("", |(_, a)| a).to_string();
                if text
                    .get(..5)
                    .is_some_and(|v| v.eq_ignore_ascii_case("PASS "))
                {
                    self.last_pass = self.last_arg.clone();
                }
                if let Ok(mut log) = self.commands.lock() {
                    log.push(text.clone());
                }
                return Some(text);
            }
            // No line end yet: keep what fits, drop the rest of an over-long line.
            let room = MAX_LINE.saturating_sub(line.len());
            let take = self.rbuf.len().min(room);
            line.extend_from_slice(&self.rbuf[..take]);
            self.rbuf.clear();
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.rbuf.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Reads and drops everything until the client goes away.
    async fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    }

    async fn listen(&mut self, mode: Data) -> Flow {
        if let Some(task) = self.data.take().and_then(|d| d.task) {
            task.abort();
        }
        let Ok(listener) =
            TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).await
        else {
            return Flow::End;
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            return Flow::End;
        };
        let task = match mode {
            Data::Refuse => {
                drop(listener);
                None
            }
            mode => Some(tokio::spawn(async move {
                let _ = timeout(MAX_LIFETIME, data_side(listener, mode)).await;
            })),
        };
        self.data = Some(DataSide { port, task });
        Flow::Next
    }

    async fn await_data(&mut self) {
        if let Some(task) = self.data.as_mut().and_then(|d| d.task.as_mut()) {
            let _ = timeout(MAX_LIFETIME, task).await;
        }
    }
}

async fn data_side(listener: TcpListener, mode: Data) {
    let Ok(Ok((mut s, _))) = timeout(ACCEPT_WAIT, listener.accept()).await else {
        return;
    };
    drop(listener);
    match mode {
        Data::Refuse => {}
        Data::Serve(bytes) => {
            let _ = s.write_all(&bytes).await;
            let _ = s.shutdown().await;
        }
        Data::AcceptReset => {
            let _ = s.set_zero_linger();
        }
        Data::CloseAtOnce => {
            let _ = s.shutdown().await;
        }
        Data::Silent => {
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Data::Forever => {
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < FOREVER_CAP && s.write_all(&chunk).await.is_ok() {
                sent += chunk.len() as u64;
            }
        }
        Data::Slow { chunk, every } => {
            let bytes = vec![b'x'; chunk.max(1)];
            while s.write_all(&bytes).await.is_ok() {
                sleep(every).await;
            }
        }
    }
}

async fn run_steps(conn: &mut Conn, steps: &[Step]) -> Flow {
    for step in steps {
        if run_step(conn, step).await == Flow::End {
            return Flow::End;
        }
    }
    Flow::Next
}

async fn run_step(conn: &mut Conn, step: &Step) -> Flow {
    match step {
        Step::Raw(bytes) => {
            let bytes = conn.expand_bytes(bytes);
            conn.send(&bytes).await
        }
        Step::Line(text) => {
            let mut bytes = conn.expand(text).into_bytes();
            bytes.extend_from_slice(b"\r\n");
            conn.send(&bytes).await
        }
        Step::Slow {
            bytes,
            chunk,
            every,
        } => {
            for piece in bytes.chunks((*chunk).max(1)) {
                if conn.send(piece).await == Flow::End {
                    return Flow::End;
                }
                sleep(*every).await;
            }
            Flow::Next
        }
        Step::Flood { bytes, cap } => {
            if bytes.is_empty() {
                return Flow::Next;
            }
            let mut block = Vec::with_capacity(64 * 1024);
            while block.len() < 64 * 1024 {
                block.extend_from_slice(bytes);
            }
            let mut sent = 0;
            while sent < *cap {
                let n = block.len().min(cap - sent);
                if conn.send(&block[..n]).await == Flow::End {
                    return Flow::End;
                }
                sent += n;
            }
            Flow::Next
        }
        Step::Wait(d) => {
            sleep(*d).await;
            Flow::Next
        }
        Step::Read => match conn.read_command().await {
            Some(_) => Flow::Next,
            None => Flow::End,
        },
        Step::Close => {
            let _ = conn.stream.shutdown().await;
            Flow::End
        }
        Step::Reset => {
            let _ = conn.stream.set_zero_linger();
            Flow::End
        }
        Step::Silent => {
            conn.drain().await;
            Flow::End
        }
        Step::Listen(mode) => conn.listen(mode.clone()).await,
        Step::AwaitData => {
            conn.await_data().await;
            Flow::Next
        }
        Step::Serve(overrides) => serve(conn, overrides).await,
    }
}

/// The healthy answer to a command.
fn healthy(verb: &str) -> Vec<Step> {
    let line = |s: &str| vec![Step::line(s)];
    match verb {
        "USER" => line("331 Please specify the password."),
        "PASS" => line("230 Login successful."),
        "FEAT" => line("211-Features:\r\n EPSV\r\n PASV\r\n211 End"),
        "SYST" => line("215 UNIX Type: L8"),
        "TYPE" => line("200 Switching to Binary mode."),
        "PWD" => line("257 \"/\" is the current directory"),
        "CWD" => line("250 Directory successfully changed."),
        "NOOP" | "OPTS" => line("200 OK."),
        "PASV" => vec![
            Step::Listen(Data::Serve(LISTING.to_vec())),
            Step::line("227 Entering Passive Mode (127,0,0,1,{p1},{p2})."),
        ],
        "EPSV" => vec![
            Step::Listen(Data::Serve(LISTING.to_vec())),
            Step::line("229 Entering Extended Passive Mode (|||{port}|)"),
        ],
        "LIST" | "NLST" | "MLSD" | "RETR" => vec![
            Step::line("150 Here comes the directory listing."),
            Step::AwaitData,
            Step::line("226 Directory send OK."),
        ],
        "QUIT" => vec![Step::line("221 Goodbye."), Step::Close],
        _ => line("502 Command not implemented."),
    }
}

async fn serve(conn: &mut Conn, overrides: &[(&'static str, Vec<Step>)]) -> Flow {
    for _ in 0..MAX_COMMANDS {
        let Some(line) = conn.read_command().await else {
            return Flow::End;
        };
        let verb = line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let steps = match overrides
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(&verb))
        {
            Some((_, steps)) => steps
                .iter()
                .filter(|s| !matches!(s, Step::Serve(_)))
                .cloned()
                .collect(),
            None => healthy(&verb),
        };
        if Box::pin(run_steps(conn, &steps)).await == Flow::End {
            return Flow::End;
        }
    }
    Flow::End
}

// Running the binary.

/// How one run of the binary went.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub wall: Duration,
    pub peak_rss_kib: Option<u64>,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// GNU time's `%M` (peak RSS in KiB): the last line of its output file.
fn gnu_time_kib(path: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let _ = std::fs::remove_file(path);
    text.lines().last()?.trim().parse().ok()
}

/// Runs the binary (as `support::bin()` sets it up) with `args`, timing it and measuring its
/// peak RSS: exactly with GNU time when /usr/bin/time exists, else by sampling /proc every
/// 10 ms (which can miss runs shorter than that).
pub fn run(args: &[String], stdin: Option<&str>, env: &[(&str, &str)]) -> Outcome {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let template = super::bin();
    let gnu_time = std::path::Path::new("/usr/bin/time");
    let rss_file = gnu_time.exists().then(|| {
        std::env::temp_dir().join(format!(
            "pasv-doctor-hostile-{}-{}.rss",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ))
    });
    let mut cmd = match &rss_file {
        Some(file) => {
            let mut c = Command::new(gnu_time);
            c.args(["-f", "%M", "-o"])
                .arg(file)
                .arg(template.get_program());
            c
        }
        None => Command::new(template.get_program()),
    };
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn pasv-doctor");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = pipe.write_all(input.as_bytes());
    }
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let pid = child.id();
    let mut peak = None;
    let status = loop {
        if rss_file.is_none()
            && let Some(kib) = vm_hwm_kib(pid)
        {
            peak = Some(peak.unwrap_or(0).max(kib));
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > KILL_AFTER => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let wall = started.elapsed();
    if let Some(file) = &rss_file {
        peak = gnu_time_kib(file);
    }
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: out_t.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned(),
        wall,
        peak_rss_kib: peak,
    }
}

/// Runs `f` on every item, `workers` at a time; the results come back in the items' order.
pub fn parallel<T: Send, R: Send>(
    items: Vec<T>,
    workers: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                loop {
                    let Some((i, item)) = queue.lock().expect("queue").pop() else {
                        return;
                    };
                    let r = f(item);
                    results.lock().expect("results").push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The finding codes of a JSON report, in order.
pub fn codes_of(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One result line of a behaviour table: name, wall time, peak memory, report size, exit
/// and what was judged.
pub fn result_line(
    name: &str,
    width: usize,
    o: &Outcome,
    verdict: &Result<serde_json::Value, String>,
) -> String {
    format!(
        "{name:<width$} {:>5.2} s  rss {:>6} KiB  json {:>6} B  exit {:?}  {}",
        o.wall.as_secs_f64(),
        o.peak_rss_kib.map_or("?".to_string(), |k| k.to_string()),
        o.stdout.len(),
        o.code,
        match verdict {
            Ok(json) => format!("ok {:?}", codes_of(json)),
            Err(e) => format!("FAILED: {e}"),
        }
    )
}
