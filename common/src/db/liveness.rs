//! Whether a pooled server connection is still open, told from its socket instead of a
//! round trip to the server.
//!
//! A connection handed out by the pool must not be one the server has closed since
//! (killed, restarted, timed out), or the request using it fails. Asking the server
//! (`SELECT 1`) costs a round trip, and server CPU, at every check-out. A server that
//! closes a connection says so on its socket: PostgreSQL sends a last error and closes,
//! MySQL/MariaDB closes. An idle connection's socket has nothing to read, so one that
//! does (an end of file, an error, a message nobody asked for) is not used again.
//!
//! Neither client library tells its socket, so it is found once, when the connection
//! opens: the server reports the connection's client address, and the one descriptor of
//! this process whose local address is that one, and whose peer is the server's port, is
//! the connection's. Where no such descriptor is found (a Unix socket, a proxy in
//! between), the pool asks the server as before.
//!
//! A client library closes its socket when it finds the connection broken, and the
//! descriptor number may then be reused by another file. So each check first makes
//! sure the descriptor still has the connection's two addresses.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{BorrowedFd, RawFd};

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::pool::AnyConnection;

/// A connection's socket, as found when it opened.
#[derive(Clone, Copy, Debug)]
pub(super) struct Socket {
    fd: RawFd,
    local: SocketAddr,
    peer: SocketAddr,
}

/// What the server says of the connection it serves this query on.
#[derive(QueryableByName)]
struct Endpoints {
    #[diesel(sql_type = Nullable<Text>)]
    client: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    server_port: Option<String>,
}

impl Socket {
    /// The socket of `conn`, a connection that just opened, or `None` when the server
    /// reports no TCP client address or no descriptor of this process matches it.
    pub(super) fn find(conn: &mut AnyConnection) -> Option<Socket> {
        let endpoints = endpoints(conn)?;
        let client = endpoints.client?;
        let (ip, port) = parse_client(&client)?;
        let server_port = endpoints.server_port?.parse::<u16>().ok()?;
        let found = open_descriptors().into_iter().find_map(|fd| {
            let (local, peer) = addresses(fd)?;
            let ours = local.port() == port
                && ip.is_none_or(|ip| ip == local.ip())
                && peer.port() == server_port;
            ours.then_some(Socket { fd, local, peer })
        });
        if found.is_none() {
            tracing::debug!(%client, server_port, "connection socket not found; checking by query");
        }
        found
    }

    /// Whether the descriptor is still this connection's socket and the server has not
    /// closed it or written to it unasked.
    pub(super) fn is_open(&self) -> bool {
        addresses(self.fd) == Some((self.local, self.peer)) && !readable(self.fd)
    }
}

/// The connection's client address ("ip:port") and the server's port, as the server sees
/// them. `None` for SQLite, which has no server, and when the query fails.
fn endpoints(conn: &mut AnyConnection) -> Option<Endpoints> {
    diesel::sql_query(endpoints_query(conn)?)
        .get_result(conn)
        .inspect_err(|e| tracing::debug!(error = %e, "cannot read the connection's addresses"))
        .ok()
}

/// The query of [`endpoints`] in the connection's dialect.
fn endpoints_query(conn: &AnyConnection) -> Option<&'static str> {
    match conn {
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(_) => Some(
            "SELECT host(inet_client_addr()) || ':' || inet_client_port() AS client, \
             inet_server_port()::text AS server_port",
        ),
        // HOST is "ip:port" for a TCP client and "localhost" for a Unix socket.
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(_) => Some(
            "SELECT HOST AS client, CAST(@@port AS CHAR) AS server_port \
             FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()",
        ),
        AnyConnection::Sqlite(_) => None,
    }
}

/// "host:port" into the host's IP, `None` when it is a name (MySQL reports the client's
/// host name unless it runs with `skip_name_resolve`), and the port; an IPv6 address
/// may be in brackets.
fn parse_client(client: &str) -> Option<(Option<IpAddr>, u16)> {
    let (host, port) = client.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    Some((ip, port.parse().ok()?))
}

/// This process's open descriptors.
fn open_descriptors() -> Vec<RawFd> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The local and peer address of `fd`, if it is a connected IP socket.
#[allow(unsafe_code)]
fn addresses(fd: RawFd) -> Option<(SocketAddr, SocketAddr)> {
    // SAFETY: only the address of whatever `fd` names now is read. Should another thread
    // close it meanwhile, the calls fail (EBADF) or read another file's addresses,
    // which then do not match.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = socket2::SockRef::from(&fd);
    let canonical = |a: socket2::SockAddr| {
        a.as_socket()
            .map(|s| SocketAddr::new(s.ip().to_canonical(), s.port()))
    };
    Some((
        canonical(socket.local_addr().ok()?)?,
        canonical(socket.peer_addr().ok()?)?,
    ))
}

/// Whether `fd` has anything to read, an end of file or an error pending, without
/// waiting.
#[allow(unsafe_code)]
fn readable(fd: RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout; poll only reads and writes that struct.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    fn socket_of(client: &TcpStream) -> Socket {
        Socket {
            fd: client.as_raw_fd(),
            local: client.local_addr().unwrap(),
            peer: client.peer_addr().unwrap(),
        }
    }

    #[test]
    fn an_idle_socket_is_open() {
        let (client, _server) = pair();
        assert!(socket_of(&client).is_open());
    }

    #[test]
    fn a_socket_the_server_closed_is_not() {
        let (client, server) = pair();
        drop(server);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!socket_of(&client).is_open());
    }

    #[test]
    fn a_socket_with_a_message_nobody_asked_for_is_not() {
        let (client, mut server) = pair();
        server.write_all(b"E").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!socket_of(&client).is_open());
    }

    #[test]
    fn a_descriptor_reused_by_another_connection_is_not() {
        let (client, _server) = pair();
        let socket = socket_of(&client);
        drop(client);
        // Most likely the same number, now another connection's.
        let (other, _other_server) = pair();
        assert!(!socket.is_open(), "{socket:?} vs {:?}", socket_of(&other));
    }

    #[test]
    fn the_server_reported_client_address_is_parsed() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            parse_client("127.0.0.1:5432"),
            Some((ip("127.0.0.1"), 5432))
        );
        assert_eq!(parse_client("[::1]:41000"), Some((ip("::1"), 41000)));
        assert_eq!(
            parse_client("::ffff:10.0.0.1:41000"),
            Some((ip("10.0.0.1"), 41000))
        );
        assert_eq!(parse_client("db-client.example:41000"), Some((None, 41000)));
        assert_eq!(parse_client("localhost"), None);
    }
}
