//! A real PostgreSQL 15 cluster in a temporary directory.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The password of role `postgres` in every test cluster (TCP logins need it).
pub const PASSWORD: &str = "oncelink-test-password";
/// The database the tests use.
const DB: &str = "oncelink";

/// A running cluster; stopped (immediately) and deleted on drop.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// `$PG_BIN`, else Debian's PostgreSQL 15.
fn bin_dir() -> PathBuf {
    let dir = std::env::var_os("PG_BIN").map(PathBuf::from).unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into());
    assert!(
        dir.join("initdb").is_file(),
        "no initdb in {}: these tests need a real PostgreSQL 15; `bash scripts/setup.sh` installs it \
         (apt-get install -y postgresql), or set PG_BIN",
        dir.display()
    );
    dir
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

impl Postgres {
    /// initdb, start, create the database. About 2 s.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("oncelink-pg-").tempdir().expect("temp dir");
        let pg = Postgres { dir, bin, port: free_port() };
        if is_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to `postgres`.
            pg.run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(pg.dir.path()));
        }
        let pwfile = pg.dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).expect("write the password file");
        if is_root() {
            pg.run(Command::new("chown").arg("postgres:postgres").arg(&pwfile));
        }
        pg.as_postgres(
            "initdb",
            &[
                "-D".as_ref(),
                pg.data().as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "--no-sync".as_ref(),
                format!("--pwfile={}", pwfile.display()).as_ref(),
            ],
        );
        pg.start_server();
        let out = pg
            .tool("createdb")
            .args(["-h", "127.0.0.1", "-p", &pg.port.to_string(), "-U", "postgres", DB])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("run createdb");
        check("createdb", &out);
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn as_postgres(&self, name: &str, args: &[&std::ffi::OsStr]) {
        let out =
            self.tool(name).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {name}: {e}"));
        check(name, &out);
    }

    fn run(&self, cmd: &mut Command) {
        let out = cmd.output().expect("run a set-up command");
        check("set-up", &out);
    }

    /// Starts the server (again, on the same port and data) and waits until it accepts.
    pub fn start_server(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log");
        let data = self.data();
        self.as_postgres(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
    }

    /// Stops the server at once (`-m immediate`: like a crash, no checkpoint).
    pub fn stop_server(&self) {
        let data = self.data();
        self.as_postgres(
            "pg_ctl",
            &["-D".as_ref(), data.as_os_str(), "-w".as_ref(), "-m".as_ref(), "immediate".as_ref(), "stop".as_ref()],
        );
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/oncelink`.
    pub fn url(&self) -> String {
        format!("postgres://postgres:{PASSWORD}@127.0.0.1:{}/{DB}", self.port)
    }

    /// The same URL without the password (give it by `PGPASSWORD` or a file).
    pub fn url_without_password(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DB}", self.port)
    }

    /// Runs one SQL text with psql (as the `postgres` role, over the socket); its output.
    pub fn psql(&self, sql: &str) -> String {
        let out = self
            .tool("psql")
            .args([
                "-h",
                &self.dir.path().display().to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                DB,
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("run psql");
        check("psql", &out);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The server log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
