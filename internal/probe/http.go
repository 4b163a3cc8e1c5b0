package probe

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	userAgent    = "Vantage (+open-source port scanner)"
	maxBodyRead  = 4 << 10
	maxHeaderLen = 32 << 10
)

// httpReply is the part of a response the checks keep.
type httpReply struct {
	status   int
	location *url.URL // resolved against the request URL; nil if none
	rawLoc   string
	server   string
	hsts     string
}

// checkHTTP asks GET / over plain HTTP with the user's host name and looks
// for a redirect to HTTPS and, on the HTTPS side, HSTS. A port that turns
// out to speak TLS (HTTPS on 8080, say) gets the TLS check's finding
// instead: such servers answer plain HTTP with an error or a 400 ("plain
// HTTP request sent to HTTPS port"), and a TLS handshake then succeeds.
func (p *prober) checkHTTP(ctx context.Context, port uint16) Finding {
	reply, err := p.get(ctx, "http", port, p.cfg.PerProbe)
	if (err == nil && reply.status == http.StatusBadRequest || err != nil && answered(err)) && ctx.Err() == nil {
		if state, terr := p.handshake(ctx, port, tls.VersionTLS10, tls.VersionTLS13, p.cfg.PerProbe); terr == nil {
			f := p.tlsFinding(ctx, port, state)
			p.readHTTPS(ctx, &f)
			return f
		}
	}
	if err != nil {
		return Finding{Port: port, Check: CheckHTTP, Err: errText("the HTTP request failed", err)}
	}
	return p.httpFinding(ctx, port, reply)
}

// httpFinding completes a plain-HTTP answer's finding with the HTTPS side's
// HSTS header, when there is an HTTPS side to ask.
func (p *prober) httpFinding(ctx context.Context, port uint16, reply httpReply) Finding {
	info := &HTTPInfo{
		Status:   reply.status,
		Location: reply.rawLoc,
		Server:   reply.server,
		RedirectsToHTTPS: isRedirect(reply.status) && reply.location != nil &&
			reply.location.Scheme == "https",
	}
	if hp, ok := p.httpsPort(info.RedirectsToHTTPS, reply.location); ok && ctx.Err() == nil {
		if tlsReply, err := p.get(ctx, "https", hp, p.cfg.PerProbe); err == nil {
			info.HSTS = tlsReply.hsts
		}
	}
	return Finding{Port: port, Check: CheckHTTP, HTTP: info}
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// httpsPort picks where to read HSTS: the redirect's port when it points
// to the same host, else 443; only an open port on the pinned address.
func (p *prober) httpsPort(redirects bool, loc *url.URL) (uint16, bool) {
	if redirects && strings.TrimSuffix(strings.ToLower(loc.Hostname()), ".") == p.host {
		port := uint16(443)
		if s := loc.Port(); s != "" {
			n, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return 0, false
			}
			port = uint16(n)
		}
		if p.open[port] {
			return port, true
		}
	}
	return 443, p.open[443]
}

// get sends GET / to port over scheme with the user's host name, follows
// no redirect and reads at most maxBodyRead bytes of the body.
func (p *prober) get(ctx context.Context, scheme string, port uint16, limit time.Duration) (httpReply, error) {
	ctx, cancel := p.within(ctx, limit)
	defer cancel()
	tr := &http.Transport{
		Proxy: nil, // never from the environment
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return p.dial(ctx, port) // always the pinned address, whatever the URL says
		},
		TLSClientConfig:        p.tlsConfig(tls.VersionTLS10, tls.VersionTLS13),
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxHeaderLen,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	u := &url.URL{Scheme: scheme, Host: p.hostPort(scheme, port), Path: "/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return httpReply{}, fail(ctx, err)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return httpReply{}, fail(ctx, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))

	reply := httpReply{
		status: resp.StatusCode,
		rawLoc: printable(resp.Header.Get("Location"), maxLine),
		server: printable(resp.Header.Get("Server"), maxLine),
		hsts:   printable(resp.Header.Get("Strict-Transport-Security"), maxLine),
	}
	if loc, err := resp.Location(); err == nil {
		reply.location = loc
	}
	return reply, nil
}

// hostPort is the URL authority a browser would send for the user's host:
// the port only when it is not the scheme's default, IPv6 in brackets.
func (p *prober) hostPort(scheme string, port uint16) string {
	if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
		if strings.Contains(p.host, ":") {
			return "[" + p.host + "]"
		}
		return p.host
	}
	return net.JoinHostPort(p.host, strconv.Itoa(int(port)))
}
