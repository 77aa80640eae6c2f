package stripesync

import (
	"net"
	"strings"
)

// IsLoopbackHost reports whether host (a URL's or an address's host, no
// port) names this machine only: localhost or a loopback IP. It is the
// one rule for where the daemon allows what it never allows over a
// network: plain-HTTP Salesforce, plain SMTP, the profile listener.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
