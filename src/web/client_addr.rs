//! The address a request came from, for the sign-in throttle, sessions and the audit log.
//! It is the connection's peer, unless that peer is a configured trusted proxy
//! (`[web] trusted_proxies`, addresses or ranges): then the client is the right-most `X-Forwarded-For` entry that
//! is not itself a trusted proxy (entries further left were written by the client and may
//! be forged).

use std::net::IpAddr;

use ipnet::IpNet;

use actix_web::HttpRequest;

/// The client's address; `None` only when the connection has no peer address (tests).
pub fn client_addr(req: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !is_trusted(trusted_proxies, peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    Some(forwarded_client(&forwarded, trusted_proxies).unwrap_or(peer))
}

/// Walks the `X-Forwarded-For` hops from the nearest one; stops at anything unreadable.
fn forwarded_client(hops: &[&str], trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    for hop in hops.iter().rev() {
        let addr = hop.trim().parse::<IpAddr>().ok()?.to_canonical();
        if !is_trusted(trusted_proxies, addr) {
            return Some(addr);
        }
    }
    None
}

fn is_trusted(trusted_proxies: &[IpNet], addr: IpAddr) -> bool {
    trusted_proxies.iter().any(|net| net.contains(&addr))
}

/// For messages and session records: the address, or `unknown`.
pub fn shown(addr: Option<IpAddr>) -> String {
    addr.map_or_else(|| "unknown".to_string(), |a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxy: IpNet = "127.0.0.1/32".parse().unwrap();
        let client = Some("203.0.113.7".parse().unwrap());
        // A forged left-most entry is ignored: the proxy appended the real one.
        assert_eq!(
            forwarded_client(&["6.6.6.6", " 203.0.113.7"], &[proxy]),
            client
        );
        assert_eq!(
            forwarded_client(&["203.0.113.7", "127.0.0.1"], &[proxy]),
            client
        );
        assert_eq!(forwarded_client(&["not an ip"], &[proxy]), None);
        assert_eq!(forwarded_client(&[], &[proxy]), None);
    }

    #[test]
    fn a_range_trusts_every_proxy_in_it_and_nothing_else() {
        let proxies: IpNet = "10.0.0.0/8".parse().unwrap();
        let client = Some("203.0.113.7".parse().unwrap());
        // Two proxies of the range in a row: the client is the hop before them.
        assert_eq!(
            forwarded_client(&["203.0.113.7", "10.0.0.2", "10.9.9.9"], &[proxies]),
            client
        );
        assert_eq!(
            forwarded_client(&["10.0.0.2", "11.0.0.1"], &[proxies]),
            Some("11.0.0.1".parse().unwrap())
        );
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert_eq!(
            forwarded_client(&["2001:db8::1", "fd12::3"], &[v6]),
            Some("2001:db8::1".parse().unwrap())
        );
    }
}
