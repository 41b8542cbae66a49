package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DNSLookup is client.dns.lookup: how broker host names become addresses to dial.
type DNSLookup string

// The values of client.dns.lookup (Java 4.x has no others). The zero value is
// [UseAllDNSIPs], Java's default.
const (
	// UseAllDNSIPs resolves a broker's host name at every new connection and tries each
	// address it resolves to, in order, until one connects (KIP-302).
	UseAllDNSIPs DNSLookup = "use_all_dns_ips"
	// ResolveCanonicalBootstrapServersOnly replaces each bootstrap server by the canonical
	// names of its addresses (a reverse lookup of each, KIP-235), for clusters whose bootstrap
	// name is an alias and whose brokers must be addressed by their own names (Kerberos, TLS
	// host names). Connections then resolve as with UseAllDNSIPs.
	ResolveCanonicalBootstrapServersOnly DNSLookup = "resolve_canonical_bootstrap_servers_only"
)

// Resolver looks up host names for [Config.Resolver]. *net.Resolver implements it, and a
// test or a service discovery layer may provide its own.
type Resolver interface {
	// LookupHost returns the addresses of host, in the order to try them.
	LookupHost(ctx context.Context, host string) ([]string, error)
	// LookupAddr returns the names of addr (a reverse lookup), canonical name first; it is
	// used only with [ResolveCanonicalBootstrapServersOnly].
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// resolver returns the resolver to use.
func (p *Producer) resolver() Resolver {
	if p.cfg.Resolver != nil {
		return p.cfg.Resolver
	}
	return net.DefaultResolver
}

// dialTCP is the connections' dialer (client.dns.lookup=use_all_dns_ips): it resolves the
// host of addr afresh and tries each of its addresses in order, each within an equal share
// of what is left of ctx's deadline (at least 2 s of it, as Go's own dialer does), so that
// an address that does not answer leaves time for the next.
func (p *Producer) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	if net.ParseIP(host) != nil {
		return d.DialContext(ctx, network, addr)
	}
	ips, err := p.resolver().LookupHost(ctx, host)
	if err == nil && len(ips) == 0 {
		err = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	if err != nil {
		// As net.Dialer reports it, so that errors.As finds both *net.OpError and the cause.
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var errs []error
	for i, ip := range ips {
		actx := ctx
		if deadline, ok := ctx.Deadline(); ok && i < len(ips)-1 {
			share := time.Until(deadline) / time.Duration(len(ips)-i)
			if share < 2*time.Second {
				share = min(2*time.Second, time.Until(deadline))
			}
			var cancel context.CancelFunc
			actx, cancel = context.WithTimeout(ctx, share)
			defer cancel()
		}
		nc, err := d.DialContext(actx, network, net.JoinHostPort(ip, port))
		if err == nil {
			if i > 0 {
				p.logDebug("connected through a later address of the name", "host", host, "address", ip, "tried", i+1)
			}
			return nc, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%s resolves to %d addresses, none connected: %w", host, len(ips), errors.Join(errs...))
}

// bootstrapServers returns the addresses to bootstrap from: bootstrap.servers, or with
// client.dns.lookup=resolve_canonical_bootstrap_servers_only the canonical names of their
// addresses, looked up again at each bootstrap. A server whose lookups fail is kept as given,
// so that dialing it reports the failure.
func (p *Producer) bootstrapServers() []string {
	if p.cfg.ClientDNSLookup != ResolveCanonicalBootstrapServersOnly {
		return p.cfg.BootstrapServers
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.SetupTimeout)
	defer cancel()
	r := p.resolver()
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, server := range p.cfg.BootstrapServers {
		host, port, err := net.SplitHostPort(server)
		if err != nil {
			add(server)
			continue
		}
		ips, err := r.LookupHost(ctx, host)
		if err != nil || len(ips) == 0 {
			p.logWarn("cannot resolve a bootstrap server", "server", server, "error", err)
			add(server)
			continue
		}
		for _, ip := range ips {
			name := ip
			if names, err := r.LookupAddr(ctx, ip); err == nil && len(names) > 0 && names[0] != "" {
				name = strings.TrimSuffix(names[0], ".")
			}
			add(net.JoinHostPort(name, port))
		}
	}
	return out
}
