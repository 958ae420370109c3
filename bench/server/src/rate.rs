//! A fixed-rate (open-loop) HTTP/1.1 load generator, for tail latency at a chosen rate.
//!
//! Each of `CONNECTIONS` keep-alive connections sends its share of `RATE` requests per second
//! on a fixed schedule. A request sent behind its schedule (because the previous answer came
//! late) is timed from when it was *scheduled*, so a server that stalls is charged for every
//! request queued behind the stall (no coordinated omission, as in wrk2); one sent on time is
//! timed from the moment it was sent.
//!
//! Env: `URL` (`http://127.0.0.1:PORT/path`), `RATE` (requests per second), `DURATION`
//! (seconds), `CONNECTIONS`, `TOKEN` (sent as a Bearer token when set). Prints one line:
//! `rate=R sent=N errors=E p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=..`.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(authority: &str) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url: http::Uri = env_or("URL", "http://127.0.0.1:18101/echo").parse()?;
    let rate: f64 = env_or("RATE", "1000").parse()?;
    let seconds: f64 = env_or("DURATION", "10").parse()?;
    let connections: usize = env_or("CONNECTIONS", "50").parse()?;
    let token = std::env::var("TOKEN").ok();
    let authority = url.authority().ok_or("URL has no host")?.clone();
    let path = url.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if rate <= 0.0 || connections == 0 {
        return Err("RATE and CONNECTIONS must be positive".into());
    }
    // Each connection sends every `interval`, the connections' schedules spread evenly.
    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let per_connection = (seconds * rate / connections as f64).floor() as usize;
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let offset = interval.mul_f64(c as f64 / connections as f64);
        let authority = authority.clone();
        let path = path.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_connection);
            let mut errors = 0usize;
            let mut sender = connect(authority.as_str()).await?;
            for i in 0..per_connection {
                let scheduled = start + offset + interval.mul_f64(i as f64);
                // Behind schedule (the previous answer came late): charged from the scheduled
                // time. Ahead: sleep, and count from the wake-up, so that the timer's own
                // lateness (up to a millisecond in Tokio) is not charged to the server.
                let origin = if Instant::now() >= scheduled {
                    scheduled
                } else {
                    tokio::time::sleep_until(scheduled.into()).await;
                    Instant::now()
                };
                let mut req = http::Request::get(path.as_str())
                    .header(http::header::HOST, authority.as_str());
                if let Some(t) = &token {
                    req = req.header(http::header::AUTHORIZATION, format!("Bearer {t}"));
                }
                let req = req.body(Empty::<Bytes>::new())?;
                // A server may close a keep-alive connection (nginx after 1,000 requests):
                // open another, as a client would, on the request's time.
                if sender.ready().await.is_err() {
                    sender = connect(authority.as_str()).await?;
                }
                let ok = match sender.send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status();
                        resp.into_body().collect().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if !ok {
                    errors += 1;
                }
                latencies.push(u32::try_from(origin.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((latencies, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?.map_err(|e| e.to_string())?;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len().max(1)) - 1;
        all.get(i).copied().unwrap_or(0)
    };
    println!(
        "rate={rate} sent={} errors={errors} p50_us={} p90_us={} p99_us={} p999_us={} max_us={}",
        all.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        all.last().copied().unwrap_or(0)
    );
    Ok(())
}
