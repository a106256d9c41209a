//! The load generator's HTTP/1.1 client: one persistent keep-alive connection per slot, built
//! on hyper's low-level client connection (no pool, no TLS, no redirects — a load generator
//! needs none of them and each costs per request). The connection is driven inside the slot's
//! own task rather than a task of its own, so a request costs no hand-off between tasks. A
//! broken connection is dropped and the next request dials a new one; what to do about the
//! failure (count it, back off, resend) is the caller's decision.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::pin::Pin;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the target must be an http:// URL with a host, e.g. http://127.0.0.1:8080 (got {0})")]
    BadUrl(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("cannot build the request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("the server closed the connection")]
    Closed,
}

/// Where requests go: resolved once, so no request pays for a name lookup.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub addr: SocketAddr,
    host: HeaderValue,
    /// A path prefix from the URL (e.g. `/fieldtrail` behind a proxy), without a trailing `/`.
    prefix: String,
}

impl Target {
    pub async fn resolve(url: &str) -> Result<Target, HttpError> {
        let bad = || HttpError::BadUrl(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, prefix) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
        }) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&with_port)
            .await
            .map_err(|source| HttpError::Resolve {
                host: authority.to_owned(),
                source,
            })?
            .collect();
        // `localhost` often resolves to ::1 first while servers bind 127.0.0.1.
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(bad)?;
        Ok(Target {
            url: url.trim_end_matches('/').to_owned(),
            addr,
            host: HeaderValue::from_str(authority).map_err(|_| bad())?,
            prefix: prefix.to_owned(),
        })
    }

    /// The request target for an API path such as `/v1/records`.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

/// An HTTP answer, read whole.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The start of the body, for error messages.
    pub fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(300).collect()
    }
}

type Io = TokioIo<tokio::net::TcpStream>;

/// The two halves of one HTTP/1.1 connection: where requests go in, and the state machine that
/// does the socket I/O, which only makes progress while it is polled.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    connection: Pin<Box<Connection<Io, Full<Bytes>>>>,
}

/// One slot's connection, dialled on first use and again after it broke.
pub struct Client {
    target: Target,
    conn: Option<Conn>,
}

impl Client {
    pub fn new(target: Target) -> Client {
        Client { target, conn: None }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    async fn connect(&self) -> Result<Conn, HttpError> {
        let addr = self.target.addr;
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| HttpError::Connect { addr, source })?;
        // Requests are small and answered one at a time: waiting to coalesce them only adds
        // latency.
        stream
            .set_nodelay(true)
            .map_err(|source| HttpError::Connect { addr, source })?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(HttpError::Http)?;
        Ok(Conn {
            sender,
            connection: Box::pin(connection),
        })
    }

    /// Sends one request on the slot's connection and reads the whole answer. On any failure
    /// the connection is dropped, so the next call starts on a fresh one.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        authorization: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Answer, HttpError> {
        let result = self.try_send(method, path, authorization, body).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    async fn try_send(
        &mut self,
        method: Method,
        path: &str,
        authorization: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Answer, HttpError> {
        if let Some(conn) = &mut self.conn {
            // One poll notices a connection the server closed after its last answer (it sent
            // `Connection: close`), which is no failure: dial again.
            let ended = tokio::select! {
                biased;
                _ = &mut conn.connection => true,
                _ = std::future::ready(()) => false,
            };
            if ended || conn.sender.is_closed() {
                self.conn = None;
            }
        }
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(self.connect().await?),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.target.host.clone());
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let request = request.body(Full::new(body))?;
        let Conn { sender, connection } = conn;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, HttpError>(Answer { status, body })
        };
        tokio::select! {
            biased;
            answer = exchange => answer,
            ended = connection.as_mut() => Err(match ended {
                Ok(()) => HttpError::Closed,
                Err(err) => HttpError::Http(err),
            }),
        }
    }

    /// A JSON request for setting up (not on the measured path).
    pub async fn json(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, HttpError> {
        let authorization = token
            .map(bearer)
            .transpose()
            .map_err(|_| HttpError::BadUrl("a token that is not a header value".into()))?;
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let path = self.target.path(path);
        self.send(method, &path, authorization.as_ref(), bytes)
            .await
    }
}

/// The `Authorization` header for a bearer token, built once per cadre and cloned per request
/// (a cheap reference-count bump), and marked sensitive so it is never printed.
pub fn bearer(token: &str) -> Result<HeaderValue, hyper::header::InvalidHeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_split_into_address_host_and_prefix() {
        let t = Target::resolve("http://127.0.0.1:8080").await.unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.path("/v1/records"), "/v1/records");
        let t = Target::resolve("http://127.0.0.1:9/base/").await.unwrap();
        assert_eq!(t.path("/v1/records"), "/base/v1/records");
        assert_eq!(t.url, "http://127.0.0.1:9/base");
        let t = Target::resolve("http://127.0.0.1").await.unwrap();
        assert_eq!(t.addr.port(), 80);
        for bad in [
            "https://127.0.0.1:8080",
            "127.0.0.1:8080",
            "http://",
            "http://u@h:1",
        ] {
            assert!(
                matches!(Target::resolve(bad).await, Err(HttpError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn bearer_headers_are_sensitive() {
        let value = bearer("abc").unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), "Bearer abc");
        assert!(!format!("{value:?}").contains("abc"));
    }
}
