//! Who is knocking: the client address that per-address limits key on. By default the TCP
//! peer; a forwarding header is believed only when the operator names it and the request
//! comes from one of the proxies they list, because anyone can send any header.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// Where a trusted reverse proxy writes the client's address.
#[derive(Debug, Clone)]
pub struct TrustedProxy {
    /// Lower-cased header name, e.g. `x-forwarded-for` (a comma-separated list each proxy
    /// appends to) or `x-real-ip` (one address).
    pub header: String,
    /// The proxies whose header is believed (their own addresses, not their clients').
    pub proxies: Vec<IpNet>,
}

impl TrustedProxy {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(&ip))
    }
}

/// The client's address as limits see it: IPv4 whole, IPv6 cut to its /64 (one subscriber
/// usually holds a whole /64, so keying on full IPv6 addresses would let one attacker pick a
/// fresh key per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The address `peer` stands for, reading `headers` only if `proxy` trusts the peer.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, proxy: Option<&TrustedProxy>) -> ClientIp {
        let mut client = canonical(peer);
        if let Some(proxy) = proxy.filter(|p| p.trusts(client)) {
            // Walk from the nearest hop outwards: the first address that is not one of our
            // proxies is the client; anything to its left was written by that client.
            let hops: Vec<&str> = headers
                .get_all(proxy.header.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect();
            for hop in hops.iter().rev() {
                let Some(ip) = parse_hop(hop) else { break };
                client = canonical(ip);
                if !proxy.trusts(client) {
                    break;
                }
            }
        }
        ClientIp(client)
    }

    /// The key per-address limits use.
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One entry of a forwarding header: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "no peer address: serve the router with `into_make_service_with_connect_info`"
                ))
            })?;
        Ok(ClientIp::resolve(
            peer,
            &parts.headers,
            state.settings.trusted_proxy.as_ref(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(peer: &str, xff: &[&str], proxy: Option<&TrustedProxy>, expected: &str) {
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        let got = ClientIp::resolve(peer.parse().unwrap(), &headers, proxy);
        assert_eq!(got.0, expected.parse::<IpAddr>().unwrap(), "{peer} {xff:?}");
    }

    #[test]
    fn the_header_counts_only_from_a_listed_proxy() {
        let proxy = TrustedProxy {
            header: "x-forwarded-for".into(),
            proxies: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        let p = Some(&proxy);
        // No proxy configured: the header is anyone's to write.
        check("203.0.113.9", &["198.51.100.1"], None, "203.0.113.9");
        // A peer that is not a listed proxy: same.
        check("203.0.113.9", &["198.51.100.1"], p, "203.0.113.9");
        // Through our proxy: the nearest address it did not write itself.
        check("10.1.2.3", &["198.51.100.1"], p, "198.51.100.1");
        check(
            "10.1.2.3",
            &["6.6.6.6, 198.51.100.1, 10.9.9.9"],
            p,
            "198.51.100.1",
        );
        check(
            "10.1.2.3",
            &["6.6.6.6", "198.51.100.1:4711"],
            p,
            "198.51.100.1",
        );
        check("::1", &["[2001:db8::7]:443"], p, "2001:db8::7");
        // Only proxies in the list, or garbage: the farthest address we could read.
        check("10.1.2.3", &["10.4.4.4"], p, "10.4.4.4");
        check("10.1.2.3", &["198.51.100.1, nonsense"], p, "10.1.2.3");
        check("10.1.2.3", &[], p, "10.1.2.3");
        // Dual-stack sockets report IPv4 clients as mapped IPv6.
        check("::ffff:10.1.2.3", &["198.51.100.1"], p, "198.51.100.1");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a = ClientIp("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientIp("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = ClientIp("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
        assert_eq!(a.limit_key(), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let v4 = ClientIp("192.0.2.1".parse().unwrap());
        assert_eq!(v4.limit_key(), v4.0);
    }
}
