//! One proxied connection: two pumps (client → upstream, upstream → client) that forward
//! bytes and act out the connection's [`Plan`] at its byte offsets.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::plan::{Dir, Plan, Side};
use crate::Shared;

/// How a pump or a whole connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The reader saw EOF; the writer was shut down after it (a clean half-close).
    Eof,
    /// A planned reset fired: both sockets are closed with RST.
    Reset,
    /// A planned truncation fired: the client gets a FIN after a partial answer.
    Truncated,
    /// A peer failed (reset us, went away): the other side is reset too, as a real
    /// middlebox losing its connection would.
    Broken,
}

/// What [`serve`] needs to know about its connection, fixed when it was accepted.
pub(crate) struct Accepted {
    pub(crate) id: u64,
    pub(crate) upstream: std::net::SocketAddr,
    pub(crate) plan: Plan,
    /// The faults generation the plan was drawn under: once `set_faults` moves it on, the
    /// plan is dropped (so "faults off" means off for open keep-alive connections too).
    pub(crate) epoch: u64,
    pub(crate) kill: oneshot::Receiver<()>,
}

/// Removes the connection from the proxy's table however the task ends.
struct Registered<'a>(&'a Shared, u64);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

pub(crate) async fn serve(shared: Arc<Shared>, mut client: TcpStream, mut conn: Accepted) {
    let _registered = Registered(&shared, conn.id);
    let connected = tokio::select! {
        _ = &mut conn.kill => None,
        r = TcpStream::connect(conn.upstream) => r.ok(),
    };
    let Some(mut server) = connected else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let end = {
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        let up = pump(
            &shared,
            conn.epoch,
            Dir::Up,
            conn.plan.side(Dir::Up),
            &mut cr,
            &mut sw,
        );
        let down = pump(
            &shared,
            conn.epoch,
            Dir::Down,
            conn.plan.side(Dir::Down),
            &mut sr,
            &mut cw,
        );
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            let end = tokio::select! {
                // Counted by `reset_all`, so its count is in the stats once it returns.
                _ = &mut conn.kill => End::Reset,
                e = &mut up, if !up_done => { up_done = true; e }
                e = &mut down, if !down_done => { down_done = true; e }
            };
            if end != End::Eof || (up_done && down_done) {
                break end;
            }
        }
    };
    match end {
        End::Reset | End::Broken => {
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
        End::Truncated => {
            let _ = client.shutdown().await;
        }
        End::Eof => {}
    }
}

async fn pump<R, W>(
    shared: &Shared,
    epoch: u64,
    dir: Dir,
    mut side: Side,
    r: &mut R,
    w: &mut W,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let counter = match dir {
        Dir::Up => &shared.counters.bytes_up,
        Dir::Down => &shared.counters.bytes_down,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) => {
                let _ = w.shutdown().await;
                return End::Eof;
            }
            Ok(n) => n,
            Err(_) => return End::Broken,
        };
        let (latency, live) = shared.latency_and_live(epoch);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if !live {
            side = Side::default();
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            // The next fault point inside this read, if any; offsets count forwarded bytes.
            let next = [side.stall_at, side.reset_at, side.truncate_at]
                .into_iter()
                .flatten()
                .filter(|&at| at <= sent + rest.len() as u64)
                .min();
            let take = next.map_or(rest.len(), |at| (at.saturating_sub(sent)) as usize);
            if w.write_all(&rest[..take]).await.is_err() {
                return End::Broken;
            }
            counter.fetch_add(take as u64, Ordering::Relaxed);
            sent += take as u64;
            rest = &rest[take..];
            let Some(at) = next else { continue };
            if side.stall_at == Some(at) {
                side.stall_at = None;
                let _ = w.flush().await;
                shared.counters.stalls.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(shared.stall()).await;
            } else if side.reset_at == Some(at) {
                let _ = w.flush().await;
                shared.counters.resets.fetch_add(1, Ordering::Relaxed);
                return End::Reset;
            } else {
                let _ = w.flush().await;
                shared.counters.truncations.fetch_add(1, Ordering::Relaxed);
                return End::Truncated;
            }
        }
    }
}
