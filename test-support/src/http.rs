//! A scripted HTTP server on 127.0.0.1, standing in for a web service (the geolocation
//! service, a gateway): it answers every request the same way, counts connections and keeps
//! the request heads. It speaks just enough HTTP/1.1 to misbehave on purpose (answer late,
//! never answer, fail), which a real server library would not let a test do.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the server answers each request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// 200 with this JSON body.
    Json(&'static str),
    /// This status, with a small JSON error body.
    Status(u16),
    /// 200 with this JSON body, after holding the request this long.
    Late(Duration, &'static str),
    /// Accepts the connection, reads the request and never answers (until the server is
    /// dropped).
    Silent,
}

/// The server; it stops when dropped, and after ten minutes in any case.
#[derive(Debug)]
pub struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server on a free loopback port; [`Server::url`] is `http://127.0.0.1:PORT/json`.
    pub fn start(reply: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!(
            "http://{}/json",
            listener.local_addr().expect("the listener's address")
        );
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, heads, stopped) = (connections.clone(), requests.clone(), stop.clone());
        thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(600);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < end {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let (heads, stopped) = (heads.clone(), stopped.clone());
                        thread::spawn(move || answer(stream, reply, &heads, &stopped));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            url,
            connections,
            requests,
            stop,
        }
    }

    /// The URL to give the program under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many connections the server has accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The heads (request line and headers) of the requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Waits until `stop` is set or `hold` has passed.
fn hold(hold: Duration, stop: &AtomicBool) {
    let until = Instant::now() + hold;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(20));
    }
}

fn answer(mut stream: TcpStream, reply: Reply, heads: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    heads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(String::from_utf8_lossy(&request).into_owned());
    let (status, body) = match reply {
        Reply::Json(body) => (200, body),
        Reply::Status(code) => (code, "{\"error\": \"test\"}"),
        Reply::Late(after, body) => {
            hold(after, stop);
            (200, body)
        }
        Reply::Silent => {
            hold(Duration::from_secs(600), stop);
            return;
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}
