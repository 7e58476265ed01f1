//! An HTTP forward proxy that records what it is asked: `CONNECT host:port` (answered with
//! the status the test chooses; on 200 the tunnel is opened to that address) and requests in
//! absolute form (`GET http://host:port/path`), forwarded in origin form, one per connection.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the proxy received: its request line and `Proxy-Authorization`.
#[derive(Clone, Debug)]
pub struct Asked {
    pub line: String,
    pub auth: Option<String>,
}

pub struct ForwardProxy {
    pub port: u16,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl ForwardProxy {
    /// A proxy answering CONNECT with `connect_status`.
    pub async fn start(connect_status: u16) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, log.clone(), connect_status));
            }
        });
        ForwardProxy { port, asked }
    }

    pub fn url(&self) -> String {
        format!("http://user:pass@127.0.0.1:{}", self.port)
    }

    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().expect("lock").clone()
    }
}

async fn serve(mut client: TcpStream, log: Arc<Mutex<Vec<Asked>>>, connect_status: u16) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut block = [0u8; 4096];
        match client.read(&mut block).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&block[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("").to_owned();
    let mut auth = None;
    let mut fields = Vec::new();
    for field in lines.filter(|l| !l.is_empty()) {
        match field.split_once(':') {
            Some((n, v)) if n.eq_ignore_ascii_case("proxy-authorization") => {
                auth = Some(v.trim().to_owned())
            }
            _ => fields.push(field.to_owned()),
        }
    }
    log.lock().expect("lock").push(Asked {
        line: line.clone(),
        auth,
    });
    let parts: Vec<&str> = line.split(' ').collect();
    let (method, target) = (
        parts.first().copied().unwrap_or(""),
        parts.get(1).copied().unwrap_or(""),
    );
    if method == "CONNECT" {
        let answer = format!("HTTP/1.1 {connect_status} Proxy Answer\r\ncontent-length: 0\r\n\r\n");
        let _ = client.write_all(answer.as_bytes()).await;
        if connect_status == 200 {
            if let Ok(mut upstream) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        }
        return;
    }
    // Absolute form: forward in origin form, the connection closed after the answer.
    let Some(rest) = target.strip_prefix("http://") else {
        return;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut upstream) = TcpStream::connect(authority).await else {
        return;
    };
    let mut forwarded = format!(
        "{method} {path} {}\r\n",
        parts.get(2).copied().unwrap_or("HTTP/1.1")
    );
    for field in fields
        .iter()
        .filter(|f| !f.to_ascii_lowercase().starts_with("connection:"))
    {
        forwarded.push_str(field);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("connection: close\r\n\r\n");
    if upstream.write_all(forwarded.as_bytes()).await.is_err() {
        return;
    }
    let _ = tokio::io::copy(&mut upstream, &mut client).await;
}
