//! The framework ceiling `scripts/bench` holds fieldtrail's single check-ins against: a bare
//! actix-web server whose one handler reads a check-in's JSON body and answers 201, with nothing
//! else — no token, no validation into domain types, no writer, no database.
//!
//!   cargo run --release -p fieldtrail-api --example bare_checkin -- [--bind 127.0.0.1:PORT]
//!       [--workers N]
//!
//! What it shares with `fieldtrail serve`, so that the ratio between the two is about what
//! fieldtrail adds and not about the setup: the same actix-web (this workspace's one version),
//! the same default worker count (actix's, one per available core, unless `--workers`), the
//! same global allocator (mimalloc), the route `POST /v1/records` with the same 1 MiB body
//! limit, and the same first step of the real handler: the whole body parsed into a
//! `serde_json::Value` (400 if it is not JSON). The answer is a small JSON object naming the
//! record's id. It logs one line, `bare_checkin listening port=…`, on stderr, and serves until
//! killed.

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::net::TcpListener;

// As in the fieldtrail binary (api/src/main.rs): the allocator is part of what a request costs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The body limit of fieldtrail's `POST /v1/records`.
const BODY_LIMIT: usize = 1024 * 1024;

async fn create(body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Value>(&body) {
        Ok(record) => HttpResponse::Created().json(json!({
            "id": record.get("id").cloned().unwrap_or(Value::Null),
            "created": true,
        })),
        Err(err) => HttpResponse::BadRequest().json(json!({"detail": err.to_string()})),
    }
}

fn main() -> std::io::Result<()> {
    let mut bind = "127.0.0.1:0".to_owned();
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--bind", Some(v)) => bind = v,
            ("--workers", Some(v)) => {
                workers = Some(v.parse::<usize>().map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("--workers: {e}"))
                })?)
            }
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("bad argument {arg}; usage: [--bind ADDR] [--workers N]"),
                ))
            }
        }
    }
    let listener = TcpListener::bind(&bind)?;
    let port = listener.local_addr()?.port();
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| {
            App::new().service(
                web::resource("/v1/records")
                    .app_data(web::PayloadConfig::new(BODY_LIMIT))
                    .route(web::post().to(create)),
            )
        })
        .listen(listener)?;
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        eprintln!("bare_checkin listening port={port}");
        server.run().await
    })
}
