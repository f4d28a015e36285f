//! One keep-alive HTTP/1.1 connection per load worker, on hyper's low-level client:
//! no pool and no per-request allocation beyond the request itself, so the generator
//! stays far cheaper than the service it loads.

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The microversion every request asks for (volume resources need ≥ 1.32).
pub const API_VERSION: &str = "1.46";

/// A service's address: `host:port`, as in `http://host:port`; and the Keystone token
/// every request to it carries, if any.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub authority: String,
    token: Option<HeaderValue>,
}

impl Endpoint {
    pub fn new(authority: impl Into<String>) -> Endpoint {
        Endpoint {
            authority: authority.into(),
            token: None,
        }
    }

    /// The same address, each request with `X-Auth-Token: token`.
    pub fn with_token(mut self, token: &str) -> Result<Endpoint> {
        let mut value = HeaderValue::from_str(token).context("token is not a header value")?;
        value.set_sensitive(true);
        self.token = Some(value);
        Ok(self)
    }
}

/// An answer: its status, headers and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("answer is not JSON")
    }

    /// The answer's status was 2xx; otherwise an error naming the status and body.
    pub fn ok(self) -> Result<Answer> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(anyhow!(
                "{} {}",
                self.status.as_u16(),
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            ))
        }
    }
}

/// One connection, opened on first use and re-opened when the server closes it.
pub struct Conn {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(endpoint: &Endpoint) -> Conn {
        Conn {
            endpoint: endpoint.clone(),
            sender: None,
        }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        if let Some(sender) = &mut self.sender {
            if sender.ready().await.is_ok() {
                return Ok(self.sender.as_mut().expect("just checked"));
            }
            self.sender = None;
        }
        let stream = TcpStream::connect(&self.endpoint.authority)
            .await
            .with_context(|| format!("connect {}", self.endpoint.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(self.sender.insert(sender))
    }

    /// Sends one request; `body` is JSON already encoded.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        let authority = self.endpoint.authority.clone();
        let token = self.endpoint.token.clone();
        let sender = self.open().await?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "application/json")
            .header("X-OpenStack-Ironic-API-Version", API_VERSION);
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        let body = match body {
            Some(bytes) => {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let response = sender.send_request(request.body(body)?).await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                // A closed keep-alive connection: the next call opens a new one.
                self.sender = None;
                return Err(anyhow!("request failed: {e}"));
            }
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: &serde_json::Value) -> Result<Answer> {
        self.call(Method::POST, path, Some(serde_json::to_vec(body)?))
            .await
    }
}
