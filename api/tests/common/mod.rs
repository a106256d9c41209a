//! What the binary's tests share: running `fieldtrail`, a raw HTTP/1.1 exchange with the server
//! it starts (enough without an HTTP client crate), and `fieldtrail demo` as a child process.
// Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldtrail");

/// Runs the binary to the end: whether it succeeded, its stdout and its stderr.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One request on its own connection; the status and the body as text.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, body.to_owned())
}

/// A JSON request; the status and the body as JSON (null when it is not).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let (status, text) = request(
        port,
        method,
        path,
        token,
        "application/json",
        body.as_bytes(),
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// The body of a GET that must answer 200.
pub fn http_text(port: u16, path: &str) -> String {
    let (status, text) = request(port, "GET", path, None, "text/plain", b"");
    assert_eq!(status, 200, "{path}: {text}");
    text
}

pub fn login(port: u16, username: &str, password: &str) -> String {
    let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
    let (status, login) = http(port, "POST", "/v1/auth/login", None, &body);
    assert_eq!(status, 200, "login of {username}: {login}");
    login["access_token"].as_str().unwrap().to_owned()
}

/// A child process, killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `fieldtrail demo` on the data dir (and database); the server, its port and what it printed.
pub fn start_demo(data_dir: &Path, database_url: Option<&str>) -> (Running, u16, String) {
    let mut args = vec![
        "demo".to_owned(),
        "--bind".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--data-dir".to_owned(),
        data_dir.to_str().unwrap().to_owned(),
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    // Loading the demo's month of records takes longer on PostgreSQL.
    let limit = Duration::from_secs(if database_url.is_some() { 180 } else { 120 });
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = String::new();
    let started = Instant::now();
    let mut port = None;
    while started.elapsed() < limit {
        let Some(Ok(line)) = lines.next() else { break };
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.split("running at http://127.0.0.1:").nth(1) {
            port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
        }
        if let (Some(port), true) = (port, line.contains("Ctrl-C")) {
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return (running, port, printed);
        }
    }
    panic!("demo did not start: {printed}");
}
