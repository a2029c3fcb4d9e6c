//! `pasv-doctor serve` as a process on 127.0.0.1 (a port of its choosing), for the tests
//! that use the service from outside: everything it writes is kept, line by line, and it is
//! stopped the way systemd stops it (SIGINT).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A running `pasv-doctor serve`.
pub struct Serve {
    child: Child,
    pub addr: SocketAddr,
    output: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Serve {
    /// Starts it with `config` (the TOML text) and waits until it says where it listens.
    pub fn start(config: &str) -> Serve {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pasv-doctor.toml");
        std::fs::write(&path, config).expect("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_pasv-doctor"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .env_remove("PASV_DOCTOR_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for (stream, tx) in [
            (Box::new(out) as Box<dyn std::io::Read + Send>, tx.clone()),
            (Box::new(err), tx),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut o) = output.lock() {
                        o.push_str(&line);
                        o.push('\n');
                    }
                    let _ = tx.send(line);
                }
            });
        }
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("serve says where it listens");
            if let Some(a) = line
                .split("listening on http://")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
            {
                break a.trim_end_matches('/').parse().expect("address");
            }
        };
        Serve {
            child,
            addr,
            output,
            _dir: dir,
        }
    }

    /// Sends SIGINT, as systemd would.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Waits up to `limit` for it to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// All it wrote so far, stdout and stderr.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Stops it (SIGINT, then a kill after 20 s) and returns all it wrote.
    pub fn stop(mut self) -> String {
        self.interrupt();
        if self.wait_exit(Duration::from_secs(20)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The readers reach the end of the pipes once the process is gone.
        std::thread::sleep(Duration::from_millis(100));
        self.output()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
