//! Many fake FTP servers (`pasv_doctor::fake`) in one process, for fleet benchmarks (`scripts/bench-fleet`):
//! `fleet_server IP[,IP...] COUNT SECONDS` binds COUNT healthy servers spread over the
//! addresses (ports chosen by the kernel), prints one `IP:PORT` per line, then serves until
//! SECONDS have passed or stdin closes, whichever comes first. Bounded by design: it stops
//! by itself. Several addresses stand for several hosts: servers sharing one address share
//! its port space, and a passive port one session gave up can be reused by another.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use pasv_doctor::fake::{FakeServer, Script};
use tokio::io::AsyncReadExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: fleet_server IP[,IP...] COUNT SECONDS";
    let ips: Vec<IpAddr> = args
        .get(1)
        .ok_or(usage)?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let count: usize = args.get(2).ok_or(usage)?.parse()?;
    let seconds: u64 = args.get(3).ok_or(usage)?.parse()?;
    if count == 0 || count > 2000 || seconds > 3600 {
        return Err("COUNT must be 1-2000 and SECONDS at most 3600".into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut servers = Vec::with_capacity(count);
        for i in 0..count {
            let ip = ips[i % ips.len()];
            servers.push(FakeServer::start(ip, Script::default()).await?);
        }
        {
            let mut out = std::io::stdout().lock();
            for s in &servers {
                writeln!(out, "{}", s.addr())?;
            }
            out.flush()?;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 64];
        let eof = async {
            while let Ok(n) = stdin.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
            _ = eof => {}
        }
        for s in servers {
            s.shutdown();
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
