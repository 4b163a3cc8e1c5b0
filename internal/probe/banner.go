package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// bannerPorts are the well-known ports of protocols that talk first (or,
// for Redis, answer a harmless PING), with the protocol they suggest.
var bannerPorts = map[uint16]string{
	21:   "ftp",
	23:   "telnet",
	25:   "smtp",
	110:  "pop3",
	119:  "nntp",
	143:  "imap",
	587:  "smtp",
	2525: "smtp",
	3306: "mysql",
	5900: "vnc",
	6379: "redis",
}

const (
	maxLine         = 256             // bytes of a greeting or header kept
	greetWait       = 2 * time.Second // for a port whose protocol talks first
	greetWaitDetect = time.Second     // for an unknown port, which may well be silent
	detectLimit     = 2 * time.Second // each identification attempt on a silent port
	redisHello      = "PING\r\n"
)

// checkBanner reads the port's greeting. A greeting starting "SSH-" is
// followed by the SSH check; a port that stays silent is offered a TLS
// ClientHello, then an HTTP GET /, and gets that check's finding instead.
func (p *prober) checkBanner(ctx context.Context, port uint16, report func(Finding)) {
	like := p.wellKnown(port)
	proto, known := bannerPorts[like]
	wait := greetWaitDetect
	if known {
		wait = greetWait
	}
	var hello string
	if proto == "redis" {
		hello = redisHello
	}
	raw, err := p.greet(ctx, port, hello, wait)
	switch {
	case err != nil:
		report(Finding{Port: port, Check: CheckBanner, Err: errText("the greeting could not be read", err)})
		return
	case len(raw) > 0:
		info := parseBanner(raw, like)
		report(Finding{Port: port, Check: CheckBanner, Banner: &info})
		if info.Protocol == "ssh" {
			report(p.checkSSH(ctx, port))
		}
		return
	}
	p.identifySilent(ctx, port, report)
}

// identifySilent tries TLS, then HTTP, on a port that sent no greeting.
func (p *prober) identifySilent(ctx context.Context, port uint16, report func(Finding)) {
	if state, err := p.handshake(ctx, port, tls.VersionTLS10, tls.VersionTLS13, detectLimit); err == nil {
		report(p.tlsFinding(ctx, port, state))
		return
	}
	if reply, err := p.get(ctx, "http", port, detectLimit); err == nil {
		report(p.httpFinding(ctx, port, reply))
		return
	}
	msg := "the port sent no greeting and answered neither TLS nor HTTP"
	if ctx.Err() != nil {
		msg = msgOutOfTime
	}
	report(Finding{Port: port, Check: CheckBanner, Err: msg})
}

func (p *prober) wellKnown(port uint16) uint16 {
	if like, ok := p.cfg.like[port]; ok {
		return like
	}
	return port
}

// greet connects, sends hello (if any), and returns what the server sent
// within wait: up to the first line, maxLine bytes or a complete MySQL
// greeting. A silent port returns no bytes and no error.
func (p *prober) greet(ctx context.Context, port uint16, hello string, wait time.Duration) ([]byte, error) {
	ctx, cancel := p.within(ctx, p.cfg.PerProbe)
	defer cancel()
	conn, err := p.dial(ctx, port)
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer conn.Close()
	if hello != "" {
		if _, err := io.WriteString(conn, hello); err != nil {
			return nil, fail(ctx, err)
		}
	}
	readBy := time.Now().Add(min(wait, p.cfg.PerProbe))
	if dl, ok := ctx.Deadline(); ok && dl.Before(readBy) {
		readBy = dl.Add(deadlineSlack) // let ctx end it, see deadlineSlack
	}
	_ = conn.SetReadDeadline(readBy)
	raw, err := readGreeting(conn)
	var ne net.Error
	switch {
	case len(raw) > 0: // a partial line is still a greeting
		return raw, nil
	case ctx.Err() != nil && !errors.Is(context.Cause(ctx), errProbeTimeout):
		return nil, fail(ctx, err) // Total or the caller ended it
	case ctx.Err() != nil, errors.As(err, &ne) && ne.Timeout():
		return nil, nil // connected, then silence
	case err != nil:
		return nil, fail(ctx, err)
	}
	return nil, nil
}

// readGreeting reads until the greeting is complete, maxLine bytes are in,
// or the read fails (the deadline ends a trickle).
func readGreeting(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, maxLine)
	for len(buf) < maxLine {
		n, err := r.Read(buf[len(buf):maxLine])
		buf = buf[:len(buf)+n]
		if bytes.IndexByte(buf, '\n') >= 0 {
			return buf, nil
		}
		if _, ok := mysqlGreeting(buf); ok {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// parseBanner makes a greeting printable and guesses its protocol from its
// content and the (well-known) port it came from.
func parseBanner(raw []byte, port uint16) BannerInfo {
	if version, ok := mysqlGreeting(raw); ok {
		return BannerInfo{Protocol: "mysql", Line: version}
	}
	if len(raw) > 0 && raw[0] == telnetIAC {
		return BannerInfo{Protocol: "telnet", Line: firstLine(stripTelnet(raw))}
	}
	line := firstLine(raw)
	return BannerInfo{Protocol: guessProtocol(line, port), Line: line}
}

func guessProtocol(line string, port uint16) string {
	upper := strings.ToUpper(line)
	byPort := bannerPorts[port]
	switch {
	case strings.HasPrefix(line, "SSH-"):
		return "ssh"
	case strings.HasPrefix(line, "+PONG"),
		byPort == "redis" && (strings.HasPrefix(line, "-") || strings.HasPrefix(line, "+")):
		return "redis"
	case strings.HasPrefix(line, "+OK"):
		return "pop3"
	case strings.HasPrefix(line, "* OK"), strings.HasPrefix(line, "* PREAUTH"), strings.HasPrefix(line, "* BYE"):
		return "imap"
	case strings.HasPrefix(line, "220"):
		switch {
		case byPort == "ftp" || byPort == "smtp":
			return byPort
		case strings.Contains(upper, "SMTP"), strings.Contains(upper, "POSTFIX"), strings.Contains(upper, "EXIM"):
			return "smtp"
		case strings.Contains(upper, "FTP"):
			return "ftp"
		}
	case strings.HasPrefix(line, "RFB "):
		return "vnc"
	case byPort == "nntp" && (strings.HasPrefix(line, "200") || strings.HasPrefix(line, "201")):
		return "nntp"
	}
	return ""
}

// mysqlGreeting parses a complete MySQL/MariaDB greeting packet (protocol
// 10, returning the server version) or the error packet a server sends
// instead (returning its message, e.g. "Host … is not allowed to connect").
func mysqlGreeting(raw []byte) (string, bool) {
	if len(raw) < 6 || raw[3] != 0 { // 3-byte length, sequence 0
		return "", false
	}
	n := int(raw[0]) | int(raw[1])<<8 | int(raw[2])<<16
	if n < 2 || n > 1<<14 {
		return "", false
	}
	body := raw[4:min(len(raw), 4+n)]
	switch body[0] {
	case 10:
		end := bytes.IndexByte(body[1:], 0)
		if end <= 0 || end > 64 {
			return "", false
		}
		version := body[1 : 1+end]
		if printable(string(version), maxLine) != string(version) {
			return "", false
		}
		return string(version), true
	case 0xff:
		if len(body) < min(n, maxLine-4) || len(body) < 4 { // wait for the whole message
			return "", false
		}
		msg := body[3:] // after the 2-byte error code
		if len(msg) >= 6 && msg[0] == '#' {
			msg = msg[6:] // SQL state
		}
		if line := printable(string(msg), maxLine); line != "" {
			return line, true
		}
	}
	return "", false
}

const (
	telnetIAC = 255
	telnetSB  = 250
	telnetSE  = 240
)

// stripTelnet removes telnet option negotiation (IAC sequences) so the
// text around it can be shown.
func stripTelnet(raw []byte) []byte {
	var out []byte
	for i := 0; i < len(raw); i++ {
		if raw[i] != telnetIAC {
			out = append(out, raw[i])
			continue
		}
		switch {
		case i+1 >= len(raw):
			return out
		case raw[i+1] == telnetIAC: // escaped 255
			i++
		case raw[i+1] == telnetSB: // sub-negotiation up to IAC SE
			end := bytes.Index(raw[i:], []byte{telnetIAC, telnetSE})
			if end < 0 {
				return out
			}
			i += end + 1
		case raw[i+1] >= 251: // WILL, WONT, DO, DONT + option
			i += 2
		default:
			i++
		}
	}
	return out
}

// firstLine is raw up to its first line break, made printable.
func firstLine(raw []byte) string {
	if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
		raw = raw[:i]
	}
	return printable(string(raw), maxLine)
}

// printable keeps printable ASCII only, trimmed and capped at limit bytes:
// what a remote server sends is shown to users and written to logs.
func printable(s string, limit int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < limit; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// printableText is printable for text that may be Unicode, such as
// certificate names: it drops control and format characters (bidi
// overrides included) and caps at limit bytes on a rune boundary.
func printableText(s string, limit int) string {
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
