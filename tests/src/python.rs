//! The independent Python readers the tests check the server against (`tests/python/`), run by
//! the interpreter of the project virtualenv that `scripts/test` names in FIELDTRAIL_PYTHON.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// The interpreter: FIELDTRAIL_PYTHON, else `python3` from the PATH.
pub fn interpreter() -> String {
    std::env::var("FIELDTRAIL_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A command that runs `tests/python/<script>`; add its arguments.
pub fn command(script: &str) -> Command {
    let mut command = Command::new(interpreter());
    command.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/python/").to_owned() + script);
    command
}

/// Runs `tests/python/<script>` with `request` as JSON on stdin; the JSON it prints. Panics,
/// naming the script and the request, when it fails or prints something else.
pub fn exchange(script: &str, request: &Value) -> Value {
    let mut child = command(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python (set FIELDTRAIL_PYTHON to the project virtualenv)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write the request");
    let output = child.wait_with_output().expect("wait for python");
    assert!(
        output.status.success(),
        "{script} failed on {request}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "{script} printed no JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
