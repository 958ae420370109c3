//! panva's `oidc-provider` from `../shared/realidp/` (see its README), copied to a temporary
//! directory (shared/ is read-only), installed and started on 127.0.0.1.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process, killed on drop.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running provider: its process, base URL and working directory (removed on drop).
pub struct Idp {
    pub process: Killed,
    pub base: String,
    pub dir: PathBuf,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.process.0.kill();
        let _ = self.process.0.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Idp {
    /// Installs the provider in a fresh directory, adds `files` (name, text) to it, makes its
    /// keys and starts `script` there; `None` (with the reason printed) when `node` is not
    /// installed.
    pub fn start(test: &str, script: &str, files: &[(&str, &str)]) -> Option<Self> {
        if Command::new("node").arg("--version").output().is_err() {
            println!("SKIPPED {test}: `node` is not installed");
            return None;
        }
        let source = shared_realidp();
        assert!(
            source.join("start.mjs").exists(),
            "realidp not found at {}",
            source.display()
        );
        let dir = std::env::temp_dir().join(format!("oauth2-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&source, &dir);
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        sh(
            &dir,
            "npm",
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        );
        sh(&dir, "node", &["keys.mjs", "init", "--force"]);
        let port = free_port();
        let mut child = Command::new("node")
            .arg(script)
            .env("PORT", port.to_string())
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let process = Killed(child);
        // Wait for "[idp] keys: ..." (the server is listening), and keep draining its output.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                .expect("provider did not start");
            if line.contains("[idp] keys:") {
                break;
            }
        }
        Some(Self {
            process,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        })
    }

    /// Runs a program in the provider's directory (e.g. `node keys.mjs add ...`).
    pub fn sh(&self, program: &str, args: &[&str]) {
        sh(&self.dir, program, args);
    }

    /// Sends SIGHUP: the provider reads its key file again.
    pub fn hup(&self) {
        assert!(
            Command::new("kill")
                .args(["-HUP", &self.process.0.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
    }
}

fn shared_realidp() -> PathBuf {
    if let Ok(dir) = std::env::var("REALIDP_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/realidp")
}

fn sh(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "node_modules" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
