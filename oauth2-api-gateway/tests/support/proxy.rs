//! Real proxies from Debian (nginx, Caddy) in front of the gateway: finding them, starting
//! nginx with one `server` block, waiting for a port.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::TempDir;

/// A proxy process, killed on drop.
pub struct Proxy(pub Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `port` accepts connections; panics with the proxy's log if it exits first.
pub async fn wait_for_port(port: u16, proxy: &mut Proxy, log: &Path) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = proxy.0.try_wait() {
            panic!(
                "the proxy exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the proxy did not listen on {port}");
}

/// Whether `program` runs (`-v` or `version`); prints why `test` is skipped when not.
pub fn installed(program: &str, test: &str) -> bool {
    let runs = |arg: &str| {
        Command::new(program)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let found = runs("-v") || runs("version");
    if !found {
        println!("SKIPPED {test}: `{program}` is not installed (Debian package `{program}`)");
    }
    found
}

/// Starts nginx in `dir` with `server` (the inside of one `server { }` block), checked with
/// `nginx -t` first, and waits until it listens on `port`.
pub async fn nginx(dir: &TempDir, port: u16, server: &str) -> Proxy {
    let d = dir.0.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\nevents {{ worker_connections 64; }}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n server {{\n {server}\n }}\n}}\n"
    );
    let path = dir.write("nginx.conf", &conf);
    let check = Command::new("nginx")
        .args(["-t", "-q", "-p"])
        .arg(&dir.0)
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut proxy = Proxy(
        Command::new("nginx")
            .arg("-p")
            .arg(&dir.0)
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, &mut proxy, &dir.0.join("error.log")).await;
    proxy
}
