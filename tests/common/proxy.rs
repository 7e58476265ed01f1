//! A TCP proxy that counts the HTTP requests passing through it: every request imgorigin
//! sends to S3 here is bodyless (GET/HEAD), so each header block end (`\r\n\r\n`) toward the
//! server is one request, whatever connection reuse does. It also counts the bytes the
//! server sends back, headers included.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CountingProxy {
    pub port: u16,
    requests: Arc<AtomicU64>,
    down_bytes: Arc<AtomicU64>,
}

impl CountingProxy {
    pub async fn start(upstream: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let down_bytes = Arc::new(AtomicU64::new(0));
        let down_counter = down_bytes.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                let down_counter = down_counter.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        let mut tail = Vec::new();
                        while let Ok(n) = cr.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            tail.extend_from_slice(&buf[..n]);
                            let found = tail.windows(4).filter(|w| w == b"\r\n\r\n").count();
                            counter.fetch_add(found as u64, Ordering::SeqCst);
                            let keep = tail.len().min(3);
                            tail.drain(..tail.len() - keep);
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n) = sr.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            down_counter.fetch_add(n as u64, Ordering::SeqCst);
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::join!(up, down);
                });
            }
        });
        CountingProxy {
            port,
            requests,
            down_bytes,
        }
    }

    /// Bytes the server has sent back so far, headers included.
    pub fn down_bytes(&self) -> u64 {
        self.down_bytes.load(Ordering::SeqCst)
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}
